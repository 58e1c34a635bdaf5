// Runs against an Ironic behind Keystone (the simulator's): tokens that expire while runs wait,
// credentials refused mid-run, Keystone down mid-wait. The store, engine, client and HTTP are real.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { IronicClientOptions } from '../../src/ironic/client.js';
import { renderTimeline } from '../../src/cli/render.js';
import { buildTimeline } from '../../src/runlog/timeline.js';
import { EventStore } from '../../src/store/event-store.js';
import type { StoredEvent } from '../../src/store/types.js';
import { startSimulator, type SimKeystoneOptions, type Simulator } from '../../src/sim/index.js';
import { deployInput, INSTANCE, replayEveryRun } from './helpers.js';

const PASSWORD = 'engine-test-password-kiwi';
const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

interface Cloud {
  sim: Simulator;
  db: string;
  open(extra?: Partial<EngineOptions>): Promise<Engine>;
}

async function cloud(
  simExtra: { cleanMs?: number; deployMs?: number; maxConcurrentClean?: number },
  keystone: Partial<SimKeystoneOptions> = {},
): Promise<Cloud> {
  const sim = await startSimulator({
    deployMs: 50,
    deleteMs: 30,
    cleanMs: 150,
    seed: 1,
    ...simExtra,
    keystone: { users: [{ name: 'admin', password: PASSWORD, project: 'admin' }], ...keystone },
  });
  const dir = mkdtempSync(join(tmpdir(), 'ironledger-keystone-'));
  const db = join(dir, 'runs.db');
  const engines: Engine[] = [];
  open.push(async () => {
    for (const e of engines) await e.close({ deadlineMs: 100 });
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ironic: IronicClientOptions = {
    auth: {
      type: 'password',
      authUrl: `${sim.url}/v3`,
      user: { username: 'admin', userDomainName: 'Default' },
      password: PASSWORD,
      project: { projectName: 'admin', projectDomainName: 'Default' },
    },
    retryIntervalMs: 10,
    maxRetries: 5,
  };
  return {
    sim,
    db,
    async open(extra = {}) {
      const engine = await Engine.open({ db, ironic, pollIntervalMs: 50, concurrency: 1000, ...extra });
      engines.push(engine);
      return engine;
    },
  };
}

function stream(db: string, runId: string): StoredEvent[] {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    return store.readStream(runId);
  } finally {
    store.close();
  }
}

function activeNodes(sim: Simulator, n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) =>
      sim.addNode({
        provisionState: 'active',
        powerState: 'power on',
        instanceUuid: INSTANCE(i + 1),
        instanceInfo: { image_source: 'http://img/x.qcow2' },
      }).uuid,
  );
}

