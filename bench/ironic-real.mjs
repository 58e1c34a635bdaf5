// Real-Ironic benchmark (issue 20):
//   npm run bench:ironic-real -- [--n 1,10,50,200] [--poll 2,0.2] [--deploy-delay 1]
//                                [--connections 8] [--json]
//
// Per N and poll interval: a fresh real Ironic (scripts/ironic-standalone.sh start, its own temp
// dir and free port, fake-hardware, single process), N enrolled nodes brought to `available`,
// then N concurrent deploys and N concurrent destroys through the library (Engine), each run on
// its own node. The engine's poll interval and its retry interval are both the poll value (Nova's
// api_retry_interval is both). Per phase it prints:
//   wall            first run started -> last run done; p50/p95 of the runs' own durations
//   req/run by kind counted from Ironic's own request log (eventlet.wsgi lines), all requests of
//                   the phase divided by N, by method + path (uuids as {id}, query keys kept)
//   srv ms          Ironic's server time per request kind (the log's `time:`), p50/p95
//   Ironic req/s    requests in the phase / wall; Ironic CPU (utime+stime of its process) / wall;
//                   its main thread's state sampled every 50 ms: R (running or waiting for a CPU),
//                   D (waiting on the disk: SQLite's fsyncs), S (idle, waiting for a request or timer)
//   floor           Ironic's own transition time per node, from its conductor's "moved to
//                   provision state" lines: deploying -> active, deleting -> cleaning
//   provision PUTs  when the runs' provision requests reached Ironic (first / median / last, from
//                   the phase start): how far the requests that start the work are held back
//   connections     established TCP connections to the API port (/proc/net/tcp, sampled 50 ms),
//                   and requests Ironic was serving at once (from its log: end - server time)
//   engine CPU/run  process.cpuUsage() over the phase / N (includes this bench's sampling)
// and the load average. --json prints one JSON document on stdout (the lines go to stderr).
// Ironic is stopped at the end, also on failure and Ctrl-C. Numbers only; no assertions. The
// machine may be shared: read the numbers beside the load.
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  openSync,
  readSync,
  closeSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath, URLSearchParams } from 'node:url';
import { Pool } from 'undici';
import { Engine } from '../dist/index.js';
import { benchArgs } from './args.mjs';

const USAGE = `usage: npm run bench:ironic-real -- [--n 1,10,50,200] [--poll 2,0.2] [--deploy-delay 1]
       [--connections 8] [--json]
  --n             node counts (each: N concurrent deploys, then N concurrent destroys)
  --poll          engine poll and retry interval(s) in seconds, e.g. 2,0.2
  --deploy-delay  fake-hardware deploy_delay in whole seconds (Ironic's fake deploy and tear down)
  --no-config-drive  deploy without a config drive (by default each deploy sends one, as Nova does)
  --connections   the client's keep-alive pool (default 8)
  --keep-db       keep each case's run store (its path is printed) to read the event log after`;
const args = benchArgs(USAGE, {
  n: { kind: 'ints', default: [1, 10, 50, 200], min: 1 },
  poll: { kind: 'string', default: '2,0.2' },
  'deploy-delay': { kind: 'int', default: 1 },
  'no-config-drive': { kind: 'flag' },
  connections: { kind: 'int', default: 8, min: 1 },
  json: { kind: 'flag' },
  'keep-db': { kind: 'flag' },
});
const POLLS = args.poll.split(',').map((p) => {
  const s = Number(p);
  if (!/^\d+(\.\d+)?$/.test(p.trim()) || !(s > 0)) {
    process.stderr.write(`--poll: expected seconds > 0, comma-separated, got '${args.poll}'\n${USAGE}\n`);
    process.exit(2);
  }
  return s;
});
const SCRIPT = fileURLToPath(new URL('../scripts/ironic-standalone.sh', import.meta.url));
const FAKE = {
  driver: 'fake-hardware',
  boot_interface: 'fake',
  deploy_interface: 'fake',
  management_interface: 'fake',
  power_interface: 'fake',
};
const FLAVOR = { vcpus: 1, memoryMb: 1024, rootGb: 10, ephemeralGb: 0, swapMb: 0 };
// With --json the document alone goes to stdout and the human lines to stderr.
const say = (line) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

