// XState's pure `transition(machine, snapshot, event)` builds a whole inert actor for every call
// (createActor eagerly computes the machine's initial snapshot), which costs 4-6x the transition
// itself. A stepper builds that inert scope once per machine and reuses it: same ActorLogic calls,
// same collected actions, nothing executed. Measured in bench/store.mjs.
//
// The scope's `self` is an actor of an inert stand-in logic, not of the machine: it is only the
// parent (and system) of the children a step creates, and nothing here runs or asks it for a
// snapshot. An actor of the machine itself would compute the machine's initial state once more
// on construction, for nothing (a third of a run's XState allocations in the engine).

import {
  createActor,
  initialTransition,
  transition,
  type ActorLogic,
  type AnyActorScope,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyStateNode,
  type EventObject,
} from 'xstate';

export interface ExecutableAction {
  type: string;
  params?: unknown;
}

export type Step = [snapshot: AnyMachineSnapshot, actions: ExecutableAction[]];

export interface MachineStepper {
  /** Same result as xstate's initialTransition(machine, input). */
  initialTransition(input: unknown): Step;
  /** Same result as xstate's transition(machine, snapshot, event). */
  transition(snapshot: AnyMachineSnapshot, event: EventObject): Step;
}

/**
 * A shared scope keeps the actor system's registry between steps, so a re-invoked actor with a
 * `systemId` would collide with its predecessor; such machines take the per-call path.
 */
function registersSystemIds(node: AnyStateNode): boolean {
  return (
    node.invoke.some((i) => i.systemId !== undefined) || Object.values(node.states).some(registersSystemIds)
  );
}

/**
 * One stepper per machine, shared by every run of it (the engine's thousands of runs in flight
 * and replay). A step is synchronous and keeps nothing between calls but the inert scope, whose
 * children are never started, so never registered with its system: sharing it changes no result
 * (test/runlog/stepper.test.ts steps interleaved runs against XState's own functions). Per run it
 * saved an actor and an actor system built and kept for the run's lifetime.
 */
const steppers = new WeakMap<AnyStateMachine, MachineStepper>();

export function machineStepper(machine: AnyStateMachine): MachineStepper {
  let stepper = steppers.get(machine);
  if (stepper === undefined) {
    stepper = newStepper(machine);
    steppers.set(machine, stepper);
  }
  return stepper;
}

function newStepper(machine: AnyStateMachine): MachineStepper {
  if (registersSystemIds(machine.root)) {
    return {
      initialTransition: (input) => initialTransition(machine, input) as Step,
      transition: (snapshot, event) => transition(machine, snapshot, event) as Step,
    };
  }
  let scope: AnyActorScope | null = null;
  let collected: ExecutableAction[] = [];
  const scopeOf = (): AnyActorScope => {
    if (scope) return scope;
    const self = createActor(INERT_PARENT);
    scope = {
      self,
      id: '',
      sessionId: '',
      logger: () => {},
      defer: () => {},
      emit: () => {},
      system: self.system,
      stopChild: () => {},
      actionExecutor: (action) => {
        collected.push(action as ExecutableAction);
      },
    };
    return scope;
  };
  return {
    initialTransition(input) {
      collected = [];
      const snapshot = machine.getInitialSnapshot(scopeOf(), input) as AnyMachineSnapshot;
      return [snapshot, collected];
    },
    transition(snapshot, event) {
      collected = [];
      const next = machine.transition(snapshot, event, scopeOf()) as AnyMachineSnapshot;
      return [next, collected];
    },
  };
}

type InertSnapshot = { status: 'active'; output: undefined; error: undefined };

/** Logic of the scope's `self`: holds no state and ignores every event. */
const INERT_PARENT: ActorLogic<InertSnapshot, EventObject> = {
  transition: (snapshot) => snapshot,
  getInitialSnapshot: () => ({ status: 'active', output: undefined, error: undefined }),
  getPersistedSnapshot: (snapshot) => snapshot,
};
