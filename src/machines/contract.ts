// The machine contract (written out in machines/index.ts), checked when a machine is registered:
// a machine the engine cannot drive faithfully is refused here, with the state that breaks it,
// instead of hanging or resuming wrong in production.
import type { AnyStateMachine } from 'xstate';

export type MachineContractCode =
  /** A definition uses something the engine's event-sourced stepping would drop or misdrive. */
  | 'MACHINE_CONTRACT_BROKEN'
  /** A version registered twice for one operation, or registered older than the current one. */
  | 'MACHINE_VERSION_CONFLICT';

export interface MachineContractFacts {
  machine: string;
  op?: string;
  version?: number;
  /** Dotted path of the offending state node ('' for the root). */
  statePath?: string;
  /** What broke the contract (`after`, `xstate.spawnChild`, `invoke src`, ...). */
  feature?: string;
}

export class MachineContractError extends Error {
  readonly code: MachineContractCode;
  readonly facts: MachineContractFacts;

  constructor(code: MachineContractCode, message: string, facts: MachineContractFacts) {
    super(message);
    this.name = 'MachineContractError';
    this.code = code;
    this.facts = facts;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.facts };
  }
}

/** The parts of XState's StateNode this module reads (its internals are not typed as public). */
export interface StateNodeLike {
  key: string;
  path: string[];
  type: string;
  config: { after?: unknown; invoke?: unknown };
  states: Record<string, StateNodeLike>;
  entry: readonly unknown[];
  exit: readonly unknown[];
  invoke: ReadonlyArray<{ id: string; src: unknown }>;
  transitions: Map<string, ReadonlyArray<TransitionLike>>;
  always?: ReadonlyArray<TransitionLike>;
}

export interface TransitionLike {
  eventType: string;
  guard?: unknown;
  target?: ReadonlyArray<{ id: string }>;
  actions: readonly unknown[];
  reenter?: boolean;
}

/** Every state node of `machine`, the root first, children in definition order. */
export function stateNodesOf(machine: AnyStateMachine): StateNodeLike[] {
  const out: StateNodeLike[] = [];
  const walk = (node: StateNodeLike): void => {
    out.push(node);
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root as unknown as StateNodeLike);
  return out;
}

/** XState's built-in action creators the engine never executes as the live actor would. */
const REFUSED_ACTIONS: Record<string, string> = {
  'xstate.spawnChild': 'spawns a child actor (only `invoke` of a named effect is driven by the engine)',
  'xstate.stopChild': 'stops a child actor by hand (the engine stops only what the machine leaves)',
  'xstate.sendTo': 'sends to another actor (the engine delivers only effect results)',
  'xstate.sendParent': 'sends to a parent (lifecycle machines run at the top)',
  'xstate.forwardTo': 'forwards to another actor',
  'xstate.enqueueActions': 'enqueues actions the contract check cannot see',
  'xstate.cancel': 'cancels a delayed event (delays are refused)',
};

function actionProblem(action: unknown): { feature: string; why: string } | null {
  if (typeof action !== 'function') return null;
  const type = (action as { type?: unknown }).type;
  if (typeof type !== 'string') return null;
  const delay = (action as { delay?: unknown }).delay;
  if (type === 'xstate.raise' && delay !== undefined)
    return { feature: 'raise with delay', why: 'raises an event after a delay, which the engine would drop' };
  const why = REFUSED_ACTIONS[type];
  return why ? { feature: type, why } : null;
}

/**
 * Throws MachineContractError (MACHINE_CONTRACT_BROKEN) when `machine` uses what the engine
 * cannot record and resume: `after` delays, delayed raises, spawned/stopped children, sends to
 * other actors, opaque enqueued actions, or an invoke whose `src` is not a named effect of the
 * machine's own implementations (`effects` narrows the allowed names further when given).
 */
export function checkMachineContract(machine: AnyStateMachine, effects?: ReadonlySet<string>): void {
  const actors = new Set(Object.keys(machine.implementations.actors));
  for (const node of stateNodesOf(machine)) {
    const statePath = node.path.join('.');
    const refuse = (feature: string, why: string): never => {
      throw new MachineContractError(
        'MACHINE_CONTRACT_BROKEN',
        `Machine ${machine.id} breaks the machine contract at state "${statePath || '(root)'}": it ${why} (${feature}); see the contract in machines/index.ts.`,
        { machine: machine.id, statePath, feature },
      );
    };
    if (node.config.after !== undefined)
      refuse('after', 'has an `after` delay, which the engine would drop (wait in an effect instead)');
    for (const inv of node.invoke) {
      if (typeof inv.src !== 'string' || !actors.has(inv.src))
        refuse(
          'invoke src',
          `invokes ${typeof inv.src === 'string' ? `"${inv.src}"` : 'inline logic'}, not a named effect`,
        );
      if (effects && !effects.has(inv.src as string))
        refuse('invoke src', `invokes "${String(inv.src)}", which no effect implements`);
    }
    const transitions = [...node.transitions.values()].flat().concat(node.always ?? []);
    for (const action of [...node.entry, ...node.exit, ...transitions.flatMap((t) => t.actions)]) {
      const problem = actionProblem(action);
      if (problem) refuse(problem.feature, problem.why);
    }
  }
}
