// `ironledger resume` and `replay` use the machine version a run was recorded with; a run of a
// version this build no longer registers is refused with RUN_VERSION_UNREGISTERED, left resumable.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { lifecycles } from '../../src/machines/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { openConnection } from '../../src/store/sqlite.js';
import { cli, expectJsonError, json, runRows } from './helpers.js';

const INSTANCE = (i: number): string => `eeeeeeee-0000-4000-8000-${String(i).padStart(12, '0')}`;
let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ deleteMs: 30, cleanMs: 1500, seed: 3 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-versions-'));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function setVersion(db: string, runId: string, version: number): void {
  const raw = openConnection(db);
  raw.prepare('UPDATE runs SET machine_version = ? WHERE id = ?').run(version, runId);
  raw.close();
}

describe('CLI: machine versions of recorded runs', () => {
  it('resume refuses a run of an unregistered version, naming it and the registered ones; a build with it resumes', async () => {
    const db = join(dir, 'unregistered.db');
    sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(1), ports: [] });
    const engine = await Engine.open({
      db,
      ironic: { url: sim.url, retryIntervalMs: 10 },
      pollIntervalMs: 20,
    });
    const handle = engine.destroy({ instance: INSTANCE(1), vifs: [], waitForAvailable: true });
    await new Promise<void>((resolve) => {
      const off = handle.subscribe((p) => {
        if (p.state === 'unprovision.watching.cleaning') {
          off();
          resolve();
        }
      });
    });
    await engine.close({ deadlineMs: 50 });
    const N = lifecycles.destroy.version;
    // As if a build long gone (with a v1 since dropped) had recorded it.
    setVersion(db, handle.id, 1);

    const base = ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20'];
    const refused = await cli([...base, '--json', 'resume', handle.id]);
    const error = expectJsonError(
      refused,
      new RegExp(`recorded with teardown v1, which this build no longer registers \\(destroy: v${N}\\)`),
    );
    expect(error.code).toBe('RUN_VERSION_UNREGISTERED');
    expect(runRows(db).find((r) => r.id === handle.id)?.status).toBe('running');

    const replayed = json<{ matches: boolean; recordedVersion: number; registeredVersions: number[] }>(
      await cli(['--db', db, '--json', 'replay', handle.id]),
    );
    expect(replayed).toMatchObject({ recordedVersion: 1, machineVersion: N, registeredVersions: [N] });

    setVersion(db, handle.id, N);
    const resumed = await cli([...base, '--json', 'resume', handle.id]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(json<{ status: string }>(resumed).status).toBe('succeeded');
  });
});
