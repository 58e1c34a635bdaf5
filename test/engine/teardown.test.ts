// A teardown through the whole stack: engine, machines, client over real HTTP, the
// simulator, and the SQLite store. Assertions are on what Ironic saw and what the log holds.
import { afterEach, describe, expect, it } from 'vitest';
import { buildTimeline } from '../../src/runlog/timeline.js';
import { lifecycles } from '../../src/machines/index.js';
import { EventStore } from '../../src/store/event-store.js';
import { replayRun } from '../../src/runlog/replay.js';
import type { StoredEvent } from '../../src/store/types.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function activeNode(w: World, i: number, vifs: string[]): string {
  const node = w.sim.addNode({
    provisionState: 'active',
    powerState: 'power on',
    instanceUuid: INSTANCE(i),
    instanceInfo: { image_source: 'http://img/x.qcow2' },
    ports: vifs.map((vifId, k) => ({ address: `52:54:00:00:0${i}:0${k}`, vifId })),
  });
  return node.uuid;
}

function readStream(w: World, runId: string): StoredEvent[] {
  const store = EventStore.open(w.db, { mode: 'reader' });
  try {
    return store.readStream(runId);
  } finally {
    store.close();
  }
}

describe('engine: teardown on the simulator', () => {
  it('detaches every VIF and stops filtering before requesting deleted, and the node ends cleaning (seed: destroy)', async () => {
    const filteringStoppedAt: number[] = [];
    world = await makeWorld({ cleanMs: 300 }, {});
    const w = world;
    await w.engine.close();
    await w.reopen({
      hooks: {
        teardownFiltering: async () => {
          filteringStoppedAt.push(w.sim.requests().length);
        },
      },
    });
    const node = activeNode(w, 1, ['vif-a', 'vif-b']);
    w.sim.clearRequests();

    const result = await w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-a', 'vif-b'] }).done;

    expect(result.status).toBe('succeeded');
    expect(result.node).toBe(node);
    const reqs = w.sim.requests().map((r) => `${r.method} ${r.path.split('?')[0]} ${r.status}`);
    const deleted = reqs.findIndex((r) => r.startsWith(`PUT /v1/nodes/${node}/states/provision`));
    expect(deleted).toBeGreaterThan(0);
    expect(reqs.indexOf(`DELETE /v1/nodes/${node}/vifs/vif-a 204`)).toBeLessThan(deleted);
    expect(reqs.indexOf(`DELETE /v1/nodes/${node}/vifs/vif-b 204`)).toBeLessThan(deleted);
    expect(filteringStoppedAt).toHaveLength(1);
    expect(filteringStoppedAt[0]).toBeLessThanOrEqual(deleted);
    expect(reqs.filter((r) => r.endsWith(' 409'))).toEqual([]);
    expect(['cleaning', 'available']).toContain(w.sim.node(node)?.provision_state);
  });

  it('records a gap-free stream whose offline replay matches, with effects between their start and result', async () => {
    world = await makeWorld();
    const w = world;
    activeNode(w, 2, ['vif-c']);
    const handle = w.engine.destroy({ instance: INSTANCE(2), vifs: ['vif-c'], waitForAvailable: true });
    const result = await handle.done;
    expect(result.status).toBe('succeeded');

    const events = readStream(w, handle.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.kind).toBe('run.started');
    expect(events.at(-1)?.kind).toBe('run.finished');
    const kinds = events.map((e) => e.kind);
    expect(kinds).toContain('http');
    // The PUT that asks for `deleted` is recorded inside the requestDeleted effect.
    const startedAt = events.findIndex((e) => e.kind === 'effect.started' && e.type === 'requestDeleted');
    const put = events.findIndex((e) => e.kind === 'http' && String(e.data.method) === 'PUT');
    const doneAt = events.findIndex((e) => e.kind === 'effect.succeeded' && e.type === 'requestDeleted');
    expect(startedAt).toBeLessThan(put);
    expect(put).toBeLessThan(doneAt);

    const replay = replayRun(lifecycles.destroy.machine, events);
    expect(replay.matches).toBe(true);
    expect(replay.finished).toBe(true);
    expect(replay.pendingEffects).toEqual([]);
    expect(replay.transitions.map((t) => t.to)).toContain('unprovision.watching.cleaning');
  });

  it('waits out cleaning with one observeNode effect: every tick is a node.observed event, and leaving the wait stops it', async () => {
    world = await makeWorld({ cleanMs: 300 });
    const w = world;
    activeNode(w, 4, ['vif-e']);
    const handle = w.engine.destroy({ instance: INSTANCE(4), vifs: ['vif-e'], waitForAvailable: true });
    expect((await handle.done).status).toBe('succeeded');

    const events = readStream(w, handle.id);
    const starts = events.filter((e) => e.kind === 'effect.started' && e.type === 'observeNode');
    expect(starts).toHaveLength(1);
    const reports = events.filter((e) => e.kind === 'machine.event' && e.type === 'node.observed');
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports.every((e) => e.data.actorId === 'observeNode')).toBe(true);
    // No result is recorded for it: the machine ended it, named in the transition that left the wait.
    expect(
      events.some(
        (e) => e.kind.startsWith('effect.') && e.kind !== 'effect.started' && e.type === 'observeNode',
      ),
    ).toBe(false);
    const leaving = events.filter((e) => e.kind === 'transition' && Array.isArray(e.data.stopped));
    expect(leaving.map((e) => [e.from?.startsWith('unprovision.watching.'), e.to, e.data.stopped])).toEqual([
      [true, 'succeeded', ['observeNode']],
    ]);
    const reported = reports.map(
      (e) => (e.data.event as { node: { provision_state: string } }).node.provision_state,
    );
    expect(reported.at(-1)).toBe('available');
    expect(replayRun(lifecycles.destroy.machine, events).matches).toBe(true);

    // What `show` tells an operator: one effect, stopped when the node was available, with its ticks.
    const store = EventStore.open(w.db, { mode: 'reader' });
    const timeline = buildTimeline(store.getRun(handle.id)!, events);
    store.close();
    const watches = timeline.states.flatMap((st) => st.effects).filter((e) => e.src === 'observeNode');
    expect(watches).toHaveLength(1);
    expect(watches[0]).toMatchObject({ outcome: 'stopped', observations: reports.length });
    expect(watches[0]?.observed).toMatch(/available/);
  });

  it('records every Ironic attempt, retries included, when the node is locked (seed: client wrapper retries 409)', async () => {
    world = await makeWorld();
    const w = world;
    const node = activeNode(w, 3, ['vif-d']);
    w.sim.faults.script({ method: 'DELETE', path: '/v1/nodes/*/vifs/*', node }, ['409-locked', '409-locked']);
    const handle = w.engine.destroy({ instance: INSTANCE(3), vifs: ['vif-d'] });
    const result = await handle.done;
    expect(result.status).toBe('succeeded');

    const http = readStream(w, handle.id).filter((e) => e.kind === 'http' && e.data.method === 'DELETE');
    expect(http.map((e) => [e.data.status, e.data.attempt, e.data.willRetry])).toEqual([
      [409, 1, true],
      [409, 2, true],
      [204, 3, false],
    ]);
    expect(http[0]?.data.errorCode).toBe('IRONIC_NODE_LOCKED');
    // The result counts every attempt the run itself sent: lookup, 3 detaches, deleted.
    const all = readStream(w, handle.id).filter((e) => e.kind === 'http');
    expect(result.requests).toBe(all.length);
    expect(result.requests).toBe(5);
  });

  it('fails past the time budget naming the state the node was stuck in and how long it waited (seed: _unprovision)', async () => {
    world = await makeWorld({ cleanMs: 5000 });
    const w = world;
    activeNode(w, 4, []);
    const result = await w.engine.destroy({
      instance: INSTANCE(4),
      vifs: [],
      waitForAvailable: true,
      timeoutS: 0.3,
    }).done;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('UNPROVISION_TIMEOUT');
    expect(String(result.error?.message)).toMatch(/after 0 s \(\d+ observations\)/);
    expect(String(result.error?.message)).toMatch(/cleaning|deleting/);
    expect(result.error?.state).toMatch(/cleaning|deleting/);
  });

  it('finishes with a warning when Ironic does not know the instance (seed: destroy)', async () => {
    world = await makeWorld();
    const result = await world.engine.destroy({ instance: INSTANCE(9), vifs: ['vif-x'] }).done;
    expect(result.status).toBe('succeeded');
    expect(result.warnings.join(' ')).toMatch(/unknown to Ironic/);
    expect(world.sim.requests().some((r) => r.method === 'DELETE' || r.method === 'PUT')).toBe(false);
  });

  it('refuses a second run for a busy node with ENGINE_NODE_BUSY, and busy: wait runs it after', async () => {
    world = await makeWorld({ cleanMs: 200 });
    const w = world;
    const node = activeNode(w, 5, []);
    const first = w.engine.destroy({ instance: INSTANCE(5), node, vifs: [] });
    expect(() => w.engine.destroy({ instance: INSTANCE(5), node, vifs: [] })).toThrowError(
      expect.objectContaining({ code: 'ENGINE_NODE_BUSY' }),
    );
    await first.done;

    await w.engine.close();
    await w.reopen({ busy: 'wait' });
    const node2 = activeNode(w, 6, []);
    const a = w.engine.destroy({ instance: INSTANCE(6), node: node2, vifs: [] });
    const b = w.engine.destroy({ instance: INSTANCE(6), node: node2, vifs: [] });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.status).toBe('succeeded');
    // The second finds the instance gone once the first has torn it down, or still cleaning.
    expect(rb.status).toBe('succeeded');
    const store = EventStore.open(w.db, { mode: 'reader' });
    const startedA = store.getRun(a.id)!;
    const startedB = store.getRun(b.id)!;
    store.close();
    expect(Date.parse(startedB.updatedAt)).toBeGreaterThanOrEqual(Date.parse(startedA.updatedAt));
  });

  it('serves many waiting runs with one paged list per tick instead of a GET per node', async () => {
    world = await makeWorld({ cleanMs: 400 }, { listThreshold: 4 });
    const w = world;
    const n = 12;
    for (let i = 0; i < n; i++) activeNode(w, 10 + i, []);
    const handles = Array.from({ length: n }, (_, i) =>
      w.engine.destroy({ instance: INSTANCE(10 + i), vifs: [], waitForAvailable: true }),
    );
    const results = await Promise.all(handles.map((h) => h.done));
    expect(results.every((r) => r.status === 'succeeded')).toBe(true);
    const stats = w.engine.stats().watcher;
    expect(stats.listSweeps).toBeGreaterThan(0);
    // Per-run polling would cost one request per observation; the watcher far fewer.
    expect(stats.getRequests + stats.listSweeps).toBeLessThan(stats.observations / 3);
    const lists = w.sim
      .requests()
      .filter((r) => r.method === 'GET' && r.path.startsWith('/v1/nodes?') && r.path.includes('fields='));
    // Lookups by instance also use /v1/nodes?instance_uuid=; the sweeps are the ones without it.
    const sweeps = lists.filter((r) => !r.path.includes('instance_uuid='));
    expect(sweeps.length).toBe(stats.listSweeps);
  });
});
