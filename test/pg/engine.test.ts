// The engine on a PostgreSQL store, against the simulator: deploy and destroy, the write-ahead
// rule (an effect's `started` is visible from another connection before its request reaches
// Ironic), and resume from the shared log. Needs PG_URL (npm run test:pg).
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { machines } from '../../src/machines/index.js';
import { replayRun } from '../../src/runlog/replay.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { openRunStore } from '../../src/store/run-store.js';
import { deployInput, INSTANCE } from '../engine/helpers.js';
import { freshPgUrl, PG_URL, pgMissing } from './backends.js';

const SIM = {
  deployMs: 50,
  deleteMs: 30,
  cleanMs: 150,
  powerMs: 30,
  seed: 1,
  networkInterface: 'flat' as const,
};

interface Seen {
  method: string;
  path: string;
  /** The effects that send such a request. */
  senders: string[];
  /** Effects whose `started` was committed, and their result not, when the request arrived. */
  open: string[];
}

/** Which effects send a request that changes Ironic (deploy and teardown machines). */
function sendersOf(method: string, path: string): string[] {
  if (method === 'PATCH' && /^\/v1\/nodes\/[^/]+$/.test(path))
    return ['addInstanceInfo', 'removeInstanceInfo'];
  if (method === 'POST' && /\/vifs$/.test(path)) return ['plugVifs'];
  if (method === 'DELETE' && /\/vifs\/[^/]+$/.test(path)) return ['unplugVifs'];
  if (method === 'PUT' && /\/states\/provision$/.test(path)) return ['requestActive', 'requestDeleted'];
  return [];
}

/**
 * The path to PostgreSQL made 25 ms slower each way (a server across a network): a commit the
 * engine did not wait for would still be on its way when the request reaches the simulator.
 */
async function slowLink(pgUrl: string, delayMs = 25): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(pgUrl);
  const sockets = new Set<Socket>();
  const server = createNetServer((inbound) => {
    const outbound = connect(Number(target.port || 5432), target.hostname);
    sockets.add(inbound);
    sockets.add(outbound);
    const pipeSlow = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => setTimeout(() => to.write(chunk), delayMs));
      from.on('close', () => setTimeout(() => to.destroy(), delayMs));
      from.on('error', () => undefined);
    };
    pipeSlow(inbound, outbound);
    pipeSlow(outbound, inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(pgUrl);
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A pass-through proxy in front of the simulator that, as each request that changes something
 * arrives and before it is forwarded, reads which effects are open (started, no result) in the
 * store, through a connection of its own.
 */
async function witness(
  target: string,
  url: string,
): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') as string;
  u.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: u.toString(), options: `-c search_path="${schema}"` });
  await client.connect();
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = (req.url ?? '').split('?')[0] as string;
        const senders = sendersOf(req.method ?? '', path);
        if (senders.length > 0) {
          const r = await client.query<{ src: string }>(
            `SELECT s.data::json->>'src' AS src FROM events s
              WHERE s.kind = 'effect.started' AND NOT EXISTS (
                SELECT 1 FROM events x WHERE x.run_no = s.run_no AND x.seq > s.seq
                   AND x.kind IN ('effect.succeeded', 'effect.failed')
                   AND x.data::json->>'actorId' = s.data::json->>'actorId')`,
          );
          seen.push({ method: req.method ?? '?', path, senders, open: r.rows.map((o) => o.src) });
        }
        const headers = { ...req.headers };
        delete headers.host;
        delete headers['content-length'];
        const body = Buffer.concat(chunks);
        const answer = await request(`${target}${req.url ?? ''}`, {
          method: (req.method ?? 'GET') as 'GET',
          headers,
          body: body.length > 0 ? body : null,
        });
        const text = Buffer.from(await answer.body.arrayBuffer());
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(answer.headers)) if (typeof v === 'string') out[k] = v;
        delete out['transfer-encoding'];
        delete out['content-length'];
        res.writeHead(answer.statusCode, out);
        res.end(text);
      })().catch((err: unknown) => {
        res.writeHead(502);
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await client.end();
    },
  };
}

if (!PG_URL) describe('engine on postgres', () => pgMissing());

