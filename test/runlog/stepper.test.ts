import { describe, expect, it } from 'vitest';
import {
  initialTransition,
  transition,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
} from 'xstate';
import { EventStore } from '../../src/store/event-store.js';
import { machineStepper, type ExecutableAction } from '../../src/runlog/stepper.js';
import { stateToString } from '../../src/runlog/replay.js';
import { driveRun, teardownResponder } from '../store/fixtures/drive.js';
import { tempDb } from '../store/fixtures/temp-db.js';
import { makeTestMachine, testMachine } from '../store/fixtures/test-machine.js';
import { answerEvent, driveMachine, stepTime } from '../machines/drive.js';
import { lifecycles, type OpName } from '../../src/machines/index.js';
import { INPUTS, spaceFor } from '../machines/model.js';

type Step = [AnyMachineSnapshot, ExecutableAction[]];

/** What a step means to the engine and to replay: state, context, status, output, effects to run or stop. */
function observable([snapshot, actions]: [AnyMachineSnapshot, ExecutableAction[]]) {
  return {
    value: stateToString(snapshot.value),
    context: snapshot.context,
    status: snapshot.status,
    output: snapshot.output,
    children: Object.keys(snapshot.children).sort(),
    actions: actions.map((a) => {
      const p = a.params as { id?: string; src?: string; input?: unknown } | undefined;
      return { type: a.type, id: p?.id, src: p?.src, input: p?.input };
    }),
  };
}

describe('machineStepper', () => {
  it("computes exactly what xstate's initialTransition/transition compute, step by step over recorded runs", () => {
    const tmp = tempDb();
    const store = EventStore.open(tmp.path);
    try {
      const input = { nodeUuid: 'n1', vifs: ['v'], maxPolls: 4 };
      const cases: Array<[AnyStateMachine, number]> = [
        [testMachine, 3],
        [testMachine, 9],
        [makeTestMachine({ retryByRequestingAgain: true }), 3],
      ];
      for (const [machine, polls] of cases) {
        const { runId } = driveRun(store, machine, input, teardownResponder(polls));
        const events = store
          .readStream(runId)
          .filter((e) => e.kind === 'machine.event')
          .map((e) => e.data['event'] as unknown as EventObject);
        events.push({ type: 'cancel' }, { type: 'unknown' });
        const stepper = machineStepper(machine);
        let fast = stepper.initialTransition(input);
        let reference = initialTransition(machine, input) as [AnyMachineSnapshot, ExecutableAction[]];
        expect(observable(fast)).toEqual(observable(reference));
        for (const event of events) {
          const beforeFast = fast[0];
          const beforeRef = reference[0];
          fast = stepper.transition(beforeFast, event);
          reference = transition(machine, beforeRef, event) as [AnyMachineSnapshot, ExecutableAction[]];
          expect(observable(fast)).toEqual(observable(reference));
          // "No transition" must look the same too: the very same snapshot object comes back.
          expect(fast[0] === beforeFast).toBe(reference[0] === beforeRef);
        }
      }
    } finally {
      store.close();
      tmp.cleanup();
    }
  });

  it('is one stepper per machine, and runs stepped interleaved through it compute what xstate computes for each', () => {
    // The engine steps thousands of runs of one machine in turns; the stepper they share must keep
    // nothing of one run that another run's step could see.
    const machine = lifecycles.destroy.machine;
    expect(machineStepper(machine)).toBe(machineStepper(machine));
    expect(machineStepper(machine)).not.toBe(machineStepper(lifecycles.deploy.machine));
    const runs = INPUTS.destroy.flatMap((input) =>
      [0, 1, 2].map((seed) => {
        let n = 0;
        const run = driveMachine(
          machine,
          input,
          (call, trace, state) => {
            const answers = spaceFor('destroy')(call, trace, state);
            const chosen = answers[(seed * 5 + n++) % answers.length];
            if (chosen === undefined) throw new Error('empty answer space');
            return chosen.answer;
          },
          400,
        );
        const events = run.trace.map(
          ({ call, answer }, i) => answerEvent(call, answer, stepTime(i)) as EventObject,
        );
        return { input, events, fast: null as Step | null, reference: null as Step | null };
      }),
    );
    expect(runs.length).toBeGreaterThan(3);
    let steps = 0;
    for (let i = 0; ; i++) {
      let stepped = false;
      for (const run of runs) {
        // Each run takes its next step through its own call to machineStepper, as each Run does.
        const stepper = machineStepper(machine);
        if (run.fast === null || run.reference === null) {
          run.fast = stepper.initialTransition(run.input);
          run.reference = initialTransition(machine, run.input) as Step;
        } else {
          const event = run.events[i - 1];
          if (event === undefined) continue;
          run.fast = stepper.transition(run.fast[0], event);
          run.reference = transition(machine, run.reference[0], event) as Step;
        }
        expect(observable(run.fast)).toEqual(observable(run.reference));
        stepped = true;
        steps++;
      }
      if (!stepped) break;
    }
    expect(steps).toBeGreaterThan(runs.length * 3);
  });

  it('computes what xstate computes for every lifecycle machine, over many answer sequences', () => {
    let steps = 0;
    for (const op of Object.keys(INPUTS) as OpName[]) {
      const machine = lifecycles[op].machine;
      const space = spaceFor(op);
      for (const input of INPUTS[op]) {
        for (let seed = 0; seed < 40; seed++) {
          // A different answer order per seed: each call takes the (seed + n)-th answer it could get.
          let n = 0;
          const run = driveMachine(
            machine,
            input,
            (call, trace, state) => {
              const answers = space(call, trace, state);
              const chosen = answers[(seed * 7 + n++) % answers.length];
              if (chosen === undefined) throw new Error('empty answer space');
              return chosen.answer;
            },
            400,
          );
          const stepper = machineStepper(machine);
          let fast = stepper.initialTransition(input);
          let reference = initialTransition(machine, input) as [AnyMachineSnapshot, ExecutableAction[]];
          expect(observable(fast)).toEqual(observable(reference));
          for (const [i, { call, answer }] of run.trace.entries()) {
            const event = answerEvent(call, answer, stepTime(i)) as EventObject;
            fast = stepper.transition(fast[0], event);
            reference = transition(machine, reference[0], event) as [AnyMachineSnapshot, ExecutableAction[]];
            expect(observable(fast)).toEqual(observable(reference));
            steps++;
          }
        }
      }
    }
    expect(steps).toBeGreaterThan(1000);
  });
});
