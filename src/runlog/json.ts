// Values as a run's stream holds them: plain JSON.
import type { JsonObject, JsonValue } from '../store/types.js';

/** Round-trips through JSON: drops undefined, functions and class identity. */
export function toJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/** The value when it is a JSON object, else {}. */
export function asObject(value: unknown): JsonObject {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}
