// XState's pure `transition(machine, snapshot, event)` builds a whole inert actor for every call
// (createActor eagerly computes the machine's initial snapshot), which costs 4-6x the transition
// itself. A stepper builds that inert scope once per run and reuses it: same ActorLogic calls,
// same collected actions, nothing executed. Measured in bench/store.mjs.

import {
  createActor,
  initialTransition,
  transition,
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

export function machineStepper(machine: AnyStateMachine): MachineStepper {
  if (registersSystemIds(machine.root)) {
    return {
      initialTransition: (input) => initialTransition(machine, input) as Step,
      transition: (snapshot, event) => transition(machine, snapshot, event) as Step,
    };
  }
  let scope: AnyActorScope | null = null;
  let collected: ExecutableAction[] = [];
  const scopeFor = (input: unknown): AnyActorScope => {
    if (scope) return scope;
    const self = createActor(machine, { input });
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
      const [snapshot, actions] = initialTransition(machine, input);
      scopeFor(input);
      return [snapshot, actions as ExecutableAction[]];
    },
    transition(snapshot, event) {
      collected = [];
      const next = machine.transition(snapshot, event, scopeFor(undefined)) as AnyMachineSnapshot;
      return [next, collected];
    },
  };
}
