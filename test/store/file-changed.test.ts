// The file under a writer: deleted, replaced by another file, or truncated while the writer
// has it open. SQLite goes on writing to the inode it opened, so without a check every append
// would be acknowledged into a file no one can open again. The writer notices, refuses, and
// tells its owner, whether or not it was appending at the time.
import { openConnection } from '../../src/store/sqlite.js';
import { renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { StoreError } from '../../src/store/errors.js';
import type { NewEvent } from '../../src/store/types.js';
import { zeroMiddleEventsPage } from './fixtures/damage.js';
import { tempDb } from './fixtures/temp-db.js';

let tmp: ReturnType<typeof tempDb>;
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => tmp.cleanup());

const note = (message: string): NewEvent => ({ kind: 'note', data: { level: 'info', message } });
const newRun = (store: EventStore): string =>
  store.createRun({ op: 'teardown', machine: 'teardown', machineVersion: 1, input: {} }).run.id;

function thrown(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error('expected a StoreError');
}

/**
 * A writer holding one run of `events` events, all of them folded into the database file (the
 * first writer's close checkpoints the WAL), so that cutting the file cuts stored events.
 */
function writerWithHistory(
  events: number,
  failures: StoreError[],
  opts: { checkpoint?: 'background' | 'inline'; checkpointIntervalMs?: number } = {},
): { store: EventStore; runId: string; seq: number } {
  const first = EventStore.open(tmp.path, { checkpoint: 'inline' });
  const runId = newRun(first);
  let seq = 1;
  for (let i = 0; i < events; i++) seq = first.append(runId, seq, [note(`${'x'.repeat(500)}-${i}`)]);
  first.close();
  const store = EventStore.open(tmp.path, {
    checkpoint: 'inline',
    ...opts,
    onFailure: (err) => failures.push(err),
  });
  return { store, runId, seq };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a writer whose file is deleted', () => {
  it('refuses the next append with STORE_FILE_GONE, then every operation, and closes cleanly', () => {
    const failures: StoreError[] = [];
    const { store, runId, seq } = writerWithHistory(3, failures);
    for (const f of [tmp.path, `${tmp.path}-wal`, `${tmp.path}-shm`]) rmSync(f, { force: true });

    const err = thrown(() => store.append(runId, seq, [note('into a deleted file')]));
    expect(err.code).toBe('STORE_FILE_GONE');
    expect(err.path).toBe(tmp.path);
    expect(err.message).toContain(`${tmp.path} was deleted or moved while this process was writing it`);
    expect(failures.map((f) => f.code)).toEqual(['STORE_FILE_GONE']);
    // Nothing more is taken or served from the orphaned file, and the owner is told once.
    expect(thrown(() => newRun(store)).code).toBe('STORE_FILE_GONE');
    expect(thrown(() => store.readStream(runId)).code).toBe('STORE_FILE_GONE');
    expect(failures).toHaveLength(1);
    expect(() => store.close()).not.toThrow();
  });

  it('lets a new writer on the re-created path in, while the first one stays refused', () => {
    const { store, runId, seq } = writerWithHistory(1, []);
    rmSync(tmp.path);
    const second = EventStore.open(tmp.path);
    try {
      expect(second.listRuns()).toEqual([]);
      expect(thrown(() => store.append(runId, seq, [note('late')])).code).toBe('STORE_FILE_GONE');
    } finally {
      second.close();
      store.close();
    }
  });

  it('tells its owner within a checkpoint interval when no append is made', async () => {
    const failures: StoreError[] = [];
    const { store } = writerWithHistory(1, failures, { checkpoint: 'background', checkpointIntervalMs: 20 });
    try {
      rmSync(tmp.path);
      await until('the failure report', () => failures.length > 0);
      expect(failures.map((f) => f.code)).toEqual(['STORE_FILE_GONE']);
    } finally {
      store.close();
    }
  });
});

