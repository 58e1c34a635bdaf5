// The simulator's node, port and portgroup records and their wire bodies. Field
// names and order follow Ironic 2023.1's API answers (API 1.82, fake-hardware).
import type { PowerStateValue, ProvisionStateName, ProvisionStateValue } from '../ironic/states.js';
import type { JsonObject } from '../ironic/types.js';

/**
 * How a node's network interface treats VIFs: `flat` and `neutron` track them on ports and
 * portgroups; `noop` accepts and forgets them.
 */
export type SimNetworkInterface = 'flat' | 'neutron' | 'noop';
/** `fake` answers console_info {}; `ipmitool-socat` a socat tcp URL; `no-console` refuses. */
export type SimConsoleInterface = 'fake' | 'ipmitool-socat' | 'no-console';
/** Hardware interfaces reported by GET /v1/nodes/{node}/validate. */
export type SimInterfaceName =
  | 'boot'
  | 'deploy'
  | 'management'
  | 'network'
  | 'power'
  | 'bios'
  | 'console'
  | 'inspect'
  | 'raid'
  | 'rescue'
  | 'storage';

export interface SimPortInit {
  address: string;
  /** A VIF already attached to this port (internal_info.tenant_vif_port_id). */
  vifId?: string;
  /** UUID of one of the node's portgroups. */
  portgroup?: string;
  uuid?: string;
}

export interface SimPortgroupInit {
  address?: string | null;
  mode?: string | null;
  properties?: JsonObject;
  name?: string | null;
  vifId?: string;
  uuid?: string;
}

/** What `Simulator.addNode` accepts; every field is optional there. */
export interface SimNodeInit {
  uuid: string;
  name: string | null;
  provisionState: ProvisionStateName;
  /** Defaults to the state's Ironic target for transitional states, else null. */
  targetProvisionState: ProvisionStateValue;
  powerState: PowerStateValue;
  instanceUuid: string | null;
  instanceInfo: JsonObject;
  properties: JsonObject;
  driverInfo: JsonObject;
  extra: JsonObject;
  maintenance: boolean;
  maintenanceReason: string | null;
  lastError: string | null;
  resourceClass: string | null;
  /** Per-node override of the simulator's automated clean (null: follow the simulator). */
  automatedClean: boolean | null;
  networkInterface: SimNetworkInterface;
  consoleInterface: SimConsoleInterface;
  consoleEnabled: boolean;
  /** TCP port in the socat console URL. */
  consolePort: number;
  /** Interfaces whose validation fails, with Ironic's reason text. */
  validationFailures: Partial<Record<SimInterfaceName, string>>;
  ports: SimPortInit[];
  portgroups: SimPortgroupInit[];
}

export interface SimPort {
  uuid: string;
  nodeUuid: string;
  address: string;
  portgroupUuid: string | null;
  internalInfo: JsonObject;
  extra: JsonObject;
  createdAt: string;
  updatedAt: string | null;
}

export interface SimPortgroup {
  uuid: string;
  nodeUuid: string;
  address: string | null;
  name: string | null;
  mode: string | null;
  properties: JsonObject;
  internalInfo: JsonObject;
  extra: JsonObject;
  createdAt: string;
  updatedAt: string | null;
}

export interface SimNode {
  /** Creation order: Ironic's default sort key `id`. */
  id: number;
  uuid: string;
  name: string | null;
  createdAt: string;
  updatedAt: string | null;
  driver: string;
  powerState: PowerStateValue;
  targetPowerState: PowerStateValue;
  provisionState: ProvisionStateName;
  targetProvisionState: ProvisionStateValue;
  provisionUpdatedAt: string | null;
  lastError: string | null;
  maintenance: boolean;
  maintenanceReason: string | null;
  fault: string | null;
  reservation: string | null;
  instanceUuid: string | null;
  instanceInfo: JsonObject;
  properties: JsonObject;
  driverInfo: JsonObject;
  driverInternalInfo: JsonObject;
  extra: JsonObject;
  resourceClass: string | null;
  description: string | null;
  automatedClean: boolean | null;
  consoleEnabled: boolean;
  networkInterface: SimNetworkInterface;
  consoleInterface: SimConsoleInterface;
  consolePort: number;
  validationFailures: Partial<Record<SimInterfaceName, string>>;
  ports: SimPort[];
  portgroups: SimPortgroup[];
  /** Injected failures for the next deploy / clean (the text becomes last_error). */
  failNextDeploy: string | null;
  failNextClean: string | null;
  /** Manual cleaning (verb `clean`) ends in manageable, automated in available. */
  manualClean: boolean;
}

