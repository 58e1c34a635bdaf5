import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call } from './helpers.js';

const started: Simulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

async function start(opts: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
  const sim = await startSimulator(opts);
  started.push(sim);
  return sim;
}

async function listedProperties(sim: Simulator): Promise<Record<string, unknown>[]> {
  const r = await call(sim, 'GET', '/v1/nodes/detail');
  return (r.json as { nodes: { properties: Record<string, unknown> }[] }).nodes.map((n) => n.properties);
}

describe('pre-enrolled node hardware', () => {
  it('reports the properties of an inspected x86_64 server on every pre-enrolled node', async () => {
    const sim = await start({ nodes: 20, seed: 3 });
    const props = await listedProperties(sim);
    expect(props).toHaveLength(20);
    for (const p of props) {
      expect(p.cpu_arch).toBe('x86_64');
      expect(p.cpus).toBeGreaterThan(0);
      expect(p.memory_mb).toBeGreaterThanOrEqual(1024 * (p.cpus as number));
      expect(p.local_gb).toBeGreaterThan(0);
      expect(String(p.capabilities).split(',')).toContain('boot_mode:uefi');
    }
    expect(new Set(props.map((p) => p.cpus)).size, 'a rack mixes a few server models').toBeGreaterThan(1);
  });

  it('draws the same hardware for the same seed', async () => {
    const [a, b] = await Promise.all([start({ nodes: 12, seed: 9 }), start({ nodes: 12, seed: 9 })]);
    expect(await listedProperties(a)).toEqual(await listedProperties(b));
  });

  it('draws hardware without shifting the UUIDs the seed gives to nodes and ports', async () => {
    const [pre, added] = await Promise.all([start({ nodes: 3, seed: 4 }), start({ seed: 4 })]);
    for (let i = 0; i < 3; i++) added.addNode({});
    expect(pre.nodeIds()).toEqual(added.nodeIds());
  });

  it('names pre-enrolled nodes node-0001, node-0002, ..., lists the names and resolves them', async () => {
    const sim = await start({ nodes: 3 });
    const list = await call(sim, 'GET', '/v1/nodes?fields=uuid,name');
    const nodes = (list.json as { nodes: { uuid: string; name: string | null }[] }).nodes;
    expect(nodes.map((n) => n.name)).toEqual(['node-0001', 'node-0002', 'node-0003']);
    const byName = await call(sim, 'GET', '/v1/nodes/node-0002?fields=uuid');
    expect((byName.json as { uuid: string }).uuid).toBe(nodes[1]!.uuid);
    // A node a client POSTs keeps the name it was given, or none.
    const posted = await call(sim, 'POST', '/v1/nodes', { driver: 'fake-hardware' });
    expect((posted.json as { name: unknown }).name).toBeNull();
  });

  it('keeps exactly the properties a client POSTs, as Ironic does', async () => {
    const sim = await start({ nodes: 1 });
    const sent = { cpus: 2, cpu_arch: 'aarch64' };
    const withProps = await call(sim, 'POST', '/v1/nodes', { driver: 'fake-hardware', properties: sent });
    expect((withProps.json as { properties: unknown }).properties).toEqual(sent);
    const bare = await call(sim, 'POST', '/v1/nodes', { driver: 'fake-hardware' });
    expect((bare.json as { properties: unknown }).properties).toEqual({});
  });
});
