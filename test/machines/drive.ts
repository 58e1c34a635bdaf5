// A pure driver: runs a machine with XState's initialTransition()/transition() only, turning
// each `xstate.spawnChild` action into an effect call and each answer into the event the engine
// would feed back: `xstate.done.actor.<id>` / `xstate.error.actor.<id>` for a one-shot effect;
// for a long-lived one (observeNode) an output is one report (`node.observed`) and the call stays
// open until the machine stops it, an error ends it. Tests walk machines with it.
import { initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { Json } from '../../src/ironic/types.js';
import type { EffectErrorJson } from '../../src/machines/effect-error.js';
import { LONG_LIVED_EFFECTS } from '../../src/machines/effect-types.js';
import { NODE_OBSERVED } from '../../src/machines/node-view.js';
import { decodeActions } from '../../src/runlog/actions.js';
import { stateToString } from '../../src/runlog/state.js';
import type { NodeObservedEvent, NodeView } from '../../src/machines/node-view.js';

export interface EffectCall {
  id: string;
  src: string;
  input: Json;
}

export type EffectAnswer = { output: Json } | { error: EffectErrorJson };

export interface Step {
  snapshot: AnyMachineSnapshot;
  /** The effects running after this step, oldest first (the next to answer is the first). */
  calls: EffectCall[];
}

/** The effects a step invokes, as the engine decodes them (src/runlog/actions.ts). */
function callsOf(actions: readonly { type: string; params?: unknown }[]): EffectCall[] {
  return decodeActions(actions).spawns.map((sp) => ({
    id: sp.actorId,
    src: sp.src,
    input: sp.input as Json,
  }));
}

export function startMachine(machine: AnyStateMachine, input: unknown): Step {
  const [snapshot, actions] = initialTransition(machine, input);
  return { snapshot, calls: callsOf(actions) };
}

/** The event the engine feeds back for an effect's answer. */
export type EffectEvent =
  | { type: `xstate.done.actor.${string}`; output: Json }
  | { type: `xstate.error.actor.${string}`; error: EffectErrorJson }
  | NodeObservedEvent;

function isLongLived(call: EffectCall): boolean {
  return LONG_LIVED_EFFECTS.has(call.src);
}

/**
 * The watcher time of the `step`-th answer of a driven run: one second apart, so that a wait's
 * time budget (wait-budget.ts) is spent after as many observations as it has seconds.
 */
export function stepTime(step: number): string {
  return new Date(Date.UTC(2026, 0, 1) + step * 1000).toISOString();
}

export function answerEvent(call: EffectCall, answer: EffectAnswer, at?: string): EffectEvent {
  if ('error' in answer) return { type: `xstate.error.actor.${call.id}`, error: answer.error };
  if (isLongLived(call)) {
    const node = answer.output as unknown as NodeView;
    return at === undefined ? { type: NODE_OBSERVED, node } : { type: NODE_OBSERVED, node, at };
  }
  return { type: `xstate.done.actor.${call.id}`, output: answer.output };
}

/** Feeds `answer` to `call` (one of `step.calls`) and returns the effects running afterwards. */
export function answerCall(
  machine: AnyStateMachine,
  step: Step,
  call: EffectCall,
  answer: EffectAnswer,
  at?: string,
): Step {
  const [next, actions] = transition(machine, step.snapshot, answerEvent(call, answer, at));
  const stopped = new Set(decodeActions(actions).stops);
  const ended = 'error' in answer || !isLongLived(call);
  const still = step.calls.filter((c) => !(c === call && ended) && !stopped.has(c.id));
  return { snapshot: next, calls: [...still, ...callsOf(actions)] };
}

export interface TraceEntry {
  /** The state the effect was invoked from. */
  state: string;
  call: EffectCall;
  answer: EffectAnswer;
}

export interface DriveResult {
  /** 'done': a final state; 'stuck': no effect running and not final; 'limit': maxSteps reached. */
  status: 'done' | 'stuck' | 'limit';
  state: string;
  output: unknown;
  trace: TraceEntry[];
}

/** Runs a machine to the end, asking `respond` for each effect's answer in order. */
export function driveMachine(
  machine: AnyStateMachine,
  input: unknown,
  respond: (call: EffectCall, trace: readonly TraceEntry[], state: string) => EffectAnswer,
  maxSteps = 10_000,
): DriveResult {
  let step = startMachine(machine, input);
  const trace: TraceEntry[] = [];
  while (step.snapshot.status === 'active') {
    const call = step.calls[0];
    if (call === undefined) {
      return { status: 'stuck', state: stateToString(step.snapshot.value), output: undefined, trace };
    }
    if (trace.length >= maxSteps) {
      return { status: 'limit', state: stateToString(step.snapshot.value), output: undefined, trace };
    }
    const state = stateToString(step.snapshot.value);
    const answer = respond(call, trace, state);
    trace.push({ state, call, answer });
    step = answerCall(machine, step, call, answer, stepTime(trace.length - 1));
  }
  return {
    status: 'done',
    state: stateToString(step.snapshot.value),
    output: step.snapshot.output,
    trace,
  };
}
