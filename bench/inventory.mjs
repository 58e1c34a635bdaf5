// How long does one inventory refresh of 10,000 nodes take against the simulator, and how
// many HTTP requests does it make? Run after `npm run build`:
//   node bench/inventory.mjs [--nodes 10000] [--runs 5]
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startSimulator } from '../dist/sim/index.js';
import { IronicClient } from '../dist/ironic/client.js';
import { Inventory } from '../dist/inventory/inventory.js';
import { benchArgs } from './args.mjs';

const args = benchArgs('usage: npm run build && node bench/inventory.mjs [--nodes 10000] [--runs 5]', {
  nodes: { kind: 'int', default: 10_000, min: 1 },
  runs: { kind: 'int', default: 5, min: 1 },
});
const nodeCount = args.nodes;
const runs = args.runs;
const hosts = ['scheduler-a', 'scheduler-b', 'scheduler-c'];

// A realistic fleet: every node with sizes and capabilities, one in ten deployed.
const properties = {
  cpus: 32,
  memory_mb: 131072,
  local_gb: 960,
  cpu_arch: 'x86_64',
  capabilities: 'boot_mode:uefi',
};
const startedAt = performance.now();
const sim = await startSimulator({ nodes: 0 });
for (let i = 0; i < nodeCount; i++) {
  sim.addNode(
    i % 10 === 0
      ? {
          properties,
          provisionState: 'active',
          powerState: 'power on',
          instanceUuid: randomUUID(),
          instanceInfo: { vcpus: 32, memory_mb: 131072, local_gb: 960 },
        }
      : { properties },
  );
}
const simMs = performance.now() - startedAt;

let requests = 0;
let warnings = 0;
const client = await IronicClient.connect({ url: sim.url, observer: () => requests++ });
const inventory = new Inventory({
  ironic: client,
  host: 'scheduler-a',
  liveHosts: () => hosts,
  managedInstances: () => new Set(),
  warn: () => warnings++,
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => ms.toFixed(1);

console.log(`simulator: ${nodeCount} nodes enrolled in ${fmt(simMs)} ms`);
const times = [];
for (let i = 0; i < runs; i++) {
  requests = 0;
  sim.clearRequests();
  const t0 = performance.now();
  await inventory.refresh();
  const ms = performance.now() - t0;
  times.push(ms);
  // The simulator's own time per request (arrival to response end) separates its cost from ours.
  const serverMs = sim.requests().reduce((sum, r) => sum + r.ms, 0);
  console.log(
    `refresh ${i + 1}: ${requests} requests, ${fmt(ms)} ms (simulator busy ${fmt(serverMs)} ms of it)`,
  );
}
const owned = (await inventory.availableNodes()).length;
console.log(
  `refresh of ${nodeCount} nodes: median ${fmt(median(times))} ms, min ${fmt(Math.min(...times))} ms, ` +
    `max ${fmt(Math.max(...times))} ms over ${runs} runs; scheduler-a of ${hosts.length} owns ${owned}`,
);

requests = 0;
const t1 = performance.now();
const rows = await inventory.nodes();
console.log(
  `nodes() with resources for ${rows.length} nodes from cache: ${requests} requests, ` +
    `${fmt(performance.now() - t1)} ms, ${warnings} warnings`,
);

requests = 0;
const t2 = performance.now();
const instanceUuids = await inventory.listInstanceUuids();
console.log(
  `listInstanceUuids (${instanceUuids.length}): ${requests} requests, ${fmt(performance.now() - t2)} ms`,
);

await client.close();
await sim.close();
