// The API controllers: for each endpoint, the checks Ironic 2023.1 makes in
// ironic/api/controllers/v1/node.py (and port.py, portgroup.py), in the same
// order, with the same faultstrings, before the conductor is asked to act.
import { ALL_PROVISION_STATES, PowerState, ProvisionState as S } from '../ironic/states.js';
import type { Json, JsonObject } from '../ironic/types.js';
import { ApiError, Fault, NotAcceptableError } from './api-error.js';
import type { Conductor } from './conductor.js';
import { DELETE_ALLOWED_STATES, isActionable, UPDATE_ALLOWED_STATES } from './fsm.js';
import type { Inventory } from './inventory.js';
import { applyPatch, validatePatchBody } from './json-patch.js';
import { notEnabledMessage } from './network-interfaces.js';
import {
  isoTime,
  NODE_FIELD_NAMES,
  NODE_UNSELECTABLE_FIELDS,
  nodeBody,
  nodeFieldsBody,
  nodeSummaryBody,
  portBody,
  portgroupBody,
  type SimConsoleInterface,
  type SimInterfaceName,
  type SimNetworkInterface,
  type SimNode,
} from './node-record.js';
import type { ResolvedOptions } from './options.js';
import { pyRepr } from './python-json.js';
import { attachedVifs, freePortLike } from './vif-placement.js';

export interface ApiRequest {
  method: string;
  /** Path segments after the leading slash, e.g. ['v1', 'nodes', 'abc']. */
  segments: string[];
  query: URLSearchParams;
  body: unknown;
  /** Negotiated microversion minor (1.minor). */
  minor: number;
  /** Scheme, host and port the client used, e.g. http://127.0.0.1:6385 */
  base: string;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  location?: string;
}

/** Node creation, names and UUIDs need a few services from the simulator. */
export interface ApiServices {
  inventory: Inventory;
  conductor: Conductor;
  options: ResolvedOptions;
  createNode(fields: NodeCreateFields): SimNode;
  createPort(
    node: SimNode,
    address: string,
    portgroup: string | null,
    extra: JsonObject,
  ): Record<string, unknown>;
  createPortgroup(
    node: SimNode,
    init: {
      address: string | null;
      mode: string | null;
      name: string | null;
      properties: JsonObject;
      extra: JsonObject;
    },
  ): Record<string, unknown>;
}

export interface NodeCreateFields {
  uuid?: string;
  name: string | null;
  driver: string;
  provisionState: typeof S.ENROLL | typeof S.AVAILABLE;
  driverInfo: JsonObject;
  properties: JsonObject;
  extra: JsonObject;
  instanceInfo: JsonObject;
  instanceUuid: string | null;
  resourceClass: string | null;
  description: string | null;
  automatedClean: boolean | null;
  networkInterface: SimNetworkInterface;
  consoleInterface: SimConsoleInterface;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
export function isUuidLike(s: string): boolean {
  return UUID_RE.test(s);
}

/** API microversions that gate features (ironic/api/controllers/v1/versions.py). */
const V = {
  NAME: 5,
  FIELDS: 8,
  PROVISION_STATE_FILTER: 9,
  ENROLL: 11,
  RAID: 12,
  SOFT_POWER: 27,
  REBUILD_CONFIGDRIVE: 35,
  DETAIL_PARAM: 43,
  BUILD_CONFIGDRIVE: 56,
  CONFIGDRIVE_VENDOR_DATA: 59,
  BOOT_MODE: 75,
};

/** api_utils.MIN_VERB_VERSIONS. */
const MIN_VERB_VERSIONS: Readonly<Record<string, number>> = {
  manage: 4,
  provide: 4,
  inspect: 6,
  abort: 13,
  clean: 15,
  adopt: 17,
  rescue: 38,
  unrescue: 38,
  deploy: 73,
  undeploy: 73,
};

const POWER_TARGETS = new Set<string>([
  PowerState.POWER_ON,
  PowerState.POWER_OFF,
  PowerState.REBOOT,
  PowerState.SOFT_REBOOT,
  PowerState.SOFT_POWER_OFF,
]);

/** CONF.api.max_limit: the page size when a list asks for none, and the cap. */
export const MAX_LIMIT = 1000;

const TRUE_WORDS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);
const FALSE_WORDS = new Set(['0', 'f', 'false', 'off', 'n', 'no']);

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  throw Fault.invalid(
    `Invalid ${name}: Unrecognized value '${raw}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`,
  );
}

