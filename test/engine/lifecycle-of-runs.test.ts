// What an embedding scheduler relies on around its runs: every handle settles (also when the
// engine closes or cannot record), locks are taken in the order commands are given and cover a
// node a teardown learns mid-run, and close() keeps its deadline and leaves nothing running.
import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IronicClient } from '../../src/ironic/client.js';
import type { RunHandle } from '../../src/engine/engine.js';
import { EventStore } from '../../src/store/event-store.js';
import type { Simulator } from '../../src/sim/index.js';
import { deployInput, INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function activeNode(sim: Simulator, i: number): string {
  return sim.addNode({
    provisionState: 'active',
    powerState: 'power on',
    instanceUuid: INSTANCE(i),
    instanceInfo: { image_source: 'http://img/x' },
    ports: [{ address: `52:54:00:00:01:${String(i).padStart(2, '0')}`, vifId: `vif-${i}` }],
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

describe('engine: every run handle settles', () => {
  it('settles the runs close() leaves unfinished as interrupted, and a new engine finishes them all', async () => {
    world = await makeWorld({ cleanMs: 400 }, { concurrency: 1, busy: 'wait' });
    const w = world;
    const n1 = activeNode(w.sim, 1);
    const n2 = activeNode(w.sim, 2);
    const waiting = w.engine.destroy({
      instance: INSTANCE(1),
      node: n1,
      vifs: ['vif-1'],
      waitForAvailable: true,
    });
    await reach(waiting, 'cleaning');
    const queued = w.engine.destroy({ instance: INSTANCE(2), node: n2, vifs: ['vif-2'] }); // behind concurrency 1
    const blocked = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'] }); // behind the busy instance
    expect(w.engine.stats()).toMatchObject({ runsActive: 1, runsQueued: 1 });

    await w.engine.close({ deadlineMs: 100 });
    const results = await Promise.all([waiting.done, queued.done, blocked.done]);
    expect(results.map((r) => [r.runId, r.status, r.error?.code])).toEqual([
      [waiting.id, 'interrupted', 'ENGINE_CLOSED'],
      [queued.id, 'interrupted', 'ENGINE_CLOSED'],
      [blocked.id, 'interrupted', 'ENGINE_CLOSED'],
    ]);
    expect(results[0]?.error?.state).toBe('unprovision.watching.cleaning');

    const engine = await w.reopen({ concurrency: 10 });
    const resumed = engine.resumeAll();
    expect(resumed.map((h) => h.id).sort()).toEqual([waiting.id, queued.id, blocked.id].sort());
    const finals = await Promise.all(resumed.map((h) => h.done));
    expect(finals.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('fails a run the store cannot create, sends Ironic nothing, and frees its slot and its node', async () => {
    world = await makeWorld({}, { concurrency: 1, busy: 'wait', maxDbPages: 64 });
    const w = world;
    const n1 = activeNode(w.sim, 1);
    const n2 = activeNode(w.sim, 2);
    // Far more than 64 pages of VIF ids: this run's creation and first step cannot be stored.
    const vifs = Array.from({ length: 12_000 }, (_, i) => `port-${String(i).padStart(30, '0')}`);
    const big = w.engine.destroy({ instance: INSTANCE(1), node: n1, vifs });
    const result = await big.done;
    // Not 'interrupted': there is no stored run to resume.
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'RUN_NOT_RECORDED', cause: 'STORE_DISK_FULL' },
    });
    // Only the client's version discovery when the engine opened.
    expect(w.sim.requests().map((r) => `${r.method} ${r.path}`)).toEqual(['GET /']);
    expect(() => w.engine.resume(big.id)).toThrow(expect.objectContaining({ code: 'RUN_NOT_FOUND' }));
    expect(w.engine.stats()).toMatchObject({ runsActive: 0, runsQueued: 0 });
    // Its concurrency slot and its node are free again: runs on both nodes go on.
    const other = await w.engine.destroy({ instance: INSTANCE(2), node: n2, vifs: ['vif-2'] }).done;
    const same = await w.engine.powerOff({ instance: INSTANCE(1) }).done;
    expect([other.status, same.status]).toEqual(['succeeded', 'succeeded']);
    expect(statSync(w.db).size).toBeLessThanOrEqual(64 * 4096);
  });

  it('keeps a run going when a listener of its progress throws', async () => {
    world = await makeWorld({}, { concurrency: 2 });
    const w = world;
    const n1 = activeNode(w.sim, 1);
    const n2 = activeNode(w.sim, 2);
    const onFinish = w.engine.destroy({ instance: INSTANCE(1), node: n1, vifs: ['vif-1'] });
    onFinish.subscribe((p) => {
      if (p.kind === 'finished') throw new Error('bug in the scheduler');
    });
    const onEvery = w.engine.destroy({ instance: INSTANCE(2), node: n2, vifs: ['vif-2'] });
    onEvery.subscribe(() => {
      throw new Error('bug in the scheduler');
    });
    const results = await Promise.all([onFinish.done, onEvery.done]);
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(w.engine.stats()).toMatchObject({ runsActive: 0, runsQueued: 0 });
    // The instance is free for the next command (a run still holding it would be refused).
    expect((await w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'] }).done).status).toBe(
      'succeeded',
    );
  });
});

describe('engine: one run at a time per node and instance', () => {
  it('runs a teardown given in the same tick as the deploy of its instance after that deploy', async () => {
    world = await makeWorld({ deployMs: 100 });
    const w = world;
    const node = w.sim.addNode({
      provisionState: 'available',
      ports: [{ address: '52:54:00:00:02:07' }],
    }).uuid;
    const deploy = w.engine.deploy(deployInput(7, node));
    const destroy = w.engine.destroy({ instance: INSTANCE(7), vifs: ['vif-7'] }); // no node: found by instance
    const order: string[] = [];
    void deploy.done.then((r) => order.push(`deploy ${r.status}`));
    void destroy.done.then((r) => order.push(`destroy ${r.status}`));
    await Promise.all([deploy.done, destroy.done]);
    expect(order[0]).toMatch(/^deploy /);
    expect(order[1]).toBe('destroy succeeded');
    // The instance is gone from the node; before, the teardown ran first and found nothing.
    expect(w.sim.node(node)?.instance_uuid ?? null).toBeNull();
    expect(w.sim.node(node)?.provision_state).not.toBe('active');
  });

  it('refuses a deploy to a node a teardown found by instance and is still tearing down', async () => {
    world = await makeWorld({ cleanMs: 300 });
    const w = world;
    const node = activeNode(w.sim, 1);
    const destroy = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'], waitForAvailable: true });
    await reach(destroy, 'cleaning');
    expect(() => w.engine.deploy(deployInput(8, node))).toThrow(
      expect.objectContaining({
        code: 'ENGINE_NODE_BUSY',
        facts: expect.objectContaining({ holder: destroy.id }),
      }),
    );
    expect((await destroy.done).status).toBe('succeeded');
  });

  it('makes a deploy to a node a teardown found by instance wait for it (busy: wait)', async () => {
    world = await makeWorld({ cleanMs: 300 }, { busy: 'wait' });
    const w = world;
    const node = activeNode(w.sim, 1);
    const destroy = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'], waitForAvailable: true });
    await reach(destroy, 'cleaning');
    const deploy = w.engine.deploy(deployInput(8, node));
    const destroyed = await destroy.done;
    expect(destroyed.status).toBe('succeeded');
    expect(deploy.state).toBe('created'); // it had not started while the node was cleaning
    const deployed = await deploy.done;
    expect(deployed.status).toBe('succeeded');
    expect(w.sim.node(node)).toMatchObject({ provision_state: 'active', instance_uuid: INSTANCE(8) });
  });
});

describe('engine: close()', () => {
  it('stops the watcher asking Ironic once closed, even while its request is being retried', async () => {
    world = await makeWorld({ cleanMs: 60_000 });
    const w = world;
    await w.engine.close();
    const client = await IronicClient.connect({ url: w.sim.url, retryIntervalMs: 50, maxRetries: 50 });
    try {
      const engine = await w.reopen({ ironic: { client } });
      const node = activeNode(w.sim, 1);
      const handle = engine.destroy({ instance: INSTANCE(1), node, vifs: ['vif-1'], waitForAvailable: true });
      await reach(handle, 'cleaning');
      w.sim.faults.add({ method: 'GET', path: '/v1/nodes/*', kind: '503', rate: 1 });
      await new Promise((r) => setTimeout(r, 100)); // a watcher GET is being retried
      await engine.close({ deadlineMs: 50 });
      w.sim.clearRequests();
      await new Promise((r) => setTimeout(r, 400)); // eight retry intervals
      expect(w.sim.requests()).toEqual([]);
      expect((await handle.done).status).toBe('interrupted');
    } finally {
      await client.close();
    }
  });

  it('keeps its deadline while a watcher request is slow, and the run resumes', async () => {
    world = await makeWorld({ cleanMs: 60_000 });
    const w = world;
    const node = activeNode(w.sim, 1);
    const handle = w.engine.destroy({ instance: INSTANCE(1), node, vifs: ['vif-1'], waitForAvailable: true });
    await reach(handle, 'cleaning');
    w.sim.faults.add({ method: 'GET', path: '/v1/nodes/*', kind: 'latency', rate: 1, latencyMs: 20_000 });
    await new Promise((r) => setTimeout(r, 100)); // a watcher GET is out
    await w.engine.close({ deadlineMs: 100 }); // before: waited for the 20 s answer
    expect((await handle.done).error?.code).toBe('ENGINE_CLOSED');
    const store = EventStore.open(w.db, { mode: 'reader' });
    expect(store.getRun(handle.id)?.status).toBe('running');
    store.close();
  }, 10_000);

  it('hands filtering hooks a signal that aborts on close, and answers a second close with the first', async () => {
    let signal: AbortSignal | undefined;
    let called!: () => void;
    const hookCalled = new Promise<void>((resolve) => (called = resolve));
    world = await makeWorld(
      {},
      {
        hooks: {
          teardownFiltering: (a) => {
            signal = a.signal;
            called();
            return new Promise(() => undefined); // never settles by itself
          },
        },
      },
    );
    const w = world;
    const node = activeNode(w.sim, 1);
    const handle = w.engine.destroy({ instance: INSTANCE(1), node, vifs: ['vif-1'] });
    await hookCalled;
    expect(signal?.aborted).toBe(false);
    const first = w.engine.close({ deadlineMs: 100 });
    const second = w.engine.close();
    expect(second).toBe(first);
    await first;
    expect(signal?.aborted).toBe(true);
    expect((await handle.done).status).toBe('interrupted');
    expect(() => w.engine.resumeAll()).toThrow(expect.objectContaining({ code: 'ENGINE_CLOSED' }));
  });

  it('reports a run whose last step the closing commit stored with its real status', async () => {
    // The effect answers from a timer due in the same pass as close()'s deadline.
    const D = 50;
    let started!: () => void;
    const effectStarted = new Promise<void>((resolve) => (started = resolve));
    world = await makeWorld(
      {},
      {
        effects: {
          lookupNode: () =>
            new Promise((_, reject) => {
              setTimeout(
                () => reject(Object.assign(new Error('no such instance'), { code: 'IRONIC_NOT_FOUND' })),
                D,
              );
              started();
            }),
        },
      },
    );
    const w = world;
    const handle = w.engine.destroy({ instance: INSTANCE(1), vifs: [] });
    await effectStarted;
    const closing = w.engine.close({ deadlineMs: D });
    const result = await handle.done;
    await closing;
    const store = EventStore.open(w.db, { mode: 'reader' });
    const stored = store.getRun(handle.id)?.status;
    store.close();
    expect(stored).not.toBe('running');
    expect(result.status).toBe(stored);
  });

  it('locks, on resume, the node a teardown found by instance rather than its stale hint', async () => {
    world = await makeWorld({ cleanMs: 5000 }, { pollIntervalMs: 300 });
    const w = world;
    const real = activeNode(w.sim, 1);
    const stale = w.sim.addNode({
      provisionState: 'available',
      ports: [{ address: '52:54:00:00:04:02' }],
    }).uuid;
    const handle = w.engine.destroy({
      instance: INSTANCE(1),
      node: stale,
      vifs: ['vif-1'],
      waitForAvailable: true,
    });
    await reach(handle, 'cleaning');
    await w.engine.close({ deadlineMs: 100 });
    const engine = await w.reopen({ pollIntervalMs: 300 });
    const [resumed] = engine.resumeAll();
    expect(resumed?.id).toBe(handle.id);
    // Before its first observation after the restart, the real node is already the run's.
    expect(() => engine.deploy(deployInput(8, real))).toThrow(
      expect.objectContaining({
        code: 'ENGINE_NODE_BUSY',
        facts: expect.objectContaining({ holder: handle.id }),
      }),
    );
  });

  it('watches many nodes node by node without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      world = await makeWorld({ cleanMs: 300 }, { listThreshold: 1000 });
      const w = world;
      const handles = Array.from({ length: 20 }, (_, i) => {
        const node = activeNode(w.sim, 10 + i);
        return w.engine.destroy({
          instance: INSTANCE(10 + i),
          node,
          vifs: [`vif-${10 + i}`],
          waitForAvailable: true,
        });
      });
      const results = await Promise.all(handles.map((h) => h.done));
      expect(results.every((r) => r.status === 'succeeded')).toBe(true);
      expect(w.engine.stats().watcher.getRequests).toBeGreaterThanOrEqual(20);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.filter((m) => m.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
