// Resume: a run left unfinished by a closed (or dead) engine continues from its stream.
import { readFileSync, existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { EventStore } from '../../src/store/event-store.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('engine: resume and secrets', () => {
  it('resumes a teardown closed while it waited out cleaning, without asking for deleted twice', async () => {
    world = await makeWorld({ cleanMs: 600 });
    const w = world;
    const node = w.sim.addNode({
      provisionState: 'active',
      instanceUuid: INSTANCE(1),
      ports: [{ address: '52:54:00:00:00:01', vifId: 'vif-1' }],
    }).uuid;
    const handle = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'], waitForAvailable: true });
    await new Promise<void>((resolve) => {
      const off = handle.subscribe((p) => {
        if (p.state === 'unprovision.watching.cleaning') {
          off();
          resolve();
        }
      });
    });
    await w.engine.close({ deadlineMs: 50 });
    const mid = EventStore.open(w.db, { mode: 'reader' });
    expect(mid.getRun(handle.id)?.status).toBe('running');
    mid.close();

    const engine = await w.reopen();
    const [resumed] = engine.resumeAll();
    expect(resumed?.id).toBe(handle.id);
    const result = await resumed!.done;

    expect(result.status).toBe('succeeded');
    expect(w.sim.node(node)?.provision_state).toBe('available');
    const puts = w.sim.requests().filter((r) => r.method === 'PUT' && r.path.endsWith('/states/provision'));
    expect(puts).toHaveLength(1);
    const store = EventStore.open(w.db, { mode: 'reader' });
    const events = store.readStream(handle.id);
    store.close();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.some((e) => e.kind === 'note' && e.type === 'resume')).toBe(true);
  });

  it('keeps the admin password, user data and token out of the database file and the logs (seed: spawn config drive)', async () => {
    const secrets = ['s3cret-Admin-Pa55', 'USERDATA-4b0f9e-marker', 'tok-9d1c6a7e-secret'];
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    world = await makeWorld({}, {});
    const w = world;
    await w.engine.close();
    await w.reopen({
      logger: pino({ level: 'trace' }, sink),
      ironic: { url: w.sim.url, auth: { type: 'token', token: secrets[2]! }, retryIntervalMs: 10 },
    });
    const node = w.sim.addNode({
      provisionState: 'available',
      ports: [{ address: '52:54:00:00:00:09' }],
    }).uuid;
    const result = await w.engine.deploy(
      {
        instance: INSTANCE(7),
        node,
        vifs: [{ id: 'vif-7' }],
        image: { source: 'http://img/x.qcow2' },
        flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
        configDrivePlan: { required: true, hasAdminPassword: true, hasUserData: true, injectedFiles: 0 },
      },
      { adminPassword: secrets[0], userData: secrets[1] },
    ).done;
    expect(result.status).toBe('succeeded');
    expect(w.sim.node(node)?.provision_state).toBe('active');
    await w.engine.close();

    const bytes = [w.db, `${w.db}-wal`]
      .filter(existsSync)
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    expect(bytes.length).toBeGreaterThan(0);
    const logs = lines.join('');
    expect(logs).toContain('run finished');
    for (const s of secrets) {
      expect(bytes.includes(s), `database holds ${s}`).toBe(false);
      expect(logs.includes(s), `logs hold ${s}`).toBe(false);
    }
  });
});

describe('engine: a teardown preempts a deploy of the same instance', () => {
  it('aborts the deploy waiting for active and tears the instance down after it (seed: _wait_for_active)', async () => {
    world = await makeWorld({ deployMs: 800, cleanMs: 100 });
    const w = world;
    // Ironic holds the node while deploying: the teardown's VIF detach is retried until it lets go.
    await w.engine.close();
    await w.reopen({ ironic: { url: w.sim.url, retryIntervalMs: 10, maxRetries: 500 } });
    const node = w.sim.addNode({
      provisionState: 'available',
      ports: [{ address: '52:54:00:00:00:31' }],
    }).uuid;
    const deploy = w.engine.deploy({
      instance: INSTANCE(31),
      node,
      vifs: [{ id: 'vif-31' }],
      image: { source: 'http://img/x.qcow2' },
      flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
      configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
    });
    await new Promise<void>((resolve) => {
      const off = deploy.subscribe((p) => {
        if (p.state.startsWith('waitActive')) {
          off();
          resolve();
        }
      });
    });

    const destroy = w.engine.destroy({
      instance: INSTANCE(31),
      vifs: ['vif-31'],
      waitForAvailable: true,
    });
    const [d, t] = await Promise.all([deploy.done, destroy.done]);

    expect(d.status).toBe('failed');
    expect(d.error?.code).toBe('DEPLOY_ABORTED');
    expect(String(d.error?.message)).toMatch(/being destroyed/);
    expect(t.status, JSON.stringify(t.error)).toBe('succeeded');
    expect(w.sim.node(node)?.provision_state).toBe('available');
    expect(w.sim.node(node)?.instance_uuid).toBeNull();
  });
});
