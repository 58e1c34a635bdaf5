// Reboot (seed: reboot): soft when asked, falling back to hard when Ironic refuses soft with
// a 400 (the hardware type does not support it); then wait until target_power_state clears.
import { assign, setup } from 'xstate';
import { effectActors } from './actors.js';
import type { BaseContext, LifecycleOutput } from './lifecycle-output.js';
import { doneOutput, errorOf, fromEffectError, outputOf } from './lifecycle-output.js';
import { timeoutOf } from './wait-budget.js';
import type { NodeObservedEvent, NodeView } from './node-view.js';
import type { WaitPowerContext } from './wait-power.js';
import { waitPowerActions, waitPowerGuards, waitPowerState } from './wait-power.js';

export interface RebootInput {
  instance: string;
  soft: boolean;
  /** Seconds the power wait may take; none by default (seed: _wait_for_power_state). */
  timeoutS?: number;
}

export interface RebootContext extends BaseContext, WaitPowerContext {
  soft: boolean;
  /** The node's updated_at at the lookup: a later one means Ironic took the reboot (never twice). */
  since: string | null;
}

export const rebootMachine = setup({
  types: {
    context: {} as RebootContext,
    input: {} as RebootInput,
    output: {} as LifecycleOutput,
    events: {} as NodeObservedEvent,
  },
  actors: effectActors,
  guards: {
    ...waitPowerGuards,
    softRequested: ({ context }) => context.soft,
    softRefused: ({ event }) => errorOf(event).code === 'IRONIC_BAD_REQUEST',
  },
  actions: {
    recordNode: assign(({ event }) => {
      const node = doneOutput<NodeView>(event);
      return { node: node.uuid, since: node.updated_at ?? null };
    }),
    warnSoftRefused: assign(({ context, event }) => ({
      warnings: [
        ...context.warnings,
        `soft reboot not supported by the node's hardware type, rebooting hard: ${errorOf(event).message}`,
      ],
    })),
    ...waitPowerActions<RebootContext, NodeObservedEvent>('rebooting'),
    setError: assign(({ event }) => ({ error: fromEffectError(errorOf(event)) })),
  },
}).createMachine({
  id: 'reboot',
  context: ({ input }) => ({
    instance: input.instance,
    node: null,
    warnings: [],
    error: null,
    soft: input.soft,
    since: null,
    polls: 0,
    timeoutS: timeoutOf(input.timeoutS, null),
    waitStartedAt: null,
    lastPowerState: null,
    lastTargetPowerState: null,
  }),
  initial: 'lookup',
  states: {
    lookup: {
      invoke: {
        id: 'lookupNode',
        src: 'lookupNode',
        input: ({ context }) => ({ instance: context.instance, stamps: true }),
        onDone: [
          { guard: 'softRequested', target: 'requestSoftReboot', actions: 'recordNode' },
          { target: 'requestHardReboot', actions: 'recordNode' },
        ],
        onError: { target: 'failed', actions: 'setError' },
      },
    },
    requestSoftReboot: {
      invoke: {
        id: 'setPowerState',
        src: 'setPowerState',
        input: ({ context }) => ({
          node: context.node ?? '',
          target: 'reboot' as const,
          soft: true,
          since: context.since,
        }),
        onDone: { target: 'waitReboot' },
        onError: [
          { guard: 'softRefused', target: 'requestHardReboot', actions: 'warnSoftRefused' },
          { target: 'failed', actions: 'setError' },
        ],
      },
    },
    requestHardReboot: {
      invoke: {
        id: 'setPowerState',
        src: 'setPowerState',
        input: ({ context }) => ({
          node: context.node ?? '',
          target: 'reboot' as const,
          soft: false,
          since: context.since,
        }),
        onDone: { target: 'waitReboot' },
        onError: { target: 'failed', actions: 'setError' },
      },
    },
    waitReboot: waitPowerState(),
    succeeded: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => outputOf(context),
});