// ---- Ironic's lifetime: started per case, stopped on every way out ----------------------------
let running = null;
function stopIronic() {
  if (running === null) return;
  const dir = running.dir;
  running = null;
  spawnSync('bash', [SCRIPT, 'stop', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping Ironic\n`);
    stopIronic();
    process.exit(130);
  });
}
process.on('exit', stopIronic);

function startIronic() {
  const r = spawnSync('bash', [SCRIPT, 'start', '--deploy-delay', String(args['deploy-delay'])], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ironic-standalone.sh start failed:\n${r.stderr}`);
  const kv = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  running = { url: kv.IRONIC_URL, dir: kv.IRONIC_DIR, pid: Number(kv.IRONIC_PID), log: kv.IRONIC_LOG };
  return running;
}

// ---- plain HTTP for the set-up (not measured; its pool is closed before the phases) ------------
const setupPools = new Map();
async function api(base, method, path, body) {
  let pool = setupPools.get(base);
  if (!pool) setupPools.set(base, (pool = new Pool(base, { connections: 8 })));
  const res = await pool.request({
    method,
    path,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'x-openstack-ironic-api-version': '1.78',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : null, text };
}
async function closeSetup(base) {
  await setupPools.get(base)?.close();
  setupPools.delete(base);
}

async function states(base) {
  const r = await api(base, 'GET', '/v1/nodes?fields=uuid,provision_state,target_provision_state');
  return new Map(r.json.nodes.map((n) => [n.uuid, n]));
}

async function waitAll(base, nodes, state, timeoutMs = 600_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const all = await states(base);
    const off = nodes.filter((n) => all.get(n)?.provision_state !== state);
    if (off.length === 0) return;
    const bad = off.filter((n) => /fail|error/.test(all.get(n)?.provision_state ?? ''));
    if (bad.length > 0)
      throw new Error(`set-up: ${bad.length} node(s) failed: ${all.get(bad[0]).provision_state}`);
    if (Date.now() > until) throw new Error(`set-up: ${off.length} node(s) not ${state} in time`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A provision request in the set-up, resent while the concurrent action limit refuses it. */
async function provision(base, node, target) {
  for (let i = 0; ; i++) {
    const r = await api(base, 'PUT', `/v1/nodes/${node}/states/provision`, { target });
    if (r.status === 202) return;
    if (i < 600 && (r.status === 409 || (r.status === 500 && /concurrent action limit/i.test(r.text)))) {
      await new Promise((res) => setTimeout(res, 500));
      continue;
    }
    throw new Error(`set-up: ${target} on ${node} answered ${r.status}: ${r.text.slice(0, 200)}`);
  }
}

async function enroll(base, n) {
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const r = await api(base, 'POST', '/v1/nodes', { ...FAKE, name: `bench-${i}` });
    if (r.status !== 201) throw new Error(`set-up: enroll answered ${r.status}: ${r.text.slice(0, 200)}`);
    nodes.push(r.json.uuid);
  }
  // In batches under Ironic's clean limit (50): `provide` cleans.
  for (let i = 0; i < n; i += 40) {
    const batch = nodes.slice(i, i + 40);
    await Promise.all(batch.map((node) => provision(base, node, 'manage')));
    await waitAll(base, batch, 'manageable');
    await Promise.all(batch.map((node) => provision(base, node, 'provide')));
    await waitAll(base, batch, 'available');
  }
  return nodes;
}

// ---- what Ironic recorded -------------------------------------------------------------------------
function logSize(path) {
  return statSync(path).size;
}
function readLog(path, from, to) {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
const TS = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) /;
const REQUEST =
  /eventlet\.wsgi\.server .*"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP\/1\.[01]" status: (\d{3}) +len: \d+ time: ([\d.]+)/;
const MOVED = /Node (\S+) moved to provision state "([^"]+)" from state "([^"]+)"/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

function timeOf(line) {
  const m = TS.exec(line);
  // Python's logging writes local time, as Date parses a string without a zone.
  return m ? new Date(`${m[1]}T${m[2]}`).getTime() : null;
}

/** kind: method + path with ids as {id} and the query's keys only. */
function kindOf(method, path) {
  const [p, q] = path.split('?');
  const keys = q ? `?${[...new URLSearchParams(q).keys()].sort().join('&')}` : '';
  return `${method} ${p.replace(UUID, '{id}').replace(/\/v1\/nodes\/bench-\d+/, '/v1/nodes/{id}')}${keys}`;
}

function parsePhase(text) {
  const requests = [];
  const moves = [];
  for (const line of text.split('\n')) {
    const at = timeOf(line);
    if (at === null) continue;
    let m = REQUEST.exec(line);
    if (m) {
      const serverMs = Number(m[4]) * 1000;
      requests.push({
        end: at,
        start: at - serverMs,
        method: m[1],
        path: m[2],
        status: Number(m[3]),
        serverMs,
        kind: kindOf(m[1], m[2]),
      });
      continue;
    }
    m = MOVED.exec(line);
    if (m) moves.push({ at, node: m[1], to: m[2], from: m[3] });
  }
  return { requests, moves };
}

// ---- sampling ----------------------------------------------------------------------------------
/** Established TCP connections whose local port is the API's (the server's side). */
function connectionsTo(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      if (f[3] === '01' && f[1].endsWith(`:${hex}`)) count++;
    }
  }
  return count;
}

/** Scheduler states of a process's threads now: R running/runnable, D disk wait, S sleeping. */
function threadStates(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.push(stat[stat.lastIndexOf(')') + 2]);
    }
  } catch {
    // the process ended
  }
  return out;
}

