// Simulator benchmark: `npm run build && node bench/sim.mjs [--nodes N] [--concurrency C]`
//
// Starts the simulator in a child process with 10,000 pre-enrolled nodes (so the load
// generator does not share its event loop) and prints, on this machine:
//   GET /v1/nodes/{uuid} requests/s, list pages/s (limit=1000 with fields=, and /detail limit=100),
//   PUT .../states/provision requests/s, how long 10,000 concurrent deploys take to all
//   reach active, and the simulator's memory. Numbers only; no assertions.
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const NODES = opt('--nodes', 10_000);
const CONCURRENCY = opt('--concurrency', 32);
const HEADERS = { 'x-openstack-ironic-api-version': '1.82', 'content-type': 'application/json' };

if (args.includes('--serve')) {
  const { startSimulator } = await import('../dist/sim/index.js');
  const sim = await startSimulator({
    nodes: NODES,
    deployMs: opt('--deploy-ms', 1000),
    cleanMs: 500,
    deleteMs: 200,
    logCapacity: 10_000,
  });
  process.send({ url: sim.url, ids: sim.nodeIds() });
  process.on('message', (m) => {
    if (m === 'stats') {
      const mem = process.memoryUsage();
      process.send({ busy: sim.busyNodes(), rss: mem.rss, heap: mem.heapUsed, requests: sim.stats().requests });
    }
    if (m === 'stop') void sim.close().then(() => process.exit(0));
  });
} else {
  await main();
}

async function main() {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', ...args], { stdio: 'inherit' });
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
    let statuses = {};
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
    return { rate: total / s, seconds: s, statuses };
  }

  const before = await stats();
  line('machine', `${cpus().length} cores, load ${loadavg()[0].toFixed(2)}, node ${process.version}`);
  line('nodes in simulator', fmt(ids.length));
  line('simulator heap / rss (MB)', `${(before.heap / 2 ** 20).toFixed(1)} / ${(before.rss / 2 ** 20).toFixed(1)}`);
  line('concurrency (connections)', CONCURRENCY);

  await run(2000, (i) => ({ path: `/v1/nodes/${ids[i % ids.length]}`, method: 'GET', headers: HEADERS }));
  const getOne = await run(20_000, (i) => ({
    path: `/v1/nodes/${ids[(i * 7919) % ids.length]}`,
    method: 'GET',
    headers: HEADERS,
  }));
  line('GET /v1/nodes/{uuid} req/s', fmt(getOne.rate));

  const getFields = await run(20_000, (i) => ({
    path: `/v1/nodes/${ids[(i * 7919) % ids.length]}?fields=uuid,provision_state,power_state,target_provision_state,instance_uuid,last_error,maintenance,properties`,
    method: 'GET',
    headers: HEADERS,
  }));
  line('GET /v1/nodes/{uuid}?fields=(watcher set) req/s', fmt(getFields.rate));

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
  line('GET /v1/nodes?limit=1000&fields= pages/s', `${fmt(listFields.rate)}  (${fmt(listFields.rate * 1000)} nodes/s)`);

  const listDetail = await run(400, (i) => {
    const p = i % Math.ceil(ids.length / 100);
    const marker = p === 0 ? '' : `&marker=${ids[p * 100 - 1]}`;
    return { path: `/v1/nodes/detail?limit=100${marker}`, method: 'GET', headers: HEADERS };
  });
  line('GET /v1/nodes/detail?limit=100 pages/s', `${fmt(listDetail.rate)}  (${fmt(listDetail.rate * 100)} nodes/s)`);

  const provision = await run(ids.length, (i) => ({
    path: `/v1/nodes/${ids[i]}/states/provision`,
    method: 'PUT',
    headers: HEADERS,
    body: JSON.stringify({ target: 'active', configdrive: { meta_data: { uuid: ids[i] } } }),
  }));
  line('PUT .../states/provision (active) req/s', `${fmt(provision.rate)}  (statuses ${JSON.stringify(provision.statuses)})`);

  const t0 = performance.now();
  let s = await stats();
  while (s.busy > 0) {
    await new Promise((r) => setTimeout(r, 20));
    s = await stats();
  }
  line(`${fmt(ids.length)} deploys of 1000 ms: all active after (ms)`, fmt(provision.seconds * 1000 + (performance.now() - t0)));

  const refused = await run(10_000, (i) => ({
    path: `/v1/nodes/${ids[i % ids.length]}/states/provision`,
    method: 'PUT',
    headers: HEADERS,
    body: JSON.stringify({ target: 'manage' }),
  }));
  line('PUT .../states/provision refused (400) req/s', `${fmt(refused.rate)}  (statuses ${JSON.stringify(refused.statuses)})`);
  line('simulator heap / rss after (MB)', `${(s.heap / 2 ** 20).toFixed(1)} / ${(s.rss / 2 ** 20).toFixed(1)}`);

  await pool.close();
  child.send('stop');
}
