// Several `ironledger` processes on one database: each run is owned by the process that started
// or resumed it, not the whole file by one process. Two commands for different nodes both run;
// a second command for a node or instance another process drives is refused naming that run;
// `resume` takes only runs whose owner is gone (a SIGKILLed process), never a live one's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { EventStore } from '../../src/store/event-store.js';
import { replayRun } from '../../src/runlog/replay.js';
import { lifecycles } from '../../src/machines/index.js';
import { cli, json, runRows, start, until, type CliResult, type Running } from './helpers.js';

const INSTANCE = (i: number): string => `abababab-0000-4000-8000-${String(i).padStart(12, '0')}`;

let sim: Simulator;
/** Deploys that wait for `active` for ten minutes: the live owners, which the tests then stop. */
let slow: Simulator;
let dir: string;

function args(db: string, ...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', ...rest];
}

function slowArgs(db: string, ...rest: string[]): string[] {
  return ['--ironic-url', slow.url, '--db', db, '--poll-interval', '20', ...rest];
}

beforeAll(async () => {
  // A teardown takes ~12 s (delete, then clean): two of them overlap even on a loaded machine.
  sim = await startSimulator({ deployMs: 8_000, deleteMs: 12_000, cleanMs: 500, powerMs: 20, seed: 22 });
  slow = await startSimulator({ deployMs: 600_000, powerMs: 20, seed: 23 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-shared-db-'));
});

afterAll(async () => {
  await sim.close();
  await slow.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Exit 3, one line naming the code, no stack trace. */
function expectRefused(r: CliResult, code: string, message: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(3);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).toMatch(new RegExp(`\\[${code}\\]$`));
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

function activeNode(i: number): string {
  return sim.addNode({
    provisionState: 'active',
    instanceUuid: INSTANCE(i),
    ports: [{ address: `52:54:00:22:00:${String(i).padStart(2, '0')}`, vifId: `vif-${i}` }],
  }).uuid;
}

/** Starts `--json deploy` of a new node; resolves once its run waits for `active`. */
async function deployWaiting(
  db: string,
  i: number,
  on: Simulator = slow,
): Promise<{ running: Running; runId: string; node: string }> {
  const node = on.addNode({ provisionState: 'available' }).uuid;
  const running = start([
    '--ironic-url',
    on.url,
    '--db',
    db,
    '--poll-interval',
    '20',
    '--json',
    'deploy',
    '--node',
    node,
    '--instance',
    INSTANCE(i),
    '--image-source',
    'http://img/x',
  ]);
  const row = await until('the deploy to wait for active', () =>
    runRows(db).find((r) => r.instanceUuid === INSTANCE(i) && /wait/i.test(r.state ?? '')),
  );
  return { running, runId: row.id, node };
}

function replays(db: string, runId: string): boolean {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    const row = store.getRun(runId)!;
    const events = store.readStream(runId);
    events.forEach((e, k) => expect(e.seq).toBe(k + 1));
    return replayRun(lifecycles[row.op as 'deploy'].machine, events).matches;
  } finally {
    store.close();
  }
}

describe('two processes on one database', () => {
  it('two destroy commands for different nodes at the same time both succeed', async () => {
    const db = join(dir, 'two-destroys.db');
    const nodes = [activeNode(1), activeNode(2)];
    const first = start(args(db, '--json', 'destroy', '--instance', INSTANCE(1), '--vif', 'vif-1'));
    // The second starts while the first one's run is under way (it holds its node).
    await until('the first teardown to be under way', () =>
      runRows(db).find((r) => r.instanceUuid === INSTANCE(1) && r.status === 'running'),
    );
    const second = start(args(db, '--json', 'destroy', '--instance', INSTANCE(2), '--vif', 'vif-2'));
    const [a, b] = await Promise.all([first.result, second.result]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(json(a)).toMatchObject({ status: 'succeeded', node: nodes[0] });
    expect(json(b)).toMatchObject({ status: 'succeeded', node: nodes[1] });
    // Both really overlapped: the second started before the first ended.
    const rows = runRows(db);
    const r1 = rows.find((r) => r.instanceUuid === INSTANCE(1))!;
    const r2 = rows.find((r) => r.instanceUuid === INSTANCE(2))!;
    expect(r2.createdAt < r1.updatedAt, JSON.stringify([r1, r2, a.stderr, b.stderr])).toBe(true);
    expect(replays(db, r1.id)).toBe(true);
    expect(replays(db, r2.id)).toBe(true);
  });

  it('a command for a node or instance another process drives is refused, naming its run; that run goes on', async () => {
    const db = join(dir, 'same-node.db');
    const { running, runId, node } = await deployWaiting(db, 3);
    // The same node under another instance, and the same instance.
    const sameNode = await cli(
      slowArgs(db, 'deploy', '--node', node, '--instance', INSTANCE(4), '--image-source', 'http://img/y'),
    );
    expectRefused(sameNode, 'ENGINE_NODE_BUSY', new RegExp(`run ${runId}.*pid ${running.child.pid}`));
    const sameInstance = await cli(slowArgs(db, '--json', 'power-off', '--instance', INSTANCE(3)));
    expect(sameInstance.code).toBe(3);
    expect(json(sameInstance)).toMatchObject({
      error: { code: 'ENGINE_NODE_BUSY', message: expect.stringContaining(`run ${runId}`) },
    });
    // Neither refusal left a run behind, and the first goes on undisturbed, still waiting.
    expect(runRows(db).map((r) => [r.id, r.status, r.state])).toEqual([
      [runId, 'running', expect.stringMatching(/wait/i)],
    ]);
    expect(running.child.exitCode).toBeNull();
    running.child.kill('SIGTERM');
    const first = await running.result;
    expect(first.code, first.stderr).toBe(143);
    expect(json(first)).toMatchObject({ runId, status: 'interrupted' });
    expect(replays(db, runId)).toBe(true);
  });

  it("resume takes a SIGKILLed process's run and finishes it; a live owner's run is listed with its owner and not taken", async () => {
    const db = join(dir, 'resume.db');
    // Killed as soon as it waits (its deploy takes 8 s), before the live owner starts.
    const killed = await deployWaiting(db, 5, sim);
    killed.running.child.kill('SIGKILL');
    await killed.running.result;
    const live = await deployWaiting(db, 6);

    // `runs` names the live owner; the killed one's run is interrupted (nobody drives it).
    const listed = await cli(args(db, '--json', 'runs'));
    expect(listed.code, listed.stderr).toBe(0);
    const byId = new Map((json(listed) as unknown as Array<Record<string, unknown>>).map((r) => [r.id, r]));
    expect(byId.get(live.runId)).toMatchObject({ status: 'running', owner: { pid: live.running.child.pid } });
    expect(byId.get(killed.runId)).toMatchObject({ status: 'running', owner: null });
    const interrupted = await cli(args(db, '--json', 'runs', '--status', 'interrupted'));
    expect((json(interrupted) as unknown as Array<{ id: string }>).map((r) => r.id)).toEqual([killed.runId]);
    const text = await cli(args(db, 'runs'));
    expect(text.stdout).toMatch(new RegExp(`${live.runId}.*pid ${live.running.child.pid}`));

    // Readers work alongside the live owner.
    const shown = await cli(args(db, 'show', live.runId));
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(live.runId);
    const replayed = await cli(args(db, 'replay', live.runId));
    expect(replayed.code, replayed.stderr).toBe(0);

    // resume RUN of the live one: one line naming the holder, exit 3.
    const refused = await cli(args(db, 'resume', live.runId));
    expectRefused(
      refused,
      'STORE_RUN_OWNED',
      new RegExp(`run ${live.runId} is driven by pid ${live.running.child.pid}`),
    );

    // Two resumers racing: the killed run is taken once, and finished; the live run by neither.
    const r1 = start(args(db, '--json', 'resume'));
    const r2 = start(args(db, '--json', 'resume'));
    const [a, b] = await Promise.all([r1.result, r2.result]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const docs = [
      ...(json(a) as unknown as Array<{ runId: string; status: string }>),
      ...(json(b) as unknown as Array<{ runId: string; status: string }>),
    ];
    expect(docs).toEqual([expect.objectContaining({ runId: killed.runId, status: 'succeeded' })]);
    expect(replays(db, killed.runId)).toBe(true);

    // The live owner still drives its run, untouched by both resumers.
    expect(live.running.child.exitCode).toBeNull();
    live.running.child.kill('SIGTERM');
    const first = await live.running.result;
    expect(first.code, first.stderr).toBe(143);
    expect(json(first)).toMatchObject({ runId: live.runId, status: 'interrupted' });
    expect(replays(db, live.runId)).toBe(true);
  }, 90_000);
});
