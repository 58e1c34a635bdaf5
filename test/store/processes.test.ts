// The store across real processes: several writers at a time, readers alongside, kill -9 safety.
// Who may append to which run is test/store/ownership.test.ts.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { compileStore, type CompiledStore } from './fixtures/compile-store.js';
import { tempDb } from './fixtures/temp-db.js';

const childScript = fileURLToPath(new URL('./fixtures/store-child.mjs', import.meta.url));

let compiled: CompiledStore;
let tmp: ReturnType<typeof tempDb>;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(() => {
  compiled = compileStore();
});
afterAll(() => compiled.cleanup());
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  tmp.cleanup();
});

function startChild(mode: string, fileSizeLimitKiB?: number): ChildProcessWithoutNullStreams {
  const argv = [childScript, compiled.eventStoreUrl, tmp.path, mode];
  // RLIMIT_FSIZE with SIGXFSZ ignored: a write past the limit fails (EFBIG) like one on a full disk.
  const child =
    fileSizeLimitKiB === undefined
      ? spawn(process.execPath, argv)
      : spawn('bash', [
          '-c',
          `trap '' XFSZ; ulimit -f ${fileSizeLimitKiB}; exec "$0" "$@"`,
          process.execPath,
          ...argv,
        ]);
  children.push(child);
  return child;
}

/** Collects stdout lines until `until` says stop; rejects if the child dies first. */
function readLines(
  child: ChildProcessWithoutNullStreams,
  until: (lines: string[]) => boolean,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const onData = (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (until(lines)) {
        child.stdout.off('data', onData);
        resolve(lines);
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code, signal) => {
      if (!until(lines)) reject(new Error(`child exited (${code ?? signal}) early: ${stderr}`));
    });
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
  });
}

describe('several writers per database', () => {
  // Until issue 15 #22 a second writer process was refused with STORE_LOCKED; now it opens the
  // file beside the first, and both are listed as live owners.
  it('admits a second writer process beside a holder, while readers keep working', async () => {
    const holder = startChild('hold');
    await readLines(holder, (l) => l.includes('ready'));
    const store = EventStore.open(tmp.path);
    const { run } = store.createRun({ op: 'x', machine: 'none', machineVersion: 1, input: {} });
    expect(store.append(run.id, 1, [{ kind: 'note', data: { level: 'info', message: 'second' } }])).toBe(2);

    const reader = EventStore.open(tmp.path, { mode: 'reader' });
    const owners = reader.liveOwners();
    expect(owners.map((o) => o.pid).sort()).toEqual([holder.pid, process.pid].sort());
    const held = owners.find((o) => o.pid === holder.pid)!;
    expect(held.host).toBe(hostname());
    expect(Date.parse(held.since)).toBeGreaterThan(Date.now() - 60_000);
    expect(reader.getRun(run.id)?.owner?.pid).toBe(process.pid);
    reader.close();
    store.close();

    holder.stdin.end();
    await exited(holder);
    EventStore.open(tmp.path).close();
  });

  it('lets a second process open the file while this process writes, and after a kill -9 of a holder', async () => {
    const store = EventStore.open(tmp.path);
    const probe = startChild('open');
    expect(await readLines(probe, (l) => l.length > 0)).toEqual(['opened']);
    store.close();

    const holder = startChild('hold');
    await readLines(holder, (l) => l.includes('ready'));
    holder.kill('SIGKILL');
    await exited(holder);
    const after = startChild('open');
    expect(await readLines(after, (l) => l.length > 0)).toEqual(['opened']);
  });
});

describe('a writer that runs out of space', () => {
  it('closes without an error when its ownership cannot be released, and the next writer takes its run', async () => {
    const filler = startChild('fill', 256);
    const lines = await readLines(filler, (l) => l.some((x) => x.startsWith('close') || x === 'closed'));
    await exited(filler);
    const failed = lines.find((l) => l.startsWith('failed '));
    // SQLite reports a write refused by the limit as an I/O error (a full disk: STORE_DISK_FULL).
    expect(failed).toMatch(/^failed STORE_(IO|DISK_FULL)$/);
    expect(lines[lines.length - 1]).toBe('closed');

    const acked = lines.filter((l) => l.startsWith('ack '));
    const runId = (acked[0] ?? '').split(' ')[1] as string;
    const lastAcked = Number((acked[acked.length - 1] ?? '').split(' ')[2]);
    expect(lastAcked).toBeGreaterThan(10);
    const store = EventStore.open(tmp.path);
    try {
      expect(store.liveOwners().map((o) => o.pid)).toEqual([process.pid]);
      expect(store.getRun(runId)?.owner).toBeNull();
      expect(store.claimUnfinishedRuns().map((r) => r.id)).toEqual([runId]);
      expect(store.getRun(runId)?.lastSeq).toBe(lastAcked);
      expect(store.integrityCheck()).toEqual(['ok']);
    } finally {
      store.close();
    }
  });
});

describe('durability', () => {
  it('loses no acknowledged append when the writer is killed with SIGKILL mid-stream', async () => {
    const writer = startChild('append');
    const lines = await readLines(writer, (l) => l.length >= 3000);
    // A reader follows the stream while it is being written.
    const reader = EventStore.open(tmp.path, { mode: 'reader' });
    const runId = (lines[0] ?? '').split(' ')[1] as string;
    expect(reader.readStream(runId).length).toBeGreaterThanOrEqual(3000);
    reader.close();
    writer.kill('SIGKILL');
    await exited(writer);

    const acked = lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.split(' ')[2]));
    const maxAcked = Math.max(...acked);
    const store = EventStore.open(tmp.path);
    try {
      const seqs = store.readStream(runId).map((e) => e.seq);
      expect(seqs.length).toBeGreaterThanOrEqual(maxAcked);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(store.getRun(runId)?.lastSeq).toBe(seqs.length);
      expect(store.integrityCheck()).toEqual(['ok']);
      expect(store.liveOwners().map((o) => o.pid)).toEqual([process.pid]);
      expect(store.claimUnfinishedRuns().map((r) => r.id)).toEqual([runId]);
    } finally {
      store.close();
    }
  });
});
