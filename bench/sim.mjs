// Simulator benchmark: `npm run build && node bench/sim.mjs [--nodes N] [--concurrency C] [--deploy-ms MS]`
//
// Starts the simulator in a child process with 10,000 pre-enrolled nodes (so the load
// generator does not share its event loop) and prints, on this machine:
//   GET /v1/nodes/{uuid} requests/s, list pages/s (limit=1000 with fields=, and /detail limit=100),
//   PUT .../states/provision requests/s, how long 10,000 concurrent deploys take to all
//   reach active, and the simulator's memory. Each rate is given per wall second and per CPU
//   second of the simulator process (the machine is shared; the second number is what the
//   simulator itself costs). Numbers only; no assertions.
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';
import { Pool } from 'undici';

const args = benchArgs(
  'usage: npm run build && node bench/sim.mjs [--nodes 10000] [--concurrency 32] [--deploy-ms 1000]',
  {
    nodes: { kind: 'int', default: 10_000, min: 1 },
    concurrency: { kind: 'int', default: 32, min: 1 },
    'deploy-ms': { kind: 'int', default: 1000 },
    serve: { kind: 'flag' }, // internal: the simulator child
  },
);
const NODES = args.nodes;
const CONCURRENCY = args.concurrency;
const HEADERS = { 'x-openstack-ironic-api-version': '1.82', 'content-type': 'application/json' };

if (args.serve) {
  const { startSimulator } = await import('../dist/sim/index.js');
  const sim = await startSimulator({
    nodes: NODES,
    deployMs: args['deploy-ms'],
    cleanMs: 500,
    deleteMs: 200,
    logCapacity: 10_000,
    // Ironic's concurrent action limits (250 deploys / 50 cleans) are not what is measured here.
    maxConcurrentDeploy: Math.max(1, NODES),
    maxConcurrentClean: Math.max(1, NODES),
  });
  process.send({ url: sim.url, ids: sim.nodeIds() });
  process.on('message', (m) => {
    if (m === 'stats') {
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      process.send({
        busy: sim.busyNodes(),
        rss: mem.rss,
        heap: mem.heapUsed,
        requests: sim.stats().requests,
        cpu: (cpu.user + cpu.system) / 1e6,
      });
    }
    if (m === 'stop') void sim.close().then(() => process.exit(0));
  });
} else {
  await main();
}

async function main() {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  const { url, ids } = await next();
  const stats = async () => {
    child.send('stats');
    return next();
  };
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const line = (label, value) => console.log(`${label.padEnd(48)} ${value}`);

  async function run(total, makeRequest) {
    let issued = 0;
    const statuses = {};
    const cpu0 = (await stats()).cpu;
    const t0 = performance.now();
    async function worker() {
      while (issued < total) {
        const i = issued++;
        const { statusCode, body } = await pool.request(makeRequest(i));
        await body.text();
        statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const s = (performance.now() - t0) / 1000;
    const cpu = (await stats()).cpu - cpu0;
    return { rate: total / s, cpuRate: total / cpu, seconds: s, statuses };
  }
  const rates = (r, unit = 1, what = '') =>
    `${fmt(r.rate)}/s wall, ${fmt(r.cpuRate)}/s per sim CPU-s${unit > 1 ? `  (${fmt(r.rate * unit)} ${what}/s wall)` : ''}`;

  const before = await stats();
  line('machine', `${cpus().length} cores, load ${loadavg()[0].toFixed(2)}, node ${process.version}`);
  line('nodes in simulator', fmt(ids.length));
  line(
    'simulator heap / rss (MB)',
    `${(before.heap / 2 ** 20).toFixed(1)} / ${(before.rss / 2 ** 20).toFixed(1)}`,
  );
  line('concurrency (connections)', CONCURRENCY);

  await run(2000, (i) => ({ path: `/v1/nodes/${ids[i % ids.length]}`, method: 'GET', headers: HEADERS }));
  const getOne = await run(20_000, (i) => ({
    path: `/v1/nodes/${ids[(i * 7919) % ids.length]}`,
    method: 'GET',
    headers: HEADERS,
  }));
  line('GET /v1/nodes/{uuid} req', rates(getOne));

  const getFields = await run(20_000, (i) => ({
    path: `/v1/nodes/${ids[(i * 7919) % ids.length]}?fields=uuid,provision_state,power_state,target_provision_state,instance_uuid,last_error,maintenance,properties`,
    method: 'GET',
    headers: HEADERS,
  }));
  line('GET /v1/nodes/{uuid}?fields=(watcher set) req', rates(getFields));

  const pages = Math.ceil(ids.length / 1000);
  const listFields = await run(pages * 20, (i) => {
    const p = i % pages;
    const marker = p === 0 ? '' : `&marker=${ids[p * 1000 - 1]}`;
    return {
      path: `/v1/nodes?limit=1000&fields=uuid,provision_state,target_provision_state,power_state,instance_uuid${marker}`,
      method: 'GET',
      headers: HEADERS,
    };
  });
  line('GET /v1/nodes?limit=1000&fields= pages', rates(listFields, 1000, 'nodes'));

  const listDetail = await run(400, (i) => {
    const p = i % Math.ceil(ids.length / 100);
    const marker = p === 0 ? '' : `&marker=${ids[p * 100 - 1]}`;
    return { path: `/v1/nodes/detail?limit=100${marker}`, method: 'GET', headers: HEADERS };
  });
  line('GET /v1/nodes/detail?limit=100 pages', rates(listDetail, 100, 'nodes'));

  const provision = await run(ids.length, (i) => ({
    path: `/v1/nodes/${ids[i]}/states/provision`,
    method: 'PUT',
    headers: HEADERS,
    body: JSON.stringify({ target: 'active', configdrive: { meta_data: { uuid: ids[i] } } }),
  }));
  line('PUT .../states/provision (active) req', `${rates(provision)}  ${JSON.stringify(provision.statuses)}`);

  const t0 = performance.now();
  let s = await stats();
  while (s.busy > 0) {
    await sleep(20);
    s = await stats();
  }
  line(
    `${fmt(ids.length)} deploys of 1000 ms: all active after (ms)`,
    fmt(provision.seconds * 1000 + (performance.now() - t0)),
  );

  const refused = await run(10_000, (i) => ({
    path: `/v1/nodes/${ids[i % ids.length]}/states/provision`,
    method: 'PUT',
    headers: HEADERS,
    body: JSON.stringify({ target: 'manage' }),
  }));
  line(
    'PUT .../states/provision refused (400) req',
    `${rates(refused)}  ${JSON.stringify(refused.statuses)}`,
  );
  line(
    'simulator heap / rss after (MB)',
    `${(s.heap / 2 ** 20).toFixed(1)} / ${(s.rss / 2 ** 20).toFixed(1)}`,
  );

  await pool.close();
  child.send('stop');
}