describe('engine behind Keystone', () => {
  it('200 teardowns waiting across four token lifetimes all succeed; one renewal serves them all', async () => {
    // All 200 clean at once (Ironic's default limit of 50 would stretch the waits this test times).
    const c = await cloud({ cleanMs: 3000, maxConcurrentClean: 200 }, { tokenLifetimeMs: 1200 });
    activeNodes(c.sim, 200);
    const engine = await c.open();
    const started = Date.now();
    const results = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => engine.destroy({ instance: INSTANCE(i + 1), vifs: [], waitForAvailable: true }).done,
      ),
    );
    const elapsedMs = Date.now() - started;
    expect(results.filter((r) => r.status !== 'succeeded')).toEqual([]);
    const ks = c.sim.keystone!.stats;
    // Renewed at half the 1.2 s lifetime over the runs (~3 s quiet, longer on a loaded machine):
    // one token per 0.6 s of the test for everyone, and a few more for the 401s' single flights —
    // not one per run or per poll (200 x polls).
    expect(ks.tokenRequests).toBeGreaterThanOrEqual(3);
    expect(ks.tokenRequests).toBeLessThanOrEqual(Math.ceil(elapsedMs / 600) + 5);
    expect(ks.unauthorized).toBe(0);
    // A waiting run's log shows the re-authentications its wait depended on (the watcher's sweep
    // asked for them): a POST /v3/auth/tokens between the start of its wait and its end.
    // Neither the password nor any token reaches the store: the bytes of the file and its WAL.
    const tokens = c.sim.keystone!.issuedTokens();
    expect(tokens.length).toBeGreaterThan(2);
    const bytes = [c.db, `${c.db}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    for (const secret of [PASSWORD, ...tokens]) expect(bytes.includes(secret)).toBe(false);
    const renewedWhileWaiting = results.filter((r) => {
      const events = stream(c.db, r.runId);
      const waitFrom = events.findIndex((e) => e.kind === 'effect.started' && e.type === 'observeNode');
      return events
        .slice(waitFrom)
        .some(
          (e) =>
            e.kind === 'http' &&
            e.data.service === 'keystone' &&
            e.data.authReason === 'expiring' &&
            e.data.status === 201,
        );
    });
    // `show` labels them and counts them apart from Ironic's requests.
    const store = EventStore.open(c.db, { mode: 'reader' });
    try {
      const id = renewedWhileWaiting[0]!.runId;
      const timeline = buildTimeline(store.getRun(id)!, store.readStream(id));
      expect(timeline.reauthentications).toBeGreaterThanOrEqual(1);
      const shown = renderTimeline(timeline);
      expect(shown).toMatch(/POST \/v3\/auth\/tokens {2}201 .*Keystone token \(renewed before expiry\)/);
      expect(shown).toMatch(/\d+ Keystone token requests/);
    } finally {
      store.close();
    }
    // Runs that were waiting when the watcher's sweep renewed the token: every one of them.
    expect(renewedWhileWaiting.length).toBeGreaterThan(150);
    replayEveryRun(c.db);
  });

  it('credentials refused mid-wait: the run stops interrupted (KEYSTONE_UNAUTHORIZED), and resume finishes it once they work', async () => {
    const c = await cloud({ deployMs: 1500 });
    const node = c.sim.addNode({}).uuid;
    const engine = await c.open();
    const run = engine.deploy(deployInput(1, node));
    await new Promise((r) => setTimeout(r, 300));
    const ks = c.sim.keystone!;
    const users = (ks as unknown as { opts: SimKeystoneOptions }).opts;
    const saved = users.users;
    users.users = [];
    ks.revokeAll();
    const result = await run.done;
    expect(result.status).toBe('interrupted');
    expect(result.error).toMatchObject({ code: 'KEYSTONE_UNAUTHORIZED' });
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
    const note = stream(c.db, run.id).find(
      (e) => e.kind === 'note' && e.data.code === 'KEYSTONE_UNAUTHORIZED',
    );
    expect(String(note?.data.message)).toContain(`ironledger resume ${run.id}`);
    // Nothing was recorded as the node's failure: no effect.failed, no run.finished.
    expect(stream(c.db, run.id).some((e) => e.kind === 'effect.failed' || e.kind === 'run.finished')).toBe(
      false,
    );
    await engine.close();

    users.users = saved;
    const again = await c.open();
    const done = await again.resume(run.id).done;
    expect(done.status).toBe('succeeded');
    expect(c.sim.node(node)).toMatchObject({ provision_state: 'active', instance_uuid: INSTANCE(1) });
    replayEveryRun(c.db);
  });

  it('Keystone down mid-wait: the run stops interrupted (KEYSTONE_UNAVAILABLE) and finishes on resume once it is back', async () => {
    const c = await cloud({ cleanMs: 1500 });
    const [node] = activeNodes(c.sim, 1);
    const engine = await c.open();
    const run = engine.destroy({ instance: INSTANCE(1), vifs: [], waitForAvailable: true });
    await new Promise((r) => setTimeout(r, 400));
    c.sim.keystone!.down = true;
    const result = await run.done;
    expect(result.status).toBe('interrupted');
    expect(result.error).toMatchObject({ code: 'KEYSTONE_UNAVAILABLE' });
    await engine.close();

    c.sim.keystone!.down = false;
    const again = await c.open();
    const done = await again.resume(run.id).done;
    expect(done.status).toBe('succeeded');
    expect(c.sim.node(node!)).toMatchObject({ provision_state: 'available', instance_uuid: null });
  });

  it('the library takes the cloud as clouds.yaml holds it: inline, or by name from the file', async () => {
    const c = await cloud({});
    const node = c.sim.addNode({}).uuid;
    const inline = {
      auth_type: 'password',
      auth: {
        auth_url: `${c.sim.url}/v3`,
        username: 'admin',
        password: PASSWORD,
        project_name: 'admin',
        user_domain_name: 'Default',
        project_domain_name: 'Default',
      },
    };
    const first = await Engine.open({
      db: c.db,
      ironic: { cloud: inline, retryIntervalMs: 10 },
      pollIntervalMs: 50,
    });
    const deployed = await first.deploy(deployInput(1, node)).done;
    await first.close();
    expect(deployed.status).toBe('succeeded');

    const dir = mkdtempSync(join(tmpdir(), 'ironledger-clouds-'));
    const file = join(dir, 'clouds.yaml');
    writeFileSync(file, JSON.stringify({ clouds: { lab: inline } }));
    const saved = process.env.OS_CLIENT_CONFIG_FILE;
    process.env.OS_CLIENT_CONFIG_FILE = file;
    try {
      const second = await Engine.open({
        db: c.db,
        ironic: { cloud: 'lab', retryIntervalMs: 10 },
        pollIntervalMs: 50,
      });
      const destroyed = await second.destroy({ instance: INSTANCE(1), vifs: [] }).done;
      await second.close();
      expect(destroyed.status).toBe('succeeded');
    } finally {
      if (saved === undefined) delete process.env.OS_CLIENT_CONFIG_FILE;
      else process.env.OS_CLIENT_CONFIG_FILE = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a token renewed mid-run and echoed back by Ironic is kept out of the record', async () => {
    const c = await cloud({ deployMs: 1500 }, { tokenLifetimeMs: 600 });
    const node = c.sim.addNode({}).uuid;
    const engine = await c.open();
    await new Promise((r) => setTimeout(r, 700));
    const run = engine.deploy(deployInput(1, node));
    // The deploy's first request renewed the token; Ironic's last_error then quotes the new one.
    await new Promise((r) => setTimeout(r, 300));
    const tokens = c.sim.keystone!.issuedTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    const renewed = tokens[tokens.length - 1]!;
    c.sim.failNextDeploy(node, `deploy failed for token ${renewed}`);
    const result = await run.done;
    expect(result.status).toBe('failed');
    expect(JSON.stringify(result)).not.toContain(renewed);
    const bytes = [c.db, `${c.db}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    expect(bytes).toContain('deploy failed for token');
    expect(bytes).not.toContain(renewed);
  });
});
