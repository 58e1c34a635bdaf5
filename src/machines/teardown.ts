// Teardown (seed: destroy, _cleanup_deploy, _unprovision, _remove_instance_info_from_node).
//
// Order matters (Nova bug 1659836): once `deleted` is requested the node goes to `deleting`
// and then `cleaning`, during which Ironic holds the node's lock and answers 409 to VIF
// detach and PATCH for as long as cleaning takes. So every VIF is detached and filtering is
// stopped first, each in its own state, and only then is `deleted` requested.
import { assign, setup } from 'xstate';
import { ProvisionState, UNPROVISION_STATES, UNPROVISIONED_STATES } from '../ironic/states.js';
import type { ProvisionStateValue } from '../ironic/states.js';
import { effectActors } from './actors.js';
import type { RemoveInstanceInfoOutput, UnplugVifsOutput } from './effect-types.js';
import type { BaseContext, LifecycleOutput } from './lifecycle-output.js';
import { doneOutput, errorOf, fromEffectError, outputOf } from './lifecycle-output.js';
import type { WaitBudget } from './wait-budget.js';
import {
  DEFAULT_UNPROVISION_TIMEOUT_S,
  budgetSpent,
  observedOnce,
  timeoutOf,
  waitedFor,
} from './wait-budget.js';

/**
 * Times `deleted` is requested again when Ironic drops the node into `error` while tearing it
 * down (e.g. its conductor restarted): `error` is a state the seed unprovisions from.
 */
export const MAX_DELETE_RETRIES = 3;
import type { NodeObservedEvent, NodeView } from './node-view.js';
import { NODE_OBSERVED, observedNode } from './node-view.js';

export interface DestroyInput {
  instance: string;
  /** The node the caller believes holds the instance; Ironic's answer wins, a mismatch is a warning. */
  node?: string;
  /** Neutron port ids to detach (the seed's network_info). */
  vifs: string[];
  /** Wait until `available` instead of accepting `cleaning` / `clean wait` / `clean failed`. */
  waitForAvailable?: boolean;
  /** Seconds the unprovision wait may take (default 120: the seed's api_max_retries x api_retry_interval). */
  timeoutS?: number;
}

export interface TeardownContext extends BaseContext, WaitBudget {
  vifs: string[];
  hintNode: string | null;
  waitForAvailable: boolean;
  /** `deleted` requested again after Ironic dropped the node into `error` mid-teardown. */
  deleteRetries: number;
  /** The provision state found by the lookup: decides unprovision vs. removing instance_info. */
  initialState: ProvisionStateValue;
  /** The provision state last observed while waiting. */
  lastState: ProvisionStateValue;
  detachedVifs: string[];
}

function isUnprovisioned(context: TeardownContext, node: NodeView): boolean {
  if (context.waitForAvailable) return node.provision_state === ProvisionState.AVAILABLE;
  // Ironic clears instance_uuid when tear down finishes: the seed's lookup by instance then
  // fails with NotFound, which it counts as done.
  return node.instance_uuid !== context.instance || UNPROVISIONED_STATES.includes(node.provision_state);
}

/** What every observation of the unprovision wait records: one more poll, the state seen. */
function seen(context: TeardownContext, event: unknown) {
  return { ...observedOnce(context, event), lastState: observedNode(event).provision_state };
}

const observed = (state: ProvisionStateValue) => (args: { event: unknown }) =>
  observedNode(args.event).provision_state === state;

