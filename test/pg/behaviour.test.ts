// One behaviour suite, run on both backends (SQLite file and PostgreSQL server): what the
// engine and the CLI rely on of a store, through the RunStore interface they use.
import { afterEach, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/store/scrub.js';
import type { NewRun } from '../../src/store/types.js';
import type { RunStore } from '../../src/store/run-store.js';
import { backends, PG_URL, pgMissing, type Backend } from './backends.js';

const ID = (i: number): string => `aaaaaaaa-bbbb-4ccc-8ddd-${String(i).padStart(12, '0')}`;
const spec = (id: string, extra: Partial<NewRun> = {}): NewRun => ({
  id,
  op: 'destroy',
  instanceUuid: `11111111-2222-4333-8444-${id.slice(-12)}`,
  machine: 'teardown',
  machineVersion: 1,
  input: { instance: 'x' },
  ...extra,
});
const note = (message: string) => ({ kind: 'note' as const, data: { level: 'info', message } });

if (!PG_URL) describe('store behaviour on postgres', () => pgMissing());

describe.each(backends())('store behaviour on $name', (b: Backend) => {
  const open: RunStore[] = [];
  const openStore = async (db: string, opts?: Parameters<Backend['open']>[1]): Promise<RunStore> => {
    const s = await b.open(db, opts);
    open.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of open.splice(0).reverse()) await s.close();
    await b.cleanup();
  });

  it('creates a run and appends gap-free; reads the stream back as written', async () => {
    const store = await openStore(b.fresh());
    const { run, seq } = await store.createRun(spec(ID(1)));
    expect(seq).toBe(1);
    expect(run).toMatchObject({ id: ID(1), status: 'running', lastSeq: 1, state: null });
    expect(run.owner).toMatchObject({ pid: process.pid });
    expect(
      await store.append(ID(1), 1, [note('a'), { kind: 'transition', from: null, to: 'locating', data: {} }]),
    ).toBe(3);
    const events = await store.readStream(ID(1));
    expect(events.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'run.started'],
      [2, 'note'],
      [3, 'transition'],
    ]);
    expect(events[0]?.data).toEqual({ input: { instance: 'x' }, machine: 'teardown', machineVersion: 1 });
    expect((await store.readStream(ID(1), 3)).map((e) => e.seq)).toEqual([3]);
    const row = await store.getRun(ID(1));
    expect(row).toMatchObject({ lastSeq: 3, state: 'locating', status: 'running' });
    expect(await store.integrityCheck()).toEqual(['ok']);
  });

  it('refuses an append with a stale sequence, and writes nothing of it', async () => {
    const store = await openStore(b.fresh());
    await store.createRun(spec(ID(1)));
    await store.append(ID(1), 1, [note('a')]);
    await expect(store.append(ID(1), 1, [note('late')])).rejects.toMatchObject({
      code: 'STORE_SEQUENCE_CONFLICT',
      runId: ID(1),
      expectedSeq: 1,
      actualSeq: 2,
    });
    expect((await store.readStream(ID(1))).length).toBe(2);
    await expect(store.createRun(spec(ID(1)))).rejects.toMatchObject({ code: 'STORE_RUN_EXISTS' });
  });

  it('writes a batch of creates and appends in one transaction: all or nothing', async () => {
    const store = await openStore(b.fresh());
    await store.createRun(spec(ID(1)));
    const res = await store.write(
      [spec(ID(2)), spec(ID(3))],
      [
        { runId: ID(1), expectedSeq: 1, events: [note('x'), note('y')] },
        { runId: ID(2), expectedSeq: 1, events: [note('z')] },
      ],
    );
    expect(res.runs.map((r) => [r.id, r.lastSeq])).toEqual([
      [ID(2), 1],
      [ID(3), 1],
    ]);
    expect(res.seqs).toEqual([3, 2]);
    // One bad request (a stale seq) fails the whole write: nothing of the others is kept.
    await expect(
      store.write(
        [spec(ID(4))],
        [
          { runId: ID(3), expectedSeq: 1, events: [note('kept?')] },
          { runId: ID(1), expectedSeq: 1, events: [note('stale')] },
        ],
      ),
    ).rejects.toMatchObject({ code: 'STORE_SEQUENCE_CONFLICT' });
    expect(await store.getRun(ID(4))).toBeUndefined();
    expect((await store.readStream(ID(3))).length).toBe(1);
    await expect(store.append(ID(9), 0, [note('?')])).rejects.toMatchObject({ code: 'STORE_RUN_NOT_FOUND' });
    await expect(store.append(ID(1), 3, [{ kind: 'transition', data: {} }])).rejects.toMatchObject({
      code: 'STORE_INVALID_EVENT',
    });
    expect(await store.integrityCheck()).toEqual(['ok']);
  });

  it('lists runs newest first with filters, finds them by prefix, and lists unfinished ones', async () => {
    const store = await openStore(b.fresh());
    await store.createRun(spec(ID(1), { at: '2026-01-01T00:00:00.000Z', nodeName: 'node-a' }));
    await store.createRun(spec(ID(2), { at: '2026-01-02T00:00:00.000Z', op: 'deploy', machine: 'deploy' }));
    await store.createRun(spec(ID(3), { at: '2026-01-03T00:00:00.000Z' }));
    await store.append(ID(3), 1, [
      { kind: 'run.finished', data: { status: 'failed', error: { code: 'X', message: 'no' } } },
    ]);
    expect((await store.listRuns()).map((r) => r.id)).toEqual([ID(3), ID(2), ID(1)]);
    expect((await store.listRuns({ op: 'deploy' })).map((r) => r.id)).toEqual([ID(2)]);
    expect((await store.listRuns({ status: 'failed' })).map((r) => r.id)).toEqual([ID(3)]);
    expect((await store.listRuns({ node: 'node-a' })).map((r) => r.id)).toEqual([ID(1)]);
    expect((await store.listRuns({ since: '2026-01-02T00:00:00.000Z' })).map((r) => r.id)).toEqual([
      ID(3),
      ID(2),
    ]);
    expect((await store.listRuns({ until: '2026-01-02T00:00:00.000Z' })).map((r) => r.id)).toEqual([ID(1)]);
    expect((await store.listRuns({ limit: 1 })).map((r) => r.id)).toEqual([ID(3)]);
    expect((await store.listRuns({ instance: spec(ID(2)).instanceUuid as string })).map((r) => r.id)).toEqual(
      [ID(2)],
    );
    expect((await store.getRun(ID(3)))?.error).toEqual({ code: 'X', message: 'no' });
    expect((await store.getRun(ID(3)))?.owner).toBeNull();
    // A prefix: unique resolves, shared is ambiguous, too short finds nothing.
    expect((await store.unfinishedRuns()).map((r) => r.id)).toEqual([ID(1), ID(2)]);
    // Driven by this live writer: none is interrupted.
    expect(await store.listRuns({ status: 'interrupted' })).toEqual([]);
    const other = 'cccccccc-bbbb-4ccc-8ddd-000000000009';
    await store.createRun(spec(other, { instanceUuid: null }));
    expect(await store.resolveRunId('cccccccc')).toBe(other);
    expect(await store.getRun('aaaa')).toBeUndefined();
    await expect(store.getRun('aaaaaaaa-bbbb')).rejects.toMatchObject({ code: 'STORE_AMBIGUOUS_RUN_ID' });
    await expect(store.resolveRunId('dddddddd')).rejects.toMatchObject({ code: 'STORE_RUN_NOT_FOUND' });
  });

  it('fences appends by owner: a second writer cannot append to a run it does not own', async () => {
    const db = b.fresh();
    const first = await openStore(db);
    const second = await openStore(db);
    await first.createRun(spec(ID(1)));
    expect((await second.liveOwners()).length).toBe(2);
    await expect(second.append(ID(1), 1, [note('not mine')])).rejects.toMatchObject({
      code: 'STORE_RUN_NOT_OWNED',
      runId: ID(1),
    });
    // A live owner's run is not taken, and another command for its instance is refused.
    await expect(second.claimRun(ID(1))).rejects.toMatchObject({ code: 'STORE_RUN_OWNED' });
    expect(await second.claimUnfinishedRuns()).toEqual([]);
    expect((await second.heldBy({ instance: spec(ID(1)).instanceUuid }))?.id).toBe(ID(1));
    await expect(
      second.createRun(spec(ID(2), { instanceUuid: spec(ID(1)).instanceUuid })),
    ).rejects.toMatchObject({
      code: 'STORE_RUN_HELD',
    });
    expect((await first.readStream(ID(1))).length).toBe(1);
    // Once the first closes, its run is ownerless: interrupted, and the second takes it.
    await first.close();
    expect((await second.listRuns({ status: 'interrupted' })).map((r) => r.id)).toEqual([ID(1)]);
    const taken = await second.claimUnfinishedRuns();
    expect(taken.map((r) => r.id)).toEqual([ID(1)]);
    expect(taken[0]?.owner).toMatchObject({ pid: process.pid });
    expect(await second.append(ID(1), 1, [note('mine now')])).toBe(2);
  });

  it('gives a released run back, and claims one by prefix', async () => {
    const db = b.fresh();
    const first = await openStore(db);
    const second = await openStore(db);
    await first.createRun(spec(ID(1)));
    await first.releaseRun(ID(1));
    const row = await second.claimRun(ID(1).slice(0, 35));
    expect(row.id).toBe(ID(1));
    await expect(first.append(ID(1), 1, [note('released')])).rejects.toMatchObject({
      code: 'STORE_RUN_NOT_OWNED',
    });
    expect(await second.append(ID(1), 1, [note('taken')])).toBe(2);
  });

  it('redacts secret keys and scrubs secret values before anything is written', async () => {
    const db = b.fresh();
    const store = await openStore(db);
    await store.createRun(spec(ID(1), { input: { instance: 'x', admin_pass: 'hunter2hunter2' } }));
    const scrub = Scrubber.of(['s3cr3t-token-value']);
    await store.appendBatch([
      {
        runId: ID(1),
        expectedSeq: 1,
        scrub,
        events: [
          {
            kind: 'note',
            data: {
              level: 'warn',
              message: 'Ironic said: bad token s3cr3t-token-value',
              password: 'pw-pw-pw-pw',
            },
          },
        ],
      },
    ]);
    const reader = await openStore(db, { mode: 'reader' });
    const text = JSON.stringify(await reader.readStream(ID(1)));
    expect(text).not.toContain('hunter2hunter2');
    expect(text).not.toContain('s3cr3t-token-value');
    expect(text).not.toContain('pw-pw-pw-pw');
    expect(text).toContain('Ironic said: bad token');
  });

  it('a reader reads while the writer writes, and cannot take runs', async () => {
    const db = b.fresh();
    const writer = await openStore(db);
    await writer.createRun(spec(ID(1)));
    const reader = await openStore(db, { mode: 'reader' });
    expect((await reader.getRun(ID(1)))?.owner).toMatchObject({ pid: process.pid });
    await writer.append(ID(1), 1, [note('later')]);
    expect((await reader.readStream(ID(1))).length).toBe(2);
    await expect(reader.claimUnfinishedRuns()).rejects.toMatchObject({ code: 'STORE_READ_ONLY' });
    await reader.verify();
  });

  it('finds a stream with an event missing: integrityCheck names that run and no other', async () => {
    const db = b.fresh();
    const store = await openStore(db);
    await store.createRun(spec(ID(1)));
    await store.append(ID(1), 1, [note('a'), note('b'), note('c')]);
    await store.createRun(spec(ID(2)));
    expect(await store.integrityCheck()).toEqual(['ok']);
    await b.tamper(db, 'DELETE FROM events WHERE seq = 3');
    const report = await store.integrityCheck();
    expect(report).not.toEqual(['ok']);
    expect(report.join('\n')).toContain(ID(1));
    expect(report.join('\n')).not.toContain(ID(2));
    const reader = await openStore(db, { mode: 'reader' });
    expect(await reader.integrityCheck()).toEqual(report);
  });

  // Replica mode (issue 18): liveness by heartbeat lease only (judged by the server's clock on
  // PostgreSQL), takeover with epoch + 1 and a note in the same transaction, and the fence.
  const LEASE = 400;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const replica = (db: string, id: string): Promise<RunStore> =>
    openStore(db, { replica: { id, leaseMs: LEASE } });

  it('replicas beat and are live while their lease holds; a replica that stops beating is gone although its process lives', async () => {
    const db = b.fresh();
    const a = await replica(db, 'a');
    const r2 = await replica(db, 'b');
    await openStore(db); // a plain writer is no replica
    expect(await a.liveReplicas()).toEqual(['a', 'b']);
    const before = Date.now();
    const beat = await a.heartbeat();
    expect(beat.rejoined).toBe(false);
    expect(beat.at).toBeGreaterThanOrEqual(before - 1);
    expect(beat.at).toBeLessThanOrEqual(Date.now());
    await sleep(LEASE + 100);
    await r2.heartbeat();
    expect(await r2.liveReplicas()).toEqual(['b']);
    expect(await a.liveReplicas()).toEqual(['b']);
    await a.heartbeat();
    expect(await r2.liveReplicas()).toEqual(['a', 'b']);
  });

  it('takes over a gone replica’s runs with epoch + 1 and a takeover note; the old owner is fenced and writes nothing', async () => {
    const db = b.fresh();
    const a = await replica(db, 'a');
    const r2 = await replica(db, 'b');
    await a.createRun(spec(ID(1)));
    expect(await a.append(ID(1), 1, [note('a1')])).toBe(2);
    // A live replica's runs are not taken.
    expect(await r2.takeOverRuns(() => true)).toEqual([]);
    expect(await a.stillOwned([ID(1)])).toEqual(new Set([ID(1)]));
    await sleep(LEASE + 100);
    await r2.heartbeat();
    const taken = await r2.takeOverRuns(() => true);
    expect(taken.map((r) => [r.id, r.lastSeq, r.status])).toEqual([[ID(1), 3, 'running']]);
    const last = (await r2.readStream(ID(1))).at(-1)!;
    expect(last).toMatchObject({ seq: 3, kind: 'note', type: 'takeover' });
    expect(last.data).toMatchObject({
      level: 'warn',
      epoch: 2,
      from: { replica: 'a', pid: process.pid },
      to: { replica: 'b', pid: process.pid },
    });
    expect(Date.parse(String(last.data['leaseExpiredAt']))).toBeLessThanOrEqual(Date.parse(last.at));
    expect(String(last.data['message'])).toMatch(
      /taken over by replica b .* at epoch 2: replica a .* missed its heartbeats/,
    );
    // The old owner beats again: live, but the run is no longer its own.
    expect((await a.heartbeat()).rejoined).toBe(false);
    expect(await a.stillOwned([ID(1)])).toEqual(new Set());
    for (const seq of [2, 3])
      await expect(a.append(ID(1), seq, [note('stale')])).rejects.toMatchObject({
        code: 'STORE_RUN_NOT_OWNED',
        runId: ID(1),
      });
    expect((await r2.readStream(ID(1))).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await r2.stillOwned([ID(1), ID(9)])).toEqual(new Set([ID(1)]));
    expect(await r2.append(ID(1), 3, [note('b1')])).toBe(4);
    // Nobody else takes it while its owner beats.
    expect(await a.takeOverRuns(() => true)).toEqual([]);
    expect(await r2.integrityCheck()).toEqual(['ok']);
  });

  it('takes only what `select` picks; of two replicas taking over at once, each run goes to one', async () => {
    const db = b.fresh();
    const a = await replica(db, 'a');
    for (let i = 1; i <= 6; i++) await a.createRun(spec(ID(i), { nodeName: `n${i}` }));
    const r2 = await replica(db, 'b');
    const r3 = await replica(db, 'c');
    await sleep(LEASE + 100);
    await Promise.all([r2.heartbeat(), r3.heartbeat()]);
    expect((await r2.takeOverRuns((r) => r.nodeName === 'n1')).map((r) => r.id)).toEqual([ID(1)]);
    const [x, y] = await Promise.all([r2.takeOverRuns(() => true), r3.takeOverRuns(() => true)]);
    const ids = [...x, ...y].map((r) => r.id).sort();
    expect(ids).toEqual([2, 3, 4, 5, 6].map(ID));
    for (let i = 2; i <= 6; i++) {
      const notes = (await r2.readStream(ID(i))).filter((e) => e.type === 'takeover');
      expect(notes).toHaveLength(1);
      expect(notes[0]!.data['epoch']).toBe(2);
    }
  });

  it('refuses an append made with a stale epoch (the run was claimed again meanwhile), and writes nothing of it', async () => {
    const db = b.fresh();
    const a = await replica(db, 'a');
    await a.createRun(spec(ID(1)));
    expect(await a.append(ID(1), 1, [note('a1')])).toBe(2);
    // Another claim of the run behind this writer's back: same owner, the epoch moves on.
    await b.tamper(db, `UPDATE runs SET epoch = epoch + 1 WHERE id = '${ID(1)}'`);
    expect(await a.stillOwned([ID(1)])).toEqual(new Set());
    await expect(a.append(ID(1), 2, [note('stale')])).rejects.toMatchObject({
      code: 'STORE_RUN_NOT_OWNED',
      runId: ID(1),
    });
    expect((await a.readStream(ID(1))).map((e) => e.seq)).toEqual([1, 2]);
    expect((await a.getRun(ID(1)))?.lastSeq).toBe(2);
  });

  it('a replica forgotten by a writer that opened meanwhile rejoins owning none of its runs', async () => {
    const db = b.fresh();
    const a = await replica(db, 'a');
    await a.createRun(spec(ID(1)));
    await sleep(LEASE + 100);
    const plain = await openStore(db);
    expect((await plain.getRun(ID(1)))?.owner).toBeNull();
    expect((await a.heartbeat()).rejoined).toBe(true);
    expect(await plain.liveReplicas()).toEqual(['a']);
    await expect(a.append(ID(1), 1, [note('gone')])).rejects.toMatchObject({ code: 'STORE_RUN_NOT_OWNED' });
    expect(await a.stillOwned([ID(1)])).toEqual(new Set());
  });

  it('fails closed calls with STORE_CLOSED', async () => {
    const store = await b.open(b.fresh());
    await store.close();
    await store.close();
    await expect(store.listRuns()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
