// A replica paused inside a transaction (SIGSTOP, a long GC pause between two statements of a
// write) holds its runs' row locks. On PostgreSQL the server ends such a session after a third
// of the lease, so the others can still take its runs once its lease runs out; without that the
// takeover would wait on the locks for as long as the replica stays paused.
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openRunStore, type RunStore } from '../../src/store/run-store.js';
import { freshPgUrl, PG_URL, pgMissing } from './backends.js';

const LEASE = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!PG_URL) describe('replica paused in a transaction on postgres', () => pgMissing());

describe.runIf(PG_URL)('a replica paused inside a transaction (PostgreSQL)', () => {
  const open: RunStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('loses its row locks with its session, and its runs are taken over once its lease runs out', async () => {
    const db = freshPgUrl();
    const a = await openRunStore(db, { replica: { id: 'a', leaseMs: LEASE } });
    open.push(a);
    const b = await openRunStore(db, { replica: { id: 'b', leaseMs: LEASE } });
    open.push(b);
    const { run } = await a.createRun({ op: 'x', machine: 'none', machineVersion: 1, input: {} });
    // A write of `a` stopped between two statements: a connection of its own pool, in a
    // transaction holding the run's row lock, and then nothing more from it.
    const paused = await (a as unknown as { pool: pg.Pool }).pool.connect();
    paused.on('error', () => undefined);
    await paused.query('BEGIN');
    await paused.query('SELECT id FROM runs WHERE id = $1 FOR UPDATE', [run.id]);
    await sleep(LEASE + 100);
    await b.heartbeat();
    const taken = await Promise.race([
      b.takeOverRuns(() => true),
      sleep(3 * LEASE).then(() => 'still waiting on the paused replica’s lock' as const),
    ]);
    expect(taken).not.toBe('still waiting on the paused replica’s lock');
    expect((taken as Awaited<ReturnType<RunStore['takeOverRuns']>>).map((r) => r.id)).toEqual([run.id]);
    // The paused write, continued, finds its session gone: nothing of it is kept.
    await expect(paused.query('COMMIT')).rejects.toThrow();
    paused.release(true);
    expect((await b.readStream(run.id)).map((e) => e.type ?? e.kind)).toEqual(['run.started', 'takeover']);
  });
});
