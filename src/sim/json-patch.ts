// The subset of RFC 6902 that PATCH /v1/nodes/{node} needs (add, replace,
// remove, test), with Ironic's refusals and faultstrings: attributes outside
// the updatable list, new root attributes, members that do not exist.
import type { Json, JsonObject } from '../ironic/types.js';
import { Fault } from './api-error.js';
import { pyRepr } from './python-json.js';

/** Ironic 2023.1's updatable node attributes, in the order its faultstring lists them. */
const PATCHABLE = [
  'automated_clean',
  'bios_interface',
  'boot_interface',
  'chassis_uuid',
  'conductor_group',
  'console_interface',
  'deploy_interface',
  'description',
  'driver',
  'driver_info',
  'extra',
  'inspect_interface',
  'instance_info',
  'instance_uuid',
  'lessee',
  'maintenance',
  'management_interface',
  'name',
  'network_data',
  'network_interface',
  'owner',
  'power_interface',
  'properties',
  'protected',
  'protected_reason',
  'raid_interface',
  'rescue_interface',
  'resource_class',
  'retired',
  'retired_reason',
  'shard',
  'storage_interface',
  'vendor_interface',
];
const PATCHABLE_SET = new Set(PATCHABLE);

/** Root attributes whose removal resets them to {} rather than None. */
const DICT_ATTRIBUTES = new Set(['driver_info', 'extra', 'instance_info', 'properties', 'network_data']);

export interface PatchOperation {
  op: string;
  path: string;
  value?: Json;
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Validates the body shape and the attributes it touches (the API's _validate_patch). */
export function validatePatchBody(body: unknown): PatchOperation[] {
  if (!Array.isArray(body))
    throw Fault.invalid(`Schema error for patch: ${pyRepr(body)} is not of type 'array'`);
  const ops: PatchOperation[] = [];
  for (const raw of body) {
    const op = raw as Partial<PatchOperation> | null;
    if (!op || typeof op !== 'object' || Array.isArray(op)) {
      throw Fault.invalid(`Schema error for patch: ${pyRepr(raw)} is not of type 'object'`);
    }
    for (const required of ['op', 'path'] as const) {
      if (!(required in op))
        throw Fault.invalid(`Schema error for patch: '${required}' is a required property`);
    }
    if (!['add', 'replace', 'remove', 'test', 'move', 'copy'].includes(String(op.op))) {
      throw Fault.invalid(
        `Schema error for patch: ${pyRepr(op.op)} is not one of ['add', 'replace', 'remove']`,
      );
    }
    const root = unescape(String(op.path).split('/')[1] ?? '');
    if (!PATCHABLE_SET.has(root)) {
      throw Fault.invalid(
        `Cannot patch /${root}. Only the following can be updated: ${PATCHABLE.join(', ')}`,
      );
    }
    ops.push(op as PatchOperation);
  }
  return ops;
}

/** Applies `ops`, one at a time like Ironic, to a deep copy of `doc`. */
export function applyPatch(doc: JsonObject, ops: readonly PatchOperation[]): JsonObject {
  const out = structuredClone(doc);
  for (const op of ops) {
    if (op.op === 'add' && op.path.split('/').length === 2 && !(unescape(op.path.slice(1)) in out)) {
      throw Fault.invalid(`Adding a new attribute (${op.path}) to the root of the resource is not allowed`);
    }
  }
  for (const op of ops) applyOne(out, op);
  return out;
}

function applyOne(out: JsonObject, op: PatchOperation): void {
  const fail = (reason: string): never => {
    throw Fault.invalid(`Couldn't apply patch '${pyRepr(op)}'. Reason: ${reason}`);
  };
  const tokens = op.path.split('/').slice(1).map(unescape);
  let parent: Json = out;
  for (const t of tokens.slice(0, -1)) {
    const next: Json | undefined =
      parent !== null && typeof parent === 'object' && !Array.isArray(parent) ? parent[t] : undefined;
    if (next === undefined || next === null || typeof next !== 'object')
      fail(`member '${t}' not found in ${pyRepr(parent)}`);
    parent = next as Json;
  }
  const key = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length)
      fail(`can't ${op.op} outside of list`);
    if (op.op === 'add') parent.splice(index, 0, op.value!);
    else if (index >= parent.length) fail(`can't ${op.op} outside of list`);
    else if (op.op === 'replace') parent[index] = op.value!;
    else if (op.op === 'remove') parent.splice(index, 1);
    return;
  }
  const container = parent as Record<string, Json>;
  const has = Object.prototype.hasOwnProperty.call(container, key);
  if (op.op === 'add') container[key] = op.value!;
  else if (!has) fail(`can't ${op.op} a non-existent object '${key}'`);
  else if (op.op === 'replace') container[key] = op.value!;
  else if (op.op === 'remove') {
    // A removed root attribute goes back to its default ({} for dicts, None otherwise).
    if (tokens.length === 1) container[key] = DICT_ATTRIBUTES.has(key) ? {} : null;
    else delete container[key];
  }
}
