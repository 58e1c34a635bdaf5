// A pure driver: runs a machine with XState's initialTransition()/transition() only, turning
// each `xstate.spawnChild` action into an effect call and each answer into the
// `xstate.done.actor.<id>` / `xstate.error.actor.<id>` event the engine would feed back.
// Tests walk machines with it; the engine and replay may reuse its event shapes.
import { initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot, AnyStateMachine, StateValue } from 'xstate';
import type { Json } from '../ironic/types.js';
import type { EffectErrorJson } from './effect-error.js';

export interface EffectCall {
  id: string;
  src: string;
  input: Json;
}

export type EffectAnswer = { output: Json } | { error: EffectErrorJson };

export interface Step {
  snapshot: AnyMachineSnapshot;
  /** The effects the transition asks to start, in order. */
  calls: EffectCall[];
}

/** `{ cleanup: 'unplugVifs' }` -> 'cleanup.unplugVifs' (same form the event store records). */
export function stateValueToString(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) => (child === undefined ? key : `${key}.${stateValueToString(child)}`))
    .join(',');
}

function callsOf(actions: readonly { type: string; params?: unknown }[]): EffectCall[] {
  const calls: EffectCall[] = [];
  for (const action of actions) {
    if (action.type !== 'xstate.spawnChild') continue;
    const params = action.params as { id: string; src: unknown; input: Json };
    calls.push({ id: params.id, src: String(params.src), input: params.input ?? null });
  }
  return calls;
}

export function startMachine(machine: AnyStateMachine, input: unknown): Step {
  const [snapshot, actions] = initialTransition(machine, input);
  return { snapshot, calls: callsOf(actions) };
}

/** The event the engine feeds back for an effect's answer. */
export type EffectEvent =
  | { type: `xstate.done.actor.${string}`; output: Json }
  | { type: `xstate.error.actor.${string}`; error: EffectErrorJson };

export function answerEvent(call: EffectCall, answer: EffectAnswer): EffectEvent {
  return 'error' in answer
    ? { type: `xstate.error.actor.${call.id}`, error: answer.error }
    : { type: `xstate.done.actor.${call.id}`, output: answer.output };
}

export function answerCall(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  call: EffectCall,
  answer: EffectAnswer,
): Step {
  const [next, actions] = transition(machine, snapshot, answerEvent(call, answer));
  return { snapshot: next, calls: callsOf(actions) };
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
      return { status: 'stuck', state: stateValueToString(step.snapshot.value), output: undefined, trace };
    }
    if (trace.length >= maxSteps) {
      return { status: 'limit', state: stateValueToString(step.snapshot.value), output: undefined, trace };
    }
    const state = stateValueToString(step.snapshot.value);
    const answer = respond(call, trace, state);
    trace.push({ state, call, answer });
    step = answerCall(machine, step.snapshot, call, answer);
  }
  return {
    status: 'done',
    state: stateValueToString(step.snapshot.value),
    output: step.snapshot.output,
    trace,
  };
}
