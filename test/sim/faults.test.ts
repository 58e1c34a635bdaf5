import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring } from './helpers.js';

let sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

async function start(seed: number): Promise<Simulator> {
  const sim = await startSimulator({ seed, nodes: 3 });
  sims.push(sim);
  return sim;
}

async function statuses(sim: Simulator, n: number): Promise<number[]> {
  const [id] = sim.nodeIds();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await call(sim, 'GET', `/v1/nodes/${id}`)).status);
  return out;
}

describe('fault injection', () => {
  it('injects the same faults for the same seed and request order', async () => {
    const a = await start(42);
    const b = await start(42);
    const c = await start(7);
    for (const s of [a, b, c]) s.faults.add({ method: 'GET', path: '/v1/nodes/*', rate: 0.5, kind: '503' });
    const [ra, rb, rc] = [await statuses(a, 30), await statuses(b, 30), await statuses(c, 30)];
    expect(ra).toEqual(rb);
    expect(ra).not.toEqual(rc);
    expect(ra.filter((s) => s === 503).length).toBe(a.faults.counts()['503']);
    expect(ra.some((s) => s === 200) && ra.some((s) => s === 503)).toBe(true);
  });

  it('generates the same node UUIDs under the same seed', async () => {
    const a = await start(3);
    const b = await start(3);
    expect(a.nodeIds()).toEqual(b.nodeIds());
  });

  it('plays a script per node: 409 NodeLocked, pass, 503, then nothing', async () => {
    const sim = await start(1);
    const [id, other] = sim.nodeIds();
    sim.faults.script({ node: id, path: '/v1/nodes/*/vifs' }, ['409-locked', 'pass', '503']);
    const r1 = await call(sim, 'POST', `/v1/nodes/${id}/vifs`, { id: 'v1' });
    expect(r1.status).toBe(409);
    expect(faultstring(r1)).toBe(
      `Node ${id} is locked by host localhost, please retry after the current operation is completed.`,
    );
    expect((await call(sim, 'POST', `/v1/nodes/${other}/vifs`, { id: 'v1' })).status).toBe(204);
    expect((await call(sim, 'POST', `/v1/nodes/${id}/vifs`, { id: 'v1' })).status).toBe(204);
    const r3 = await call(sim, 'GET', `/v1/nodes/${id}/vifs`);
    expect(r3.status).toBe(503);
    expect(faultstring(r3)).toBe(
      'Requested action cannot be performed due to lack of free conductor workers.',
    );
    expect((await call(sim, 'GET', `/v1/nodes/${id}/vifs`)).status).toBe(200);
    expect(sim.faults.counts()).toEqual({ '409-locked': 1, '503': 1, reset: 0, latency: 0 });
  });

  it('resets the connection and logs it with status 0', async () => {
    const sim = await start(1);
    sim.faults.add({ method: 'PUT', kind: 'reset', times: 1 });
    const [id] = sim.nodeIds();
    await expect(call(sim, 'PUT', `/v1/nodes/${id}/states/power`, { target: 'power on' })).rejects.toThrow();
    expect(sim.node(id!)?.target_power_state).toBeNull();
    expect(sim.requests().at(-1)).toMatchObject({ method: 'PUT', status: 0, fault: 'reset', node: id });
    expect((await call(sim, 'PUT', `/v1/nodes/${id}/states/power`, { target: 'power on' })).status).toBe(202);
  });

  it('adds latency and then answers normally', async () => {
    const sim = await start(1);
    sim.faults.script({ path: '/v1/nodes' }, [{ kind: 'latency', ms: 120 }]);
    const t = Date.now();
    const r = await call(sim, 'GET', '/v1/nodes');
    expect(r.status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(110);
    expect(sim.requests().at(-1)?.ms).toBeGreaterThanOrEqual(110);
  });
});

describe('request log', () => {
  it('records method, path, status, time and node in order', async () => {
    const sim = await start(1);
    const [id] = sim.nodeIds();
    sim.clearRequests();
    await call(sim, 'GET', `/v1/nodes/${id}?fields=uuid`);
    await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'deleted' });
    await call(sim, 'GET', '/v1/nodes/nope');
    const log = sim.requests();
    expect(log.map((e) => [e.method, e.path, e.status, e.node])).toEqual([
      ['GET', `/v1/nodes/${id}?fields=uuid`, 200, id],
      ['PUT', `/v1/nodes/${id}/states/provision`, 400, id],
      ['GET', '/v1/nodes/nope', 404, undefined],
    ]);
    expect(Date.parse(log[0]!.at)).toBeLessThanOrEqual(Date.parse(log[2]!.at));
    expect(sim.stats().byRoute['PUT /v1/nodes/{node}/states/provision']).toBe(1);
  });

  it('keeps only the newest entries past its capacity', async () => {
    const sim = await startSimulator({ logCapacity: 2 });
    sims.push(sim);
    for (const p of ['/v1', '/v1/nodes', '/v1/ports']) await call(sim, 'GET', p);
    expect(sim.requests().map((e) => e.path)).toEqual(['/v1/nodes', '/v1/ports']);
    expect(sim.stats().requests).toBe(3);
  });
});
