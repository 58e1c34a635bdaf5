// The CLI on a PostgreSQL store (the real binary, child processes): a teardown SIGKILLed
// mid-run and resumed from the shared log; runs, show and replay against the URL; and a URL
// with a password that never reaches the output. Needs PG_URL (npm run test:pg).
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycles } from '../../src/machines/index.js';
import { replayRun } from '../../src/runlog/replay.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { openRunStore } from '../../src/store/run-store.js';
import { CLI, childEnv, cli, json } from '../e2e/cli.js';
import { freshPgUrl, PG_URL, pgMissing } from './backends.js';

const INSTANCE = (i: number): string => `dddddddd-0000-4000-8000-${String(i).padStart(12, '0')}`;

async function eventCount(url: string): Promise<number> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') as string;
  u.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: u.toString(), options: `-c search_path="${schema}"` });
  try {
    await client.connect();
    const r = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    return r.rows[0]?.n ?? 0;
  } catch {
    return 0; // not created yet
  } finally {
    await client.end().catch(() => undefined);
  }
}

if (!PG_URL) describe('CLI on postgres', () => pgMissing());

describe.runIf(PG_URL)('the CLI on a PostgreSQL store', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ deployMs: 50, deleteMs: 300, cleanMs: 1500, seed: 7 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('a teardown SIGKILLed mid-run resumes from the shared log; runs, show and replay read it', async () => {
    const db = freshPgUrl();
    const node = sim.addNode({
      provisionState: 'active',
      instanceUuid: INSTANCE(1),
      ports: [{ address: '52:54:00:0d:00:01', vifId: 'vif-d-1' }],
    }).uuid;
    const base = ['--ironic-url', sim.url, '--poll-interval', '25', '--retry-interval', '10'];
    // --db from IRONLEDGER_DB: the environment names the store.
    const child = spawn(
      process.execPath,
      [CLI, ...base, 'destroy', '--instance', INSTANCE(1), '--vif', 'vif-d-1', '--wait-for-available'],
      { stdio: 'ignore', env: childEnv({ IRONLEDGER_DB: db }) },
    );
    const exited = new Promise((resolve) => child.on('close', resolve));
    let killedAt = 0;
    for (let i = 0; i < 3000; i++) {
      killedAt = await eventCount(db);
      if (killedAt >= 12) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await exited;
    expect(killedAt).toBeGreaterThanOrEqual(12);

    const interrupted = await cli(['--db', db, '--json', 'runs', '--status', 'interrupted']);
    expect(interrupted.code, interrupted.stderr).toBe(0);
    const [row] = json<Array<{ id: string; status: string; owner: unknown }>>(interrupted);
    expect(row).toMatchObject({ status: 'running', owner: null });

    const resumed = await cli([...base, '--db', db, '--json', 'resume'], {}, 90_000);
    expect(resumed.code, `${resumed.stderr}${resumed.stdout}`).toBe(0);
    expect(sim.node(node)?.provision_state).toBe('available');

    const store = await openRunStore(db, { mode: 'reader' });
    try {
      const events = await store.readStream(row!.id);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)?.data.status).toBe('succeeded');
      expect(replayRun(lifecycles.destroy.machine, events).matches).toBe(true);
    } finally {
      await store.close();
    }
    const puts = sim
      .requests()
      .filter((q) => q.method === 'PUT' && q.path === `/v1/nodes/${node}/states/provision`);
    expect(puts.filter((q) => q.status === 202)).toHaveLength(1);

    const runs = await cli(['--db', db, '--json', 'runs']);
    expect(json<Array<{ id: string; status: string }>>(runs).map((r) => [r.id, r.status])).toEqual([
      [row!.id, 'succeeded'],
    ]);
    const show = await cli(['--db', db, '--json', 'show', row!.id.slice(0, 8)]);
    expect(show.code, show.stderr).toBe(0);
    expect(json<{ run: { id: string } }>(show).run.id).toBe(row!.id);
    const replay = await cli(['--db', db, 'replay', row!.id]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('matches the record');
  }, 180_000);

  it('names an unreachable server in one line, without the password of its URL', async () => {
    const r = await cli([
      '--db',
      'postgres://ironledger:Sup3rS3cretPw@127.0.0.1:1/ironledger',
      '--json',
      'runs',
    ]);
    expect(r.code).toBe(3);
    const out = `${r.stdout}${r.stderr}`;
    expect(out).not.toContain('Sup3rS3cretPw');
    expect(json<{ error: { code: string; message: string } }>(r).error).toMatchObject({
      code: 'STORE_UNREACHABLE',
    });
    expect(out).toContain('***');
    const human = await cli(['--db', 'postgres://ironledger:Sup3rS3cretPw@127.0.0.1:1/ironledger', 'runs']);
    expect(human.stderr.trim().split('\n')).toHaveLength(1);
    expect(human.stderr).not.toContain('Sup3rS3cretPw');
  });
});
