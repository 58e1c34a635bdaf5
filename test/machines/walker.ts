// Walks every path of a machine: at each effect the machine invokes, every answer from the
// answer space is tried, branching from the same pure snapshot (XState's transition() never
// mutates it). Each complete path is handed to `visit` for the invariants.
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { EffectAnswer, EffectCall, Step, TraceEntry } from './drive.js';
import { stateToString } from '../../src/runlog/state.js';
import { answerCall, startMachine, stepTime } from './drive.js';

export interface LabelledAnswer {
  label: string;
  answer: EffectAnswer;
}
/** The answers to try for `call`, invoked from `state` after `trace`. */
export type AnswerSpace = (
  call: EffectCall,
  trace: readonly TraceEntry[],
  state: string,
) => readonly LabelledAnswer[];

export interface WalkedPath {
  trace: TraceEntry[];
  labels: string[];
  final: boolean;
  state: string;
  output: unknown;
  context: unknown;
  /** The most effects running at once on this path. */
  maxSpawnsPerStep: number;
  /** True when a non-final snapshot asked for no effect (the machine would hang). */
  stuck: boolean;
}

export function walk(
  machine: AnyStateMachine,
  input: unknown,
  space: AnswerSpace,
  visit: (path: WalkedPath) => void,
  limits: { maxDepth: number; maxPaths: number } = { maxDepth: 60, maxPaths: 200_000 },
): number {
  let paths = 0;
  const recurse = (step: Step, trace: TraceEntry[], labels: string[], maxSpawns: number): void => {
    const spawns = Math.max(maxSpawns, step.calls.length);
    const snapshot: AnyMachineSnapshot = step.snapshot;
    const call = step.calls[0];
    if (snapshot.status !== 'active' || call === undefined || trace.length >= limits.maxDepth) {
      paths += 1;
      if (paths > limits.maxPaths)
        throw new Error(`more than ${limits.maxPaths} paths: tighten the answer space`);
      visit({
        trace,
        labels,
        final: snapshot.status === 'done',
        state: stateToString(snapshot.value),
        output: snapshot.output,
        context: snapshot.context,
        maxSpawnsPerStep: spawns,
        stuck: snapshot.status === 'active' && call === undefined,
      });
      return;
    }
    const state = stateToString(snapshot.value);
    for (const { label, answer } of space(call, trace, state)) {
      const next = answerCall(machine, step, call, answer, stepTime(trace.length));
      recurse(next, [...trace, { state, call, answer }], [...labels, `${call.src}:${label}`], spawns);
    }
  };
  recurse(startMachine(machine, input), [], [], 0);
  return paths;
}

export function succeeded(answer: EffectAnswer): boolean {
  return 'output' in answer;
}
