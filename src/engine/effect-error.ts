// Effect failures enter the machine, and the log, as plain JSON: the live run and an
// offline replay must feed the machine byte-identical events.
import type { JsonObject } from '../store/types.js';

export interface EffectError extends JsonObject {
  name: string;
  code: string;
  message: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function toEffectError(err: unknown): EffectError {
  if (isRecord(err) && typeof (err as { toJSON?: unknown }).toJSON === 'function') {
    const json = (err as { toJSON: () => unknown }).toJSON();
    if (isRecord(json) && typeof json.code === 'string') {
      return toJson({
        ...json,
        name: String(json.name ?? 'Error'),
        message: String(json.message ?? ''),
      }) as EffectError;
    }
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      code: typeof code === 'string' ? code : 'EFFECT_FAILED',
      message: err.message,
    };
  }
  return { name: 'Error', code: 'EFFECT_FAILED', message: String(err) };
}

/** Round-trips through JSON: drops undefined, functions and class identity. */
export function toJson(value: unknown): JsonObject | JsonObject[keyof JsonObject] {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}
