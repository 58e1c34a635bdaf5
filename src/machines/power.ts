// Power off and power on (seed: power_off, power_on).
// Power off with a timeout tries a soft power off first and waits; when the node is still not
// off afterwards, or Ironic refuses the soft request, it powers off hard and waits again.
import { assign, setup } from 'xstate';
import { PowerState } from '../ironic/states.js';
import { effectActors } from './actors.js';
import type { BaseContext, LifecycleOutput } from './lifecycle-output.js';
import { doneOutput, errorOf, fromEffectError, outputOf } from './lifecycle-output.js';
import { timeoutOf } from './wait-budget.js';
import type { NodeObservedEvent, NodeView } from './node-view.js';
import { NODE_OBSERVED, observedNode } from './node-view.js';
import type { WaitPowerContext } from './wait-power.js';
import {
  observePowerInvoke,
  powerObservation,
  waitPowerActions,
  waitPowerGuards,
  waitPowerState,
} from './wait-power.js';

export interface PowerOffInput {
  instance: string;
  /** Seconds Ironic may wait for a soft power off; absent or 0 powers off hard at once. */
  softTimeoutSeconds?: number;
  /** Seconds each power wait may take; none by default (seed: _wait_for_power_state). */
  timeoutS?: number;
}

export interface PowerOnInput {
  instance: string;
  /** Seconds the power wait may take; none by default (seed: _wait_for_power_state). */
  timeoutS?: number;
}

export interface PowerOffContext extends BaseContext, WaitPowerContext {
  softTimeoutSeconds: number;
}

export type PowerOnContext = BaseContext & WaitPowerContext;

export const powerOffMachine = setup({
  types: {
    context: {} as PowerOffContext,
    input: {} as PowerOffInput,
    output: {} as LifecycleOutput,
    events: {} as NodeObservedEvent,
  },
  actors: effectActors,
  guards: {
    ...waitPowerGuards,
    softRequested: ({ context }) => context.softTimeoutSeconds > 0,
    settledOff: ({ event }) => {
      const node = observedNode(event);
      return node.target_power_state === null && node.power_state === PowerState.POWER_OFF;
    },
  },
  actions: {
    recordNode: assign(({ event }) => ({ node: doneOutput<NodeView>(event).uuid })),
    warnSoftRefused: assign(({ context, event }) => ({
      warnings: [...context.warnings, `soft power off refused, powering off hard: ${errorOf(event).message}`],
    })),
    warnSoftNotOff: assign(({ context, event }) => {
      const node = observedNode(event);
      return {
        ...powerObservation(context, node, event),
        warnings: [
          ...context.warnings,
          `node ${node.uuid} not off after soft power off within ${context.softTimeoutSeconds} s (power state "${node.power_state ?? 'null'}", last_error: ${node.last_error ?? 'none'}), powering off hard`,
        ],
      };
    }),
    startHardWait: assign({ polls: 0, waitStartedAt: null }),
    ...waitPowerActions<PowerOffContext, NodeObservedEvent>('powering off'),
    setError: assign(({ event }) => ({ error: fromEffectError(errorOf(event)) })),
  },
}).createMachine({
  id: 'powerOff',
  context: ({ input }) => ({
    instance: input.instance,
    node: null,
    warnings: [],
    error: null,
    softTimeoutSeconds: input.softTimeoutSeconds ?? 0,
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
        input: ({ context }) => ({ instance: context.instance }),
        onDone: [
          { guard: 'softRequested', target: 'requestSoftOff', actions: 'recordNode' },
          { target: 'requestHardOff', actions: 'recordNode' },
        ],
        onError: { target: 'failed', actions: 'setError' },
      },
    },
    requestSoftOff: {
      invoke: {
        id: 'setPowerState',
        src: 'setPowerState',
        input: ({ context }) => ({
          node: context.node ?? '',
          target: 'off' as const,
          soft: true,
          timeoutSeconds: context.softTimeoutSeconds,
        }),
        onDone: { target: 'waitSoftOff' },
        // The seed falls back to hard on any error Ironic answers to the soft request.
        onError: { target: 'requestHardOff', actions: 'warnSoftRefused' },
      },
    },
    waitSoftOff: {
      invoke: observePowerInvoke,
      on: {
        [NODE_OBSERVED]: [
          { guard: 'settledOff', target: 'succeeded', actions: 'recordPowerObservation' },
          { guard: 'powerSettled', target: 'requestHardOff', actions: 'warnSoftNotOff' },
          { guard: 'powerPollBudgetSpent', target: 'requestHardOff', actions: 'warnSoftNotOff' },
          { actions: 'recordPowerObservation' },
        ],
      },
    },
    requestHardOff: {
      entry: 'startHardWait',
      invoke: {
        id: 'setPowerState',
        src: 'setPowerState',
        input: ({ context }) => ({ node: context.node ?? '', target: 'off' as const, soft: false }),
        onDone: { target: 'waitOff' },
        onError: { target: 'failed', actions: 'setError' },
      },
    },
    waitOff: waitPowerState(),
    succeeded: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => outputOf(context),
});

export const powerOnMachine = setup({
  types: {
    context: {} as PowerOnContext,
    input: {} as PowerOnInput,
    output: {} as LifecycleOutput,
    events: {} as NodeObservedEvent,
  },
  actors: effectActors,
  guards: waitPowerGuards,
  actions: {
    recordNode: assign(({ event }) => ({ node: doneOutput<NodeView>(event).uuid })),
    ...waitPowerActions<PowerOnContext, NodeObservedEvent>('powering on'),
    setError: assign(({ event }) => ({ error: fromEffectError(errorOf(event)) })),
  },
}).createMachine({
  id: 'powerOn',
  context: ({ input }) => ({
    instance: input.instance,
    node: null,
    warnings: [],
    error: null,
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
        input: ({ context }) => ({ instance: context.instance }),
        onDone: { target: 'requestOn', actions: 'recordNode' },
        onError: { target: 'failed', actions: 'setError' },
      },
    },
    requestOn: {
      invoke: {
        id: 'setPowerState',
        src: 'setPowerState',
        input: ({ context }) => ({ node: context.node ?? '', target: 'on' as const, soft: false }),
        onDone: { target: 'waitOn' },
        onError: { target: 'failed', actions: 'setError' },
      },
    },
    waitOn: waitPowerState(),
    succeeded: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => outputOf(context),
});
