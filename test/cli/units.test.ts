// The CLI's pieces without a child process: number options, one-line error messages, the
// retry notice, how a run's result is shown and which exit code it gives, --op names, and
// what a signal does to a command waiting for a run.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Engine, RunResult } from '../../src/engine/engine.js';
import {
  IronicBadRequestError,
  IronicHttpError,
  IronicInvalidInputError,
  IronicNetworkError,
  IronicNotFoundError,
  IronicServerError,
  IronicTimeoutError,
  IronicUnavailableError,
  IronicVersionError,
  IronicResponseTooLargeError,
  IronicDeadlineError,
} from '../../src/ironic/errors.js';
import { EngineError } from '../../src/engine/errors.js';
import { StoreError, StoreLockedError } from '../../src/store/errors.js';
import type { HttpAttempt } from '../../src/ironic/types.js';
import { intOption, MAX_MS, nonEmpty, retryNotifier } from '../../src/cli/context.js';
import {
  CliError,
  describeError,
  EXIT_ENVIRONMENT,
  exitCodeOfError,
  makeOut,
  printError,
  type Out,
} from '../../src/cli/output.js';
import { parseOp } from '../../src/cli/commands/history.js';
import { describeResult, exitCodeFor, Interruption } from '../../src/cli/commands/lifecycle.js';

const RUN = '11111111-2222-4333-8444-555555555555';

function result(over: Partial<RunResult>): RunResult {
  return {
    runId: RUN,
    op: 'destroy',
    status: 'succeeded',
    instance: 'i-1',
    node: 'n-1',
    error: null,
    failedIn: null,
    warnings: [],
    output: null,
    requests: 3,
    ...over,
  } as RunResult;
}

describe('intOption', () => {
  it('takes decimal integers within the bounds', () => {
    expect(intOption('--n', '0')).toBe(0);
    expect(intOption('--n', '42', 1, 100)).toBe(42);
    expect(intOption('--ms', String(MAX_MS), 0, MAX_MS)).toBe(MAX_MS);
  });

  it('refuses hex, exponents, fractions, blanks and out-of-range numbers with a one-line CliError', () => {
    for (const [value, min, max] of [
      ['0x2', 0, 100],
      ['1e1', 0, 100],
      ['1.5', 0, 100],
      ['', 0, 100],
      [' ', 0, 100],
      ['-1', 0, 100],
      ['0', 1, 100],
      ['101', 0, 100],
      ['99999999999999999999', 1, 1_000_000],
      [String(MAX_MS + 1), 0, MAX_MS],
    ] as const) {
      let thrown: unknown;
      try {
        intOption('--x', value, min, max);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, value).toBeInstanceOf(CliError);
      expect((thrown as CliError).exitCode).toBe(2);
      expect((thrown as CliError).message).toBe(
        `--x must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`,
      );
    }
  });

  it('has a default upper bound', () => {
    expect(() => intOption('--limit', '1000001')).toThrow(CliError);
  });
});

describe('nonEmpty', () => {
  it('treats empty and blank as unset', () => {
    expect(nonEmpty(undefined)).toBeUndefined();
    expect(nonEmpty('')).toBeUndefined();
    expect(nonEmpty('  ')).toBeUndefined();
    expect(nonEmpty('http://x')).toBe('http://x');
  });
});

describe('describeError', () => {
  it('names the request once when the message already does', () => {
    const err = new IronicNetworkError('GET /: connection to Ironic failed (ECONNREFUSED)', {
      method: 'GET',
      path: '/',
    });
    expect(describeError(err)).toEqual({
      code: 'IRONIC_NETWORK',
      message: 'GET /: connection to Ironic failed (ECONNREFUSED)',
    });
  });

  it('still adds the request when the message does not name it', () => {
    const err = new IronicNotFoundError('no node holds instance i-1', {
      method: 'GET',
      path: '/v1/nodes/detail',
      status: 404,
    });
    expect(describeError(err).message).toBe('no node holds instance i-1 (GET /v1/nodes/detail -> 404)');
  });

  it('is always one line', () => {
    expect(describeError(new CliError('unknown command\n(Did you mean deploy?)')).message).toBe(
      'unknown command (Did you mean deploy?)',
    );
  });
});

