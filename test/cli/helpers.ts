// Helpers of the CLI contract tests: a child `ironledger` that can be signalled while it
// runs, and what the event store says about its runs. The one-shot runner is ../e2e/cli.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import type { RunRow } from '../../src/store/types.js';
import { childEnv, CLI, type CliResult } from '../e2e/cli.js';

export { childEnv, CLI, cli, json, type CliResult } from '../e2e/cli.js';

/** The same clean environment as cli(): no endpoint, token or database from the caller's shell. */
export const CLEAN_ENV = { IRONIC_URL: '', OS_ENDPOINT: '', OS_TOKEN: '', IRONLEDGER_DB: '' };

export interface Running {
  child: ChildProcess;
  /** Resolves once the process has exited. */
  result: Promise<CliResult>;
  stderr(): string;
}

/** Starts the CLI without waiting for it; SIGKILLed after `timeoutMs` so a hang fails the test. */
export function start(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Running {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: childEnv({ ...CLEAN_ENV, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, result, stderr: () => stderr };
}

/** Polls until `check` returns something (not undefined/false), or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs in `db` (read-only; none when the file is not there yet). */
export function runRows(db: string): RunRow[] {
  if (!existsSync(db)) return [];
  try {
    const store = EventStore.open(db, { mode: 'reader' });
    try {
      return store.listRuns({});
    } finally {
      store.close();
    }
  } catch {
    return []; // created but not initialised yet
  }
}

/** The CLI contract for a refusal: exit 2, one line on stderr, no stack trace. */
export function expectUsageError(r: CliResult, message: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
}

/** With --json: exactly one `{ error: { code, message } }` document on stdout. */
export function expectJsonError(r: CliResult, message: RegExp): { code: string; message: string } {
  expectUsageError(r, message);
  const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
  expect(Object.keys(doc)).toEqual(['error']);
  expect(doc.error.code).toMatch(/^[A-Z_]+$/);
  expect(doc.error.message).toMatch(message);
  expect(doc.error.message).not.toContain('\n');
  return doc.error;
}
