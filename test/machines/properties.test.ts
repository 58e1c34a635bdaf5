// Property tests: random answer sequences (beyond the walker's small budgets) always end in a
// final state with the order invariants kept, and folding the recorded events again gives the
// same run (what replay relies on).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transition } from 'xstate';
import type { EffectCall, TraceEntry } from './drive.js';
import { stateToString } from '../../src/runlog/state.js';
import { answerEvent, driveMachine, startMachine, stepTime } from './drive.js';
import { lifecycles } from '../../src/machines/index.js';
import type { OpName } from '../../src/machines/index.js';
import { parseSerialConsole } from '../../src/machines/console.js';
import { refusedInState } from '../../src/machines/refused-state.js';
import { judgeActiveWait } from '../../src/machines/wait-active.js';
import { INPUTS, INVARIANTS, spaceFor } from './model.js';
import type { WalkedPath } from './walker.js';
import { INSTANCE, NODE, nodeView } from './fixtures.js';

const OPS = Object.keys(INPUTS) as OpName[];

/** Drives `op` choosing each answer by the next random index; returns the path the walker would. */
function randomRun(op: OpName, input: unknown, picks: number[]) {
  const space = spaceFor(op);
  let i = 0;
  const result = driveMachine(
    lifecycles[op].machine,
    input,
    (call: EffectCall, trace: readonly TraceEntry[], state: string) => {
      const answers = space(call, trace, state);
      const pick = picks[i++ % picks.length] ?? 0;
      const chosen = answers[pick % answers.length];
      if (chosen === undefined) throw new Error('empty answer space');
      return chosen.answer;
    },
    2000,
  );
  return result;
}

const inputArb = fc.constantFrom(...OPS).chain((op) =>
  fc.record({
    op: fc.constant(op),
    input: fc
      .constantFrom(...INPUTS[op])
      .chain((base) =>
        fc
          .integer({ min: 1, max: 12 })
          .map((budget) => ({ ...(base as object), timeoutS: budget, timeoutMs: budget * 700 })),
      ),
    picks: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 60 }),
  }),
);

describe('machines under random answers', () => {
  it('always end final and keep every invariant, with any poll budget', () => {
    fc.assert(
      fc.property(inputArb, ({ op, input, picks }) => {
        const result = randomRun(op, input, picks);
        expect(result.status).toBe('done');
        const path: WalkedPath = {
          trace: result.trace,
          labels: result.trace.map((t) => t.call.src),
          final: result.status === 'done',
          state: result.state,
          output: result.output,
          context: null,
          maxSpawnsPerStep: 1,
          stuck: false,
        };
        const broken = INVARIANTS[op].map((check) => check(path)).filter((v) => v !== null);
        expect(broken).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('refolding the recorded events reproduces every state and the output (what replay relies on)', () => {
    fc.assert(
      fc.property(inputArb, ({ op, input, picks }) => {
        const machine = lifecycles[op].machine;
        const live = randomRun(op, input, picks);
        let { snapshot } = startMachine(machine, input);
        const states = [stateToString(snapshot.value)];
        for (const [i, entry] of live.trace.entries()) {
          [snapshot] = transition(
            machine,
            snapshot,
            answerEvent(entry.call, JSON.parse(JSON.stringify(entry.answer)), stepTime(i)),
          );
          states.push(stateToString(snapshot.value));
        }
        expect(states.slice(0, -1)).toEqual(live.trace.map((t) => t.state));
        expect(states.at(-1)).toBe(live.state);
        expect(snapshot.output).toEqual(live.output);
      }),
      { numRuns: 150 },
    );
  });
});

describe('pure helpers', () => {
  it('parseSerialConsole never throws and only accepts socat over tcp with host and port (seed: get_serial_console)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.option(fc.constantFrom('socat', 'shellinabox', 'ipmitool', '')),
        fc.option(
          fc.oneof(
            fc.string(),
            fc
              .tuple(
                fc.constantFrom('tcp', 'udp', 'http', ''),
                fc.constantFrom('192.0.2.1', '[2001:db8::1]', 'h', ''),
                fc.option(fc.integer({ min: -1, max: 70000 })),
              )
              .map(([scheme, host, port]) => `${scheme}://${host}${port === null ? '' : `:${port}`}`),
          ),
        ),
        (enabled, type, url) => {
          const parsed = parseSerialConsole({ enabled, type, url });
          if (parsed.ok) {
            expect(enabled && type === 'socat' && (url ?? '').startsWith('tcp:')).toBe(true);
            expect(Number.isInteger(parsed.port)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refusedInState reads the state only from an InvalidStateRequested 400', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.stringMatching(/^[a-z -]{1,20}$/),
        fc.constantFrom('IRONIC_BAD_REQUEST', 'IRONIC_CONFLICT'),
        (noise, state, code) => {
          const faultstring = `The requested action "deleted" can not be performed on node "${NODE}" while it is in state "${state}".`;
          expect(refusedInState({ code, faultstring, message: noise })).toBe(
            code === 'IRONIC_BAD_REQUEST' ? state : null,
          );
          const other = refusedInState({ code, faultstring: noise, message: noise });
          if (other !== null) expect(noise).toMatch(/while it is in state/);
        },
      ),
    );
  });

  it("judgeActiveWait reports active exactly when Ironic says active for the run's instance (seed: _wait_for_active)", () => {
    const states = [
      'active',
      'deploying',
      'wait call-back',
      'deploy failed',
      'available',
      'deleting',
      'error',
      null,
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...states),
        fc.constantFrom(...states),
        fc.constantFrom(INSTANCE, null, 'other'),
        fc.nat({ max: 5 }),
        (provision, target, instance, polls) => {
          const verdict = judgeActiveWait(
            {
              instance: INSTANCE,
              node: NODE,
              polls,
              timeoutS: null,
              waitStartedAt: null,
              lastState: null,
              abortReason: null,
            },
            nodeView({ provision_state: provision, target_provision_state: target, instance_uuid: instance }),
          );
          expect(verdict === 'active').toBe(provision === 'active' && instance === INSTANCE);
          // Another instance (or none) on the node: ours is gone, `active` or not.
          if (instance !== INSTANCE) expect(verdict).toBe('gone');
        },
      ),
    );
  });
});
