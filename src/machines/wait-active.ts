// Waiting for `active` after a deploy or rebuild request (seed: _wait_for_active). Shared by
// deploy.ts and rebuild.ts: both spread these guards and actions into their setup() and use
// waitActiveState() as their `waitActive` state.
import { assign } from 'xstate';
import type { EventObject } from 'xstate';
import { ProvisionState } from '../ironic/states.js';
import type { ProvisionStateValue } from '../ironic/states.js';
import type { BaseContext, MachineError } from './lifecycle-output.js';
import { errorOf, fromEffectError } from './lifecycle-output.js';
import type { NodeView } from './node-view.js';
import { NODE_OBSERVED, observedNode } from './node-view.js';
import type { WaitBudget } from './wait-budget.js';
import { budgetSpent, observedOnce, waitedFor } from './wait-budget.js';

export interface WaitActiveContext extends WaitBudget {
  instance: string;
  node: string | null;
  lastState: ProvisionStateValue;
  /**
   * Set by an ABORT that came before the wait began: the seed checks the instance's task state
   * at the first poll of _wait_for_active, so the run aborts as it would start waiting.
   */
  abortReason: string | null;
}

export type ActiveWaitVerdict =
  'active' | 'gone' | 'deployFailed' | 'budgetSpent' | 'deploying' | 'waitCallBack' | 'waiting';

/** The seed's checks, in its order: done, deleted underneath us, deploy failed, keep polling. */
export function judgeActiveWait(
  context: WaitActiveContext,
  node: NodeView,
  event: unknown = undefined,
): ActiveWaitVerdict {
  // The seed looks the node up by instance: another instance (or none) on it means ours is gone,
  // even when the node is `active` (for the instance that took it while the run was down).
  if (node.instance_uuid !== context.instance) return 'gone';
  if (node.provision_state === ProvisionState.ACTIVE) return 'active';
  // Ironic is already tearing it down (target `deleted`/`available`) or has finished doing so.
  if (
    node.target_provision_state === ProvisionState.DELETED ||
    node.target_provision_state === ProvisionState.AVAILABLE
  )
    return 'gone';
  if (node.provision_state === ProvisionState.NOSTATE || node.provision_state === ProvisionState.AVAILABLE)
    return 'gone';
  if (node.provision_state === ProvisionState.DEPLOYFAIL) return 'deployFailed';
  if (budgetSpent(context, event)) return 'budgetSpent';
  if (node.provision_state === ProvisionState.DEPLOYING) return 'deploying';
  if (node.provision_state === ProvisionState.DEPLOYWAIT) return 'waitCallBack';
  return 'waiting';
}

export function activeWaitError(context: WaitActiveContext, node: NodeView, event: unknown): MachineError {
  const verdict = judgeActiveWait(context, node, event);
  const facts = { state: node.provision_state, node: node.uuid };
  if (verdict === 'deployFailed') {
    return {
      code: 'DEPLOY_FAILED',
      message: `failed to provision instance ${context.instance}: ${node.last_error ?? 'no last_error'}`,
      ...facts,
    };
  }
  if (verdict === 'budgetSpent') {
    return {
      code: 'DEPLOY_TIMEOUT',
      message: `instance ${context.instance} not active on node ${node.uuid} ${waitedFor(context, event)}: Ironic still has it in "${node.provision_state ?? 'null'}" (target "${node.target_provision_state ?? 'null'}")${node.last_error === null ? '' : `, last_error: ${node.last_error}`}`,
      ...facts,
    };
  }
  return {
    code: 'INSTANCE_GONE',
    message: `instance ${context.instance} is no longer being provisioned on node ${node.uuid} (provision state "${node.provision_state ?? 'null'}", target "${node.target_provision_state ?? 'null'}", instance_uuid ${node.instance_uuid ?? 'null'})`,
    ...facts,
  };
}

/** The event the engine sends a deploy or rebuild whose instance is being destroyed. */
export const ABORT = 'ABORT';
export interface AbortEvent {
  type: typeof ABORT;
  reason: string;
}

/** The run's failure when it was aborted while waiting for `active`. */
export function abortedError(context: WaitActiveContext, event: unknown): MachineError {
  const reason = (event as Partial<AbortEvent>).reason ?? context.abortReason ?? 'no reason given';
  return {
    code: 'DEPLOY_ABORTED',
    message: `provisioning of instance ${context.instance} was aborted: ${reason}`,
    state: context.lastState,
    node: context.node,
  };
}

/**
 * How a deploy or rebuild enters its wait once Ironic accepted the request: at once into
 * `failed` when an ABORT came earlier (the seed's first poll sees the instance being deleted),
 * else into `waitActive`. The node is Ironic's by then; the teardown that sent ABORT takes over.
 */
