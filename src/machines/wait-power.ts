// Waiting for a power change to finish (seed: _wait_for_power_state): Ironic clears
// `target_power_state` when the change is done, whichever way it went. Shared by power.ts and
// reboot.ts: they spread these guards and actions into their setup() and use waitPowerState().
import { assign } from 'xstate';
import type { EventObject } from 'xstate';
import type { PowerStateValue } from '../ironic/states.js';
import type { BaseContext, MachineError } from './lifecycle-output.js';
import type { NodeView } from './node-view.js';
import { NODE_OBSERVED, observedNode } from './node-view.js';
import type { WaitBudget } from './wait-budget.js';
import { budgetSpent, observedOnce, waitedFor } from './wait-budget.js';

export interface WaitPowerContext extends WaitBudget {
  instance: string;
  node: string | null;
  lastPowerState: PowerStateValue;
  lastTargetPowerState: PowerStateValue;
}

type GuardArgs = { context: WaitPowerContext; event: unknown };

export const waitPowerGuards = {
  powerSettled: ({ event }: { event: unknown }): boolean => observedNode(event).target_power_state === null,
  powerPollBudgetSpent: ({ context, event }: GuardArgs): boolean => budgetSpent(context, event),
};

export function powerObservation(context: WaitPowerContext, node: NodeView, event: unknown) {
  return {
    ...observedOnce(context, event),
    lastPowerState: node.power_state,
    lastTargetPowerState: node.target_power_state,
  };
}

function powerTimeoutError(
  context: WaitPowerContext,
  node: NodeView,
  what: string,
  event: unknown,
): MachineError {
  return {
    code: 'POWER_TIMEOUT',
    message: `node ${node.uuid} did not finish ${what} ${waitedFor(context, event)}: power state "${node.power_state ?? 'null'}", target "${node.target_power_state ?? 'null'}"${node.last_error === null ? '' : `, last_error: ${node.last_error}`}`,
    state: node.power_state,
    node: node.uuid,
  };
}

/**
 * The node watch of every power wait: one observeNode effect for the whole state; an observation
 * failure goes to `failed` through the machine's own `setError` action.
 */
export const observePowerInvoke = {
  id: 'observeNode',
  src: 'observeNode',
  input: ({ context }: { context: WaitPowerContext }) => ({ node: context.node ?? '' }),
  onError: { target: 'failed', actions: 'setError' },
} as const;

/**
 * A top-level state that observes the node (one observeNode effect for the whole wait) until the
 * power change settles (`succeeded`) or the observation budget is spent (`failed`). An
 * observation failure goes to `failed` through the machine's own `setError` action.
 */
export function waitPowerState() {
  return {
    invoke: observePowerInvoke,
    on: {
      [NODE_OBSERVED]: [
        { guard: 'powerSettled', target: 'succeeded', actions: 'recordPowerObservation' },
        { guard: 'powerPollBudgetSpent', target: 'failed', actions: 'failPowerBudget' },
        { actions: 'recordPowerObservation' },
      ],
    },
  } as const;
}

type ActionContext = WaitPowerContext & BaseContext;

/**
 * The actions waitPowerState() names, except `setError`; spread into the machine's
 * setup({ actions }). `what` names the change in the timeout message ("powering off"). The
 * machine's context and event types are parameters because XState only accepts actions typed
 * for them.
 */
export function waitPowerActions<TContext extends ActionContext, TEvent extends EventObject>(what: string) {
  const update = assign<TContext, TEvent, undefined, TEvent, never>;
  // TContext only adds fields to ActionContext, so these updates are updates of TContext.
  const fields = (changes: Partial<ActionContext>) => changes as Partial<TContext>;
  return {
    recordPowerObservation: update(({ context, event }) =>
      fields(powerObservation(context, observedNode(event), event)),
    ),
    failPowerBudget: update(({ context, event }) => {
      const node = observedNode(event);
      return fields({
        ...powerObservation(context, node, event),
        error: powerTimeoutError(context, node, what, event),
      });
    }),
  };
}
