// The recorder: one commit per event-loop turn for every run's creation and events, and a
// failure confined to the run that caused it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Recorder } from '../../src/engine/recorder.js';
import { EventStore } from '../../src/store/event-store.js';
import type { NewEvent, NewRun } from '../../src/store/types.js';
import { tempDb } from '../store/fixtures/temp-db.js';

let tmp: ReturnType<typeof tempDb>;
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => tmp.cleanup());

const note = (message: string): NewEvent => ({ kind: 'note', data: { level: 'info', message } });
const spec = (id: string, input: Record<string, string> = {}): NewRun & { id: string } => ({
  id,
  op: 'destroy',
  machine: 'teardown',
  machineVersion: 1,
  input,
});
const ID = (i: number): string => `aaaaaaaa-bbbb-4ccc-8ddd-${String(i).padStart(12, '0')}`;

describe('Recorder', () => {
  it('stores a run created this turn together with the events queued behind it', async () => {
    const store = EventStore.open(tmp.path);
    try {
      const recorder = new Recorder(store);
      const created = recorder.create(spec(ID(1)));
      const appended = recorder.append(ID(1), [note('first'), note('second')]);
      // Nothing is stored before the turn ends: one commit takes both.
      expect(store.getRun(ID(1))).toBeUndefined();
      await Promise.all([created, appended]);
      const stream = store.readStream(ID(1));
      expect(stream.map((e) => [e.seq, e.kind])).toEqual([
        [1, 'run.started'],
        [2, 'note'],
        [3, 'note'],
      ]);
      expect(store.getRun(ID(1))?.lastSeq).toBe(3);
      expect(recorder.lastSeq(ID(1))).toBe(3);
      expect(recorder.eventsAppended).toBe(3);
    } finally {
      store.close();
    }
  });

  it('fails only the run whose creation did not fit, with the store error, and keeps the others', async () => {
    const store = EventStore.open(tmp.path, { maxPageCount: 16 });
    try {
      const recorder = new Recorder(store);
      await recorder.create(spec(ID(1)));
      // One turn: a run that fits, a run far too big for the file, and events for both and an older run.
      const small = recorder.create(spec(ID(2)));
      const big = recorder.create(spec(ID(3), { blob: 'x'.repeat(200_000) }));
      const older = recorder.append(ID(1), [note('older')]);
      const smallEvents = recorder.append(ID(2), [note('small')]);
      const bigEvents = recorder.append(ID(3), [note('big')]);
      const outcome = await Promise.allSettled([small, big, older, smallEvents, bigEvents]);
      expect(outcome.map((o) => o.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'rejected',
      ]);
      const codes = outcome.map((o) =>
        o.status === 'rejected' ? (o.reason as { code?: string }).code : null,
      );
      expect(codes[1]).toBe('STORE_DISK_FULL');
      expect(codes[4]).toBe('STORE_DISK_FULL');
      // Later events of the run that was never stored fail at once, with the same cause.
      await expect(recorder.append(ID(3), [note('later')])).rejects.toMatchObject({
        code: 'STORE_DISK_FULL',
      });
      expect(store.getRun(ID(3))).toBeUndefined();
      expect(store.readStream(ID(1)).map((e) => e.kind)).toEqual(['run.started', 'note']);
      expect(store.readStream(ID(2)).map((e) => e.kind)).toEqual(['run.started', 'note']);
      expect(store.integrityCheck()).toEqual(['ok']);
    } finally {
      store.close();
    }
  });

  it('fails events queued for a run forgotten before the commit, and commits the rest of the turn', async () => {
    const store = EventStore.open(tmp.path);
    try {
      const recorder = new Recorder(store);
      await Promise.all([recorder.create(spec(ID(1))), recorder.create(spec(ID(2)))]);
      const late = recorder.append(ID(1), [note('after the end')]);
      const other = recorder.append(ID(2), [note('kept')]);
      recorder.forget(ID(1)); // its run finished while these waited for the turn's commit
      await expect(late).rejects.toThrow(/not tracked/);
      await other;
      expect(store.readStream(ID(1)).map((e) => e.kind)).toEqual(['run.started']);
      expect(store.readStream(ID(2)).map((e) => e.kind)).toEqual(['run.started', 'note']);
    } finally {
      store.close();
    }
  });
});
