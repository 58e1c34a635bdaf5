// Rebuild (seed: rebuild). Re-deploys the image on the node that already holds the instance:
// new instance_info (optionally preserving the ephemeral partition), `rebuild`, then the same
// wait for `active` as a deploy. Nothing is plugged or filtered, so there is nothing to clean up.
import { assign, setup } from 'xstate';
import type { FlavorInfo, ImageInfo, Node } from '../ironic/types.js';
import { effectActors } from './actors.js';
import type { BaseContext, LifecycleOutput } from './lifecycle-output.js';
import { doneOutput, errorOf, failureFrom, fromEffectError, outputOf } from './lifecycle-output.js';
import type { NodeView } from './node-view.js';
import { timeoutOf } from './wait-budget.js';
import type { WaitActiveContext } from './wait-active.js';
import {
  enterWaitActive,
  noteAbortWhileBusy,
  waitActiveActions,
  waitActiveGuards,
  waitActiveState,
} from './wait-active.js';
import type { AbortEvent } from './wait-active.js';
import type { NodeObservedEvent } from './node-view.js';

export interface RebuildInput {
  instance: string;
  /** When absent, the node is found by instance uuid. */
  node?: string;
  image: ImageInfo;
  flavor: FlavorInfo;
  preserveEphemeral: boolean;
  /** Seconds the wait for `active` may take; none by default (seed: rebuild's _wait_for_active). */
  timeoutS?: number;
}

export interface RebuildContext extends BaseContext, WaitActiveContext {
  image: ImageInfo;
  flavor: FlavorInfo;
  preserveEphemeral: boolean;
  nodeInfo: Node | null;
}

export const rebuildMachine = setup({
  types: {
    context: {} as RebuildContext,
    input: {} as RebuildInput,
    output: {} as LifecycleOutput,
    events: {} as AbortEvent | NodeObservedEvent,
  },
  actors: effectActors,
  guards: {
    ...waitActiveGuards,
    nodeKnown: ({ context }) => context.node !== null,
  },
  actions: {
    ...waitActiveActions<RebuildContext, AbortEvent | NodeObservedEvent>('rebuilding'),
    recordNodeUuid: assign(({ event }) => ({ node: doneOutput<NodeView>(event).uuid })),
    recordNodeInfo: assign(({ event }) => ({ nodeInfo: doneOutput<Node>(event) })),
    failLookup: assign(({ context, event }) => ({
      error: failureFrom(`cannot find the node of instance ${context.instance}`, errorOf(event)),
    })),
    failAddInstanceInfo: assign(({ context, event }) => ({
      error: failureFrom(
        `failed to add deploy parameters on node ${context.node ?? '?'} for instance ${context.instance}`,
        errorOf(event),
      ),
    })),
    failRequestRebuild: assign(({ context, event }) => ({
      error: {
        ...failureFrom(`failed to request Ironic to rebuild instance ${context.instance}`, errorOf(event)),
        code: 'REBUILD_REQUEST_FAILED',
      },
    })),
    setError: assign(({ event }) => ({ error: fromEffectError(errorOf(event)) })),
  },
}).createMachine({
  id: 'rebuild',
  context: ({ input }) => ({
    instance: input.instance,
    node: input.node ? input.node : null,
    warnings: [],
    error: null,
    image: input.image,
    flavor: input.flavor,
    preserveEphemeral: input.preserveEphemeral,
    nodeInfo: null,
    polls: 0,
    timeoutS: timeoutOf(input.timeoutS, null),
    waitStartedAt: null,
    lastState: null,
    abortReason: null,
  }),
  // An ABORT before the wait is noted and honoured as the wait would begin (enterWaitActive).
  on: noteAbortWhileBusy,
  initial: 'checkInput',
  states: {
    checkInput: {
      always: [{ guard: 'nodeKnown', target: 'getNode' }, { target: 'lookup' }],
    },
    lookup: {
      invoke: {
        id: 'lookupNode',
        src: 'lookupNode',
        input: ({ context }) => ({ instance: context.instance }),
        onDone: { target: 'getNode', actions: 'recordNodeUuid' },
        onError: { target: 'failed', actions: 'failLookup' },
      },
    },
    getNode: {
      invoke: {
        id: 'getNode',
        src: 'getNode',
        input: ({ context }) => ({ node: context.node ?? '' }),
        onDone: { target: 'addInstanceInfo', actions: 'recordNodeInfo' },
        onError: { target: 'failed', actions: 'failLookup' },
      },
    },
    addInstanceInfo: {
      invoke: {
        id: 'addInstanceInfo',
        src: 'addInstanceInfo',
        input: ({ context }) => ({
          node: context.nodeInfo as Node,
          instance: context.instance,
          image: context.image,
          flavor: context.flavor,
          preserveEphemeral: context.preserveEphemeral,
        }),
        onDone: { target: 'requestRebuild' },
        onError: { target: 'failed', actions: 'failAddInstanceInfo' },
      },
    },
    requestRebuild: {
      invoke: {
        id: 'requestRebuild',
        src: 'requestRebuild',
        // The baseline a resumed run compares with, so that the disk is never imaged twice.
        input: ({ context }) => ({
          node: context.node ?? '',
          since: context.nodeInfo?.provision_updated_at ?? null,
        }),
        // Ironic moves the node through `deploying` back to `active` (the target reads `active`).
        onDone: enterWaitActive('rebuild'),
        onError: { target: 'failed', actions: 'failRequestRebuild' },
      },
    },
    waitActive: waitActiveState('rebuild'),
    succeeded: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => outputOf(context),
});