describe('exitCodeOfError', () => {
  const facts = { method: 'GET', path: '/' };
  it('gives 3 to failures of the environment: Ironic unreachable or refusing us, the store unusable', () => {
    const environment: unknown[] = [
      new IronicNetworkError('GET /: connection to Ironic failed (ECONNREFUSED)', facts),
      new IronicTimeoutError('GET /: no answer', facts),
      new IronicUnavailableError('GET / -> 503', { ...facts, status: 503 }),
      new IronicServerError('GET / -> 500', { ...facts, status: 500 }),
      new IronicHttpError('GET / -> 401: authentication required', { ...facts, status: 401 }),
      new IronicHttpError('GET / -> 403: forbidden', { ...facts, status: 403 }),
      new IronicVersionError('Ironic 1.31 is older than 1.56'),
      new IronicResponseTooLargeError('GET / -> 200: the answer is more than 1 bytes', {
        ...facts,
        status: 200,
        limitBytes: 1,
        bytesRead: 2,
      }),
      new IronicDeadlineError('GET /: no usable answer within 150000 ms', {
        ...facts,
        deadlineMs: 150_000,
        elapsedMs: 150_001,
      }),
      new StoreLockedError('/db', { pid: 1, host: 'h', since: 'now' }),
      new StoreError('STORE_CORRUPT', '/db is corrupt'),
      new StoreError('STORE_FILE_GONE', '/db was deleted'),
      new StoreError('STORE_DISK_FULL', '/db: disk full'),
      new StoreError('STORE_READ_ONLY', '/db cannot be written'),
      new StoreError('STORE_BUSY', '/db is locked'),
      new StoreError('STORE_IO', '/db: SQLITE_IOERR_WRITE'),
    ];
    for (const err of environment) expect(exitCodeOfError(err), String(err)).toBe(EXIT_ENVIRONMENT);
    expect(EXIT_ENVIRONMENT).toBe(3);
  });

  it('keeps 2 for usage and bad input, the input Ironic refused included', () => {
    const usage: unknown[] = [
      new CliError('--limit must be a whole number'),
      new IronicNotFoundError('no node n-1', { ...facts, status: 404 }),
      new IronicBadRequestError('bad patch', { ...facts, status: 400 }),
      new IronicInvalidInputError('instance must be a UUID'),
      new StoreError('STORE_NOT_A_DATABASE', '/db is a directory, not a database file'),
      new StoreError('STORE_RUN_NOT_FOUND', 'no run x'),
      new StoreError('STORE_AMBIGUOUS_RUN_ID', 'prefix abcdef matches 2 runs'),
      new EngineError('RUN_NOT_FOUND', 'No run x'),
      new EngineError('RUN_FINISHED', 'Run x already ended'),
      new Error('anything else'),
    ];
    for (const err of usage) expect(exitCodeOfError(err), String(err)).toBe(2);
  });
});

describe('--json output', () => {
  it('prints one document per process: an error after the result goes to stderr only', () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    try {
      makeOut(true).result('', { runId: RUN, status: 'interrupted' });
      printError(true, 'STORE_IO', '/db: SQLITE_IOERR_WRITE');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(JSON.parse(stdout.join(''))).toEqual({ runId: RUN, status: 'interrupted' });
    expect(stderr).toEqual(['ironledger: /db: SQLITE_IOERR_WRITE [STORE_IO]\n']);
  });
});

