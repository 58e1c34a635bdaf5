// startSimulator: wires inventory, conductor, API handlers, faults and the HTTP
// server into one in-process Ironic, and gives tests a handle to seed nodes,
// inject failures and read the request log.
import { PowerState, ProvisionState as S } from '../ironic/states.js';
import type { JsonObject } from '../ironic/types.js';
import { ApiHandlers, isUuidLike, type NodeCreateFields } from './api.js';
import { Conductor } from './conductor.js';
import { FaultInjector } from './faults.js';
import { inspectedProperties } from './hardware.js';
import { TARGET_OF } from './fsm.js';
import { Inventory } from './inventory.js';
import type { NetworkInterfaces } from './network-interfaces.js';
import {
  cloneJson,
  isoTime,
  portBody,
  portgroupBody,
  type SimNode,
  type SimNodeInit,
  type SimPort,
  type SimPortgroup,
  type SimPortgroupInit,
  type SimPortInit,
} from './node-record.js';
import { resolveOptions, type SimOptions } from './options.js';
import { Prng } from './prng.js';
import { RequestLog, type RequestLogEntry } from './request-log.js';
import { Scheduler } from './scheduler.js';
import { SimKeystone } from './keystone.js';
import { SimServer } from './server.js';
import { attachedVifs } from './vif-placement.js';

/** A plain copy of a node as the simulator holds it (wire field names, plus ports). */
export interface SimNodeView {
  uuid: string;
  name: string | null;
  provision_state: string;
  target_provision_state: string | null;
  power_state: string | null;
  target_power_state: string | null;
  reservation: string | null;
  instance_uuid: string | null;
  instance_info: JsonObject;
  properties: JsonObject;
  driver_info: JsonObject;
  extra: JsonObject;
  last_error: string | null;
  maintenance: boolean;
  maintenance_reason: string | null;
  console_enabled: boolean;
  network_interface: string;
  console_interface: string;
  /** VIF ids attached (from ports and portgroups). */
  vifs: string[];
  ports: Record<string, unknown>[];
  portgroups: Record<string, unknown>[];
}

export interface SimulatorStats {
  requests: number;
  byRoute: Record<string, number>;
}

export interface Simulator {
  /** http://HOST:PORT, no trailing slash. */
  readonly url: string;
  readonly faults: FaultInjector;
  close(): Promise<void>;
  addNode(init?: Partial<SimNodeInit>): SimNodeView;
  node(uuidOrName: string): SimNodeView | undefined;
  /** UUIDs of all nodes in Ironic's list order. */
  nodeIds(): string[];
  addPort(node: string, init: SimPortInit): Record<string, unknown>;
  addPortgroup(node: string, init?: SimPortgroupInit): Record<string, unknown>;
  /** The node's next deploy ends in `deploy failed` with this last_error. */
  failNextDeploy(node: string, lastError: string): void;
  /** The node's next cleaning ends in `clean failed` (and maintenance) with this last_error. */
  failNextClean(node: string, lastError: string): void;
  requests(): RequestLogEntry[];
  clearRequests(): void;
  stats(): SimulatorStats;
  /** Nodes with conductor work or a wait pending (0 when every node is in a stable state). */
  busyNodes(): number;
  /** The Keystone in front, when started with `keystone`: its stats, `down`, `revokeAll()`. */
  readonly keystone: SimKeystone | undefined;
}

class SimulatorImpl implements Simulator {
  readonly url: string;
  readonly faults: FaultInjector;

  constructor(
    url: string,
    faults: FaultInjector,
    private readonly server: SimServer,
    private readonly scheduler: Scheduler,
    private readonly inventory: Inventory,
    private readonly conductor: Conductor,
    private readonly build: NodeFactory,
    private readonly log: RequestLog | undefined,
    private readonly counters: { requests: number; byRoute: Map<string, number> },
    readonly keystone: SimKeystone | undefined,
  ) {
    this.url = url;
    this.faults = faults;
  }

  async close(): Promise<void> {
    this.scheduler.close();
    await this.server.close();
  }

  addNode(init: Partial<SimNodeInit> = {}): SimNodeView {
    return viewOf(this.build.seedNode(init));
  }

  node(uuidOrName: string): SimNodeView | undefined {
    const n = this.inventory.find(uuidOrName);
    return n ? viewOf(n) : undefined;
  }

  nodeIds(): string[] {
    return this.inventory.ordered.map((n) => n.uuid);
  }

  private must(ident: string): SimNode {
    const n = this.inventory.find(ident);
    if (!n) throw new RangeError(`simulator has no node ${ident}`);
    return n;
  }

  addPort(node: string, init: SimPortInit): Record<string, unknown> {
    const n = this.must(node);
    return portBody(this.build.port(n, init), '');
  }

  addPortgroup(node: string, init: SimPortgroupInit = {}): Record<string, unknown> {
    const n = this.must(node);
    return portgroupBody(this.build.portgroup(n, init), '');
  }

