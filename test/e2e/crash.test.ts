// Crash: a CLI process running a teardown is killed with SIGKILL at many points of its
// stream (including between an effect's `started` and its result); `ironledger resume`
// then finishes the run. The stream has no gaps and no completed effect runs again.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openConnection } from '../../src/store/sqlite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycles } from '../../src/machines/index.js';
import { EventStore } from '../../src/store/event-store.js';
import { replayRun } from '../../src/runlog/replay.js';
import type { StoredEvent } from '../../src/store/types.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { CLI, cli } from './cli.js';

const INSTANCE = (i: number): string => `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`;

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ deployMs: 50, deleteMs: 300, cleanMs: 4000, seed: 11 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-crash-'));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function eventCount(db: string): number {
  try {
    const conn = openConnection(db, { readonly: true, fileMustExist: true });
    try {
      return (conn.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    } finally {
      conn.close();
    }
  } catch {
    return 0;
  }
}

/** Starts `argv` and SIGKILLs it once the store holds at least `atEvents` events. */
async function killAt(
  argv: string[],
  db: string,
  atEvents: number,
): Promise<{ killedAt: number; exited: boolean }> {
  const child = spawn(process.execPath, [CLI, ...argv], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) return { killedAt: eventCount(db), exited: true };
    const n = eventCount(db);
    if (n >= atEvents) {
      child.kill('SIGKILL');
      await exited;
      return { killedAt: n, exited: false };
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

function stream(db: string, runId: string): StoredEvent[] {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    return store.readStream(runId);
  } finally {
    store.close();
  }
}

/** Every effect.started comes with the transition that asked for it, or a resume note. */
function assertNoCompletedEffectRepeated(events: StoredEvent[]): void {
  const finished = new Set<number>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind !== 'effect.started') continue;
    let j = i - 1;
    while (j >= 0 && events[j]!.kind === 'effect.started') j--;
    const before = events[j];
    const isResume = before?.kind === 'note' && before.type === 'resume';
    expect(
      before?.kind === 'transition' || isResume,
      `effect.started at seq ${e.seq} follows ${before?.kind}`,
    ).toBe(true);
    if (isResume) {
      // A resumed effect must be one whose result was never recorded.
      const actorId = e.data.actorId;
      const lastStart = [...events.slice(0, i)]
        .reverse()
        .find((x) => x.kind === 'effect.started' && x.data.actorId === actorId);
      expect(lastStart, `resumed ${String(actorId)} was never started`).toBeDefined();
      const resultAfter = events
        .slice(events.indexOf(lastStart!), i)
        .some(
          (x) => (x.kind === 'effect.succeeded' || x.kind === 'effect.failed') && x.data.actorId === actorId,
        );
      expect(resultAfter, `resumed ${String(actorId)} had already finished`).toBe(false);
      finished.add(e.seq);
    }
  }
}

describe('crash and resume through the CLI', () => {
  it('kill -9 at 20+ points of teardowns, then resume: every run completes with a gap-free stream', async () => {
    const points: number[] = [];
    const runs: Array<{ db: string; runId: string; node: string }> = [];
    for (let r = 0; r < 5; r++) {
      const db = join(dir, `crash-${r}.db`);
      const node = sim.addNode({
        provisionState: 'active',
        instanceUuid: INSTANCE(r),
        ports: [
          { address: `52:54:00:0a:0${r}:01`, vifId: `vif-${r}-a` },
          { address: `52:54:00:0a:0${r}:02`, vifId: `vif-${r}-b` },
        ],
      }).uuid;
      const base = ['--ironic-url', sim.url, '--db', db, '--poll-interval', '25', '--retry-interval', '10'];
      // First attempt: the teardown itself, killed early; then resumes killed further along.
      // Early kills land inside effects (lookup, VIF detach, requestDeleted); later ones in cleaning.
      const schedule = [3 + (r % 3), 7 + r, 12 + r, 40 + 5 * r, 150 + 10 * r];
      let argv = [
        ...base,
        'destroy',
        '--instance',
        INSTANCE(r),
        '--vif',
        `vif-${r}-a`,
        '--vif',
        `vif-${r}-b`,
        '--wait-for-available',
      ];
      for (const at of schedule) {
        const k = await killAt(argv, db, at);
        if (!k.exited) points.push(k.killedAt);
        argv = [...base, 'resume'];
      }
      const final = await cli([...base, '--json', 'resume']);
      const conn = openConnection(db, { readonly: true });
      const runId = (conn.prepare('SELECT id FROM runs').get() as { id: string }).id;
      conn.close();
      runs.push({ db, runId, node });
      expect([0], `resume: ${final.stderr}${final.stdout}`).toContain(final.code);
    }

    expect(points.length).toBeGreaterThanOrEqual(20);
    for (const { db, runId, node } of runs) {
      const events = stream(db, runId);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)?.kind).toBe('run.finished');
      expect(events.at(-1)?.data.status).toBe('succeeded');
      assertNoCompletedEffectRepeated(events);
      expect(replayRun(lifecycles.destroy.machine, events).matches).toBe(true);
      expect(sim.node(node)?.provision_state).toBe('available');
      // Ironic accepted `deleted` exactly once; a resume may repeat the in-flight request, which
      // Ironic then refuses (409 while deleting, 400 once cleaning) and the effect counts as done.
      const puts = sim
        .requests()
        .filter((q) => q.method === 'PUT' && q.path === `/v1/nodes/${node}/states/provision`);
      expect(puts.filter((q) => q.status === 202)).toHaveLength(1);
      const starts = events.filter((e) => e.kind === 'effect.started' && e.type === 'requestDeleted').length;
      const reruns = events.filter(
        (e) => e.kind === 'note' && e.type === 'resume' && e.data.actorId === 'requestDeleted',
      ).length;
      expect(starts).toBe(1 + reruns);
    }
  }, 240_000);
});
