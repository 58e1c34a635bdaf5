// Bad input is refused before a run is created: nothing reaches the store or Ironic.
import { Buffer } from 'node:buffer';
import {
  MAX_USER_DATA_BYTES,
  MAX_USER_DATA_ENCODED,
  userDataTooLargeMessage,
} from '../ironic/configdrive.js';
import { isNodeIdent, isUuid } from '../ironic/validate.js';
import type { RunSecrets } from '../machines/effect-context.js';
import { redact } from '../store/redact.js';
import type { Scrubber } from '../store/scrub.js';
import type { JsonObject } from '../store/types.js';
import { EngineError } from './errors.js';

function fail(message: string, facts: Record<string, unknown> = {}): never {
  throw new EngineError('ENGINE_INVALID_INPUT', message, facts);
}

export function assertRunInput(op: string, input: JsonObject): void {
  if (!isUuid(input.instance))
    fail(`instance must be a UUID, got ${JSON.stringify(input.instance ?? null)}.`);
  const node = input.node;
  if (op === 'deploy' && (typeof node !== 'string' || node.trim() === '')) {
    fail(`deploy needs the Ironic node (UUID or name) the scheduler picked for instance ${input.instance}.`, {
      instance: input.instance,
    });
  }
  // Refused here rather than by the client: a name Ironic cannot hold would start a run that fails.
  if (node !== undefined && node !== null && !isNodeIdent(node)) {
    fail(`node must be a UUID or a node name, got ${JSON.stringify(node)}.`);
  }
  if (input.vifs !== undefined && !Array.isArray(input.vifs)) fail('vifs must be a list.');
  for (const key of ['timeoutS', 'softTimeoutSeconds', 'timeoutMs'] as const) {
    const v = input[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      fail(`${key} must be a number >= 0, got ${JSON.stringify(v)}.`);
    }
  }
}

/**
 * The machine's input is stored (redacted) and folded again on replay and resume, so it must
 * come through redaction unchanged: a secret in it would be lost, and a resumed run would take
 * another path than the live one. Secrets travel separately (RunSecrets), in memory only.
 */
export function assertInputStorable(op: string, input: JsonObject): void {
  const stored = JSON.stringify(redact(input));
  if (stored === JSON.stringify(input)) return;
  fail(
    `${op} input holds a field the event log must redact (${firstRedacted(input, redact(input))}); pass secrets separately.`,
  );
}

/**
 * The input is recorded as given (a resumed run must take the path the live one took), so it may
 * not carry the value of one of the run's secrets, where scrubbing would change it: refused,
 * naming the field, never the value.
 */
export function assertInputHoldsNoSecret(op: string, input: JsonObject, scrub: Scrubber | null): void {
  if (scrub === null) return;
  const scrubbed = scrub.value(input);
  if (scrubbed === input) return;
  fail(
    `${op} input holds the value of one of the run's secrets (an admin password, user data, injected file or the Ironic credentials) in ${firstRedacted(input, scrubbed)}; choose another secret or another value: the input is recorded, secrets never are.`,
  );
}

function firstRedacted(a: unknown, b: unknown, path = ''): string {
  if (a !== null && typeof a === 'object' && b !== null && typeof b === 'object') {
    for (const key of Object.keys(a)) {
      const found = firstRedacted(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (found) return found;
    }
    return '';
  }
  return JSON.stringify(a) === JSON.stringify(b) ? '' : path.slice(1);
}

/** A deploy's secrets as a library caller gives them. */
export interface DeploySecrets {
  adminPassword?: string;
  /** Bytes, sent to the instance unaltered; a string means its UTF-8 bytes. */
  userData?: string | Uint8Array;
  injectedFiles?: Array<{ path: string; contents: string }>;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The strings by which a run's secrets could come back in an answer, each to be scrubbed from
 * everything recorded: the admin password; user data as its text (and trimmed: servers strip it)
 * and as base64 of its bytes; injected files' contents, as text and as the base64 they travel as.
 * The config drive image built from them is added when it is sent (engine).
 */
export function secretValuesOf(secrets: RunSecrets): string[] {
  const out: string[] = [];
  if (secrets.adminPassword !== undefined) out.push(secrets.adminPassword);
  const bytes = secrets.userData;
  if (bytes !== undefined && bytes.length > 0) {
    let text: string | null = null;
    try {
      text = UTF8.decode(bytes);
    } catch {
      text = null; // binary (gzip...): it can only come back encoded
    }
    if (text !== null) out.push(text, text.trim());
    out.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'));
  }
  for (const file of secrets.injectedFiles ?? []) {
    out.push(file.contents, file.contents.trim(), Buffer.from(file.contents, 'utf8').toString('base64'));
  }
  return out;
}

/**
 * The run's secrets, user data as bytes of its own: a caller changing its buffer later cannot
 * change what the run sends. User data over Nova's limit is refused here, before a run exists.
 */
export function runSecretsOf(secrets: DeploySecrets): RunSecrets {
  const { userData, ...rest } = secrets;
  if (userData === undefined) return rest;
  if (typeof userData !== 'string' && !(userData instanceof Uint8Array)) {
    fail(`userData must be a string or bytes (Uint8Array), got ${typeof userData}.`);
  }
  const bytes = typeof userData === 'string' ? Buffer.from(userData, 'utf8') : Uint8Array.from(userData);
  if (bytes.length > MAX_USER_DATA_BYTES) {
    throw new EngineError('USER_DATA_TOO_LARGE', `${userDataTooLargeMessage(bytes.length)}.`, {
      bytes: bytes.length,
      limitBytes: MAX_USER_DATA_BYTES,
      limitEncoded: MAX_USER_DATA_ENCODED,
    });
  }
  return { ...rest, userData: bytes };
}
