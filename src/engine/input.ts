// Bad input is refused before a run is created: nothing reaches the store or Ironic.
import { isNodeIdent, isUuid } from '../ironic/validate.js';
import { redact } from '../store/redact.js';
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
