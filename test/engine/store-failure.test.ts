// The engine when its event store becomes unusable under it: the file deleted or truncated while
// runs wait. Every run stops at once as interrupted with the store's reason (none reports success
// into a file no one can read), nothing more is sent to Ironic for them, and no new run starts.
import { rmSync, statSync, truncateSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunHandle } from '../../src/engine/engine.js';
import type { Simulator } from '../../src/sim/index.js';
import { zeroMiddleEventsPage } from '../store/fixtures/damage.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  const w = world;
  world = undefined;
  if (!w) return;
  // The record is damaged on purpose: close without replaying it.
  await w.engine.close({ deadlineMs: 100 });
  await w.sim.close();
  rmSync(w.dir, { recursive: true, force: true });
});

function activeNode(sim: Simulator, i: number): string {
  return sim.addNode({
    provisionState: 'active',
    powerState: 'power on',
    instanceUuid: INSTANCE(i),
    instanceInfo: { image_source: 'http://img/x' },
    ports: [{ address: `52:54:00:00:03:${String(i).padStart(2, '0')}`, vifId: `vif-${i}` }],
  }).uuid;
}

function reach(handle: RunHandle, state: string): Promise<void> {
  return new Promise((resolve) => {
    const off = handle.subscribe((p) => {
      if (p.state.includes(state)) {
        off();
        resolve();
      }
    });
  });
}

/** Two teardowns waiting for their nodes to be cleaned (which lasts far longer than the test). */
async function twoWaitingTeardowns(w: World): Promise<RunHandle[]> {
  const handles = [1, 2].map((i) =>
    w.engine.destroy({
      instance: INSTANCE(i),
      node: activeNode(w.sim, i),
      vifs: [`vif-${i}`],
      waitForAvailable: true,
    }),
  );
  await Promise.all(handles.map((h) => reach(h, 'unprovision.watching')));
  return handles;
}

describe('engine: a store that becomes unusable under running runs', () => {
  it('interrupts every run when the database file is deleted, sends nothing more, and starts no new run', async () => {
    // A poll every 5 s: only the store's own check can notice the deletion in time.
    world = await makeWorld({ cleanMs: 60_000 }, { pollIntervalMs: 5000 });
    const w = world;
    const handles = await twoWaitingTeardowns(w);
    const deletedAt = Date.now();
    for (const f of [w.db, `${w.db}-wal`, `${w.db}-shm`]) rmSync(f, { force: true });
    const requestsBefore = w.sim.requests().length;

    const results = await Promise.all(handles.map((h) => h.done));
    expect(Date.now() - deletedAt).toBeLessThan(2000);
    for (const r of results) {
      expect(r.status).toBe('interrupted');
      expect(r.error).toMatchObject({
        code: 'RUN_INTERRUPTED',
        cause: 'STORE_FILE_GONE',
        state: expect.stringMatching(/^unprovision\.watching/),
      });
      expect(String(r.error?.message)).toContain(`${w.db} was deleted or moved`);
    }
    expect(w.engine.stats()).toMatchObject({ runsActive: 0, runsQueued: 0 });
    expect(() => w.engine.powerOff({ instance: INSTANCE(3) })).toThrow(
      expect.objectContaining({ code: 'STORE_FILE_GONE' }),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(w.sim.requests().length).toBe(requestsBefore);
  });

  it('interrupts every run when the database file is truncated, as STORE_CORRUPT', async () => {
    world = await makeWorld({ cleanMs: 60_000 }, { pollIntervalMs: 20 });
    const w = world;
    const handles = await twoWaitingTeardowns(w);
    // Once the checkpointer has folded the runs' first events into the file, cut it.
    while (statSync(w.db).size <= 16_384) await new Promise((r) => setTimeout(r, 10));
    truncateSync(w.db, 4096);
    const results = await Promise.all(handles.map((h) => h.done));
    for (const r of results) {
      expect(r.status).toBe('interrupted');
      expect(r.error).toMatchObject({ code: 'RUN_INTERRUPTED', cause: 'STORE_CORRUPT' });
      expect(String(r.error?.message)).toMatch(/was truncated from \d+ to 4096 bytes/);
    }
  });

  it('refuses to resume from a corrupt store, even when its runs table lists nothing unfinished', async () => {
    world = await makeWorld({}, {});
    const w = world;
    const done = await Promise.all(
      Array.from({ length: 12 }, (_, k) => k + 1).map(
        (i) => w.engine.destroy({ instance: INSTANCE(i), node: activeNode(w.sim, i), vifs: [] }).done,
      ),
    );
    expect(done.every((r) => r.status === 'succeeded')).toBe(true);
    await w.engine.close();
    zeroMiddleEventsPage(w.db);
    const engine = await w.reopen();
    expect(() => engine.resumeAll()).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
  });
});