  failNextDeploy(node: string, lastError: string): void {
    this.must(node).failNextDeploy = lastError;
  }

  failNextClean(node: string, lastError: string): void {
    this.must(node).failNextClean = lastError;
  }

  requests(): RequestLogEntry[] {
    return this.log ? this.log.entries() : [];
  }

  clearRequests(): void {
    this.log?.clear();
  }

  stats(): SimulatorStats {
    return { requests: this.counters.requests, byRoute: Object.fromEntries(this.counters.byRoute) };
  }

  busyNodes(): number {
    return this.conductor.busy;
  }
}

function viewOf(n: SimNode): SimNodeView {
  const vifs = attachedVifs(n);
  return cloneJson({
    uuid: n.uuid,
    name: n.name,
    provision_state: n.provisionState,
    target_provision_state: n.targetProvisionState,
    power_state: n.powerState,
    target_power_state: n.targetPowerState,
    reservation: n.reservation,
    instance_uuid: n.instanceUuid,
    instance_info: n.instanceInfo,
    properties: n.properties,
    driver_info: n.driverInfo,
    extra: n.extra,
    last_error: n.lastError,
    maintenance: n.maintenance,
    maintenance_reason: n.maintenanceReason,
    console_enabled: n.consoleEnabled,
    network_interface: n.networkInterface,
    console_interface: n.consoleInterface,
    vifs,
    ports: n.ports.map((p) => portBody(p, '')),
    portgroups: n.portgroups.map((g) => portgroupBody(g, '')),
  });
}

/** node-0001, node-0002, ...: the name of the i-th pre-enrolled node (0-based). */
function preEnrolledName(i: number): string {
  return `node-${String(i + 1).padStart(4, '0')}`;
}

/** Builds node, port and portgroup records with deterministic UUIDs and MACs. */
class NodeFactory {
  private macCounter = 0;

  constructor(
    private readonly inventory: Inventory,
    private readonly conductor: Conductor,
    private readonly prng: Prng,
    private readonly defaults: {
      networkInterfaces: NetworkInterfaces;
      consoleInterface: 'fake' | 'ipmitool-socat' | 'no-console';
    },
  ) {}