/** utime + stime of a process, in ms. */
function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 100; // USER_HZ on Linux
    return ((Number(f[11]) + Number(f[12])) * 1000) / tick;
  } catch {
    return null;
  }
}

function pct(values, p) {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const r2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);

// ---- where a run's wait went -----------------------------------------------------------------
/**
 * Per run, from Ironic's log (ms): its provision PUT answered (202) -> Ironic's transition done
 * (`moved to` active / cleaning) -> the poll that ended the wait -> the run's end (the engine's
 * clock). Polls are the node's GETs and the watcher's list
 * sweeps answered after the PUT. `novaMs`: when a Nova-style loop (seed: FixedIntervalLoopingCall,
 * first look at once, then every poll interval from the PUT's answer) would have looked after the
 * transition was done, on the same timeline (its requests taking no time).
 */
function waitTimeline(name, requests, moves, runs, pollMs) {
  const toState = name === 'deploy' ? 'active' : 'cleaning';
  const rows = [];
  for (const run of runs) {
    const node = run.result.node;
    if (!node) continue;
    const put = requests.find(
      (q) => q.method === 'PUT' && q.path === `/v1/nodes/${node}/states/provision` && q.status === 202,
    );
    const done = moves.find((m) => m.node === node && m.to === toState);
    if (!put || !done) continue;
    const polls = requests
      .filter(
        (q) =>
          q.method === 'GET' &&
          q.start >= put.end - 1 &&
          (q.path.startsWith(`/v1/nodes/${node}?`) ||
            q.path === `/v1/nodes/${node}` ||
            (q.path.startsWith('/v1/nodes?') && !q.path.includes('instance_uuid'))),
      )
      .sort((a, b) => a.end - b.end);
    // The poll that ended the wait: the last one answered before the run ended (it may precede the
    // `moved to` line: Ironic clears instance_uuid, which ends a destroy's wait, just before it).
    const seen = polls.filter((q) => q.end <= run.endAt + 5).at(-1);
    rows.push({
      firstPollMs: polls.length ? polls[0].end - put.end : null,
      ironicMs: done.at - put.end,
      seenAfterDoneMs: seen ? seen.end - done.at : null,
      endAfterSeenMs: seen ? run.endAt - seen.end : null,
      putToEndMs: run.endAt - put.end,
      polls: polls.filter((q) => !seen || q.end <= seen.end).length,
      novaMs: Math.ceil(Math.max(0, done.at - put.end) / pollMs) * pollMs,
    });
  }
  const med = (k) =>
    r2(
      pct(
        rows.map((r) => r[k]).filter((v) => v !== null),
        50,
      ),
    );
  return {
    runs: rows.length,
    firstPollMs: med('firstPollMs'),
    ironicMs: med('ironicMs'),
    seenAfterDoneMs: med('seenAfterDoneMs'),
    endAfterSeenMs: med('endAfterSeenMs'),
    putToEndMs: med('putToEndMs'),
    polls: med('polls'),
    novaMs: med('novaMs'),
  };
}

