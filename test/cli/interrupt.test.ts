// SIGINT/SIGTERM to a lifecycle command while its run waits: the run stays resumable, --json
// still prints one document for it, and the exit code names the signal (130 SIGINT, 143
// SIGTERM). Then `resume` prints one object for a RUN argument and always a list without one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, json, runRows, start, until, type Running } from './helpers.js';

const INSTANCE = (i: number): string => `eeeeeeee-0000-4000-8000-${String(i).padStart(12, '0')}`;

let sim: Simulator;
let dir: string;
let db: string;

function args(...rest: string[]): string[] {
  // Polls every 20 ms, for up to 20 s: cleaning outlasts the default 60 polls of 20 ms.
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

beforeAll(async () => {
  // Cleaning holds the node long enough to interrupt a teardown that waits for `available`.
  sim = await startSimulator({ deployMs: 40, deleteMs: 30, cleanMs: 2500, seed: 9 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-cli-interrupt-'));
  db = join(dir, 'interrupt.db');
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a teardown that waits for `available`; resolves with its run id once it waits in cleaning. */
async function destroyUntilCleaning(
  instance: string,
  json: boolean,
): Promise<{ running: Running; runId: string }> {
  const running = start(
    args(...(json ? ['--json'] : []), 'destroy', '--instance', instance, '--wait-for-available'),
  );
  const row = await until('the teardown to wait in cleaning', () =>
    runRows(db).find(
      (r) =>
        r.instanceUuid === instance && r.status === 'running' && /watching\.cleaning/.test(r.state ?? ''),
    ),
  );
  return { running, runId: row.id };
}

describe('an interrupted lifecycle command', () => {
  let first: { runId: string; node: string };
  let second: { runId: string };

  it('SIGTERM with --json: one interrupted document on stdout, exit 143, the run still running', async () => {
    const node = sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(1) }).uuid;
    const { running, runId } = await destroyUntilCleaning(INSTANCE(1), true);
    running.child.kill('SIGTERM');
    const r = await running.result;
    expect(r.code, r.stderr).toBe(143);
    const doc = json(r);
    expect(doc).toMatchObject({ runId, status: 'interrupted', op: 'destroy', node, instance: INSTANCE(1) });
    expect(doc.error).toMatchObject({ code: expect.stringMatching(/^(ENGINE_CLOSED|RUN_INTERRUPTED)$/) });
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(runRows(db).find((row) => row.id === runId)?.status).toBe('running');
    first = { runId, node };
  });

  it('SIGINT without --json: the resumable line on stderr, nothing on stdout, exit 130', async () => {
    sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(2) });
    const { running, runId } = await destroyUntilCleaning(INSTANCE(2), false);
    running.child.kill('SIGINT');
    const r = await running.result;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`interrupted: run ${runId} stays resumable (ironledger resume ${runId})`);
    expect(runRows(db).find((row) => row.id === runId)?.status).toBe('running');
    second = { runId };
  });

  it('runs --status interrupted lists the runs the signals left, as results called them', async () => {
    const r = await cli(args('--json', 'runs', '--status', 'interrupted'));
    expect(r.code, r.stderr).toBe(0);
    const rows = json<Array<{ id: string; status: string }>>(r);
    expect(rows.map((row) => row.id).sort()).toEqual([first.runId, second.runId].sort());
    const refused = await cli(args('runs', '--status', 'stopped'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /--status must be one of running, succeeded, failed, cancelled, interrupted/,
    );
  });

  it('resume RUN prints one object; resume alone always a list, of one run too, and of none', async () => {
    const one = await cli(args('--json', 'resume', first.runId));
    expect(one.code, one.stderr + one.stdout).toBe(0);
    expect(json(one)).toMatchObject({ runId: first.runId, status: 'succeeded', node: first.node });
    expect(sim.node(first.node)?.provision_state).toBe('available');

    const all = await cli(args('--json', 'resume'));
    expect(all.code, all.stderr + all.stdout).toBe(0);
    const list = json<Array<{ runId: string; status: string }>>(all);
    expect(Array.isArray(list)).toBe(true);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ runId: second.runId, status: 'succeeded' });

    const none = await cli(args('--json', 'resume'));
    expect(none.code, none.stderr).toBe(0);
    expect(json(none)).toEqual([]);
  });
});
