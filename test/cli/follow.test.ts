// `ironledger show RUN --follow` (issue 19): the live timeline of a run that ANOTHER process
// drives on the same database, with real child processes: printed while the driver still runs,
// ending with the run's result as exit code; a driver SIGKILLed under it is noticed (no hang);
// a run that is not there is one clear line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, expectUsageError, runRows, start, until, type Running } from './helpers.js';

const INSTANCE = (i: number): string => `f0f0f0f0-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** Teardowns that take seconds: deleting, then cleaning. */
let sim: Simulator;
/** Teardowns that clean for ten minutes: the driver is SIGKILLed long before. */
let endless: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ deleteMs: 3_000, cleanMs: 3_000, powerMs: 20, seed: 191 });
  endless = await startSimulator({ deleteMs: 20, cleanMs: 600_000, powerMs: 20, seed: 192 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-follow-'));
});

afterAll(async () => {
  await sim.close();
  await endless.close();
  rmSync(dir, { recursive: true, force: true });
});

function activeNode(on: Simulator, i: number): string {
  return on.addNode({
    provisionState: 'active',
    powerState: 'power on',
    instanceUuid: INSTANCE(i),
    ports: [{ address: `52:54:00:19:10:${String(i).padStart(2, '0')}`, vifId: `vif-${i}` }],
  }).uuid;
}

/** Starts a destroy of instance `i` in another process; resolves once its run is in the store. */
async function driving(on: Simulator, db: string, i: number): Promise<{ driver: Running; runId: string }> {
  const driver = start([
    '--ironic-url',
    on.url,
    '--db',
    db,
    '--poll-interval',
    '20',
    'destroy',
    '--instance',
    INSTANCE(i),
    '--vif',
    `vif-${i}`,
    '--wait-for-available',
  ]);
  const runId = await until(
    'the run to be recorded',
    () => runRows(db).find((r) => r.instanceUuid === INSTANCE(i))?.id,
  );
  return { driver, runId };
}

describe('show --follow', () => {
  it('prints a teardown as another process drives it, while it runs, and exits 0 when it succeeds', async () => {
    const db = join(dir, 'pass.db');
    activeNode(sim, 1);
    const { driver, runId } = await driving(sim, db, 1);
    let driverDone = false;
    void driver.result.then(() => (driverDone = true));
    const follower = start(['--db', db, 'show', runId.slice(0, 8), '--follow']);
    let out = '';
    follower.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    // Live: the wait for Ironic is printed while the driver is still waiting (seconds before it ends).
    await until('follow to print the wait', () => /unprovision\.watching\.waiting/.test(out), 30_000);
    expect(driverDone).toBe(false);
    await until('follow to print Ironic cleaning', () => /Ironic: cleaning/.test(out), 30_000);
    expect(driverDone).toBe(false);

    const [d, f] = await Promise.all([driver.result, follower.result]);
    expect(d.code, d.stderr).toBe(0);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toMatch(new RegExp(`^run ${runId}  destroy  instance ${INSTANCE(1)}`));
    expect(f.stdout).toMatch(/driven by pid \d+ on .+; following until it ends/);
    // Every state once, in order, then the result.
    const states = [...f.stdout.matchAll(/^\d\d:\d\d:\d\d\.\d{3} {2}(\S+)/gm)].map((m) => m[1]);
    expect(states).toEqual([
      'lookup',
      'cleanup.unplugVifs',
      'cleanup.stopFiltering',
      'unprovision.requestDeleted',
      'unprovision.watching.waiting',
      'unprovision.watching.deleting',
      'unprovision.watching.cleaning',
      'succeeded',
    ]);
    expect(f.stdout).toMatch(/DELETE \/v1\/nodes\/\S+\/vifs\/vif-1 {2}204 {2}#1/);
    expect(f.stdout).toMatch(/Ironic: deleting [\s\S]*Ironic: cleaning [\s\S]*Ironic: available/);
    expect(f.stdout).toMatch(new RegExp(`run ${runId}: destroy SUCCEEDED after \\d`));
    expect(f.stderr).toBe('');
  }, 90_000);

  it('exits 1 with the failure line when the run fails', async () => {
    const db = join(dir, 'fail.db');
    const node = activeNode(sim, 2);
    sim.failNextClean(node, 'Clean step erase_devices failed');
    const { driver, runId } = await driving(sim, db, 2);
    const follower = start(['--db', db, 'show', runId, '--follow']);
    const [d, f] = await Promise.all([driver.result, follower.result]);
    expect(d.code, d.stderr).toBe(1);
    expect(f.code, f.stderr).toBe(1);
    expect(f.stdout).toMatch(/Ironic: clean failed/);
    expect(f.stdout).toMatch(/Ironic last_error: Clean step erase_devices failed/);
    expect(f.stdout).toMatch(new RegExp(`run ${runId}: destroy FAILED after`));
    expect(f.stdout).toMatch(
      /^FAILED in unprovision\.watching\.cleaning \(Ironic: clean failed\): .*\(CLEAN_FAILED\)$/m,
    );
    // A finished run followed afterwards: printed whole, same exit code.
    const again = await cli(['--db', db, 'show', runId, '--follow']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/FAILED in unprovision\.watching\.cleaning/);
  }, 90_000);

  it('notices a driver SIGKILLed under it: says so, exits 1, does not hang', async () => {
    const db = join(dir, 'killed.db');
    activeNode(endless, 3);
    const { driver, runId } = await driving(endless, db, 3);
    const follower = start(['--db', db, 'show', runId, '--follow'], {}, 60_000);
    let out = '';
    follower.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('follow to print cleaning', () => /Ironic: cleaning/.test(out), 30_000);
    const pid = driver.child.pid;
    driver.child.kill('SIGKILL');
    const killedAt = Date.now();
    const f = await follower.result;
    expect(f.signal).toBeNull(); // it exited by itself, not by the test's 60 s SIGKILL
    expect(f.code, f.stderr).toBe(1);
    expect(f.stdout).toMatch(
      new RegExp(
        `run ${runId}: no longer driven by a live process \\(its driver, pid ${pid} on .+, is gone\\); it stopped in unprovision\\.watching\\.cleaning and stays resumable: ironledger resume ${runId}`,
      ),
    );
    // Not a timed assertion on performance: a bound far above the 100 ms poll, against a hang.
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect((await driver.result).signal).toBe('SIGKILL');
  }, 90_000);

  it('a run that is not there, or a database that is not: one line, exit 2; --follow takes no -f', async () => {
    const db = join(dir, 'pass.db');
    expectUsageError(
      await cli(['--db', db, 'show', 'abcdef12', '--follow']),
      /no run "abcdef12" in .*pass\.db .*\[RUN_NOT_FOUND\]/,
    );
    expectUsageError(
      await cli(['--db', join(dir, 'none.db'), 'show', 'abcdef12', '--follow']),
      /no database at .*none\.db/,
    );
    const id = runRows(db)[0]!.id;
    expectUsageError(
      await cli(['--db', db, 'show', id, '--follow', '-f', 'json']),
      /--follow prints a live text timeline/,
    );
  });
});