export function enterWaitActive(machineId: string) {
  return [
    { guard: 'abortRequested', target: `#${machineId}.failed`, actions: 'failAborted' },
    { target: `#${machineId}.waitActive` },
  ] as const;
}

/** The machine-wide ABORT handler: states before the wait only note it (see enterWaitActive). */
export const noteAbortWhileBusy = { [ABORT]: { actions: 'noteAbort' } } as const;

/** The `waitActive` compound state. `machineId` is the id of the machine using it. */
export function waitActiveState(machineId: string) {
  return {
    initial: 'waiting',
    // One observeNode effect for the whole wait; each observation picks the substate that
    // mirrors Ironic's provision state (a same-state observation only counts a poll).
    invoke: {
      id: 'observeNode',
      src: 'observeNode',
      input: ({ context }: { context: WaitActiveContext }) => ({ node: context.node ?? '' }),
      onError: [
        // A 404 on the node means the instance cannot be deployed any more (seed: InstanceNotFound).
        { guard: 'nodeGone', target: `#${machineId}.failed`, actions: 'failNodeGone' },
        { target: `#${machineId}.failed`, actions: 'setError' },
      ],
    },
    on: {
      [NODE_OBSERVED]: [
        { guard: 'reachedActive', target: `#${machineId}.succeeded`, actions: 'recordActiveObservation' },
        { guard: 'instanceGone', target: `#${machineId}.failed`, actions: 'failActiveWait' },
        { guard: 'deployFailed', target: `#${machineId}.failed`, actions: 'failActiveWait' },
        { guard: 'activePollBudgetSpent', target: `#${machineId}.failed`, actions: 'failActiveWait' },
        { guard: 'observedDeploying', target: '.deploying', actions: 'recordActiveObservation' },
        { guard: 'observedWaitCallBack', target: '.waitCallBack', actions: 'recordActiveObservation' },
        { target: '.waiting', actions: 'recordActiveObservation' },
      ],
      // The instance is being deleted while it deploys (seed: _wait_for_active checks the
      // instance's task state on every poll): stop waiting at once; the teardown takes over.
      [ABORT]: { target: `#${machineId}.failed`, actions: 'failAborted' },
    },
    states: {
      waiting: {},
      deploying: {},
      waitCallBack: {},
    },
  } as const;
}

type GuardArgs = { context: WaitActiveContext; event: unknown };
const verdictIs =
  (verdict: ActiveWaitVerdict) =>
  ({ context, event }: GuardArgs): boolean =>
    judgeActiveWait(context, observedNode(event), event) === verdict;

/** The guards waitActiveState() names; spread into the machine's setup({ guards }). */
export const waitActiveGuards = {
  reachedActive: verdictIs('active'),
  instanceGone: verdictIs('gone'),
  deployFailed: verdictIs('deployFailed'),
  activePollBudgetSpent: verdictIs('budgetSpent'),
  observedDeploying: verdictIs('deploying'),
  observedWaitCallBack: verdictIs('waitCallBack'),
  nodeGone: ({ event }: { event: unknown }): boolean => errorOf(event).code === 'IRONIC_NOT_FOUND',
  abortRequested: ({ context }: { context: WaitActiveContext }): boolean => context.abortReason !== null,
};

type ActionContext = WaitActiveContext & BaseContext;

/**
 * The actions waitActiveState() names; spread into the machine's setup({ actions }).
 * `doing` names the operation in the node-gone message ("deploying", "rebuilding"). The machine's
 * context and event types are parameters because XState only accepts actions typed for them.
 */
export function waitActiveActions<TContext extends ActionContext, TEvent extends EventObject>(doing: string) {
  const update = assign<TContext, TEvent, undefined, TEvent, never>;
  // TContext only adds fields to ActionContext, so these updates are updates of TContext.
  const fields = (changes: Partial<ActionContext>) => changes as Partial<TContext>;
  return {
    recordActiveObservation: update(({ context, event }) =>
      fields({ ...observedOnce(context, event), lastState: observedNode(event).provision_state }),
    ),
    failActiveWait: update(({ context, event }) => {
      const node = observedNode(event);
      return fields({
        ...observedOnce(context, event),
        lastState: node.provision_state,
        error: activeWaitError(context, node, event),
      });
    }),
    failAborted: update(({ context, event }) => fields({ error: abortedError(context, event) })),
    noteAbort: update(({ context, event }) =>
      fields({
        abortReason: context.abortReason ?? (event as Partial<AbortEvent>).reason ?? 'no reason given',
      }),
    ),
    failNodeGone: update(({ context, event }) =>
      fields({
        error: {
          ...fromEffectError(
            errorOf(event),
            `node ${context.node ?? '?'} disappeared while ${doing} instance ${context.instance}`,
          ),
          code: 'INSTANCE_GONE',
          cause: 'IRONIC_NOT_FOUND',
        },
      }),
    ),
  };
}