describe('retryNotifier', () => {
  function capture(json = false): { out: Out; lines: string[] } {
    const lines: string[] = [];
    const push = (l: string): void => void lines.push(l);
    return { out: { json, result: () => undefined, info: push, notice: push, warn: push }, lines };
  }
  const attempt = (n: number, over: Partial<HttpAttempt> = {}): HttpAttempt => ({
    method: 'GET',
    path: '/',
    status: null,
    ms: 1,
    attempt: n,
    errorCode: 'IRONIC_NETWORK',
    willRetry: true,
    at: new Date(0).toISOString(),
    ...over,
  });

  it('prints one line per retry at most every few seconds', () => {
    const { out, lines } = capture();
    let now = 0;
    const observe = retryNotifier(out, 60, 5000, () => now);
    observe(attempt(1));
    now = 2000;
    observe(attempt(2));
    now = 4000;
    observe(attempt(3));
    now = 6000;
    observe(attempt(4));
    now = 6500;
    observe(attempt(5, { willRetry: false }));
    expect(lines).toEqual([
      'Ironic unreachable (IRONIC_NETWORK), retrying 1/60 (GET /)...',
      'Ironic unreachable (IRONIC_NETWORK), retrying 4/60 (GET /)...',
    ]);
  });

  it('is silent with --json and for attempts that are not retried', () => {
    const json = capture(true);
    retryNotifier(json.out, 60)(attempt(1));
    expect(json.lines).toEqual([]);
    const ok = capture();
    retryNotifier(ok.out, 60)(attempt(1, { willRetry: false, status: 200, errorCode: undefined }));
    expect(ok.lines).toEqual([]);
  });
});

describe('describeResult and exitCodeFor', () => {
  const interrupted = result({
    status: 'interrupted',
    error: {
      code: 'RUN_INTERRUPTED',
      message: 'could not record its progress',
      state: 'unprovision.watching',
    },
    failedIn: 'unprovision.watching',
  });

  it('shows an interrupted run as resumable, not as failed', () => {
    const text = describeResult(interrupted, 1500);
    expect(text.split('\n')[0]).toBe(
      `run ${RUN}: destroy INTERRUPTED in unprovision.watching after 1.5s (instance i-1, node n-1); it stays resumable: ironledger resume ${RUN}`,
    );
    expect(text).toContain('RUN_INTERRUPTED: could not record its progress');
    expect(text).not.toMatch(/FAILED/);
  });

  it('names the machine state a run failed in and the Ironic state its error reports', () => {
    const failed = result({
      status: 'failed',
      failedIn: 'unprovision.watching.cleaning',
      error: { code: 'CLEAN_FAILED', message: 'erase_devices failed', state: 'clean failed' },
    });
    expect(describeResult(failed, 2000).split('\n')[0]).toBe(
      `run ${RUN}: destroy FAILED in unprovision.watching.cleaning (Ironic: clean failed) after 2.0s (instance i-1, node n-1)`,
    );
  });

  it('maps an interrupted run to 1 unless a signal caused it (130 SIGINT, 143 SIGTERM)', () => {
    expect(exitCodeFor(interrupted, null)).toBe(1);
    expect(exitCodeFor(interrupted, 'SIGINT')).toBe(130);
    expect(exitCodeFor(interrupted, 'SIGTERM')).toBe(143);
    expect(exitCodeFor(result({}), 'SIGTERM')).toBe(0);
    expect(exitCodeFor(result({ status: 'failed' }), null)).toBe(1);
    expect(exitCodeFor(result({ status: 'cancelled' }), null)).toBe(1);
  });
});

describe('parseOp', () => {
  it('maps command names to stored op names and refuses others', () => {
    expect(parseOp('power-off')).toBe('powerOff');
    expect(parseOp('power-on')).toBe('powerOn');
    expect(parseOp('powerOff')).toBe('powerOff');
    expect(parseOp('deploy')).toBe('deploy');
    for (const bad of ['bogus', 'poweroff', '', 'toString', '__proto__']) {
      expect(() => parseOp(bad), bad).toThrow(CliError);
    }
  });
});

describe('Interruption', () => {
  const listeners = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
  afterEach(() => {
    expect(process.listenerCount('SIGINT')).toBe(listeners.int);
    expect(process.listenerCount('SIGTERM')).toBe(listeners.term);
  });

  it('closes the engine once, for the first signal only, and stops listening', async () => {
    let closes = 0;
    const engine = { close: async () => void closes++ } as unknown as Engine;
    const announced: string[] = [];
    const interruption = new Interruption(engine, (s) => announced.push(s));
    expect(process.listenerCount('SIGTERM')).toBe(listeners.term + 1);
    interruption.interrupt('SIGTERM');
    interruption.interrupt('SIGINT'); // a second one changes nothing
    await interruption.dispose();
    expect(interruption.signal).toBe('SIGTERM');
    expect(announced).toEqual(['SIGTERM']);
    expect(closes).toBe(1);
  });
});
