// Checkpoints run beside the writer: appends never wait for a checkpoint's fsync, yet the WAL is
// still folded into the database file and nothing committed is lost.
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { tempDb } from './fixtures/temp-db.js';

let tmp: ReturnType<typeof tempDb>;
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => tmp.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Appends ~1,000 WAL pages worth of events, far below the writer's own backstop checkpoint. */
function fill(store: EventStore): { runId: string; last: number } {
  const { run, seq } = store.createRun({ op: 'teardown', machine: 'teardown', machineVersion: 1, input: {} });
  let last = seq;
  const payload = 'x'.repeat(2000);
  for (let i = 0; i < 2000; i++) {
    last = store.append(run.id, last, [{ kind: 'note', data: { level: 'info', message: payload, i } }]);
  }
  return { runId: run.id, last };
}

describe('background checkpoints', () => {
  it('fold the WAL into the database file while the writer stays open', async () => {
    const store = EventStore.open(tmp.path, { checkpointIntervalMs: 20 });
    try {
      const before = statSync(tmp.path).size;
      const { runId, last } = fill(store);
      let grown = false;
      for (let i = 0; i < 100 && !grown; i++) {
        await sleep(20);
        grown = statSync(tmp.path).size > before + 1_000_000;
      }
      expect(grown).toBe(true);
      expect(store.readStream(runId)).toHaveLength(last);
    } finally {
      store.close();
    }
  });

  it('inline mode with a high auto-checkpoint leaves the same appends in the WAL (the contrast)', async () => {
    const store = EventStore.open(tmp.path, { checkpoint: 'inline', walAutocheckpointPages: 100_000 });
    try {
      const before = statSync(tmp.path).size;
      fill(store);
      await sleep(200);
      expect(statSync(tmp.path).size).toBe(before);
    } finally {
      store.close();
    }
  });
});