/** Python's datetime.isoformat() with microseconds and +00:00, as Ironic prints times. */
export function isoTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}000+00:00`;
}

function links(base: string, kind: string, uuid: string, sub?: string): JsonObject[] {
  const tail = sub ? `${uuid}/${sub}` : uuid;
  return [
    { href: `${base}/v1/${kind}/${tail}`, rel: 'self' },
    { href: `${base}/${kind}/${tail}`, rel: 'bookmark' },
  ];
}

/** Ironic masks the config drive when it shows instance_info. */
function shownInstanceInfo(info: JsonObject): JsonObject {
  if (!('configdrive' in info)) return info;
  return { ...info, configdrive: '******' };
}

type FieldGetter = (n: SimNode, base: string) => unknown;

/** The node body of API 1.82 as (field, getter) pairs in Ironic's key order. */
const NODE_FIELDS: readonly (readonly [string, FieldGetter])[] = [
  ['uuid', (n) => n.uuid],
  ['created_at', (n) => n.createdAt],
  ['updated_at', (n) => n.updatedAt],
  ['automated_clean', (n) => n.automatedClean],
  ['bios_interface', () => 'no-bios'],
  ['boot_interface', () => 'fake'],
  ['boot_mode', () => null],
  ['clean_step', () => ({})],
  ['conductor_group', () => ''],
  ['console_enabled', (n) => n.consoleEnabled],
  ['console_interface', (n) => n.consoleInterface],
  ['deploy_interface', () => 'fake'],
  ['deploy_step', () => ({})],
  ['description', (n) => n.description],
  ['driver', (n) => n.driver],
  ['driver_info', (n) => n.driverInfo],
  ['driver_internal_info', (n) => n.driverInternalInfo],
  ['extra', (n) => n.extra],
  ['fault', (n) => n.fault],
  ['inspection_finished_at', () => null],
  ['inspection_started_at', () => null],
  ['inspect_interface', () => 'fake'],
  ['instance_info', (n) => shownInstanceInfo(n.instanceInfo)],
  ['instance_uuid', (n) => n.instanceUuid],
  ['last_error', (n) => n.lastError],
  ['lessee', () => null],
  ['maintenance', (n) => n.maintenance],
  ['maintenance_reason', (n) => n.maintenanceReason],
  ['management_interface', () => 'fake'],
  ['name', (n) => n.name],
  ['network_data', () => ({})],
  ['network_interface', (n) => n.networkInterface],
  ['owner', () => null],
  ['power_interface', () => 'fake'],
  ['power_state', (n) => n.powerState],
  ['properties', (n) => n.properties],
  ['protected', () => false],
  ['protected_reason', () => null],
  ['provision_state', (n) => n.provisionState],
  ['provision_updated_at', (n) => n.provisionUpdatedAt],
  ['raid_config', () => ({})],
  ['raid_interface', () => 'fake'],
  ['rescue_interface', () => 'no-rescue'],
  ['reservation', (n) => n.reservation],
  ['resource_class', (n) => n.resourceClass],
  ['retired', () => false],
  ['retired_reason', () => null],
  ['secure_boot', () => null],
  ['shard', () => null],
  ['storage_interface', () => 'noop'],
  ['target_power_state', (n) => n.targetPowerState],
  ['target_provision_state', (n) => n.targetProvisionState],
  ['target_raid_config', () => ({})],
  ['traits', () => []],
  ['vendor_interface', () => 'no-vendor'],
  ['links', (n, base) => links(base, 'nodes', n.uuid)],
  ['conductor', () => 'localhost'],
  ['allocation_uuid', () => null],
  ['chassis_uuid', () => null],
  ['ports', (n, base) => links(base, 'nodes', n.uuid, 'ports')],
  ['states', (n, base) => links(base, 'nodes', n.uuid, 'states')],
  ['portgroups', (n, base) => links(base, 'nodes', n.uuid, 'portgroups')],
  ['volume', (n, base) => links(base, 'nodes', n.uuid, 'volume')],
];
const GETTERS = new Map<string, FieldGetter>(NODE_FIELDS);
const LINK_LISTS = new Set(['links', 'ports', 'states', 'portgroups', 'volume']);

/** Body keys Ironic 2023.1 will not select: "Field updated_at is not a valid field." (400). */
export const NODE_UNSELECTABLE_FIELDS: ReadonlySet<string> = new Set(['created_at', 'updated_at']);

/** Every field name `fields=` may ask for (the body's keys but its link lists and timestamps). */
export const NODE_FIELD_NAMES: ReadonlySet<string> = new Set(
  NODE_FIELDS.map(([name]) => name).filter(
    (name) => !LINK_LISTS.has(name) && !NODE_UNSELECTABLE_FIELDS.has(name),
  ),
);

/** The full node body of GET /v1/nodes/{node} at API 1.82, in Ironic's key order. */
export function nodeBody(n: SimNode, base: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, get] of NODE_FIELDS) out[name] = get(n, base);
  return out;
}

/** A node body restricted to `fields` (in the order asked), plus links, as Ironic does. */
export function nodeFieldsBody(n: SimNode, base: string, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = GETTERS.get(f)?.(n, base);
  out.links = links(base, 'nodes', n.uuid);
  return out;
}

/** The default GET /v1/nodes entry (no fields=, not detail). `name` appears from API 1.5. */
export function nodeSummaryBody(n: SimNode, base: string, minor: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    uuid: n.uuid,
    instance_uuid: n.instanceUuid,
    maintenance: n.maintenance,
    power_state: n.powerState,
    provision_state: n.provisionState,
  };
  if (minor >= 5) out.name = n.name;
  out.links = links(base, 'nodes', n.uuid);
  return out;
}

export function portBody(p: SimPort, base: string): Record<string, unknown> {
  return {
    uuid: p.uuid,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    address: p.address,
    extra: p.extra,
    internal_info: p.internalInfo,
    is_smartnic: false,
    local_link_connection: {},
    physical_network: null,
    pxe_enabled: true,
    node_uuid: p.nodeUuid,
    links: links(base, 'ports', p.uuid),
    portgroup_uuid: p.portgroupUuid,
  };
}

export function portgroupBody(g: SimPortgroup, base: string): Record<string, unknown> {
  return {
    uuid: g.uuid,
    created_at: g.createdAt,
    updated_at: g.updatedAt,
    address: g.address,
    extra: g.extra,
    internal_info: g.internalInfo,
    mode: g.mode,
    name: g.name,
    properties: g.properties,
    standalone_ports_supported: true,
    node_uuid: g.nodeUuid,
    links: links(base, 'portgroups', g.uuid),
    ports: links(base, 'portgroups', g.uuid, 'ports'),
  };
}

/** A deep copy for read-only views (callers must not reach into live records). */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}
