// Serial console (seed: _get_node_console_with_reset, get_serial_console).
//
// An enabled console is reset (disabled, then enabled again) because IPMI serial consoles
// accept one session: the reset frees a console held by someone else. Each mode change is
// waited for by reading the console with a growing sleep between reads, up to a timeout.
// When the reset fails the console is enabled once more, so it is not left disabled.
import { assign, setup } from 'xstate';
import { effectActors } from './actors.js';
import type { ConsoleView } from './effect-types.js';
import type { BaseContext, LifecycleOutput, MachineError } from './lifecycle-output.js';
import { doneOutput, errorOf, outputOf } from './lifecycle-output.js';
import type { NodeView } from './node-view.js';

export interface ConsoleInput {
  instance: string;
  /** How long each mode change may take (default 10 s, Nova's serial_console_state_timeout). */
  timeoutMs?: number;
}

/** The seed's first interval between console reads; each later one doubles. */
export const CONSOLE_FIRST_INTERVAL_MS = 1000;
export const DEFAULT_CONSOLE_TIMEOUT_MS = 10_000;

export interface ConsoleContext extends BaseContext {
  timeoutMs: number;
  /** Time slept in the current wait for a mode change. */
  elapsedMs: number;
  intervalMs: number;
  console: ConsoleView | null;
  /** Why the reset failed, when recovery ran. */
  resetError: MachineError | null;
  endpoint: { host: string; port: number } | null;
}

export type SerialConsole = { ok: true; host: string; port: number } | { ok: false; reason: string };

/** Only socat consoles reachable over `tcp://host:port` make a serial console (seed: get_serial_console). */
export function parseSerialConsole(view: ConsoleView | null): SerialConsole {
  if (view === null || !view.enabled) return { ok: false, reason: 'console is disabled' };
  if (view.type !== 'socat')
    return { ok: false, reason: `console type "${view.type ?? 'null'}" is not socat` };
  let url: URL;
  try {
    url = new URL(view.url ?? '');
  } catch {
    return { ok: false, reason: `invalid socat console URL "${view.url ?? ''}"` };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port);
  if (!host || !url.port || !Number.isInteger(port)) {
    return { ok: false, reason: `invalid socat console URL "${view.url ?? ''}"` };
  }
  if (url.protocol !== 'tcp:')
    return { ok: false, reason: `socat console URL "${view.url ?? ''}" is not tcp` };
  return { ok: true, host, port };
}

function unavailable(context: ConsoleContext, reason: string): MachineError {
  return {
    code: 'CONSOLE_UNAVAILABLE',
    message: `serial console unavailable for instance ${context.instance}: ${reason}`,
    node: context.node,
  };
}

/** Where a mode change goes when its wait times out or a request fails, and with which actions. */
interface ModeChangeFailure {
  target: string;
  timeout: 'recordResetTimeout' | 'failTimeout';
  error: 'recordResetFailure' | 'failRead';
}

/** A failed reset still enables the console once more (see the top of this file). */
const resetFailed: ModeChangeFailure = {
  target: '#console.recover',
  timeout: 'recordResetTimeout',
  error: 'recordResetFailure',
};
const recoveryFailed: ModeChangeFailure = {
  target: '#console.failed',
  timeout: 'failTimeout',
  error: 'failRead',
};

/** A request for the console to become `mode`; once Ironic accepts it, go to the wait `next`. */
function setModeState(mode: 'enabled' | 'disabled', next: string, failure: ModeChangeFailure) {
  return {
    invoke: {
      id: 'setConsoleMode',
      src: 'setConsoleMode',
      input: ({ context }: { context: ConsoleContext }) => ({
        node: context.node ?? '',
        enabled: mode === 'enabled',
      }),
      onDone: { target: next },
      onError: { target: failure.target, actions: failure.error },
    },
  } as const;
}

/**
 * A wait for the console to become `mode`: read it, and until it is, sleep a doubling interval
 * and read again, up to the timeout. Reaching the mode goes to `reached`.
 */
function waitModeState(mode: 'enabled' | 'disabled', reached: string, failure: ModeChangeFailure) {
  const inMode = mode === 'enabled' ? 'consoleEnabled' : 'consoleDisabled';
  return {
    entry: 'startWait',
    initial: 'check',
    states: {
      check: {
        invoke: {
          id: 'getConsole',
          src: 'getConsole',
          input: ({ context }: { context: ConsoleContext }) => ({ node: context.node ?? '' }),
          onDone: [
            { guard: inMode, target: reached, actions: 'recordConsole' },
            { guard: 'waitTimedOut', target: failure.target, actions: failure.timeout },
            { target: 'backoff', actions: 'recordConsole' },
          ],
          onError: { target: failure.target, actions: failure.error },
        },
      },
      backoff: {
        invoke: {
          id: 'sleep',
          src: 'sleep',
          input: ({ context }: { context: ConsoleContext }) => ({ ms: nextSleepMs(context) }),
          onDone: { target: 'check', actions: 'countSleep' },
          onError: { target: failure.target, actions: failure.error },
        },
      },
    },
  } as const;
}

