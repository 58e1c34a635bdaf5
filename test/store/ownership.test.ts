// Per-run ownership across real processes: several writers share one file, each run is driven by
// the process that started or claimed it, appends by anyone else are refused in the same
// transaction (fencing), and claims of ownerless runs are atomic.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openConnection } from '../../src/store/sqlite.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { StoreRunHeldError, StoreRunNotOwnedError, StoreRunOwnedError } from '../../src/store/errors.js';
import type { NewEvent } from '../../src/store/types.js';
import { compileStore, type CompiledStore } from './fixtures/compile-store.js';
import { tempDb } from './fixtures/temp-db.js';

const childScript = fileURLToPath(new URL('./fixtures/store-child.mjs', import.meta.url));

let compiled: CompiledStore;
let tmp: ReturnType<typeof tempDb>;
const children: ChildProcessWithoutNullStreams[] = [];
const stores: EventStore[] = [];

beforeAll(() => {
  compiled = compileStore();
});
afterAll(() => compiled.cleanup());
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of stores.splice(0)) s.close();
  tmp.cleanup();
});

function open(): EventStore {
  const s = EventStore.open(tmp.path);
  stores.push(s);
  return s;
}

function startChild(mode: string): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [childScript, compiled.eventStoreUrl, tmp.path, mode]);
  children.push(child);
  return child;
}

/** Resolves with all stdout lines once `until` holds; rejects if the child exits first. */
function lines(child: ChildProcessWithoutNullStreams, until: (l: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    let partial = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const onData = (d: Buffer): void => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      got.push(...parts);
      if (until(got)) {
        child.stdout.off('data', onData);
        resolve(got);
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code, signal) => {
      if (!until(got)) reject(new Error(`child exited (${code ?? signal}) early: ${stderr}`));
    });
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
  });
}

const note = (message: string): NewEvent => ({ kind: 'note', data: { level: 'info', message } });

function newRun(store: EventStore, instance: string, node: string | null = null): string {
  return store.createRun({
    op: 'teardown',
    machine: 'teardown',
    machineVersion: 1,
    input: {},
    instanceUuid: instance,
    nodeUuid: node,
  }).run.id;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('several writers, one database', () => {
  it('two processes append to their own runs at once; streams stay gap-free and ids never collide', async () => {
    const child = startChild('append');
    await lines(child, (l) => l.length >= 200);
    const store = open();
    const mine = newRun(store, 'inst-a');
    let seq = 1;
    for (let k = 0; k < 500; k++) seq = store.append(mine, seq, [note(`m${k}`), note(`n${k}`)]);
    const theirs = await lines(child, (l) => l.length >= 1500);
    child.kill('SIGKILL');
    await exited(child);
    const childRun = (theirs[0] ?? '').split(' ')[1] as string;
    for (const id of [mine, childRun]) {
      const seqs = store.readStream(id).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
    expect(store.readStream(mine)).toHaveLength(1001);
    expect(store.integrityCheck()).toEqual(['ok']);
  });

  it("refuses an append to another process's run (fencing), writing nothing, and lists the owner", async () => {
    const child = startChild('own');
    const [line] = await lines(child, (l) => l.length > 0);
    const runId = (line ?? '').split(' ')[1] as string;
    const store = open();
    expect(() => store.append(runId, 1, [note('intruder')])).toThrow(StoreRunNotOwnedError);
    // A batch with one foreign run writes nothing at all.
    const mine = newRun(store, 'inst-b');
    expect(
      codeOf(() =>
        store.appendBatch([
          { runId: mine, expectedSeq: 1, events: [note('mine')] },
          { runId, expectedSeq: 1, events: [note('intruder')] },
        ]),
      ),
    ).toBe('STORE_RUN_NOT_OWNED');
    expect(store.getRun(mine)?.lastSeq).toBe(1);
    expect(store.readStream(runId)).toHaveLength(1);
    expect(store.getRun(runId)?.owner).toMatchObject({ pid: child.pid, host: hostname() });
    // Its owner still appends.
    child.stdin.write('append\n');
    expect(await lines(child, (l) => l.length > 0)).toEqual(['ack 2']);
  });

  it("a claim of a live owner's run names its owner; once it is SIGKILLed the run is taken and its old owner is fenced", async () => {
    const child = startChild('own');
    const [line] = await lines(child, (l) => l.length > 0);
    const runId = (line ?? '').split(' ')[1] as string;
    const store = open();
    let err: unknown;
    try {
      store.claimRun(runId);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreRunOwnedError);
    expect((err as StoreRunOwnedError).owner).toMatchObject({ pid: child.pid, host: hostname() });
    expect((err as StoreRunOwnedError).message).toContain(`run ${runId} is driven by pid ${child.pid}`);
    expect(store.claimUnfinishedRuns()).toEqual([]);
    expect(store.listRuns({ status: 'interrupted' })).toEqual([]);

    child.kill('SIGKILL');
    await exited(child);
    expect(store.getRun(runId)?.owner).toBeNull();
    expect(store.listRuns({ status: 'interrupted' }).map((r) => r.id)).toEqual([runId]);
    expect(store.claimRun(runId).owner).toMatchObject({ pid: process.pid });
    expect(store.append(runId, 1, [note('resumed')])).toBe(2);

    // A writer that lost its run (here: another store in this process took it) is refused.
    const other = open();
    const raw = openConnection(tmp.path);
    raw.prepare('UPDATE runs SET owner = NULL WHERE id = ?').run(runId);
    raw.close();
    other.claimRun(runId);
    expect(codeOf(() => store.append(runId, 2, [note('stale owner')]))).toBe('STORE_RUN_NOT_OWNED');
    expect(other.append(runId, 2, [note('new owner')])).toBe(3);
    expect(store.readStream(runId).map((e) => e.data.message ?? null)).toEqual([
      null,
      'resumed',
      'new owner',
    ]);
  });

  it('two processes claiming at once take each ownerless run exactly once', async () => {
    const store = EventStore.open(tmp.path);
    const ids = Array.from({ length: 300 }, (_, k) => newRun(store, `inst-${k}`));
    store.close(); // gives them back: all ownerless
    const claimers = [startChild('claim'), startChild('claim')];
    // Both stay alive until both have claimed: a claimer that exits gives its runs back.
    const outs = await Promise.all(claimers.map((c) => lines(c, (l) => l.includes('done'))));
    for (const c of claimers) c.stdin.end();
    const claimed = outs.flatMap((l) => l.filter((x) => x.startsWith('claimed ')).map((x) => x.slice(8)));
    expect(claimed.sort()).toEqual([...ids].sort());
  });

  it('refuses a new run for an instance or node another live process drives, naming that run', async () => {
    const child = startChild('own');
    const [line] = await lines(child, (l) => l.length > 0);
    const holder = (line ?? '').split(' ')[1] as string;
    const store = open();
    for (const claim of [
      { instance: 'inst-own', node: null },
      { instance: 'inst-other', node: 'node-own' },
    ]) {
      let err: unknown;
      try {
        newRun(store, claim.instance, claim.node);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StoreRunHeldError);
      expect((err as StoreRunHeldError).holder).toBe(holder);
      expect((err as StoreRunHeldError).owner.pid).toBe(child.pid);
    }
    expect(store.heldBy({ nodeUuid: 'node-own' })?.id).toBe(holder);
    expect(store.listRuns()).toHaveLength(1);
    // Another node is free; once the holder is gone, so is its node.
    newRun(store, 'inst-free', 'node-free');
    child.kill('SIGKILL');
    await exited(child);
    expect(store.heldBy({ nodeUuid: 'node-own' })).toBeUndefined();
  });
});
