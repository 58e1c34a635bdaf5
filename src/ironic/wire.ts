// Validation of Ironic's JSON where it enters. Each reader checks the fields the rest of
// ironledger relies on and throws a WireShapeError naming the first bad one; the
// transport turns that into IronicMalformedResponseError with status and snippet.
// Fields a `fields=` query left out are absent, so optional fields are checked only when
// present.
import { isProvisionState } from './states.js';
import type { ConsoleInfo, JsonObject, Node, NodeValidation, Port, Portgroup, Vif } from './types.js';
import { isRecord } from './fault.js';

export class WireShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireShapeError';
  }
}

type Check = (v: unknown) => boolean;
const isString: Check = (v) => typeof v === 'string';
const isStringOrNull: Check = (v) => v === null || typeof v === 'string';
const isBoolean: Check = (v) => typeof v === 'boolean';
const isObject: Check = (v) => isRecord(v);
const isPowerState: Check = (v) => v === null || typeof v === 'string';

function field(
  obj: Record<string, unknown>,
  key: string,
  check: Check,
  what: string,
  required: boolean,
): void {
  if (!(key in obj)) {
    if (required) throw new WireShapeError(`${what}: missing "${key}"`);
    return;
  }
  if (!check(obj[key]))
    throw new WireShapeError(`${what}: "${key}" has the wrong type (${typeOf(obj[key])})`);
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw new WireShapeError(`${what}: expected an object, got ${typeOf(value)}`);
  return value;
}

function list(value: unknown, key: string, what: string): unknown[] {
  const body = record(value, what);
  const items = body[key];
  if (!Array.isArray(items)) throw new WireShapeError(`${what}: "${key}" must be an array`);
  return items;
}

export function readNode(value: unknown): Node {
  const node = record(value, 'node');
  field(node, 'uuid', isString, 'node', true);
  field(node, 'name', isStringOrNull, 'node', false);
  field(node, 'provision_state', isProvisionState, 'node', false);
  field(node, 'target_provision_state', isProvisionState, 'node', false);
  field(node, 'power_state', isPowerState, 'node', false);
  field(node, 'target_power_state', isPowerState, 'node', false);
  field(node, 'last_error', isStringOrNull, 'node', false);
  field(node, 'maintenance', isBoolean, 'node', false);
  field(node, 'reservation', isStringOrNull, 'node', false);
  field(node, 'instance_uuid', isStringOrNull, 'node', false);
  field(node, 'console_enabled', isBoolean, 'node', false);
  for (const key of ['instance_info', 'properties', 'driver_info', 'extra'])
    field(node, key, isObject, 'node', false);
  return node as unknown as Node;
}

export function readNodeList(value: unknown): { nodes: Node[]; next: string | null } {
  const nodes = list(value, 'nodes', 'node list').map(readNode);
  const next = (value as Record<string, unknown>)['next'];
  if (next !== undefined && next !== null && typeof next !== 'string') {
    throw new WireShapeError('node list: "next" must be a URL string');
  }
  return { nodes, next: typeof next === 'string' ? next : null };
}

/** The `marker` query parameter of a `next` link, or null when there is none. */
export function markerOf(next: string): string | null {
  try {
    return new URL(next, 'http://ironic.invalid').searchParams.get('marker');
  } catch {
    return null;
  }
}

export function readPorts(value: unknown): Port[] {
  return list(value, 'ports', 'port list').map((item) => {
    const port = record(item, 'port');
    field(port, 'uuid', isString, 'port', true);
    field(port, 'address', isString, 'port', true);
    field(port, 'node_uuid', isString, 'port', true);
    field(port, 'portgroup_uuid', isStringOrNull, 'port', false);
    field(port, 'internal_info', isObject, 'port', false);
    field(port, 'extra', isObject, 'port', false);
    return {
      ...port,
      internal_info: objectOr(port['internal_info']),
      extra: objectOr(port['extra']),
    } as unknown as Port;
  });
}

export function readPortgroups(value: unknown): Portgroup[] {
  return list(value, 'portgroups', 'portgroup list').map((item) => {
    const pg = record(item, 'portgroup');
    field(pg, 'uuid', isString, 'portgroup', true);
    field(pg, 'address', isStringOrNull, 'portgroup', false);
    field(pg, 'node_uuid', isString, 'portgroup', true);
    field(pg, 'mode', isStringOrNull, 'portgroup', false);
    for (const key of ['properties', 'internal_info', 'extra']) field(pg, key, isObject, 'portgroup', false);
    return {
      ...pg,
      address: pg['address'] ?? null,
      mode: pg['mode'] ?? null,
      properties: objectOr(pg['properties']),
      internal_info: objectOr(pg['internal_info']),
      extra: objectOr(pg['extra']),
    } as unknown as Portgroup;
  });
}

function objectOr(value: unknown): JsonObject {
  return isRecord(value) ? (value as JsonObject) : {};
}

export function readVifs(value: unknown): Vif[] {
  return list(value, 'vifs', 'VIF list').map((item) => {
    const vif = record(item, 'vif');
    field(vif, 'id', isString, 'vif', true);
    return { id: vif['id'] as string };
  });
}

export function readValidation(value: unknown): NodeValidation {
  const body = record(value, 'validation');
  for (const [iface, result] of Object.entries(body)) {
    const entry = record(result, `validation.${iface}`);
    field(entry, 'result', (v) => v === null || typeof v === 'boolean', `validation.${iface}`, true);
    field(entry, 'reason', isStringOrNull, `validation.${iface}`, false);
  }
  return body as NodeValidation;
}

export function readConsole(value: unknown): ConsoleInfo {
  const body = record(value, 'console');
  field(body, 'console_enabled', isBoolean, 'console', true);
  const info = body['console_info'];
  if (info !== null && info !== undefined) {
    // Ironic passes on whatever the console driver returns: the fake console answers `{}`.
    const c = record(info, 'console.console_info');
    field(c, 'type', isString, 'console.console_info', false);
    field(c, 'url', isString, 'console.console_info', false);
  }
  return {
    console_enabled: body['console_enabled'] as boolean,
    console_info: (info ?? null) as ConsoleInfo['console_info'],
  };
}

/** min/max API versions from the root document (`GET /`) or the v1 document (`GET /v1`). */
export function readVersionRange(value: unknown): { min: string; max: string } | null {
  if (!isRecord(value)) return null;
  const candidates: unknown[] = [];
  if (Array.isArray(value['versions'])) candidates.push(...value['versions']);
  candidates.push(value['default_version'], value['version']);
  for (const c of candidates) {
    if (!isRecord(c)) continue;
    if (c['id'] !== undefined && c['id'] !== 'v1') continue;
    if (typeof c['version'] === 'string' && typeof c['min_version'] === 'string') {
      return { min: c['min_version'], max: c['version'] };
    }
  }
  return null;
}