function bodyObject(body: unknown): Record<string, unknown> {
  return body !== null && typeof body === 'object' && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

function isJsonObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class ApiHandlers {
  constructor(private readonly svc: ApiServices) {}

  private get inventory(): Inventory {
    return this.svc.inventory;
  }

  private get conductor(): Conductor {
    return this.svc.conductor;
  }

  /** check_node_policy_and_retrieve: UUID or name, else NodeNotFound with the identifier as given. */
  private node(ident: string): SimNode {
    const node = this.inventory.find(ident);
    if (!node) throw Fault.nodeNotFound(ident);
    return node;
  }

  // ---- GET /v1/nodes and /v1/nodes/detail

  listNodes(req: ApiRequest, detailRoute: boolean): ApiResponse {
    const q = req.query;
    if (detailRoute && q.has('fields')) throw Fault.invalid('Unexpected arguments: fields');
    let fields: string[] | undefined;
    if (q.has('fields')) {
      if (req.minor < V.FIELDS) throw new NotAcceptableError();
      fields = q
        .get('fields')!
        .split(',')
        .filter((f) => f !== '');
      // A node field it will not select (a timestamp) is a 400, as on a single node.
      const unselectable = fields.find((f) => NODE_UNSELECTABLE_FIELDS.has(f));
      if (unselectable !== undefined) throw Fault.invalid(`Field ${unselectable} is not a valid field.`);
      const bad = fields.find((f) => !NODE_FIELD_NAMES.has(f));
      // Ironic 2023.1 answers an unknown list field with a 500 from its DB layer.
      if (bad !== undefined) throw new ApiError(500, `type object 'Node' has no attribute '${bad}'`);
    }
    let detail = detailRoute;
    let detailParam: boolean | undefined;
    if (!detailRoute && q.has('detail')) {
      if (req.minor < V.DETAIL_PARAM) throw new NotAcceptableError();
      detailParam = parseBool('detail', q.get('detail')!);
      if (detailParam && fields) throw Fault.invalid("Can't fetch a subset of fields with 'detail' set");
      detail = detailParam;
    }
    const associated = q.has('associated') ? parseBool('associated', q.get('associated')!) : undefined;
    const maintenance = q.has('maintenance') ? parseBool('maintenance', q.get('maintenance')!) : undefined;
    const instance = q.get('instance_uuid') ?? undefined;
    let provisionState: string | undefined;
    if (q.has('provision_state')) {
      if (req.minor < V.PROVISION_STATE_FILTER) throw new NotAcceptableError();
      provisionState = q.get('provision_state')!;
      if (!(ALL_PROVISION_STATES as readonly string[]).includes(provisionState)) {
        throw Fault.invalid(`Provision state "${provisionState}" is not valid`);
      }
    }
    let limit = MAX_LIMIT;
    if (q.has('limit')) {
      const raw = q.get('limit')!;
      if (!/^-?\d+$/.test(raw.trim())) throw Fault.invalid(`Expected an integer for limit: ${raw}`);
      const n = Number(raw);
      if (n <= 0) throw Fault.invalid('Limit must be positive');
      limit = Math.min(MAX_LIMIT, n);
    }
    const sortDir = q.get('sort_dir') ?? 'asc';
    if (sortDir !== 'asc' && sortDir !== 'desc') {
      throw Fault.invalid(`Invalid sort direction: ${sortDir}. Acceptable values are 'asc' or 'desc'`);
    }
    const sortKey = q.get('sort_key') ?? 'id';
    if (sortKey !== 'id' && sortKey !== 'created_at') {
      throw Fault.invalid(`The sort_key value "${sortKey}" is an invalid field for sorting`);
    }
    let start = sortDir === 'asc' ? 0 : this.inventory.size - 1;
    if (q.has('marker')) {
      const marker = q.get('marker')!;
      if (!isUuidLike(marker)) throw Fault.invalid(`Expected UUID for marker: ${marker}`);
      const m = this.inventory.byUuidOnly(marker);
      if (!m) throw Fault.nodeNotFound(marker);
      const after = this.inventory.indexAfter(m.id);
      start = sortDir === 'asc' ? after : after - 2;
    }

    const matches = (n: SimNode): boolean =>
      (instance === undefined || n.instanceUuid === instance) &&
      (associated === undefined || (n.instanceUuid !== null) === associated) &&
      (maintenance === undefined || n.maintenance === maintenance) &&
      (provisionState === undefined || n.provisionState === provisionState);

    const page: SimNode[] = [];
    if (instance !== undefined) {
      const n = this.inventory.nodeWithInstance(instance);
      if (n && matches(n)) page.push(n);
    } else {
      const all = this.inventory.ordered;
      const step = sortDir === 'asc' ? 1 : -1;
      for (let i = start; i >= 0 && i < all.length && page.length < limit; i += step) {
        if (matches(all[i]!)) page.push(all[i]!);
      }
    }

    const nodes = page.map((n) =>
      fields
        ? nodeFieldsBody(n, req.base, fields)
        : detail
          ? nodeBody(n, req.base)
          : nodeSummaryBody(n, req.base, req.minor),
    );
    const out: Record<string, unknown> = { nodes };
    // Collection.get_next: a link only when the page is full (and never for instance_uuid lookups).
    if (instance === undefined && page.length > 0 && page.length === limit) {
      let args = `sort_key=${sortKey}&sort_dir=${sortDir}&`;
      if (associated) args += 'associated=True&';
      if (maintenance) args += 'maintenance=True&';
      if (detailParam !== undefined) args += `detail=${detailParam ? 'True' : 'False'}&`;
      if (fields) args += `fields=${fields.join(',')}&`;
      const path = detailRoute ? 'nodes/detail' : 'nodes';
      out.next = `${req.base}/v1/${path}?${args}limit=${limit}&marker=${page[page.length - 1]!.uuid}`;
    }
    return { status: 200, body: out };
  }

  // ---- GET /v1/nodes/{node}

  getNode(req: ApiRequest, ident: string): ApiResponse {
    let fields: string[] | undefined;
    if (req.query.has('fields')) {
      if (req.minor < V.FIELDS) throw new NotAcceptableError();
      fields = req.query
        .get('fields')!
        .split(',')
        .filter((f) => f !== '');
      const bad = fields.find((f) => !NODE_FIELD_NAMES.has(f));
      if (bad !== undefined) throw Fault.invalid(`Field ${bad} is not a valid field.`);
    }
    const node = this.node(ident);
    return { status: 200, body: fields ? nodeFieldsBody(node, req.base, fields) : nodeBody(node, req.base) };
  }

  // ---- POST /v1/nodes

  createNode(req: ApiRequest): ApiResponse {
    const b = bodyObject(req.body);
    if (typeof b.driver !== 'string')
      throw Fault.invalid("Schema error for node: 'driver' is a required property");
    if (b.driver !== 'fake-hardware') {
      throw Fault.invalid(
        `No valid host was found. Reason: No conductor service registered which supports driver ${b.driver} for conductor group "".`,
      );
    }
    const name = typeof b.name === 'string' ? b.name : null;
    if (name !== null && this.inventory.nameTaken(name)) throw Fault.duplicateName(name);
    let uuid: string | undefined;
    if (b.uuid !== undefined) {
      if (typeof b.uuid !== 'string' || !isUuidLike(b.uuid))
        throw Fault.invalid(`Expected a UUID but received ${pyRepr(b.uuid)}.`);
      if (this.inventory.byUuidOnly(b.uuid)) throw Fault.nodeAlreadyExists(b.uuid);
      uuid = b.uuid;
    }
    const node = this.svc.createNode({
      uuid,
      name,
      driver: b.driver,
      // Before API 1.11 new nodes start available; from 1.11 in enroll.
      provisionState: req.minor >= V.ENROLL ? S.ENROLL : S.AVAILABLE,
      driverInfo: isJsonObject(b.driver_info) ? b.driver_info : {},
      properties: isJsonObject(b.properties) ? b.properties : {},
      extra: isJsonObject(b.extra) ? b.extra : {},
      instanceInfo: isJsonObject(b.instance_info) ? b.instance_info : {},
      instanceUuid: typeof b.instance_uuid === 'string' ? b.instance_uuid : null,
      resourceClass: typeof b.resource_class === 'string' ? b.resource_class : null,
      description: typeof b.description === 'string' ? b.description : null,
      automatedClean: typeof b.automated_clean === 'boolean' ? b.automated_clean : null,
      networkInterface: this.networkInterface(b.network_interface, 'node'),
      consoleInterface:
        b.console_interface === 'fake' ||
        b.console_interface === 'ipmitool-socat' ||
        b.console_interface === 'no-console'
          ? b.console_interface
          : this.svc.options.consoleInterface,
    });
    return { status: 201, body: nodeBody(node, req.base), location: `${req.base}/v1/nodes/${node.uuid}` };
  }

  // ---- PATCH /v1/nodes/{node}

  patchNode(req: ApiRequest, ident: string): ApiResponse {
    const ops = validatePatchBody(req.body);
    const node = this.node(ident);
    const removesInstanceOnly =
      ops.length === 1 && ops[0]!.op === 'remove' && ops[0]!.path === '/instance_uuid';
    if (!(node.maintenance && removesInstanceOnly)) {
      if (node.targetProvisionState !== null && !UPDATE_ALLOWED_STATES.has(node.provisionState)) {
        throw Fault.transitionInProgress(ident);
      }
    }
    const doc = this.patchable(node);
    const next = applyPatch(doc, ops);
    this.validatePatched(node, next);
    this.conductor.ensureUnlocked(node);
    const newInstance = next.instance_uuid as string | null;
    if (newInstance !== node.instanceUuid) {
      if (newInstance !== null && node.instanceUuid !== null)
        throw Fault.nodeAssociated(node.uuid, node.instanceUuid);
      const holder = newInstance === null ? undefined : this.inventory.nodeWithInstance(newInstance);
      if (holder && holder !== node) throw Fault.instanceAssociated(newInstance!, node.uuid);
    }
    this.commit(node, next);
    return { status: 200, body: nodeBody(node, req.base) };
  }

  private patchable(n: SimNode): JsonObject {
    return {
      automated_clean: n.automatedClean,
      bios_interface: 'no-bios',
      boot_interface: 'fake',
      chassis_uuid: null,
      conductor_group: '',
      console_interface: n.consoleInterface,
      deploy_interface: 'fake',
      description: n.description,
      driver: n.driver,
      driver_info: n.driverInfo,
      extra: n.extra,
      inspect_interface: 'fake',
      instance_info: n.instanceInfo,
      instance_uuid: n.instanceUuid,
      lessee: null,
      maintenance: n.maintenance,
      management_interface: 'fake',
      name: n.name,
      network_data: {},
      network_interface: n.networkInterface,
      owner: null,
      power_interface: 'fake',
      properties: n.properties,
      protected: false,
      protected_reason: null,
      raid_interface: 'fake',
      rescue_interface: 'no-rescue',
      resource_class: n.resourceClass,
      retired: false,
      retired_reason: null,
      shard: null,
      storage_interface: 'noop',
      vendor_interface: 'no-vendor',
    };
  }

  private validatePatched(node: SimNode, next: JsonObject): void {
    const inst = next.instance_uuid;
    if (inst !== null && (typeof inst !== 'string' || !isUuidLike(inst))) {
      throw Fault.invalid(
        `Expected UUID for instance_uuid: ${typeof inst === 'string' ? inst : pyRepr(inst)}`,
      );
    }
    for (const key of ['instance_info', 'properties', 'extra', 'driver_info'] as const) {
      if (!isJsonObject(next[key]))
        throw Fault.invalid(`Schema error for node: ${pyRepr(next[key])} is not of type 'object'`);
    }
    if (typeof next.maintenance !== 'boolean') {
      throw Fault.invalid(`Schema error for node: ${pyRepr(next.maintenance)} is not of type 'boolean'`);
    }
    const name = next.name;
    if (name !== null && typeof name !== 'string')
      throw Fault.invalid(`Schema error for node: ${pyRepr(name)} is not of type 'string', 'null'`);
    if (typeof name === 'string' && name !== node.name && this.inventory.nameTaken(name))
      throw Fault.duplicateName(name);
    next.network_interface = this.networkInterface(next.network_interface, 'patch');
  }

  /**
   * A network_interface from a POST body or a patched node: an enabled one, or the default for
   * none (null, or removed by PATCH), as check_and_update_node_interfaces fills it in.
   */
  private networkInterface(value: unknown, schema: 'node' | 'patch'): SimNetworkInterface {
    const ifaces = this.svc.options.networkInterfaces;
    if (value === undefined || value === null) return ifaces.default;
    if (typeof value !== 'string')
      throw Fault.invalid(`Schema error for ${schema}: ${pyRepr(value)} is not of type 'string', 'null'`);
    const on = ifaces.enabled.find((n) => n === value);
    if (on === undefined) throw Fault.invalid(notEnabledMessage(value, ifaces));
    return on;
  }

  private commit(node: SimNode, next: JsonObject): void {
    this.inventory.rename(node, next.name as string | null);
    this.inventory.setInstance(node, next.instance_uuid as string | null);
    node.instanceInfo = next.instance_info as JsonObject;
    node.properties = next.properties as JsonObject;
    node.extra = next.extra as JsonObject;
    node.driverInfo = next.driver_info as JsonObject;
    node.description = (next.description as string | null) ?? null;
    node.resourceClass = (next.resource_class as string | null) ?? null;
    node.automatedClean = (next.automated_clean as boolean | null) ?? null;
    node.networkInterface = next.network_interface as SimNetworkInterface;
    const ci = next.console_interface;
    if (ci === 'fake' || ci === 'ipmitool-socat' || ci === 'no-console') node.consoleInterface = ci;
    const maintenance = next.maintenance as boolean;
    if (node.maintenance && !maintenance) {
      // ConductorManager.update_node clears the reason and fault when maintenance ends.
      node.maintenanceReason = null;
      node.fault = null;
    }
    node.maintenance = maintenance;
    this.conductor.touch(node);
  }

  // ---- DELETE /v1/nodes/{node}

  deleteNode(_req: ApiRequest, ident: string): ApiResponse {
    const node = this.node(ident);
    this.conductor.ensureUnlocked(node);
    if (!node.maintenance && node.instanceUuid !== null)
      throw Fault.nodeAssociated(node.uuid, node.instanceUuid);
    if (!node.maintenance && !DELETE_ALLOWED_STATES.includes(node.provisionState)) {
      throw Fault.conflict(
        `Can not delete node "${node.uuid}" while it is in provision state "${node.provisionState}". Valid provision states to perform deletion are: "${pyRepr(DELETE_ALLOWED_STATES).replace(/^\[(.*)\]$/, '($1)')}", or set the node into maintenance mode`,
      );
    }
    this.conductor.cancel(node);
    this.inventory.remove(node);
    return { status: 204 };
  }

  // ---- GET /v1/nodes/{node}/validate

  validate(_req: ApiRequest, ident: string): ApiResponse {
    const node = this.node(ident);
    const order: SimInterfaceName[] = [
      'boot',
      'deploy',
      'management',
      'network',
      'power',
      'bios',
      'console',
      'inspect',
      'raid',
      'rescue',
      'storage',
    ];
    const unsupported = new Set<SimInterfaceName>(['bios', 'rescue']);
    if (node.consoleInterface === 'no-console') unsupported.add('console');
    const out: Record<string, unknown> = {};
    for (const iface of order) {
      const failure = node.validationFailures[iface];
      if (failure !== undefined) out[iface] = { result: false, reason: failure };
      else if (unsupported.has(iface)) {
        out[iface] = {
          result: false,
          reason: `Driver ${node.driver} does not support ${iface} (disabled or not implemented).`,
        };
      } else out[iface] = { result: true };
    }
    return { status: 200, body: out };
  }

  // ---- GET /v1/nodes/{node}/states

  states(req: ApiRequest, ident: string): ApiResponse {
    const n = this.node(ident);
    const out: Record<string, unknown> = {
      console_enabled: n.consoleEnabled,
      last_error: n.lastError,
      power_state: n.powerState,
      provision_state: n.provisionState,
      target_power_state: n.targetPowerState,
      target_provision_state: n.targetProvisionState,
      provision_updated_at: n.provisionUpdatedAt,
    };
    if (req.minor >= V.RAID) {
      out.raid_config = {};
      out.target_raid_config = {};
    }
    if (req.minor >= V.BOOT_MODE) {
      out.boot_mode = null;
      out.secure_boot = null;
    }
    return { status: 200, body: out };
  }

  // ---- PUT /v1/nodes/{node}/states/provision

  provision(req: ApiRequest, ident: string): ApiResponse {
    const b = bodyObject(req.body);
    if (!('target' in b)) throw Fault.invalid('Missing mandatory parameter: target');
    if (typeof b.target !== 'string') throw Fault.invalid(`Invalid target: ${pyRepr(b.target)}`);
    const target = b.target;
    const node = this.node(ident);
    const minVersion = MIN_VERB_VERSIONS[target];
    if (minVersion !== undefined && req.minor < minVersion) throw new NotAcceptableError();
    if ((target === 'active' || target === 'rebuild') && node.maintenance) {
      throw Fault.nodeInMaintenance('provisioning', node.uuid);
    }
    if (!isActionable(node.provisionState, target)) {
      // Ironic keeps answering 409 (not 400) while a conductor works on the node.
      if (node.reservation !== null) throw Fault.nodeLocked(node.uuid, node.reservation);
      throw Fault.invalidStateRequested(target, node.uuid, node.provisionState);
    }
    const configdrive = b.configdrive as Json | undefined;
    this.checkConfigdrive(req, target, configdrive);
    const cleanSteps = b.clean_steps;
    if (cleanSteps !== undefined && cleanSteps !== null && !Array.isArray(cleanSteps)) {
      throw Fault.invalid(`Invalid clean_steps: ${pyRepr(cleanSteps)}`);
    }
    if (Array.isArray(cleanSteps) && cleanSteps.length > 0 && target !== 'clean') {
      throw Fault.invalid('"clean_steps" is only valid when setting target provision state to clean');
    }
    if (target === 'rescue' && (typeof b.rescue_password !== 'string' || b.rescue_password.trim() === '')) {
      throw Fault.invalid(
        'A non-empty "rescue_password" is required when setting target provision state to rescue',
      );
    }
    if (b.rescue_password !== undefined && target !== 'rescue') {
      throw Fault.invalid('"rescue_password" is only valid when setting target provision state to rescue');
    }
    switch (target) {
      case 'active':
      case 'deploy':
        this.conductor.deploy(node, 'deploy', configdrive);
        break;
      case 'rebuild':
        this.conductor.deploy(node, 'rebuild', configdrive);
        break;
      case 'deleted':
      case 'undeploy':
        this.conductor.tearDown(node);
        break;
      case 'clean':
        if (!Array.isArray(cleanSteps) || cleanSteps.length === 0) {
          throw Fault.invalid('"clean_steps" is required when setting target provision state to clean');
        }
        this.conductor.clean(node);
        break;
      case 'manage':
        this.conductor.manage(node);
        break;
      case 'provide':
        this.conductor.provide(node);
        break;
      case 'abort':
        this.conductor.abort(node);
        break;
      case 'inspect':
        this.conductor.inspect(node);
        break;
      case 'adopt':
        this.conductor.adopt(node);
        break;
      case 'rescue':
      case 'unrescue':
        // fake-hardware runs with rescue_interface no-rescue, as on the reference Ironic:
        // the conductor's validation fails with an InstanceRescueFailure (500).
        this.conductor.ensureUnlocked(node);
        throw new ApiError(
          500,
          `Failed to ${target} instance ${node.instanceUuid ?? 'None'} for node ${node.uuid}: Validation failed: Driver ${node.driver} does not support rescue (disabled or not implemented).`,
        );
      default:
        throw Fault.invalidStateRequested(target, node.uuid, node.provisionState);
    }
    return { status: 202, location: `${req.base}/v1/nodes/${ident}/states` };
  }

  private checkConfigdrive(req: ApiRequest, target: string, configdrive: Json | undefined): void {
    if (configdrive === undefined || configdrive === null || configdrive === '') return;
    if (isJsonObject(configdrive) && Object.keys(configdrive).length === 0) return;
    const allowed = req.minor >= V.REBUILD_CONFIGDRIVE ? ['active', 'rebuild'] : ['active'];
    if (!allowed.includes(target)) {
      throw Fault.invalid(
        `Adding a config drive is only supported when setting provision state to ${allowed.join(', ')}`,
      );
    }
    if (typeof configdrive !== 'string' && !isJsonObject(configdrive)) {
      throw Fault.invalid(
        `Invalid configdrive format: ${pyRepr(configdrive)} is not of type 'object', 'string', 'null'`,
      );
    }
    if (isJsonObject(configdrive)) {
      if (req.minor < V.BUILD_CONFIGDRIVE) {
        throw Fault.invalid(
          'Providing a JSON object for configdrive is only supported starting with API version 1.56',
        );
      }
      if ('vendor_data' in configdrive && req.minor < V.CONFIGDRIVE_VENDOR_DATA) {
        throw Fault.invalid(
          'Providing vendor_data in configdrive is only supported starting with API version 1.59',
        );
      }
    }
  }

  // ---- PUT /v1/nodes/{node}/states/power

  power(req: ApiRequest, ident: string): ApiResponse {
    const b = bodyObject(req.body);
    if (!('target' in b)) throw Fault.invalid('Missing mandatory parameter: target');
    const target = String(b.target);
    const timeout = b.timeout;
    if (timeout !== undefined && timeout !== null && !Number.isInteger(timeout)) {
      throw Fault.invalid(`Expected an integer for timeout: ${String(timeout)}`);
    }
    const node = this.node(ident);
    const soft = target === PowerState.SOFT_REBOOT || target === PowerState.SOFT_POWER_OFF;
    if ((soft || (timeout !== undefined && timeout !== null && timeout !== 0)) && req.minor < V.SOFT_POWER) {
      throw new NotAcceptableError();
    }
    if (typeof timeout === 'number' && timeout < 1) throw Fault.invalid('timeout has to be positive integer');
    if (!POWER_TARGETS.has(target)) throw Fault.invalidStateRequested(target, ident, node.powerState);
    if (node.provisionState === S.CLEANING || node.provisionState === S.CLEANWAIT) {
      // Ironic does not change power while a node is being cleaned.
      throw Fault.invalidStateRequested(target, ident, node.provisionState);
    }
    this.conductor.changePower(node, target);
    return { status: 202, location: `${req.base}/v1/nodes/${ident}/states` };
  }

  // ---- GET/PUT /v1/nodes/{node}/states/console

  getConsole(_req: ApiRequest, ident: string): ApiResponse {
    const node = this.node(ident);
    // NodeConsoleNotEnabled is answered as "disabled" even by no-console nodes.
    if (!node.consoleEnabled) return { status: 200, body: { console_enabled: false, console_info: null } };
    const info =
      node.consoleInterface === 'ipmitool-socat'
        ? { type: 'socat', url: `tcp://127.0.0.1:${node.consolePort}` }
        : {};
    return { status: 200, body: { console_enabled: true, console_info: info } };
  }

  setConsole(req: ApiRequest, ident: string): ApiResponse {
    const b = bodyObject(req.body);
    if (!('enabled' in b)) throw Fault.invalid('Missing mandatory parameter: enabled');
    const raw = b.enabled;
    const enabled =
      typeof raw === 'boolean' ? raw : typeof raw === 'string' ? parseBool('enabled', raw) : undefined;
    if (enabled === undefined) throw Fault.invalid(`Invalid enabled: ${pyRepr(raw)}`);
    const node = this.node(ident);
    this.conductor.ensureUnlocked(node);
    if (node.consoleInterface === 'no-console') throw Fault.unsupportedInterface(node.driver, 'console');
    if (enabled !== node.consoleEnabled) this.conductor.setConsole(node, enabled);
    return { status: 202, location: `${req.base}/v1/nodes/${ident}/states/console` };
  }

  // ---- VIFs: /v1/nodes/{node}/vifs

  listVifs(req: ApiRequest, ident: string): ApiResponse {
    const node = this.node(ident);
    return { status: 200, body: { vifs: attachedVifs(node).map((id) => ({ id })) } };
  }

  attachVif(req: ApiRequest, ident: string): ApiResponse {
    const b = req.body;
    if (!isJsonObject(b)) throw Fault.invalid(`Schema error for vif: ${pyRepr(b)} is not of type 'object'`);
    if (!('id' in b)) throw Fault.invalid("Schema error for vif: 'id' is a required property");
    if (typeof b.id !== 'string')
      throw Fault.invalid(`Schema error for vif: ${pyRepr(b.id)} is not of type 'string'`);
    const vif = b.id;
    const node = this.node(ident);
    this.conductor.ensureUnlocked(node);
    if (node.networkInterface === 'noop') return { status: 204 };
    const target = freePortLike(node, vif);
    if (!target) throw Fault.noFreePhysicalPorts(vif);
    target.internalInfo = { ...target.internalInfo, tenant_vif_port_id: vif };
    target.updatedAt = isoTime(Date.now());
    return { status: 204 };
  }

  detachVif(req: ApiRequest, ident: string, vif: string): ApiResponse {
    const node = this.node(ident);
    this.conductor.ensureUnlocked(node);
    if (node.networkInterface === 'noop') return { status: 204 };
    const holder =
      node.portgroups.find((g) => g.internalInfo.tenant_vif_port_id === vif) ??
      node.ports.find((p) => p.internalInfo.tenant_vif_port_id === vif);
    if (!holder) throw Fault.vifNotAttached(vif, node.uuid);
    const rest = { ...holder.internalInfo };
    delete rest.tenant_vif_port_id;
    holder.internalInfo = rest;
    holder.updatedAt = isoTime(Date.now());
    return { status: 204 };
  }

  // ---- ports and portgroups

  listPorts(req: ApiRequest, detail: boolean, nodeIdent?: string): ApiResponse {
    const ident = nodeIdent ?? req.query.get('node') ?? req.query.get('node_uuid') ?? undefined;
    const nodes = ident === undefined ? this.inventory.ordered : [this.node(ident)];
    const ports = nodes.flatMap((n) => n.ports);
    const body = ports.map((p) => {
      const full = portBody(p, req.base);
      return detail ? full : { uuid: full.uuid, address: full.address, links: full.links };
    });
    return { status: 200, body: { ports: body } };
  }

  listPortgroups(req: ApiRequest, detail: boolean, nodeIdent?: string): ApiResponse {
    const ident = nodeIdent ?? req.query.get('node') ?? req.query.get('node_uuid') ?? undefined;
    const nodes = ident === undefined ? this.inventory.ordered : [this.node(ident)];
    const groups = nodes.flatMap((n) => n.portgroups);
    const body = groups.map((g) => {
      const full = portgroupBody(g, req.base);
      return detail ? full : { uuid: full.uuid, address: full.address, name: full.name, links: full.links };
    });
    return { status: 200, body: { portgroups: body } };
  }

  createPort(req: ApiRequest): ApiResponse {
    const b = bodyObject(req.body);
    if (typeof b.node_uuid !== 'string')
      throw Fault.invalid("Schema error for port: 'node_uuid' is a required property");
    if (typeof b.address !== 'string')
      throw Fault.invalid("Schema error for port: 'address' is a required property");
    const node = this.inventory.byUuidOnly(b.node_uuid);
    if (!node) throw Fault.nodeNotFound(b.node_uuid);
    if (this.inventory.addressTaken(b.address.toLowerCase())) {
      throw Fault.conflict(`A port with MAC address ${b.address.toLowerCase()} already exists.`);
    }
    const group = typeof b.portgroup_uuid === 'string' ? b.portgroup_uuid : null;
    const body = this.svc.createPort(
      node,
      b.address.toLowerCase(),
      group,
      isJsonObject(b.extra) ? b.extra : {},
    );
    return { status: 201, body, location: `${req.base}/v1/ports/${String(body.uuid)}` };
  }

  createPortgroup(req: ApiRequest): ApiResponse {
    const b = bodyObject(req.body);
    if (typeof b.node_uuid !== 'string')
      throw Fault.invalid("Schema error for portgroup: 'node_uuid' is a required property");
    const node = this.inventory.byUuidOnly(b.node_uuid);
    if (!node) throw Fault.nodeNotFound(b.node_uuid);
    const body = this.svc.createPortgroup(node, {
      address: typeof b.address === 'string' ? b.address.toLowerCase() : null,
      mode: typeof b.mode === 'string' ? b.mode : null,
      name: typeof b.name === 'string' ? b.name : null,
      properties: isJsonObject(b.properties) ? b.properties : {},
      extra: isJsonObject(b.extra) ? b.extra : {},
    });
    return { status: 201, body, location: `${req.base}/v1/portgroups/${String(body.uuid)}` };
  }
}
