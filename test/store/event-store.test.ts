import { openConnection } from '../../src/store/sqlite.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import {
  StoreAmbiguousRunIdError,
  StoreClosedError,
  StoreInvalidEventError,
  StoreRunExistsError,
  StoreRunNotFoundError,
  StoreSequenceConflictError,
} from '../../src/store/errors.js';
import type { NewEvent } from '../../src/store/types.js';
import { tempDb } from './fixtures/temp-db.js';

const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const INSTANCE = 'a6e4b7d0-5c1f-4b1a-9d55-7f1b2c3d4e5f';

let tmp: ReturnType<typeof tempDb>;
let store: EventStore;

beforeEach(() => {
  tmp = tempDb();
  store = EventStore.open(tmp.path);
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

function newRun(over: Partial<Parameters<EventStore['createRun']>[0]> = {}) {
  return store.createRun({
    op: 'teardown',
    machine: 'teardown',
    machineVersion: 1,
    input: { vifs: ['v1'] },
    ...over,
  });
}

const note = (message: string): NewEvent => ({ kind: 'note', data: { level: 'info', message } });

describe('EventStore streams', () => {
  it('starts every run with run.started at seq 1 carrying input, machine and version', () => {
    const { run, seq } = newRun({ id: 'run-1', instanceUuid: INSTANCE });
    expect(seq).toBe(1);
    expect(run).toMatchObject({
      id: 'run-1',
      status: 'running',
      state: null,
      lastSeq: 1,
      instanceUuid: INSTANCE,
    });
    const [first, ...rest] = store.readStream('run-1');
    expect(rest).toHaveLength(0);
    expect(first).toMatchObject({
      runId: 'run-1',
      seq: 1,
      kind: 'run.started',
      data: { input: { vifs: ['v1'] }, machine: 'teardown', machineVersion: 1 },
      v: 1,
    });
  });

  it('numbers appended events gap-free and reads them back in order, optionally from a seq', () => {
    const { run } = newRun();
    const a = store.append(run.id, 1, [note('a'), note('b')]);
    const b = store.append(run.id, a, [note('c')]);
    expect([a, b]).toEqual([3, 4]);
    expect(store.readStream(run.id).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(store.readStream(run.id, 3).map((e) => e.data['message'])).toEqual(['b', 'c']);
  });

  it('keeps a long append (more events than one insert statement takes) whole and in order', () => {
    const { run } = newRun();
    const other = newRun().run;
    const messages = Array.from({ length: 75 }, (_, i) => `m${i}`);
    const [last] = store.appendBatch([
      { runId: run.id, expectedSeq: 1, events: messages.map(note) },
      { runId: other.id, expectedSeq: 1, events: [note('other')] },
    ]);
    expect(last).toBe(76);
    const stream = store.readStream(run.id);
    expect(stream.map((e) => e.seq)).toEqual(Array.from({ length: 76 }, (_, i) => i + 1));
    expect(stream.slice(1).map((e) => e.data['message'])).toEqual(messages);
    expect(store.readStream(other.id).map((e) => e.data['message'])).toEqual([undefined, 'other']);
    expect(store.getRun(run.id)?.lastSeq).toBe(76);
  });

  it('refuses an append whose expected seq is stale and leaves the stream untouched', () => {
    const { run } = newRun();
    store.append(run.id, 1, [note('first writer')]);
    const err = (() => {
      try {
        store.append(run.id, 1, [note('second writer')]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StoreSequenceConflictError);
    expect(err).toMatchObject({
      code: 'STORE_SEQUENCE_CONFLICT',
      runId: run.id,
      expectedSeq: 1,
      actualSeq: 2,
    });
    expect(store.readStream(run.id).map((e) => e.data['message'] ?? e.kind)).toEqual([
      'run.started',
      'first writer',
    ]);
  });

  it('appends to many runs in one batch, and writes nothing of a batch when one entry conflicts', () => {
    const r1 = newRun().run.id;
    const r2 = newRun().run.id;
    expect(
      store.appendBatch([
        { runId: r1, expectedSeq: 1, events: [note('x')] },
        { runId: r2, expectedSeq: 1, events: [note('y'), note('z')] },
        { runId: r1, expectedSeq: 2, events: [note('x2')] },
      ]),
    ).toEqual([2, 3, 3]);
    expect(() =>
      store.appendBatch([
        { runId: r1, expectedSeq: 3, events: [note('ok')] },
        { runId: r2, expectedSeq: 1, events: [note('stale')] },
      ]),
    ).toThrow(StoreSequenceConflictError);
    expect(store.getRun(r1)?.lastSeq).toBe(3);
    expect(store.readStream(r1)).toHaveLength(3);
    expect(store.readStream(r2)).toHaveLength(3);
  });

  it('refuses appends to an unknown run', () => {
    expect(() => store.append('nope', 0, [note('x')])).toThrow(StoreRunNotFoundError);
  });

  it('refuses a second run with the same id', () => {
    newRun({ id: 'dup' });
    expect(() => newRun({ id: 'dup' })).toThrow(StoreRunExistsError);
  });

  it('refuses malformed events before writing any of the append', () => {
    const { run } = newRun();
    const bad: NewEvent[][] = [
      [note('ok'), { kind: 'transition', from: 'a', data: {} }],
      [{ kind: 'run.finished', data: { status: 'exploded' } }],
      [{ kind: 'bogus' as NewEvent['kind'], data: {} }],
    ];
    for (const events of bad) expect(() => store.append(run.id, 1, events)).toThrow(StoreInvalidEventError);
    expect(store.readStream(run.id)).toHaveLength(1);
    expect(store.getRun(run.id)?.lastSeq).toBe(1);
  });
});

describe('EventStore run summary rows', () => {
  it('keeps state, status, error, last seq and updated_at in step with the events', () => {
    const { run } = newRun({ at: '2026-01-01T00:00:00.000Z' });
    store.append(run.id, 1, [
      { kind: 'transition', from: null, to: 'validating', data: {}, at: '2026-01-01T00:00:01.000Z' },
      {
        kind: 'transition',
        from: 'validating',
        to: 'cleanup.unplugVifs',
        data: {},
        at: '2026-01-01T00:00:02.000Z',
      },
    ]);
    expect(store.getRun(run.id)).toMatchObject({
      state: 'cleanup.unplugVifs',
      status: 'running',
      lastSeq: 3,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:02.000Z',
      error: null,
    });
    const error = { code: 'IRONIC_NODE_LOCKED', message: 'node locked by conductor-1' };
    store.append(run.id, 3, [
      { kind: 'transition', from: 'cleanup.unplugVifs', to: 'failed', data: {} },
      { kind: 'run.finished', data: { status: 'failed', error } },
    ]);
    expect(store.getRun(run.id)).toMatchObject({ state: 'failed', status: 'failed', error, lastSeq: 5 });
    expect(store.unfinishedRuns()).toEqual([]);
  });

  it('fills the node from the first event naming data.nodeUuid and never moves it afterwards', () => {
    const { run } = newRun({ instanceUuid: INSTANCE });
    expect(run.nodeUuid).toBeNull();
    store.append(run.id, 1, [
      { kind: 'effect.succeeded', type: 'findNode', data: { actorId: 'findNode', nodeUuid: NODE } },
    ]);
    store.append(run.id, 2, [
      { kind: 'note', data: { level: 'warn', message: 'other', nodeUuid: 'other-node' } },
    ]);
    expect(store.getRun(run.id)?.nodeUuid).toBe(NODE);
    expect(store.listRuns({ node: NODE }).map((r) => r.id)).toEqual([run.id]);
  });

  it('lists runs newest first, filtered by status, op, node, instance and time', () => {
    const t = (m: number) => `2026-01-01T00:0${m}:00.000Z`;
    const a = newRun({ op: 'deploy', nodeUuid: NODE, at: t(1) }).run.id;
    const b = newRun({ op: 'teardown', nodeUuid: NODE, instanceUuid: INSTANCE, at: t(2) }).run.id;
    const c = newRun({ op: 'teardown', at: t(3) }).run.id;
    store.append(b, 1, [{ kind: 'run.finished', data: { status: 'succeeded' } }]);
    const ids = (f: Parameters<EventStore['listRuns']>[0]) => store.listRuns(f).map((r) => r.id);
    expect(ids({})).toEqual([c, b, a]);
    expect(ids({ op: 'teardown' })).toEqual([c, b]);
    expect(ids({ status: 'running' })).toEqual([c, a]);
    expect(ids({ status: 'succeeded' })).toEqual([b]);
    expect(ids({ node: NODE })).toEqual([b, a]);
    expect(ids({ instance: INSTANCE })).toEqual([b]);
    expect(ids({ since: t(2) })).toEqual([c, b]);
    expect(ids({ until: t(2) })).toEqual([a]);
    expect(ids({ limit: 2 })).toEqual([c, b]);
    expect(ids({ op: 'teardown', status: 'running', since: t(1), limit: 5 })).toEqual([c]);
    expect(store.unfinishedRuns().map((r) => r.id)).toEqual([a, c]);
  });

  it("filters 'interrupted': runs still running that no live process owns", async () => {
    const old = newRun().run.id;
    const finished = newRun().run.id;
    store.append(finished, 1, [{ kind: 'run.finished', data: { status: 'failed' } }]);
    store.close();
    // The closed writer gave its run back; a later writer drives a run of its own.
    await new Promise((r) => setTimeout(r, 5));
    store = EventStore.open(tmp.path);
    const current = newRun().run.id;
    const reader = EventStore.open(tmp.path, { mode: 'reader' });
    try {
      const interrupted = () => reader.listRuns({ status: 'interrupted' }).map((r) => r.id);
      expect(interrupted()).toEqual([old]);
      expect(store.listRuns({ status: 'interrupted' }).map((r) => r.id)).toEqual([old]);
      // Once that writer is gone, nothing drives its run either.
      store.close();
      expect(interrupted()).toEqual([current, old]);
      expect(reader.listRuns({ status: 'running' }).map((r) => r.id)).toEqual([current, old]);
    } finally {
      reader.close();
      store = EventStore.open(tmp.path);
    }
  });

  it('finds a run by a unique id prefix of at least 6 characters and reports ambiguity', () => {
    newRun({ id: 'abcdef-1111' });
    newRun({ id: 'abcdef-2222' });
    newRun({ id: 'fedcba-3333' });
    expect(store.getRun('fedcba')?.id).toBe('fedcba-3333');
    expect(store.resolveRunId('abcdef-2')).toBe('abcdef-2222');
    expect(store.getRun('fedcb')).toBeUndefined();
    expect(() => store.getRun('abcdef')).toThrow(StoreAmbiguousRunIdError);
    expect(() => store.resolveRunId('zzzzzzzz')).toThrow(StoreRunNotFoundError);
  });
});

describe('EventStore files', () => {
  it('migrates a fresh file to the current schema version', async () => {
    const { SCHEMA_VERSION } = await import('../../src/store/schema.js');
    const raw = openConnection(tmp.path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('refuses to be used after close', () => {
    store.close();
    expect(() => store.listRuns()).toThrow(StoreClosedError);
    store = EventStore.open(tmp.path);
    expect(store.listRuns()).toEqual([]);
  });

  it('lets a reader see what the writer committed while refusing to write', () => {
    const { run } = newRun();
    const reader = EventStore.open(tmp.path, { mode: 'reader' });
    try {
      expect(reader.getRun(run.id)?.lastSeq).toBe(1);
      store.append(run.id, 1, [note('later')]);
      expect(reader.readStream(run.id)).toHaveLength(2);
      expect(() => reader.append(run.id, 2, [note('x')])).toThrow(
        expect.objectContaining({ code: 'STORE_READ_ONLY' }),
      );
    } finally {
      reader.close();
    }
  });
});
