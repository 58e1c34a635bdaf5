// Replica writers (issue 18) on one file: liveness by heartbeat lease only, takeover with an
// epoch and a note in the stream, and the fence that refuses a taken run's old owner.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { tempDb } from './fixtures/temp-db.js';

const LEASE = 300;
let tmp: ReturnType<typeof tempDb>;
const open: EventStore[] = [];

beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  tmp.cleanup();
});

function replica(id: string): EventStore {
  const store = EventStore.open(tmp.path, { replica: { id, leaseMs: LEASE } });
  open.push(store);
  return store;
}

const note = { kind: 'note' as const, data: { level: 'info', message: 'step' } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('replica writers', () => {
  it('a replica that stopped beating loses its runs after its lease, although its process lives', async () => {
    const a = replica('a');
    const b = replica('b');
    const { run } = a.createRun({ op: 'x', machine: 'none', machineVersion: 1, input: {} });
    expect(() => b.claimRun(run.id)).toThrow(expect.objectContaining({ code: 'STORE_RUN_OWNED' }));
    await sleep(LEASE + 50);
    expect(b.claimRun(run.id).id).toBe(run.id);
    expect(() => a.append(run.id, 1, [note])).toThrow(
      expect.objectContaining({ code: 'STORE_RUN_NOT_OWNED' }),
    );
    expect(b.append(run.id, 1, [note])).toBe(2);
  });

  it('takes over a gone replica’s runs with epoch + 1 and a takeover note; the old owner is fenced', async () => {
    const a = replica('a');
    const b = replica('b');
    const { run } = a.createRun({ op: 'x', machine: 'none', machineVersion: 1, input: {} });
    expect(a.append(run.id, 1, [note])).toBe(2);
    // A live replica's runs are not taken.
    expect(b.takeOverRuns(() => true)).toEqual([]);
    expect(b.liveReplicas()).toEqual(['a', 'b']);
    await sleep(LEASE + 50);
    b.heartbeat();
    expect(b.liveReplicas()).toEqual(['b']);
    const taken = b.takeOverRuns(() => true);
    expect(taken.map((r) => [r.id, r.lastSeq])).toEqual([[run.id, 3]]);
    const last = b.readStream(run.id).at(-1)!;
    expect(last).toMatchObject({ kind: 'note', type: 'takeover' });
    expect(last.data).toMatchObject({
      level: 'warn',
      epoch: 2,
      from: { replica: 'a', pid: process.pid },
      to: { replica: 'b', pid: process.pid },
    });
    expect(String(last.data['message'])).toMatch(
      /taken over by replica b .* at epoch 2: replica a .* missed its heartbeats/,
    );
    // The old owner beats again: live, but the run is no longer its own.
    expect(a.heartbeat().rejoined).toBe(false);
    expect(a.stillOwned([run.id])).toEqual(new Set());
    expect(() => a.append(run.id, 2, [note])).toThrow(
      expect.objectContaining({ code: 'STORE_RUN_NOT_OWNED' }),
    );
    expect(() => a.append(run.id, 3, [note])).toThrow(
      expect.objectContaining({ code: 'STORE_RUN_NOT_OWNED' }),
    );
    expect(b.stillOwned([run.id])).toEqual(new Set([run.id]));
    expect(b.append(run.id, 3, [note])).toBe(4);
    // Nobody else may take it while b beats; `select` decides among the takeable ones.
    expect(a.takeOverRuns(() => true)).toEqual([]);
  });

  it('takes only what `select` picks', async () => {
    const a = replica('a');
    const b = replica('b');
    const one = a.createRun({
      op: 'x',
      machine: 'none',
      machineVersion: 1,
      input: {},
      nodeUuid: null,
      nodeName: 'n1',
    }).run;
    const two = a.createRun({ op: 'x', machine: 'none', machineVersion: 1, input: {}, nodeName: 'n2' }).run;
    await sleep(LEASE + 50);
    b.heartbeat();
    expect(b.takeOverRuns((r) => r.nodeName === 'n2').map((r) => r.id)).toEqual([two.id]);
    expect(b.takeOverRuns((r) => r.nodeName === 'n1').map((r) => r.id)).toEqual([one.id]);
  });

  it('a replica forgotten by a writer that opened meanwhile rejoins owning none of its runs', async () => {
    const a = replica('a');
    const { run } = a.createRun({ op: 'x', machine: 'none', machineVersion: 1, input: {} });
    await sleep(LEASE + 50);
    const plain = EventStore.open(tmp.path);
    open.push(plain);
    expect(plain.getRun(run.id)?.owner).toBeNull();
    expect(a.heartbeat().rejoined).toBe(true);
    expect(plain.liveReplicas()).toEqual(['a']);
    expect(() => a.append(run.id, 1, [note])).toThrow(
      expect.objectContaining({ code: 'STORE_RUN_NOT_OWNED' }),
    );
  });
});
