// Helpers for running our engine and CLI against the real Ironic: an engine on a temp SQLite
// file, filtering hooks that leave a marker request in Ironic's own log, and readers of the
// run's recorded stream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openConnection } from '../../src/store/sqlite.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { FilteringHooks } from '../../src/machines/effect-context.js';
import { lifecycles, type OpName } from '../../src/machines/index.js';
import { EventStore } from '../../src/store/event-store.js';
import { replayRun, type ReplayResult } from '../../src/runlog/replay.js';
import type { StoredEvent } from '../../src/store/types.js';
import { call, enrollFakeNode, loggedRequests, makeAvailable, type LoggedRequest } from './helpers.js';

/** A temp directory for one file's databases, removed by `cleanup`. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Paths the hooks GET as markers. Our client never requests either, so each line with them in
 * Ironic's log is a hook call, placed in Ironic's own order of requests.
 */
export const SETUP_MARKER = (node: string): string => `/v1/nodes/${node}/states`;
export const TEARDOWN_MARKER = (node: string): string => `/v1/nodes/${node}/traits`;

export interface HookCall {
  hook: 'setupFiltering' | 'teardownFiltering';
  instance: string;
  node: string;
  vifs: string[];
}

/** Filtering hooks that record their calls and leave a marker request in Ironic's log. */
export function markerHooks(baseUrl: string): { hooks: FilteringHooks; calls: HookCall[] } {
  const calls: HookCall[] = [];
  const mark = async (hook: HookCall['hook'], path: string, a: Omit<HookCall, 'hook'>): Promise<void> => {
    const res = await call(baseUrl, 'GET', path);
    if (res.status !== 200) throw new Error(`marker GET ${path} answered ${res.status}: ${res.text}`);
    calls.push({ hook, instance: a.instance, node: a.node, vifs: [...a.vifs] });
  };
  return {
    calls,
    hooks: {
      setupFiltering: (a) => mark('setupFiltering', SETUP_MARKER(a.node), a),
      teardownFiltering: (a) => mark('teardownFiltering', TEARDOWN_MARKER(a.node), a),
    },
  };
}

/**
 * An engine on its own SQLite file, talking to the real Ironic with short intervals. The poll
 * budget is generous: fake-hardware transitions take seconds and the machine may be loaded.
 */
export function openRealEngine(
  baseUrl: string,
  db: string,
  extra: Partial<EngineOptions> = {},
): Promise<Engine> {
  return Engine.open({
    db,
    ironic: { url: baseUrl, retryIntervalMs: 200, maxRetries: 150 },
    pollIntervalMs: 200,
    ...extra,
  });
}

/** A fresh fake-hardware node in `available`, with the fake console interface. */
export async function availableNode(baseUrl: string, fields: Record<string, unknown> = {}): Promise<string> {
  const node = await enrollFakeNode(baseUrl, { console_interface: 'fake', ...fields });
  await makeAvailable(baseUrl, node);
  return node;
}

/** A run's whole stream, read with a reader connection (the engine may be closed or not). */
export function readStream(db: string, runId: string): StoredEvent[] {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    return store.readStream(runId);
  } finally {
    store.close();
  }
}

/** Folds a recorded run through its machine offline. */
export function replay(db: string, runId: string, op: OpName): ReplayResult {
  return replayRun(lifecycles[op].machine, readStream(db, runId));
}

/** `METHOD path status` with the node uuid written as N, for readable order assertions. */
export function describeRequest(r: LoggedRequest, node: string): string {
  return `${r.method} ${r.path.split(node).join('N')} ${r.status}`;
}

/** Requests that change something in Ironic. */
export function mutating(requests: readonly LoggedRequest[]): LoggedRequest[] {
  return requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
}

/** Reads one row of the runs table without taking the writer lock; undefined before it exists. */
export function peekRun(db: string): { id: string; state: string | null; status: string } | undefined {
  try {
    const conn = openConnection(db, { readonly: true, fileMustExist: true });
    try {
      return conn.prepare('SELECT id, state, status FROM runs LIMIT 1').get() as
        { id: string; state: string | null; status: string } | undefined;
    } finally {
      conn.close();
    }
  } catch {
    return undefined;
  }
}

/** Whether the db holds an `effect.started` of `src` (durable before its request is sent). */
export function hasStarted(db: string, src: string): boolean {
  try {
    const conn = openConnection(db, { readonly: true, fileMustExist: true });
    try {
      const row = conn
        .prepare("SELECT COUNT(*) AS n FROM events WHERE kind = 'effect.started' AND type = ?")
        .get(src) as { n: number };
      return row.n > 0;
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/** The request `logMark` sends for a node: our client never asks for BIOS settings. */
export const NODE_SENTINEL = (node: string): string => `/v1/nodes/${node}/bios`;

/**
 * eventlet logs a request after its answer is sent, so a test that just got its last answer
 * may read the log before that line is written. This sends a sentinel request and waits until
 * Ironic has logged it: every request answered before it is in the log by then. Returns the
 * number of requests mentioning `key` up to and including the sentinel: slice the log from
 * one mark to the next (`between`) to get exactly what happened in between.
 */
export async function logMark(
  baseUrl: string,
  logPath: string,
  key: string,
  sentinel: string = NODE_SENTINEL(key),
): Promise<number> {
  const count = async (): Promise<{ all: LoggedRequest[]; sentinels: number }> => {
    const all = await loggedRequests(logPath, key);
    return { all, sentinels: all.filter((r) => r.path === sentinel).length };
  };
  const before = (await count()).sentinels;
  const res = await call(baseUrl, 'GET', sentinel);
  if (res.status !== 200) throw new Error(`sentinel GET ${sentinel} answered ${res.status}: ${res.text}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await count();
    if (now.sentinels > before) return now.all.findLastIndex((r) => r.path === sentinel) + 1;
    if (Date.now() > deadline) throw new Error(`Ironic never logged the sentinel GET ${sentinel}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The requests mentioning `key` between two marks, sentinels left out. */
export async function between(
  logPath: string,
  key: string,
  from: number,
  to: number,
  sentinel: string = NODE_SENTINEL(key),
): Promise<LoggedRequest[]> {
  return (await loggedRequests(logPath, key)).slice(from, to).filter((r) => r.path !== sentinel);
}