export const consoleMachine = setup({
  types: {
    context: {} as ConsoleContext,
    input: {} as ConsoleInput,
    output: {} as LifecycleOutput,
  },
  actors: effectActors,
  guards: {
    consoleEnabled: ({ event }) => doneOutput<ConsoleView>(event).enabled,
    consoleDisabled: ({ event }) => !doneOutput<ConsoleView>(event).enabled,
    waitTimedOut: ({ context }) => context.elapsedMs >= context.timeoutMs,
    consoleUsable: ({ context }) => parseSerialConsole(context.console).ok,
  },
  actions: {
    recordNode: assign(({ event }) => ({ node: doneOutput<NodeView>(event).uuid })),
    recordConsole: assign(({ event }) => ({ console: doneOutput<ConsoleView>(event) })),
    startWait: assign({ elapsedMs: 0, intervalMs: CONSOLE_FIRST_INTERVAL_MS }),
    countSleep: assign(({ context }) => ({
      elapsedMs: context.elapsedMs + nextSleepMs(context),
      intervalMs: context.intervalMs * 2,
    })),
    recordResetFailure: assign(({ context, event }) => {
      const err = errorOf(event);
      return {
        resetError: { ...unavailable(context, `console reset failed: ${err.message}`), cause: err.code },
        warnings: [...context.warnings, `console reset failed (${err.code}), enabling the console again`],
      };
    }),
    recordResetTimeout: assign(({ context }) => ({
      resetError: unavailable(
        context,
        `timed out after ${context.timeoutMs} ms waiting for the console mode`,
      ),
      warnings: [...context.warnings, 'console reset timed out, enabling the console again'],
    })),
    failDisabled: assign(({ context, event }) => ({
      console: doneOutput<ConsoleView>(event),
      error: unavailable(context, 'console is disabled'),
    })),
    failRead: assign(({ context, event }) => {
      const err = errorOf(event);
      return { error: { ...unavailable(context, err.message), cause: err.code } };
    }),
    failTimeout: assign(({ context }) => ({
      error: unavailable(
        context,
        `timed out after ${context.timeoutMs} ms waiting for the console to be enabled`,
      ),
    })),
    failLookup: assign(({ event }) => {
      const err = errorOf(event);
      return { error: { code: err.code, message: err.message } };
    }),
    recordEndpoint: assign(({ context }) => {
      const parsed = parseSerialConsole(context.console);
      return parsed.ok ? { endpoint: { host: parsed.host, port: parsed.port } } : {};
    }),
    failUnusable: assign(({ context }) => {
      const parsed = parseSerialConsole(context.console);
      return { error: unavailable(context, parsed.ok ? 'unknown' : parsed.reason) };
    }),
  },
}).createMachine({
  id: 'console',
  context: ({ input }) => ({
    instance: input.instance,
    node: null,
    warnings: [],
    error: null,
    timeoutMs: input.timeoutMs ?? DEFAULT_CONSOLE_TIMEOUT_MS,
    elapsedMs: 0,
    intervalMs: CONSOLE_FIRST_INTERVAL_MS,
    console: null,
    resetError: null,
    endpoint: null,
  }),
  initial: 'lookup',
  states: {
    lookup: {
      invoke: {
        id: 'lookupNode',
        src: 'lookupNode',
        input: ({ context }) => ({ instance: context.instance }),
        onDone: { target: 'readConsole', actions: 'recordNode' },
        onError: { target: 'failed', actions: 'failLookup' },
      },
    },
    readConsole: {
      invoke: {
        id: 'getConsole',
        src: 'getConsole',
        input: ({ context }) => ({ node: context.node ?? '' }),
        onDone: [
          { guard: 'consoleEnabled', target: 'reset', actions: 'recordConsole' },
          { target: 'failed', actions: 'failDisabled' },
        ],
        onError: { target: 'failed', actions: 'failRead' },
      },
    },
    reset: {
      initial: 'disable',
      states: {
        disable: setModeState('disabled', 'waitDisabled', resetFailed),
        waitDisabled: waitModeState('disabled', '#console.reset.enable', resetFailed),
        enable: setModeState('enabled', 'waitEnabled', resetFailed),
        waitEnabled: waitModeState('enabled', '#console.evaluate', resetFailed),
      },
    },
    recover: {
      // Seed: if enabling again fails too, the console may stay disabled and refuse connections.
      initial: 'enable',
      states: {
        enable: setModeState('enabled', 'waitEnabled', recoveryFailed),
        waitEnabled: waitModeState('enabled', '#console.evaluate', recoveryFailed),
      },
    },
    evaluate: {
      always: [
        { guard: 'consoleUsable', target: 'succeeded', actions: 'recordEndpoint' },
        { target: 'failed', actions: 'failUnusable' },
      ],
    },
    succeeded: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => {
    const out = outputOf(context);
    if (context.endpoint !== null) out.console = context.endpoint;
    return out;
  },
});

/** The next sleep of a backoff: the doubling interval, cut to what is left of the timeout. */
function nextSleepMs(context: Pick<ConsoleContext, 'intervalMs' | 'timeoutMs' | 'elapsedMs'>): number {
  return Math.max(0, Math.min(context.intervalMs, context.timeoutMs - context.elapsedMs));
}