  private nextMac(): string {
    const n = ++this.macCounter;
    const bytes = [0x52, 0x54, 0x00, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
    return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
  }

  private blank(uuid: string, name: string | null): SimNode {
    const now = isoTime(Date.now());
    const id = this.inventory.allocateId();
    return {
      id,
      uuid,
      name,
      createdAt: now,
      updatedAt: null,
      driver: 'fake-hardware',
      powerState: null,
      targetPowerState: null,
      provisionState: S.ENROLL,
      targetProvisionState: null,
      provisionUpdatedAt: null,
      lastError: null,
      maintenance: false,
      maintenanceReason: null,
      fault: null,
      reservation: null,
      instanceUuid: null,
      instanceInfo: {},
      properties: {},
      driverInfo: {},
      driverInternalInfo: {},
      extra: {},
      resourceClass: null,
      description: null,
      automatedClean: null,
      consoleEnabled: false,
      networkInterface: this.defaults.networkInterfaces.default,
      consoleInterface: this.defaults.consoleInterface,
      consolePort: 10000 + (id % 50000),
      validationFailures: {},
      ports: [],
      portgroups: [],
      failNextDeploy: null,
      failNextClean: null,
      manualClean: false,
    };
  }

  /** POST /v1/nodes. */
  fromApi(f: NodeCreateFields): SimNode {
    const node = this.blank(f.uuid ?? this.prng.uuid(), f.name);
    node.driver = f.driver;
    node.provisionState = f.provisionState;
    node.driverInfo = f.driverInfo;
    node.properties = f.properties;
    node.extra = f.extra;
    node.instanceInfo = f.instanceInfo;
    node.instanceUuid = f.instanceUuid;
    node.resourceClass = f.resourceClass;
    node.description = f.description;
    node.automatedClean = f.automatedClean;
    node.networkInterface = f.networkInterface;
    node.consoleInterface = f.consoleInterface;
    this.inventory.add(node);
    return node;
  }

  /** Simulator.addNode and the pre-enrolled nodes. */
  seedNode(init: Partial<SimNodeInit>): SimNode {
    const uuid = init.uuid ?? this.prng.uuid();
    if (!isUuidLike(uuid)) throw new RangeError(`not a UUID: ${uuid}`);
    if (this.inventory.byUuidOnly(uuid)) throw new RangeError(`node ${uuid} already exists`);
    const name = init.name ?? null;
    if (name !== null && this.inventory.nameTaken(name))
      throw new RangeError(`node name ${name} already taken`);
    if (init.instanceUuid && this.inventory.nodeWithInstance(init.instanceUuid)) {
      throw new RangeError(`instance ${init.instanceUuid} already on another node`);
    }
    const node = this.blank(uuid, name);
    const state = init.provisionState ?? S.AVAILABLE;
    node.provisionState = state;
    node.targetProvisionState =
      init.targetProvisionState !== undefined ? init.targetProvisionState : (TARGET_OF[state] ?? null);
    node.powerState = init.powerState !== undefined ? init.powerState : PowerState.POWER_OFF;
    node.instanceUuid = init.instanceUuid ?? null;
    node.instanceInfo = cloneJson(init.instanceInfo ?? {});
    node.properties = cloneJson(init.properties ?? {});
    node.driverInfo = cloneJson(init.driverInfo ?? {});
    node.extra = cloneJson(init.extra ?? {});
    node.maintenance = init.maintenance ?? false;
    node.maintenanceReason = init.maintenanceReason ?? null;
    node.lastError = init.lastError ?? null;
    node.resourceClass = init.resourceClass ?? null;
    node.automatedClean = init.automatedClean ?? null;
    node.networkInterface = init.networkInterface ?? this.defaults.networkInterfaces.default;
    node.consoleInterface = init.consoleInterface ?? this.defaults.consoleInterface;
    node.consoleEnabled = init.consoleEnabled ?? false;
    if (init.consolePort !== undefined) node.consolePort = init.consolePort;
    node.validationFailures = { ...(init.validationFailures ?? {}) };
    node.provisionUpdatedAt = node.createdAt;
    this.inventory.add(node);
    for (const g of init.portgroups ?? []) this.portgroup(node, g);
    const ports = init.ports ?? [{ address: this.nextMac() }];
    for (const p of ports) this.port(node, p);
    this.conductor.resume(node);
    return node;
  }

  port(node: SimNode, init: SimPortInit): SimPort {
    const now = isoTime(Date.now());
    if (init.portgroup !== undefined && !node.portgroups.some((g) => g.uuid === init.portgroup)) {
      throw new RangeError(`portgroup ${init.portgroup} is not on node ${node.uuid}`);
    }
    const port: SimPort = {
      uuid: init.uuid ?? this.prng.uuid(),
      nodeUuid: node.uuid,
      address: init.address.toLowerCase(),
      portgroupUuid: init.portgroup ?? null,
      internalInfo: init.vifId ? { tenant_vif_port_id: init.vifId } : {},
      extra: {},
      createdAt: now,
      updatedAt: null,
    };
    this.inventory.addPort(port, node);
    return port;
  }

  portgroup(node: SimNode, init: SimPortgroupInit): SimPortgroup {
    const group: SimPortgroup = {
      uuid: init.uuid ?? this.prng.uuid(),
      nodeUuid: node.uuid,
      address: init.address === undefined ? null : init.address,
      name: init.name ?? null,
      mode: init.mode ?? null,
      properties: cloneJson(init.properties ?? {}),
      internalInfo: init.vifId ? { tenant_vif_port_id: init.vifId } : {},
      extra: {},
      createdAt: isoTime(Date.now()),
      updatedAt: null,
    };
    this.inventory.addPortgroup(group, node);
    return group;
  }
}

/** Starts an Ironic API simulator on loopback; resolves once it listens. */
export async function startSimulator(opts: SimOptions = {}): Promise<Simulator> {
  const options = resolveOptions(opts);
  const prng = new Prng(options.seed);
  const faultPrng = new Prng(options.seed ^ 0x5eed);
  const requestIds = new Prng(options.seed ^ 0x1d5);
  const scheduler = new Scheduler();
  const inventory = new Inventory();
  const conductor = new Conductor(inventory, scheduler, options);
  const factory = new NodeFactory(inventory, conductor, prng, options);
  const faults = new FaultInjector(faultPrng);
  const handlers = new ApiHandlers({
    inventory,
    conductor,
    options,
    createNode: (f) => factory.fromApi(f),
    createPort: (node, address, portgroup, extra) => {
      const port = factory.port(node, { address, ...(portgroup ? { portgroup } : {}) });
      port.extra = extra;
      return portBody(port, '');
    },
    createPortgroup: (node, init) => {
      const g = factory.portgroup(node, init);
      g.extra = init.extra;
      return portgroupBody(g, '');
    },
  });
  // A stream of its own, so the pre-enrolled nodes' hardware does not shift the UUIDs drawn after it.
  const hardware = new Prng(options.seed ^ 0x4a3d);
  // Named as operators name their servers, so clients that address nodes by name meet them.
  for (let i = 0; i < options.nodes; i++) {
    factory.seedNode({ name: preEnrolledName(i), properties: inspectedProperties(hardware) });
  }
  const counters = { requests: 0, byRoute: new Map<string, number>() };
  const log = options.log ? new RequestLog(options.logCapacity) : undefined;
  const keystone = opts.keystone === undefined ? undefined : new SimKeystone(opts.keystone);
  const server = new SimServer({
    options,
    handlers,
    inventory,
    faults,
    log,
    requestIds,
    stats: counters,
    ...(keystone === undefined ? {} : { keystone }),
  });
  const url = await server.listen();
  return new SimulatorImpl(
    url,
    faults,
    server,
    scheduler,
    inventory,
    conductor,
    factory,
    log,
    counters,
    keystone,
  );
}
