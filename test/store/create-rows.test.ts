// A transaction that creates many runs (the recorder's flush of a burst of starts) reads the
// owners' liveness once for all of them, not once per run: each created row must still name this
// writer as its live owner, exactly as a run read back later does.
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { tempDb } from './fixtures/temp-db.js';

let tmp: ReturnType<typeof tempDb>;
const stores: EventStore[] = [];
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  tmp.cleanup();
});

const newRun = (instance: string) => ({
  op: 'destroy',
  instanceUuid: instance,
  machine: 'teardown',
  machineVersion: 1,
  input: { instance },
});

describe('runs created together', () => {
  it('each come back owned by this live writer, as getRun and listRuns report them', () => {
    const store = EventStore.open(tmp.path);
    stores.push(store);
    const other = EventStore.open(tmp.path);
    stores.push(other);
    other.createRun(newRun('theirs'));
    const { runs } = store.write(
      Array.from({ length: 25 }, (_, i) => newRun(`inst-${i}`)),
      [],
    );
    const single = store.createRun(newRun('alone')).run;
    expect(runs).toHaveLength(25);
    for (const run of [...runs, single]) {
      expect(run.owner).not.toBeNull();
      expect(run.owner?.pid).toBe(process.pid);
      expect(run.owner?.host).toBe(hostname());
      expect(run).toEqual(store.getRun(run.id));
    }
    // Each writer is its own owner: the other one's run names the other registration.
    const theirs = store.listRuns({ instance: 'theirs' })[0];
    expect(theirs?.owner?.since).not.toBeUndefined();
    expect(store.listRuns({ status: 'running' })).toHaveLength(27);
    expect(store.listRuns({ status: 'running' }).filter((r) => r.owner === null)).toHaveLength(0);
  });
});
