// Replay: fold a recorded stream through XState's pure initialTransition/transition, executing
// nothing (the machine's actors are stand-ins that throw if run; the pure functions only return
// spawn/stop actions). Every recorded transition is compared with the recomputed one and the
// first difference is reported, like Temporal's non-determinism error: it means the machine
// definition changed under a recorded run, and resuming it would act on a wrong state.
//
// It checks what the engine records (src/runlog/record.ts): the states of every step, and the src
// and input of every effect started. The engine records no context: a context computed
// differently shows where it acts, in an effect's input or in a guard's choice of transition.
// A transition and the effect.started of what it invokes are committed together, so a stream
// never ends between them.

import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { StoreInvalidStreamError } from '../store/errors.js';
import { redact } from '../store/redact.js';
import type { JsonValue, StoredEvent } from '../store/types.js';
import { decodeActions, type Spawn } from './actions.js';
import { decodeEvent } from './events.js';
import { recordedTransition, stateToString, type StepTransition } from './state.js';
import { machineStepper, type ExecutableAction } from './stepper.js';

export { recordedTransition, stateToString, type StepTransition } from './state.js';

export interface PendingEffect {
  actorId: string;
  src: string;
  input: JsonValue;
  startedSeq: number;
}

/**
 * The first point where log and machine disagree. When the machine moved but the log recorded no
 * transition, `recorded` shows the log staying where it was (from === to === last recorded state,
 * or '(not recorded)' before any); `recomputed` is null when the log moved but the machine did not.
 */
export interface Divergence {
  seq: number;
  recorded: { from: string | null; to: string };
  recomputed: { from: string | null; to: string } | null;
  reason: string;
}

export interface ReplayTransition {
  seq: number;
  at: string;
  from: string | null;
  to: string;
  /** Type of the machine.event that caused it; null for the initial transition. */
  event: string | null;
}

export interface ReplayResult {
  /** After the last folded event; on divergence, the last snapshot log and machine agree on. */
  snapshot: AnyMachineSnapshot;
  matches: boolean;
  divergence: Divergence | null;
  /** Recorded transitions that matched, in order. */
  transitions: ReplayTransition[];
  /**
   * Started, result not yet fed to the machine, not stopped: what resume must start again (same
   * actor id and input; effects are idempotent against Ironic).
   */
  pendingEffects: PendingEffect[];
  /** Seq of the last event in the stream (the expectedSeq for the next append). */
  lastSeq: number;
  /** A 'run.finished' was recorded. */
  finished: boolean;
}

export const NOT_RECORDED = '(not recorded)';

type Expected = StepTransition & { event: string | null };

interface Invocation {
  src: string;
  input: JsonValue;
  startedSeq: number | null;
  done: boolean;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameJson(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => k in bo && sameJson(ao[k], bo[k]));
}

/** JSON as it reads back from the log: redacted, undefined dropped. */
function asLogged(value: unknown): JsonValue {
  return (redact(value) ?? null) as JsonValue;
}

/** An invocation as the engine records its start: the input as effect.started holds it, redacted. */
function invocationOf(sp: Spawn): Invocation {
  return { src: sp.src, input: asLogged(sp.input), startedSeq: null, done: false };
}

