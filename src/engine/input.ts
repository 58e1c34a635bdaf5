// Bad input is refused before a run is created: nothing reaches the store or Ironic.
import type { JsonObject } from '../store/types.js';
import { EngineError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

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
  if (
    node !== undefined &&
    node !== null &&
    (typeof node !== 'string' || node.trim() === '' || /[/?#\s]/.test(node))
  ) {
    fail(`node must be a UUID or a node name, got ${JSON.stringify(node)}.`);
  }
  if (input.vifs !== undefined && !Array.isArray(input.vifs)) fail('vifs must be a list.');
  for (const key of ['maxPolls', 'softTimeoutSeconds', 'timeoutMs'] as const) {
    const v = input[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      fail(`${key} must be a number >= 0, got ${JSON.stringify(v)}.`);
    }
  }
}
