// The one function that turns a machine step into the events a run's stream records. The engine
// (src/engine/run.ts) commits what it returns, write-ahead, before it starts the effects the step
// invokes; the test writers and the benchmark record through it too, so no writer records what
// the engine does not, and replay folds exactly what was written.
//
// A step's events, in order, committed together:
//   [effect.succeeded | effect.failed]   the effect result that caused the step, if one did
//   machine.event                         the event the machine took (none for the first step)
//   transition                            from -> to, also when the machine stayed (from === to)
//   effect.started...                     each effect the new state invokes
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import type { JsonObject } from '../store/types.js';
import type { Spawn } from './actions.js';
import type { FinishedStatus, NewRunEvent, RecordedMachineEvent, RunEventData } from './events.js';
import { asObject, toJson } from './json.js';
import { stateToString } from './state.js';

/** The machine event a step took: what caused it and, for a long-lived effect's report, which effect. */
export interface StepCause {
  event: RecordedMachineEvent;
  /** The long-lived effect that reported it; absent for an effect's result or an outside event. */
  actorId?: string;
}

export interface Step {
  /** The state before the step; null for the run's first step (its initial transition). */
  from: string | null;
  /** Null for the first step. */
  cause: StepCause | null;
  /** The effect's result that caused it (from effectResult), recorded before its machine event. */
  result?: NewRunEvent;
  next: AnyMachineSnapshot;
  /** The effects the new state invokes (decodeActions(actions).spawns). */
  spawns: readonly Spawn[];
  /** Of the effects the step stops, those still in flight (their results will be dropped). */
  stopped?: readonly string[];
  /** The node's UUID when this step taught it to the run (a teardown looks it up by instance). */
  nodeUuid?: string;
}

export function stepEvents(step: Step): NewRunEvent[] {
  const events: NewRunEvent[] = [];
  if (step.result) events.push(step.result);
  if (step.cause) {
    const data: RunEventData['machine.event'] = { event: step.cause.event };
    if (step.cause.actorId !== undefined) data.actorId = step.cause.actorId;
    events.push({ kind: 'machine.event', type: step.cause.event.type, data });
  }
  const transition: RunEventData['transition'] = {};
  if (step.stopped && step.stopped.length > 0) transition.stopped = [...step.stopped];
  if (step.nodeUuid !== undefined) transition.nodeUuid = step.nodeUuid;
  events.push({ kind: 'transition', from: step.from, to: stateToString(step.next.value), data: transition });
  events.push(...startedEvents(step.spawns));
  return events;
}

/** The `effect.started` of each effect, recorded before it runs. */
export function startedEvents(spawns: readonly Spawn[]): NewRunEvent[] {
  return spawns.map((s) => ({
    kind: 'effect.started',
    type: s.src,
    data: { actorId: s.actorId, src: s.src, input: s.input },
  }));
}

/** A machine event as the stream records it (plain JSON). */
export function recordedEvent(event: EventObject): RecordedMachineEvent {
  return { ...asObject(toJson(event)), type: event.type };
}

export type EffectOutcome = { ok: true; output: unknown } | { ok: false; error: JsonObject };

/**
 * An effect's result: the machine event it becomes (`xstate.done.actor.<id>` with its output as
 * JSON, or `xstate.error.actor.<id>` with the error) and its `effect.succeeded` / `effect.failed`
 * record (the output is recorded once, in the machine event).
 */
export function effectResult(
  spawn: Spawn,
  outcome: EffectOutcome,
  ms: number,
  nodeUuid?: string,
): { event: RecordedMachineEvent; result: NewRunEvent } {
  if (outcome.ok) {
    const data: RunEventData['effect.succeeded'] = { actorId: spawn.actorId, ms };
    if (nodeUuid !== undefined) data.nodeUuid = nodeUuid;
    return {
      event: { type: `xstate.done.actor.${spawn.actorId}`, output: toJson(outcome.output) },
      result: { kind: 'effect.succeeded', type: spawn.src, data },
    };
  }
  return {
    event: { type: `xstate.error.actor.${spawn.actorId}`, error: outcome.error },
    result: {
      kind: 'effect.failed',
      type: spawn.src,
      data: { actorId: spawn.actorId, error: outcome.error, ms },
    },
  };
}

/** Whether a lifecycle machine's context holds the error it will end with. */
export function holdsError(snapshot: AnyMachineSnapshot | null): boolean {
  const error = (snapshot?.context as { error?: unknown } | undefined)?.error;
  return error !== null && error !== undefined;
}

/** How a run whose machine reached a final state ended, read from the machine's output. */
export interface Ending {
  status: 'succeeded' | 'failed';
  output: JsonObject;
  error: JsonObject | null;
  /** The node the output names, else the one given. */
  node: string | null;
  warnings: string[];
  /** Its run.finished (failedIn is recorded only with an error). */
  event: NewRunEvent;
}

/**
 * The end of a run from its final snapshot: `failedIn`, the state the machine was in when its
 * context first held an error; `node`, the node's UUID as the run knows it (a node the output
 * names is passed through `nodeOf`, which the engine uses to swap a node's name for its UUID).
 */
export function endingOf(
  snapshot: AnyMachineSnapshot,
  failedIn: string | null,
  node: string | null,
  nodeOf: (node: string | null) => string | null = (n) => n,
): Ending {
  const output = asObject(toJson(snapshot.output ?? {}));
  const status = output.status === 'succeeded' ? 'succeeded' : 'failed';
  const error = output.error && typeof output.error === 'object' ? (output.error as JsonObject) : null;
  const named = nodeOf(typeof output.node === 'string' ? output.node : node);
  const warnings = Array.isArray(output.warnings) ? output.warnings.map(String) : [];
  return {
    status,
    output,
    error,
    node: named,
    warnings,
    event: finishedEvent({
      status,
      output,
      error,
      failedIn: error ? failedIn : null,
      nodeUuid: named ?? null,
    }),
  };
}

/** The `run.finished` that ends a stream. */
export function finishedEvent(data: {
  status: FinishedStatus;
  output: JsonObject | null;
  error: JsonObject | null;
  failedIn: string | null;
  nodeUuid: string | null;
}): NewRunEvent {
  return { kind: 'run.finished', data };
}