export function replayRun(machine: AnyStateMachine, events: readonly StoredEvent[]): ReplayResult {
  const first = events[0];
  if (!first || first.kind !== 'run.started') {
    throw new StoreInvalidStreamError(
      first?.runId ?? null,
      first?.seq ?? null,
      "a stream must begin with 'run.started'",
    );
  }
  const runId = first.runId;
  // Declared via `as` so TypeScript does not narrow them to null: the helpers below assign them.
  let snapshot = null as AnyMachineSnapshot | null;
  let agreed = null as AnyMachineSnapshot | null;
  let expected = null as Expected | null;
  let lastRecordedTo: string | null = null;
  let lastEventType: string | null = null;
  let divergence: Divergence | null = null;
  let finished = false;
  let prevSeq = 0;
  const transitions: ReplayTransition[] = [];
  const live = new Map<string, Invocation>();
  const stepper = machineStepper(machine);

  const stayed = (): { from: string | null; to: string } => ({
    from: lastRecordedTo,
    to: lastRecordedTo ?? NOT_RECORDED,
  });

  // Stops first: a stop ends the invocation that was live under its id before this step; one
  // invoked and stopped within the step is not among the spawns (decodeActions).
  const applyActions = (actions: readonly ExecutableAction[]): void => {
    const { spawns, stops } = decodeActions(actions);
    for (const id of stops) live.delete(id);
    for (const sp of spawns) live.set(sp.actorId, invocationOf(sp));
  };

  const step = (
    next: AnyMachineSnapshot,
    actions: readonly ExecutableAction[],
    event: string | null,
  ): void => {
    const t = recordedTransition(snapshot, next);
    expected = t && { ...t, event };
    snapshot = next;
    applyActions(actions);
  };

  for (const ev of events) {
    if (ev.runId !== runId || ev.seq !== prevSeq + 1) {
      throw new StoreInvalidStreamError(
        runId,
        ev.seq,
        `expected seq ${prevSeq + 1} of one run, got ${ev.runId}#${ev.seq}`,
      );
    }
    prevSeq = ev.seq;
    if (divergence) continue;
    const e = decodeEvent(ev);
    switch (e.kind) {
      case 'run.started': {
        if (snapshot !== null) {
          divergence = {
            seq: ev.seq,
            recorded: stayed(),
            recomputed: null,
            reason: "a second 'run.started' in one stream",
          };
          break;
        }
        const [next, actions] = stepper.initialTransition(e.data.input);
        step(next, actions, null);
        break;
      }
      case 'machine.event': {
        if (expected !== null) {
          divergence = {
            seq: ev.seq,
            recorded: stayed(),
            recomputed: { from: expected.from, to: expected.to },
            reason: `the machine moves ${expected.from ?? '(start)'} -> ${expected.to} but no transition was recorded before the next machine event`,
          };
          break;
        }
        const event = e.data.event;
        if (event.type === '') {
          divergence = {
            seq: ev.seq,
            recorded: stayed(),
            recomputed: null,
            reason: "'machine.event' without data.event.type",
          };
          break;
        }
        // An effect counts as finished once the machine has consumed its result, not when the
        // result was recorded: a result without its machine.event would otherwise be lost on resume.
        const resultOf = /^xstate\.(?:done|error)\.actor\.(.+)$/.exec(event.type)?.[1];
        const inv = resultOf === undefined ? undefined : live.get(resultOf);
        if (inv && inv.startedSeq !== null) inv.done = true;
        lastEventType = event.type;
        agreed = snapshot;
        const [next, actions] = stepper.transition(snapshot as AnyMachineSnapshot, event);
        step(next, actions, event.type);
        break;
      }
      case 'transition': {
        const recorded = { from: ev.from, to: ev.to ?? NOT_RECORDED };
        const here = snapshot === null ? null : stateToString(snapshot.value);
        if (expected === null && recorded.from === here && recorded.to === here && lastRecordedTo === here) {
          // The engine records a step for every machine event, even one the machine ignored
          // (a late result of a stopped effect), as from === to === the current state: the
          // machine agrees that it stayed. A real re-entry that vanished shows up at the next
          // effect.started, which the machine then no longer invokes.
          transitions.push({ seq: ev.seq, at: ev.at, from: ev.from, to: recorded.to, event: lastEventType });
          break;
        }
        if (expected === null) {
          divergence = {
            seq: ev.seq,
            recorded,
            recomputed: null,
            reason: `a transition ${ev.from ?? '(start)'} -> ${recorded.to} was recorded but the machine does not move on the preceding event`,
          };
          break;
        }
        const recomputed = { from: expected.from, to: expected.to };
        if (recorded.from !== recomputed.from || recorded.to !== recomputed.to) {
          divergence = {
            seq: ev.seq,
            recorded,
            recomputed,
            reason: `recorded ${recorded.from ?? '(start)'} -> ${recorded.to}, the machine now goes ${recomputed.from ?? '(start)'} -> ${recomputed.to}`,
          };
          break;
        }
        transitions.push({ seq: ev.seq, at: ev.at, from: ev.from, to: recorded.to, event: expected.event });
        lastRecordedTo = recorded.to;
        expected = null;
        agreed = snapshot;
        break;
      }
      case 'effect.started': {
        const { actorId, src, input } = e.data;
        const inv = live.get(actorId);
        // A second start of an invocation whose result was never consumed is a resume
        // running it again (after a crash or a close): legitimate. After its result, it is not.
        if (!inv || (inv.startedSeq !== null && inv.done) || inv.src !== src || !sameJson(inv.input, input)) {
          divergence = {
            seq: ev.seq,
            recorded: stayed(),
            recomputed: null,
            reason: inv
              ? `effect ${actorId} was started as ${src} ${inv.done ? 'after the machine consumed its result' : 'with a different src or input than the machine invokes'}`
              : `effect ${actorId} was started but the machine has not invoked it here`,
          };
          break;
        }
        inv.startedSeq = ev.seq;
        break;
      }
      case 'run.finished':
        finished = true;
        break;
      case 'effect.succeeded':
      case 'effect.failed':
      case 'http':
      case 'note':
        break;
    }
  }

  if (snapshot === null) throw new StoreInvalidStreamError(runId, 1, 'no initial state');
  const pendingEffects: PendingEffect[] = [];
  for (const [actorId, inv] of live) {
    if (inv.startedSeq !== null && !inv.done)
      pendingEffects.push({ actorId, src: inv.src, input: inv.input, startedSeq: inv.startedSeq });
  }
  return {
    snapshot: divergence ? (agreed ?? snapshot) : snapshot,
    matches: divergence === null,
    divergence,
    transitions,
    pendingEffects: divergence ? [] : pendingEffects,
    lastSeq: prevSeq,
    finished,
  };
}
