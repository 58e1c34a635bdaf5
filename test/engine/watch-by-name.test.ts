// Runs that name their node by its Ironic name, not its UUID, through the engine's node watcher:
// a few waiting runs are watched with one GET each, more than listThreshold with a list sweep.
// Both must find the node however the run named it.
import { afterEach, describe, expect, it } from 'vitest';
import { deployInput, INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const THRESHOLD = 16;

describe.each([
  // Long enough that more than the threshold wait at once even when a loaded machine spreads the
  // starts of the 21 deploys over a second or more (at 300 ms they did not, and no sweep came).
  { mode: 'list sweeps', deploys: THRESHOLD + 5, deployMs: 2500 },
  { mode: 'per-node GETs', deploys: 3, deployMs: 300 },
])('engine: deploys waiting for active, watched by $mode', ({ deploys, deployMs }) => {
  it.each(['name', 'uuid'] as const)('finishes every deploy whose node is given by %s', async (by) => {
    // The simulator's pre-enrolled nodes (node-0001, ...), deploys long enough that every run is
    // waiting at once, over several watcher ticks.
    world = await makeWorld({ nodes: deploys, deployMs }, { listThreshold: THRESHOLD });
    const w = world;
    const nodes = w.sim.nodeIds().map((uuid) => (by === 'name' ? w.sim.node(uuid)!.name! : uuid));
    expect(nodes[0]).toBe(by === 'name' ? 'node-0001' : w.sim.nodeIds()[0]);
    const results = await Promise.all(nodes.map((node, i) => w.engine.deploy(deployInput(i + 1, node)).done));
    expect(results.map((r) => ({ status: r.status, error: r.error?.code ?? null }))).toEqual(
      nodes.map(() => ({ status: 'succeeded', error: null })),
    );
    for (const [i, node] of nodes.entries()) {
      expect(w.sim.node(node)).toMatchObject({ provision_state: 'active', instance_uuid: INSTANCE(i + 1) });
    }
    const stats = w.engine.stats().watcher;
    if (deploys > THRESHOLD) expect(stats.listSweeps).toBeGreaterThan(0);
    else expect(stats.listSweeps).toBe(0);
  });
});
