// Typed run failures: every code a RunResult.error can carry, so a scheduler can branch on it
// (and TypeScript tells it when a code is added). Collected from the machines' own failures
// (lifecycle-output.ts and the machines that assign them), the effects' (effect-error.ts),
// Ironic's and Keystone's (ironic/errors.ts, passed through by the machines and by an auth stop),
// and the engine's (a run it stopped driving, or could not record).
import type { IronicErrorCode } from '../ironic/errors.js';
import type { EffectErrorCode } from '../machines/effect-error.js';
import type { MachineError } from '../machines/lifecycle-output.js';
import type { JsonObject } from '../store/types.js';

/** Failures a lifecycle machine decides itself (its context's `error.code`). */
export const MACHINE_FAILURE_CODES = [
  'CLEAN_FAILED',
  'CONSOLE_UNAVAILABLE',
  'DEPLOY_ABORTED',
  'DEPLOY_FAILED',
  'DEPLOY_TIMEOUT',
  'INSTANCE_GONE',
  'NODE_REQUIRED',
  'POWER_TIMEOUT',
  'REBUILD_REQUEST_FAILED',
  'UNPROVISION_FAILED',
  'UNPROVISION_TIMEOUT',
  'VALIDATION_FAILED',
] as const;
export type MachineFailureCode = (typeof MACHINE_FAILURE_CODES)[number];

const EFFECT_CODES = [
  'SECRETS_UNAVAILABLE',
  'FILTERING_HOOK_FAILED',
  'VIF_ATTACH_FAILED',
  'CONFIG_DRIVE_FAILED',
  'INSTANCE_CHANGED',
  'OUTCOME_UNKNOWN',
  'EFFECT_FAILED',
] as const satisfies readonly EffectErrorCode[];

const IRONIC_CODES = [
  'IRONIC_NOT_FOUND',
  'IRONIC_BAD_REQUEST',
  'IRONIC_CONFLICT',
  'IRONIC_NODE_LOCKED',
  'IRONIC_NOT_ACCEPTABLE',
  'IRONIC_UNAVAILABLE',
  'IRONIC_SERVER_ERROR',
  'IRONIC_CONCURRENT_ACTION_LIMIT',
  'IRONIC_HTTP_ERROR',
  'IRONIC_NETWORK',
  'IRONIC_TIMEOUT',
  'IRONIC_ANSWER_LOST',
  'IRONIC_ABORTED',
  'IRONIC_MALFORMED_RESPONSE',
  'IRONIC_RESPONSE_TOO_LARGE',
  'IRONIC_DEADLINE_EXCEEDED',
  'IRONIC_VERSION_UNSUPPORTED',
  'IRONIC_INVALID_INPUT',
  'IRONIC_UNAUTHORIZED',
  'KEYSTONE_UNAUTHORIZED',
  'KEYSTONE_UNAVAILABLE',
  'KEYSTONE_NO_ENDPOINT',
] as const satisfies readonly IronicErrorCode[];

/** Failures of the engine around a run: it stopped driving it, or never recorded it. */
export const ENGINE_FAILURE_CODES = [
  /** The engine closed first; the run stays resumable (status `interrupted`). */
  'ENGINE_CLOSED',
  /** Its progress could not be recorded (the store's code is in `cause`); resumable. */
  'RUN_INTERRUPTED',
  /** The store refused to create it; nothing reached Ironic (status `failed`). */
  'RUN_NOT_RECORDED',
  /** A newer command for its instance replaced it while no engine drove it (recorded only). */
  'RUN_SUPERSEDED',
] as const;

// Compile-time: every code of the effect and Ironic unions is listed above.
type Missing =
  | Exclude<EffectErrorCode, (typeof EFFECT_CODES)[number]>
  | Exclude<IronicErrorCode, (typeof IRONIC_CODES)[number]>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

export type RunFailureCode =
  MachineFailureCode | EffectErrorCode | IronicErrorCode | (typeof ENGINE_FAILURE_CODES)[number];

export const RUN_FAILURE_CODES: readonly RunFailureCode[] = [
  ...MACHINE_FAILURE_CODES,
  ...EFFECT_CODES,
  ...IRONIC_CODES,
  ...ENGINE_FAILURE_CODES,
];

const KNOWN = new Set<string>(RUN_FAILURE_CODES);

export function isRunFailureCode(code: unknown): code is RunFailureCode {
  return typeof code === 'string' && KNOWN.has(code);
}

/**
 * Why a run did not succeed: a code from the union, a message, and the facts known then (any
 * other JSON fact the failure recorded, e.g. `method`, `path`, `attempts` of Ironic's request).
 */
export type RunFailure = JsonObject & Omit<MachineError, 'code'> & { code: RunFailureCode };

/**
 * A run's error as the RunResult carries it. A code outside the union (an embedder's effect
 * threw its own) reads EFFECT_FAILED, the original code kept in `cause`; the record keeps it as is.
 */
export function runFailureOf(error: JsonObject): RunFailure {
  const message = typeof error.message === 'string' ? error.message : String(error.code ?? 'failed');
  if (isRunFailureCode(error.code)) return { ...error, code: error.code, message } as RunFailure;
  return { ...error, code: 'EFFECT_FAILED', message, cause: String(error.code ?? 'unknown') } as RunFailure;
}