describe('a writer whose file is replaced', () => {
  it('refuses the next append when another file is renamed over its path', () => {
    const failures: StoreError[] = [];
    const { store, runId, seq } = writerWithHistory(1, failures);
    const other = `${tmp.dir}/other.db`;
    openConnection(other).close();
    renameSync(other, tmp.path);
    const err = thrown(() => store.append(runId, seq, [note('into the replaced file')]));
    expect(err.code).toBe('STORE_FILE_GONE');
    expect(err.message).toContain(
      `${tmp.path} was replaced by another file while this process was writing it`,
    );
    expect(failures.map((f) => f.code)).toEqual(['STORE_FILE_GONE']);
    store.close();
  });
});

describe('a writer whose file is truncated', () => {
  it('refuses the next append with STORE_CORRUPT naming both sizes', () => {
    const failures: StoreError[] = [];
    const { store, runId, seq } = writerWithHistory(40, failures);
    const size = statSync(tmp.path).size;
    expect(size).toBeGreaterThan(8192);
    truncateSync(tmp.path, 4096);
    const err = thrown(() => store.append(runId, seq, [note('after the truncation')]));
    expect(err.code).toBe('STORE_CORRUPT');
    expect(err.message).toContain(`${tmp.path} was truncated from ${size} to 4096 bytes`);
    expect(failures.map((f) => f.code)).toEqual(['STORE_CORRUPT']);
    store.close();
  });

  it('tells its owner before a background checkpoint can hide the truncation', async () => {
    const failures: StoreError[] = [];
    const { store } = writerWithHistory(40, failures, { checkpoint: 'background', checkpointIntervalMs: 20 });
    try {
      truncateSync(tmp.path, 4096);
      await until('the failure report', () => failures.length > 0);
      expect(failures.map((f) => f.code)).toEqual(['STORE_CORRUPT']);
    } finally {
      store.close();
    }
  });
});

describe('a damaged file found by reading it', () => {
  it('is STORE_CORRUPT for a reader and a writer, not a raw SQLite error, and the writer tells its owner', () => {
    const { store, runId } = writerWithHistory(200, []);
    store.close();
    zeroMiddleEventsPage(tmp.path);
    const reader = EventStore.open(tmp.path, { mode: 'reader' });
    try {
      expect(thrown(() => reader.readStream(runId)).code).toBe('STORE_CORRUPT');
    } finally {
      reader.close();
    }
    const failures: StoreError[] = [];
    const writer = EventStore.open(tmp.path, { onFailure: (err) => failures.push(err) });
    try {
      const err = thrown(() => writer.readStream(runId));
      expect(err.code).toBe('STORE_CORRUPT');
      expect(err.message).toBe(`${tmp.path} is corrupt: database disk image is malformed`);
      expect(failures.map((f) => f.code)).toEqual(['STORE_CORRUPT']);
    } finally {
      writer.close();
    }
  });

  it('refuses a writer of a file cut short with STORE_CORRUPT', () => {
    const { store } = writerWithHistory(200, []);
    store.close();
    truncateSync(tmp.path, Math.floor(statSync(tmp.path).size / 2 / 4096) * 4096);
    expect(thrown(() => EventStore.open(tmp.path)).code).toBe('STORE_CORRUPT');
  });

  it('verify() reads every page and names the damage where no query has looked yet', () => {
    const { store, runId } = writerWithHistory(200, []);
    store.close();
    zeroMiddleEventsPage(tmp.path);
    const writer = EventStore.open(tmp.path);
    try {
      // The runs table is intact and answers as if nothing were wrong.
      expect(writer.unfinishedRuns().map((r) => r.id)).toEqual([runId]);
      const err = thrown(() => writer.verify());
      expect(err.code).toBe('STORE_CORRUPT');
      expect(err.message).toMatch(new RegExp(`^${tmp.path} is corrupt: `));
    } finally {
      writer.close();
    }
  });

  it('verify() passes a sound file', () => {
    const { store } = writerWithHistory(5, []);
    try {
      expect(() => store.verify()).not.toThrow();
    } finally {
      store.close();
    }
  });
});