// ---- one phase: N runs at once ----------------------------------------------------------------
async function phase(name, ironic, n, pollMs, start) {
  const port = Number(new URL(ironic.url).port);
  const logFrom = logSize(ironic.log);
  const connectionsBefore = connectionsTo(port);
  const samples = [];
  // Ironic's main thread (eventlet runs API and conductor in it): R, D or S at each sample.
  const ironicStates = { R: 0, D: 0, S: 0, other: 0 };
  const sampler = setInterval(() => {
    samples.push(connectionsTo(port));
    const main = threadStates(ironic.pid)[0];
    if (main !== undefined) ironicStates[main in ironicStates ? main : 'other']++;
  }, 50);
  const load0 = loadavg();
  const ironicCpu0 = cpuMsOf(ironic.pid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const wall0 = Date.now();
  const runs = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const s = performance.now();
      const result = await start(i).done;
      return { ms: performance.now() - s, endAt: Date.now(), result };
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const ironicCpu1 = cpuMsOf(ironic.pid);
  clearInterval(sampler);
  // eventlet writes a request's line as its answer goes out: give the last ones a moment.
  await new Promise((r) => setTimeout(r, 300));
  const { requests, moves } = parsePhase(readLog(ironic.log, logFrom, logSize(ironic.log)));
  const failed = runs.filter((r) => r.result.status !== 'succeeded');

  const byKind = new Map();
  for (const q of requests) {
    const k = byKind.get(q.kind) ?? { count: 0, serverMs: [], statuses: {}, ends: [] };
    k.ends.push(q.end - wall0);
    k.count++;
    k.serverMs.push(q.serverMs);
    k.statuses[q.status] = (k.statuses[q.status] ?? 0) + 1;
    byKind.set(q.kind, k);
  }
  const kinds = [...byKind.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([kind, k]) => ({
      kind,
      perRun: r2(k.count / n),
      statuses: k.statuses,
      serverMsP50: r2(pct(k.serverMs, 50)),
      serverMsP95: r2(pct(k.serverMs, 95)),
      serverMsSum: Math.round(k.serverMs.reduce((a, b) => a + b, 0)),
      // When Ironic answered this kind: first / median / last, s from the phase start.
      doneS: [0, 50, 100].map((q) => r2(pct(k.ends, q) / 1000)),
    }));

  // Ironic's own transition time per node (the floor a client cannot beat).
  const [fromState, toState] = name === 'deploy' ? ['deploying', 'active'] : ['deleting', 'cleaning'];
  const began = new Map();
  const floors = [];
  const started = [];
  for (const m of moves) {
    if (m.to === fromState) {
      began.set(m.node, m.at);
      started.push(m.at - wall0);
    } else if (m.to === toState && began.has(m.node)) floors.push(m.at - began.get(m.node));
  }
  const provisionPuts = requests
    .filter((q) => q.method === 'PUT' && q.path.endsWith('/states/provision') && q.status === 202)
    .map((q) => q.start - wall0);
  const refusedByLimit = requests.filter(
    (q) => q.method === 'PUT' && q.path.endsWith('/states/provision') && q.status === 500,
  ).length;
  const waits = waitTimeline(name, requests, moves, runs, pollMs);
  const busy = samples.length ? samples : [0];
  // Requests Ironic was serving at once (from each line's end and server time).
  const edges = requests.flatMap((q) => [
    [q.start, 1],
    [q.end, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let maxInFlight = 0;
  let weighted = 0;
  for (let i = 0; i < edges.length; i++) {
    inFlight += edges[i][1];
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (i + 1 < edges.length) weighted += inFlight * (edges[i + 1][0] - edges[i][0]);
  }
  const span = edges.length ? edges.at(-1)[0] - edges[0][0] : 0;
  return {
    phase: name,
    n,
    failed: failed.length,
    firstFailure: failed[0]?.result.error ?? null,
    wallS: r2(wallMs / 1000),
    runP50S: r2(
      pct(
        runs.map((r) => r.ms),
        50,
      ) / 1000,
    ),
    runP95S: r2(
      pct(
        runs.map((r) => r.ms),
        95,
      ) / 1000,
    ),
    ironicRequests: requests.length,
    requestsPerRun: r2(requests.length / n),
    engineRequestsPerRun: r2(runs.reduce((a, r) => a + r.result.requests, 0) / n),
    refusedByLimit,
    ironicReqPerS: r2(requests.length / (wallMs / 1000)),
    ironicServerMsTotal: Math.round(requests.reduce((a, q) => a + q.serverMs, 0)),
    ironicCpuPct:
      ironicCpu0 === null || ironicCpu1 === null ? null : r2((100 * (ironicCpu1 - ironicCpu0)) / wallMs),
    // Ironic's CPU per run: what each run costs Ironic, whatever the machine's load lets it have.
    ironicCpuMsPerRun: ironicCpu0 === null || ironicCpu1 === null ? null : r2((ironicCpu1 - ironicCpu0) / n),
    floorP50S: r2(pct(floors, 50) / 1000),
    floorP95S: r2(pct(floors, 95) / 1000),
    floorMinS: r2(floors.length ? Math.min(...floors) / 1000 : null),
    transitionsStartedS: {
      first: r2(pct(started, 0) / 1000),
      p50: r2(pct(started, 50) / 1000),
      last: r2(pct(started, 100) / 1000),
    },
    provisionPutsS: {
      first: r2(pct(provisionPuts, 0) / 1000),
      p50: r2(pct(provisionPuts, 50) / 1000),
      last: r2(pct(provisionPuts, 100) / 1000),
    },
    connections: {
      before: connectionsBefore,
      max: Math.max(...busy),
      mean: r2(busy.reduce((a, b) => a + b, 0) / busy.length),
    },
    ironicInFlight: { max: maxInFlight, mean: r2(span > 0 ? weighted / span : 0) },
    ironicMainThreadPct: Object.fromEntries(
      Object.entries(ironicStates).map(([k, v]) => [k, r2((100 * v) / Math.max(1, samples.length))]),
    ),
    engineCpuMsPerRun: r2((cpu.user + cpu.system) / 1000 / n),
    wait: waits,
    load: { before: load0.map(r2), after: loadavg().map(r2) },
    kinds,
  };
}

async function runCase(n, pollS) {
  const ironic = startIronic();
  const work = mkdtempSync(join(tmpdir(), 'ironledger-bench-real-'));
  let engine = null;
  try {
    const t = performance.now();
    const nodes = await enroll(ironic.url, n);
    // Closed before the phases: its idle connections must not count as the engine's.
    await closeSetup(ironic.url);
    say(
      `  N=${n} poll=${pollS}s: ${n} nodes available in ${((performance.now() - t) / 1000).toFixed(1)} s (${ironic.url})`,
    );
    const pollMs = Math.round(pollS * 1000);
    engine = await Engine.open({
      db: join(work, 'runs.db'),
      ironic: { url: ironic.url, retryIntervalMs: pollMs, connections: args.connections },
      pollIntervalMs: pollMs,
    });
    // The discovery request's log line is written after its answer: let it land before the phase.
    await new Promise((r) => setTimeout(r, 500));
    const instances = nodes.map(() => randomUUID());
    const deploy = await phase('deploy', ironic, n, pollMs, (i) =>
      engine.deploy({
        instance: instances[i],
        node: nodes[i],
        vifs: [],
        image: { source: 'http://127.0.0.1/image.qcow2' },
        flavor: FLAVOR,
        hostname: `bench-${i}`,
        configDrivePlan: {
          required: !args['no-config-drive'],
          hasAdminPassword: false,
          hasUserData: false,
          injectedFiles: 0,
        },
      }),
    );
    const destroy = await phase('destroy', ironic, n, pollMs, (i) =>
      engine.destroy({ instance: instances[i], vifs: [] }),
    );
    return {
      n,
      pollS,
      deployDelayS: args['deploy-delay'],
      connections: args.connections,
      configDrive: !args['no-config-drive'],
      deploy,
      destroy,
    };
  } finally {
    await closeSetup(ironic.url);
    await engine?.close();
    stopIronic();
    if (args['keep-db']) say(`  run store kept: ${join(work, 'runs.db')}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function printCase(c) {
  say(
    `\nN=${c.n} poll=${c.pollS}s deploy_delay=${c.deployDelayS}s pool=${c.connections} config drive ${c.configDrive ? 'yes' : 'no'}`,
  );
  for (const p of [c.deploy, c.destroy]) {
    say(
      `  ${p.phase.padEnd(7)} wall ${p.wallS} s | run p50 ${p.runP50S} s p95 ${p.runP95S} s | floor (Ironic ${p.phase === 'deploy' ? 'deploying->active' : 'deleting->cleaning'}) p50 ${p.floorP50S} s p95 ${p.floorP95S} s | failed ${p.failed}`,
    );
    say(
      `          req/run ${p.requestsPerRun} (Ironic's log; engine counted ${p.engineRequestsPerRun} + shared watcher) | Ironic ${p.ironicReqPerS} req/s, CPU ${p.ironicCpuPct} % (${p.ironicCpuMsPerRun} ms/run), server time ${p.ironicServerMsTotal} ms | limit 500s ${p.refusedByLimit} | Ironic main thread R ${p.ironicMainThreadPct.R} % D ${p.ironicMainThreadPct.D} % S ${p.ironicMainThreadPct.S} %`,
    );
    say(
      `          provision PUTs at ${p.provisionPutsS.first}/${p.provisionPutsS.p50}/${p.provisionPutsS.last} s (first/p50/last) | Ironic began ${p.transitionsStartedS.first}/${p.transitionsStartedS.p50}/${p.transitionsStartedS.last} s | connections ${p.connections.before} before, max ${p.connections.max} mean ${p.connections.mean}, in flight at Ironic max ${p.ironicInFlight.max} mean ${p.ironicInFlight.mean} | engine CPU ${p.engineCpuMsPerRun} ms/run | load ${p.load.before[0]} -> ${p.load.after[0]}`,
    );
    for (const k of p.kinds) {
      const st = Object.entries(k.statuses)
        .map(([s, c]) => `${s}x${c}`)
        .join(' ');
      say(
        `          ${String(k.perRun).padStart(6)}/run  srv p50 ${String(k.serverMsP50).padStart(7)} ms p95 ${String(k.serverMsP95).padStart(7)} ms  ${k.kind}  [${st}] answered at ${k.doneS.join('/')} s`,
      );
    }
    const w = p.wait;
    say(
      `          wait (p50 of ${w.runs} runs, ms after the provision PUT's 202): first poll ${w.firstPollMs} | Ironic done ${w.ironicMs} | seen ${w.seenAfterDoneMs} after done | run ended ${w.endAfterSeenMs} after seen (${w.putToEndMs} after the PUT) | ${w.polls} polls | a Nova-style loop (look at once, then every poll) would look at ${w.novaMs}`,
    );
    if (p.firstFailure) say(`          first failure: ${JSON.stringify(p.firstFailure).slice(0, 300)}`);
  }
}

const results = [];
try {
  const r = spawnSync('bash', [SCRIPT, 'check']);
  if (r.status !== 0) {
    process.stderr.write(
      'bench/ironic-real.mjs: python3-ironic is not installed (sudo bash scripts/ironic-standalone.sh install)\n',
    );
    process.exit(2);
  }
  say(
    `ironic-real bench ${new Date().toISOString()}: ${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; N=${args.n.join(',')} poll=${POLLS.join(',')} s deploy_delay=${args['deploy-delay']} s`,
  );
  for (const pollS of POLLS) {
    for (const n of args.n) {
      const c = await runCase(n, pollS);
      results.push(c);
      printCase(c);
    }
  }
} catch (err) {
  stopIronic();
  process.stderr.write(`bench/ironic-real.mjs: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ at: new Date().toISOString(), cores: cpus().length, loadavg: loadavg(), results }, null, 2)}\n`,
  );
}
