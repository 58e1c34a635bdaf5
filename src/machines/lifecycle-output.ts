// What every lifecycle machine ends with, and the small pieces of context they share.
import type { EffectErrorJson } from './effect-error.js';
import { asEffectError } from './effect-error.js';

/** The failure a run ends with: a stable code, a message, and the facts known at that point. */
export interface MachineError {
  code: string;
  message: string;
  /** The last Ironic provision or power state observed, when the failure is about waiting. */
  state?: string | null;
  status?: number | null;
  faultstring?: string | null;
  node?: string | null;
  /** The code of the effect error that caused this one, when it was translated. */
  cause?: string;
}

export interface LifecycleOutput {
  status: 'succeeded' | 'failed';
  node?: string;
  error?: MachineError;
  warnings: string[];
  console?: { host: string; port: number };
}

/** Fields every machine context carries so that `output` is computed the same way. */
export interface BaseContext {
  instance: string;
  node: string | null;
  warnings: string[];
  error: MachineError | null;
}

export function outputOf(context: BaseContext): LifecycleOutput {
  const out: LifecycleOutput = {
    status: context.error === null ? 'succeeded' : 'failed',
    warnings: context.warnings,
  };
  if (context.node !== null) out.node = context.node;
  if (context.error !== null) out.error = context.error;
  return out;
}

/** An effect failure as the run's failure, keeping Ironic's facts. */
export function fromEffectError(err: EffectErrorJson, message?: string): MachineError {
  const out: MachineError = { code: err.code, message: message ?? err.message };
  if (err.status !== undefined && err.status !== null) out.status = err.status;
  if (err.faultstring !== undefined && err.faultstring !== null) out.faultstring = err.faultstring;
  if (err.node !== undefined && err.node !== null) out.node = err.node;
  return out;
}

/** An effect failure as the run's failure, its message prefixed with what was being done. */
export function failureFrom(prefix: string, err: EffectErrorJson): MachineError {
  return { ...fromEffectError(err, `${prefix}: ${err.message}`), cause: err.code };
}

/** The output of an `xstate.done.actor.*` event (named guards see the machine's generic event). */
export function doneOutput<T>(event: unknown): T {
  return (event as { output: T }).output;
}

/** The error of an `xstate.error.actor.*` event, as JSON with a code. */
export function errorOf(event: unknown): EffectErrorJson {
  return asEffectError((event as { error?: unknown }).error);
}
