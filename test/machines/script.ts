// Scripted answers for driveMachine: per effect name, a queue of answers (the last one repeats).
import type { AnyStateMachine } from 'xstate';
import type { DriveResult, EffectAnswer, EffectCall } from './drive.js';
import { driveMachine } from './drive.js';
import type { LifecycleOutput } from '../../src/machines/lifecycle-output.js';

export type Script = Record<string, EffectAnswer | EffectAnswer[] | ((call: EffectCall) => EffectAnswer)>;

export interface Run extends DriveResult {
  output: LifecycleOutput;
  /** `state:src` for each effect, in order. */
  steps: string[];
  srcs: string[];
}

export function run(machine: AnyStateMachine, input: unknown, script: Script, maxSteps = 500): Run {
  const used: Record<string, number> = {};
  const result = driveMachine(
    machine,
    input,
    (call) => {
      const entry = script[call.src];
      if (entry === undefined) throw new Error(`unscripted effect ${call.src}`);
      if (typeof entry === 'function') return entry(call);
      if (!Array.isArray(entry)) return entry;
      const i = used[call.src] ?? 0;
      used[call.src] = i + 1;
      const answer = entry[Math.min(i, entry.length - 1)];
      if (answer === undefined) throw new Error(`empty script for ${call.src}`);
      return answer;
    },
    maxSteps,
  );
  return {
    ...result,
    output: result.output as LifecycleOutput,
    steps: result.trace.map((t) => `${t.state}:${t.call.src}`),
    srcs: result.trace.map((t) => t.call.src),
  };
}