describe.runIf(PG_URL)('engine on a PostgreSQL store', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function sim(): Promise<Simulator> {
    const s = await startSimulator(SIM);
    cleanups.push(() => s.close());
    return s;
  }
  async function replayAll(db: string): Promise<void> {
    const store = await openRunStore(db, { mode: 'reader' });
    try {
      for (const run of await store.listRuns()) {
        const events = await store.readStream(run.id);
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        const lifecycle = machines.get(run.op, run.machineVersion);
        expect(replayRun(lifecycle!.machine, events).divergence, `replay of ${run.id}`).toBeNull();
      }
    } finally {
      await store.close();
    }
  }

  it('deploys and destroys on the simulator; every effect.started is committed before its request', async () => {
    const s = await sim();
    const db = freshPgUrl();
    const proxy = await witness(s.url, db);
    cleanups.push(() => proxy.close());
    const link = await slowLink(db);
    cleanups.push(() => link.close());
    const node = s.addNode({ provisionState: 'available' }).uuid;
    const engine = await Engine.open({
      db: link.url,
      ironic: { url: proxy.url, retryIntervalMs: 10, maxRetries: 20 },
      pollIntervalMs: 20,
    });
    let deployed, destroyed;
    try {
      deployed = await engine.deploy(deployInput(1, node)).done;
      destroyed = await engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'] }).done;
    } finally {
      await engine.close();
    }
    // Each request that changes Ironic arrived with its effect's `started` already committed.
    expect(proxy.seen.filter((c) => !c.senders.some((src) => c.open.includes(src)))).toEqual([]);
    expect(deployed.status).toBe('succeeded');
    expect(destroyed.status).toBe('succeeded');
    expect(['cleaning', 'available']).toContain(s.node(node)?.provision_state);
    expect(proxy.seen.length).toBeGreaterThanOrEqual(4);
    const store = await openRunStore(db, { mode: 'reader' });
    try {
      const runs = await store.listRuns();
      expect(runs.map((r) => [r.op, r.status])).toEqual([
        ['destroy', 'succeeded'],
        ['deploy', 'succeeded'],
      ]);
    } finally {
      await store.close();
    }
    await replayAll(db);
  });

  it('refuses a second command for an instance another live engine drives, then resumes its run once that engine closes', async () => {
    const s = await sim();
    const db = freshPgUrl();
    const node = s.addNode({ provisionState: 'available' }).uuid;
    const opts = { db, ironic: { url: s.url, retryIntervalMs: 10, maxRetries: 20 }, pollIntervalMs: 20 };
    const first = await Engine.open(opts);
    const second = await Engine.open(opts);
    try {
      const h = first.deploy(deployInput(2, node));
      // Let the run be created and start waiting for `active`.
      for (let i = 0; i < 200 && first.stats().eventsAppended < 3; i++)
        await new Promise((r) => setTimeout(r, 10));
      const refused = await second.deploy(deployInput(2, node)).done;
      expect(refused.status).toBe('failed');
      expect(refused.error).toMatchObject({ code: 'RUN_NOT_RECORDED', cause: 'ENGINE_NODE_BUSY' });
      expect(() => second.resumeAll()).toThrow(expect.objectContaining({ code: 'ENGINE_STORE_ASYNC' }));
      await first.close({ deadlineMs: 0 });
      expect((await h.done).status).toBe('interrupted');
      const [resumed] = await second.resumeAllRuns();
      expect(resumed?.id).toBe(h.id);
      expect((await resumed!.done).status).toBe('succeeded');
    } finally {
      await first.close();
      await second.close();
    }
    await replayAll(db);
  });

  it('refuses a command for an instance with an unfinished run, and supersedes it when asked', async () => {
    const s = await sim();
    const db = freshPgUrl();
    const node = s.addNode({ provisionState: 'available' }).uuid;
    const opts = { db, ironic: { url: s.url, retryIntervalMs: 10, maxRetries: 20 }, pollIntervalMs: 20 };
    const first = await Engine.open(opts);
    const h = first.deploy(deployInput(3, node));
    for (let i = 0; i < 200 && first.stats().eventsAppended < 3; i++)
      await new Promise((r) => setTimeout(r, 10));
    await first.close({ deadlineMs: 0 });
    expect((await h.done).status).toBe('interrupted');
    const second = await Engine.open(opts);
    try {
      const refused = await second.destroy({ instance: INSTANCE(3), vifs: ['vif-3'] }).done;
      expect(refused.status).toBe('failed');
      expect(refused.error).toMatchObject({ code: 'RUN_NOT_RECORDED', cause: 'ENGINE_UNFINISHED_RUN' });
      const replaced = await second.destroy({ instance: INSTANCE(3), vifs: ['vif-3'] }, { supersede: true })
        .done;
      expect(replaced.status).toBe('succeeded');
    } finally {
      await second.close();
    }
    const store = await openRunStore(db, { mode: 'reader' });
    try {
      const old = await store.getRun(h.id);
      expect(old).toMatchObject({ status: 'cancelled', error: { code: 'RUN_SUPERSEDED' } });
      // The refused command left nothing in the store.
      expect((await store.listRuns()).map((r) => r.op)).toEqual(['destroy', 'deploy']);
    } finally {
      await store.close();
    }
    await replayAll(db);
  });
});