export const teardownMachine = setup({
  types: {
    context: {} as TeardownContext,
    input: {} as DestroyInput,
    output: {} as LifecycleOutput,
    events: {} as NodeObservedEvent,
  },
  actors: effectActors,
  guards: {
    instanceUnknownToIronic: ({ event }) => errorOf(event).code === 'IRONIC_NOT_FOUND',
    provisionStarted: ({ context }) => UNPROVISION_STATES.includes(context.initialState),
    unprovisioned: ({ context, event }) => isUnprovisioned(context, observedNode(event)),
    // `clean failed` needs an operator; waiting for `available` past it would only burn the budget.
    cleanFailedBeforeAvailable: ({ context, event }) =>
      context.waitForAvailable && observedNode(event).provision_state === ProvisionState.CLEANFAIL,
    pollBudgetSpent: ({ context, event }) => budgetSpent(context, event),
    errorRetryable: ({ context, event }) =>
      observedNode(event).provision_state === ProvisionState.ERROR &&
      context.deleteRetries < MAX_DELETE_RETRIES,
    observedError: ({ event }) => observedNode(event).provision_state === ProvisionState.ERROR,
    observedDeleting: observed(ProvisionState.DELETING),
    observedCleaning: observed(ProvisionState.CLEANING),
    observedCleanWait: observed(ProvisionState.CLEANWAIT),
    nodeGone: ({ event }) => errorOf(event).code === 'IRONIC_NOT_FOUND',
    // Read after a restart: the node was unprovisioned meanwhile (and maybe given to another
    // instance). The teardown's goal is reached; acting on the node now would hit that instance.
    instanceChanged: ({ event }) => errorOf(event).code === 'INSTANCE_CHANGED',
  },
  actions: {
    recordNode: assign(({ context, event }) => {
      const node = doneOutput<NodeView>(event);
      const warnings =
        context.hintNode !== null && context.hintNode !== node.uuid
          ? [
              ...context.warnings,
              `instance ${context.instance} is on node ${node.uuid}, not ${context.hintNode}`,
            ]
          : context.warnings;
      return {
        node: node.uuid,
        initialState: node.provision_state,
        lastState: node.provision_state,
        warnings,
      };
    }),
    warnInstanceUnknown: assign(({ context }) => ({
      warnings: [...context.warnings, `instance ${context.instance} unknown to Ironic`],
    })),
    recordDetached: assign(({ event }) => ({ detachedVifs: doneOutput<UnplugVifsOutput>(event).detached })),
    recordObservation: assign(({ context, event }) => {
      const node = observedNode(event);
      const warnings =
        node.provision_state === ProvisionState.CLEANFAIL
          ? [
              ...context.warnings,
              `node ${node.uuid} is in clean failed and must be fixed in Ironic: ${node.last_error ?? 'no last_error'}`,
            ]
          : node.instance_uuid !== null && node.instance_uuid !== context.instance
            ? [
                ...context.warnings,
                `node ${node.uuid} now holds instance ${node.instance_uuid}: instance ${context.instance} is already gone`,
              ]
            : context.warnings;
      return { ...seen(context, event), warnings };
    }),
    retryAfterError: assign(({ context, event }) => {
      const node = observedNode(event);
      return {
        ...seen(context, event),
        deleteRetries: context.deleteRetries + 1,
        warnings: [
          ...context.warnings,
          `node ${node.uuid} went to error while unprovisioning (${node.last_error ?? 'no last_error'}); requesting deleted again (${context.deleteRetries + 1} of ${MAX_DELETE_RETRIES})`,
        ],
      };
    }),
    failUnprovisionError: assign(({ context, event }) => {
      const node = observedNode(event);
      return {
        ...seen(context, event),
        error: {
          code: 'UNPROVISION_FAILED',
          message: `error destroying instance ${context.instance} on node ${node.uuid}: Ironic left it in error after ${MAX_DELETE_RETRIES + 1} requests for deleted: ${node.last_error ?? 'no last_error'}`,
          state: node.provision_state,
          node: node.uuid,
          ...(node.last_error === null ? {} : { faultstring: node.last_error }),
        },
      };
    }),
    failCleanFailed: assign(({ context, event }) => {
      const node = observedNode(event);
      return {
        ...seen(context, event),
        error: {
          code: 'CLEAN_FAILED',
          message: `node ${node.uuid} went to clean failed while waiting for available: ${node.last_error ?? 'no last_error'}`,
          state: node.provision_state,
          node: node.uuid,
        },
      };
    }),
    failPollBudget: assign(({ context, event }) => {
      const node = observedNode(event);
      return {
        ...seen(context, event),
        error: {
          code: 'UNPROVISION_TIMEOUT',
          message: `error destroying instance ${context.instance} on node ${node.uuid}: provision state still "${node.provision_state ?? 'null'}" (target "${node.target_provision_state ?? 'null'}") ${waitedFor(context, event)}${node.last_error === null ? '' : `; last_error: ${node.last_error}`}`,
          state: node.provision_state,
          node: node.uuid,
        },
      };
    }),
    noteNodeGone: assign(({ context }) => ({
      warnings: [
        ...context.warnings,
        `node ${context.node ?? '?'} disappeared from Ironic while unprovisioning`,
      ],
    })),
    warnInstanceInfoKept: assign(({ context, event }) => {
      const out = doneOutput<RemoveInstanceInfoOutput>(event);
      return out.removed
        ? {}
        : {
            warnings: [
              ...context.warnings,
              `failed to remove instance_info from node ${context.node ?? '?'}: ${out.reason ?? 'unknown reason'}`,
            ],
          };
    }),
    warnInstanceChanged: assign(({ context, event }) => ({
      warnings: [
        ...context.warnings,
        `${errorOf(event).message}: instance ${context.instance} is already gone`,
      ],
    })),
    setError: assign(({ event }) => ({ error: fromEffectError(errorOf(event)) })),
  },
}).createMachine({
  id: 'teardown',
  context: ({ input }) => ({
    instance: input.instance,
    node: null,
    warnings: [],
    error: null,
    vifs: input.vifs,
    hintNode: input.node ?? null,
    waitForAvailable: input.waitForAvailable ?? false,
    timeoutS: timeoutOf(input.timeoutS, DEFAULT_UNPROVISION_TIMEOUT_S),
    waitStartedAt: null,
    polls: 0,
    deleteRetries: 0,
    initialState: null,
    lastState: null,
    detachedVifs: [],
  }),
  initial: 'lookup',
  states: {
    lookup: {
      invoke: {
        id: 'lookupNode',
        src: 'lookupNode',
        input: ({ context }) => ({ instance: context.instance }),
        onDone: { target: 'cleanup', actions: 'recordNode' },
        onError: [
          // Nova can only forget an instance Ironic never knew by returning quietly (seed: destroy).
          { guard: 'instanceUnknownToIronic', target: 'succeeded', actions: 'warnInstanceUnknown' },
          { target: 'failed', actions: 'setError' },
        ],
      },
    },
    cleanup: {
      initial: 'unplugVifs',
      states: {
        unplugVifs: {
          invoke: {
            id: 'unplugVifs',
            src: 'unplugVifs',
            input: ({ context }) => ({ node: context.node ?? '', vifs: context.vifs }),
            onDone: { target: 'stopFiltering', actions: 'recordDetached' },
            onError: [
              { guard: 'instanceChanged', target: '#teardown.succeeded', actions: 'warnInstanceChanged' },
              { target: '#teardown.failed', actions: 'setError' },
            ],
          },
        },
        stopFiltering: {
          invoke: {
            id: 'stopFiltering',
            src: 'stopFiltering',
            input: ({ context }) => ({
              instance: context.instance,
              node: context.node ?? '',
              vifs: context.vifs,
            }),
            onDone: [
              { guard: 'provisionStarted', target: '#teardown.unprovision' },
              // spawn failed before Ironic started provisioning: only instance_info is left.
              { target: '#teardown.removeInstanceInfo' },
            ],
            onError: { target: '#teardown.failed', actions: 'setError' },
          },
        },
      },
    },
    unprovision: {
      initial: 'requestDeleted',
      states: {
        requestDeleted: {
          invoke: {
            id: 'requestDeleted',
            src: 'requestDeleted',
            input: ({ context }) => ({ node: context.node ?? '' }),
            onDone: { target: 'watching' },
            onError: [
              { guard: 'instanceChanged', target: '#teardown.succeeded', actions: 'warnInstanceChanged' },
              { target: '#teardown.failed', actions: 'setError' },
            ],
          },
        },
        // One observeNode effect for the whole wait; each observation picks the substate that
        // mirrors Ironic's provision state (a same-state observation only counts a poll).
        watching: {
          initial: 'waiting',
          invoke: {
            id: 'observeNode',
            src: 'observeNode',
            input: ({ context }) => ({ node: context.node ?? '' }),
            onError: [
              { guard: 'nodeGone', target: '#teardown.succeeded', actions: 'noteNodeGone' },
              { target: '#teardown.failed', actions: 'setError' },
            ],
          },
          on: {
            [NODE_OBSERVED]: [
              { guard: 'unprovisioned', target: '#teardown.succeeded', actions: 'recordObservation' },
              { guard: 'cleanFailedBeforeAvailable', target: '#teardown.failed', actions: 'failCleanFailed' },
              // Ironic gave up on the teardown (seed: `error` is unprovisioned from): ask again.
              {
                guard: 'errorRetryable',
                target: '#teardown.unprovision.requestDeleted',
                actions: 'retryAfterError',
              },
              { guard: 'observedError', target: '#teardown.failed', actions: 'failUnprovisionError' },
              { guard: 'pollBudgetSpent', target: '#teardown.failed', actions: 'failPollBudget' },
              { guard: 'observedDeleting', target: '.deleting', actions: 'recordObservation' },
              { guard: 'observedCleaning', target: '.cleaning', actions: 'recordObservation' },
              { guard: 'observedCleanWait', target: '.cleanWait', actions: 'recordObservation' },
              { target: '.waiting', actions: 'recordObservation' },
            ],
          },
          states: {
            waiting: {},
            deleting: {},
            cleaning: {},
            cleanWait: {},
          },
        },
      },
    },
    removeInstanceInfo: {
      invoke: {
        id: 'removeInstanceInfo',
        src: 'removeInstanceInfo',
        input: ({ context }) => ({ node: context.node ?? '' }),
        onDone: { target: 'succeeded', actions: 'warnInstanceInfoKept' },
        onError: [
          { guard: 'instanceChanged', target: 'succeeded', actions: 'warnInstanceChanged' },
          { target: 'failed', actions: 'setError' },
        ],
      },
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => outputOf(context),
});
