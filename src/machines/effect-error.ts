// Errors as they cross the effect boundary. The engine feeds every effect failure back to a
// machine as plain JSON (never a class instance) so that a live run and its replay see the
// same event; guards branch on `code` only.
import { IronicError } from '../ironic/errors.js';

/** The JSON an effect failure becomes: `xstate.error.actor.<id>` carries exactly this. */
export interface EffectErrorJson {
  name: string;
  code: string;
  message: string;
  status?: number | null;
  faultstring?: string | null;
  node?: string | null;
  method?: string;
  path?: string;
  attempts?: number;
}

/** Codes raised by effects themselves (Ironic's own are IronicErrorCode). */
export type EffectErrorCode =
  | 'SECRETS_UNAVAILABLE'
  | 'FILTERING_HOOK_FAILED'
  | 'VIF_ATTACH_FAILED'
  | 'CONFIG_DRIVE_FAILED'
  /** The node no longer holds the run's instance: the effect did nothing to it. */
  | 'INSTANCE_CHANGED'
  /** Whether Ironic took an earlier non-idempotent request cannot be told: not sent again. */
  | 'OUTCOME_UNKNOWN'
  | 'EFFECT_FAILED';

/** A failure an effect reports that is not an Ironic HTTP answer (a hook, missing secrets). */
export class EffectError extends Error {
  readonly code: EffectErrorCode;
  readonly node: string | null;
  readonly status: number | null;
  readonly faultstring: string | null;

  constructor(
    code: EffectErrorCode,
    message: string,
    facts: {
      node?: string | null;
      status?: number | null;
      faultstring?: string | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, facts.cause === undefined ? undefined : { cause: facts.cause });
    this.name = 'EffectError';
    this.code = code;
    this.node = facts.node ?? null;
    this.status = facts.status ?? null;
    this.faultstring = facts.faultstring ?? null;
  }

  toJSON(): EffectErrorJson {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      faultstring: this.faultstring,
      node: this.node,
    };
  }
}

/** Turns whatever an effect threw into the JSON the machine sees (and the log keeps). */
export function toEffectErrorJson(err: unknown): EffectErrorJson {
  if (err instanceof IronicError) {
    const out: EffectErrorJson = {
      name: err.name,
      code: err.code,
      message: err.message,
      status: err.status,
      faultstring: err.faultstring,
      node: err.node,
    };
    // The request that failed and how often it was tried: what an operator reads in `show`.
    if (err.method !== null) out.method = err.method;
    if (err.path !== null) out.path = err.path;
    out.attempts = err.attempts;
    return out;
  }
  if (err instanceof EffectError) return err.toJSON();
  if (err instanceof Error) {
    // Other layers' errors (a hook's, the engine's) keep their own stable code when they have one.
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === 'string' ? code : 'EFFECT_FAILED', message: err.message };
  }
  return { name: 'Error', code: 'EFFECT_FAILED', message: String(err) };
}

/** Reads an `xstate.error.actor.*` payload defensively: replayed logs are JSON of any age. */
export function asEffectError(value: unknown): EffectErrorJson {
  if (typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string') {
    const v = value as Partial<EffectErrorJson> & { code: string };
    return {
      name: typeof v.name === 'string' ? v.name : 'Error',
      code: v.code,
      message: typeof v.message === 'string' ? v.message : v.code,
      status: typeof v.status === 'number' ? v.status : null,
      faultstring: typeof v.faultstring === 'string' ? v.faultstring : null,
      node: typeof v.node === 'string' ? v.node : null,
    };
  }
  return toEffectErrorJson(value);
}
