// Input checks made before any request leaves: a bad UUID, an empty node id, a
// malformed JSON patch or a nonsensical timeout is our caller's bug, so it gets a typed
// IronicInvalidInputError instead of a round trip and whatever Ironic makes of it.
import { IronicInvalidInputError } from './errors.js';
import type { PatchOp } from './types.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ironic node names: RFC 3986 unreserved characters, at most 255 of them (Ironic's
 * is_valid_logical_name, which API versions from 1.10 apply to node names).
 */
const NODE_NAME_RE = /^[A-Za-z0-9._~-]{1,255}$/;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

export function assertUuid(value: unknown, what: string): asserts value is string {
  if (!isUuid(value)) {
    throw new IronicInvalidInputError(`${what} must be a UUID, got ${describe(value)}`);
  }
}

/** A node UUID, or a name Ironic would accept for a node. */
export function isNodeIdent(value: unknown): boolean {
  return typeof value === 'string' && (isUuid(value) || NODE_NAME_RE.test(value));
}

/** A node may be named by UUID or by its (URL-safe) name. */
export function assertNodeIdent(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new IronicInvalidInputError(`node id must be a non-empty string, got ${describe(value)}`);
  }
  if (!isNodeIdent(value)) {
    throw new IronicInvalidInputError(
      `node id ${JSON.stringify(value)} is neither a UUID nor a valid node name`,
    );
  }
}

/** VIF ids are Neutron port ids; anything non-empty is passed through, encoded. */
export function assertVifId(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new IronicInvalidInputError(`VIF id must be a non-empty string, got ${describe(value)}`);
  }
}

/** A duration in ms: finite and not negative. */
export function assertTimeoutMs(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new IronicInvalidInputError(`${what} must be a finite number >= 0, got ${describe(value)}`);
  }
}

/** Ironic's power `timeout` is a positive integer of seconds ("timeout has to be positive integer"). */
export function assertPowerTimeout(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new IronicInvalidInputError(
      `power timeout must be a positive integer of seconds, got ${describe(value)}`,
    );
  }
}

export function assertPatch(patch: unknown): asserts patch is readonly PatchOp[] {
  if (!Array.isArray(patch)) {
    throw new IronicInvalidInputError('patch must be an array of operations');
  }
  patch.forEach((op: unknown, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      throw new IronicInvalidInputError(`patch[${i}] must be an object`);
    }
    const { op: verb, path } = op as Record<string, unknown>;
    if (verb !== 'add' && verb !== 'replace' && verb !== 'remove') {
      throw new IronicInvalidInputError(
        `patch[${i}].op must be add, replace or remove, got ${describe(verb)}`,
      );
    }
    if (typeof path !== 'string' || !path.startsWith('/') || path.length < 2) {
      throw new IronicInvalidInputError(
        `patch[${i}].path must be a JSON pointer starting with "/", got ${describe(path)}`,
      );
    }
    if (verb !== 'remove' && (!('value' in op) || (op as { value?: unknown }).value === undefined)) {
      throw new IronicInvalidInputError(`patch[${i}] (${verb} ${path}) needs a value`);
    }
  });
}

/** Short, secret-free description of a bad value: its type, and the value only if it is short. */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length <= 64 ? JSON.stringify(value) : `a string of ${value.length} chars`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
