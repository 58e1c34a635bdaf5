// Teardown benchmark (issue 6):
//   npm run build && node bench/teardown.mjs [--sizes 1,100,1000,10000] [--clean-ms 3000]
//                                            [--poll-ms 2000] [--delete-ms 100] [--connections 8]
//                                            [--no-floor] [--token T] [--observe off,on]
//                                            [--dist dist,/tmp/old/dist]
//
// N concurrent teardowns (waitForAvailable, so each run waits out deleting and cleaning)
// against the simulator running in a child process, so the engine's CPU is measured alone
// in this process. Per size: a fresh simulator with N `active` nodes (an instance and one
// VIF port each) and a fresh SQLite file. Prints, per size, the wall time against the
// simulator's own transition time plus one poll interval, Ironic requests per teardown
// (all of them, and the watcher's while waiting, counted by the simulator per route),
// engine CPU per teardown, heap per in-flight run, and events per teardown, next to the
// issue's goals. Numbers only; no assertions.
//
// The floor: per size, a bare undici client (no store, no machines, no engine) sends the same
// requests a teardown does (look the node up, detach its VIF, request deleted) and waits with
// the same one-list-sweep-per-tick, against a fresh simulator. Its wall time is what this
// machine and simulator allow at all; the engine's ratio is read against it.
//
// --token T: the engine authenticates with this token (the simulator ignores it), so every run's
// record is scrubbed of it by value: what token auth costs the engine.
//
// --observe off,on: each size is run once per mode, in this one process: `off` opens the engine
// with metrics and tracing disabled; `on` with Prometheus metrics on a registry and spans through
// an OpenTelemetry SDK (BasicTracerProvider, BatchSpanProcessor, an exporter that only counts
// them; the registry is scraped once at the end). The ratio of engine CPU per teardown, on/off,
// is printed. `metrics` and `tracing`: one of the two alone. Without --observe: the engine's
// defaults (metrics on, tracing through the global no-op).
//
// CPU (issue 20): per size, the engine's CPU per teardown (this process, user + system, every
// thread), the simulator's (the child), and the bare client's (the floor pass), with the ratio
// engine / bare client the goal is judged on (<= 2) and the wall ratio engine / floor.
//
// --dist A,B: the engine is loaded from each of these builds in turn (paths of `dist` directories;
// relative to the repository), one pass each per size and mode, in this one process: an old and
// a new build compared in one run (give them alternating, A,B,A,B, so neither always runs on a
// colder process). The simulator and the floor are this repository's build.
//
// --client-floor: after the floor, the same teardown requests and sweep once more, the three
// requests sent through the library's IronicClient (this repository's build) instead of bare
// undici: what the client alone costs, without the engine.
import { fork } from 'node:child_process';
import { openConnection } from '../dist/store/sqlite.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import v8 from 'node:v8';
import vm from 'node:vm';
import { benchArgs } from './args.mjs';

const USAGE = `usage: npm run build && node bench/teardown.mjs [--sizes 1,100,1000,10000] [--clean-ms 3000]
       [--poll-ms 2000] [--delete-ms 100] [--connections 8] [--no-floor] [--token T]
       [--observe off,on] [--dist dist,OTHER/dist] [--client-floor]`;
const args = benchArgs(USAGE, {
  sizes: { kind: 'ints', default: [1, 100, 1000, 10000], min: 1 },
  'clean-ms': { kind: 'int', default: 3000 },
  'poll-ms': { kind: 'int', default: 2000, min: 1 },
  'delete-ms': { kind: 'int', default: 100 },
  connections: { kind: 'int', default: 8, min: 1 },
  'no-floor': { kind: 'flag' },
  'client-floor': { kind: 'flag' },
  token: { kind: 'string', default: undefined },
  observe: { kind: 'list', default: ['default'], values: ['off', 'on', 'metrics', 'tracing', 'default'] },
  dist: { kind: 'list', default: ['dist'] },
  serve: { kind: 'flag' }, // internal: the simulator child
});
const SIZES = args.sizes;
const CLEAN_MS = args['clean-ms'];
const POLL_MS = args['poll-ms'];
const DELETE_MS = args['delete-ms'];
const CONNECTIONS = args.connections;
const FLOOR = !args['no-floor'];
const instanceOf = (i) => `11111111-2222-4333-8444-${String(i).padStart(12, '0')}`;

if (args.serve) await serve();
else await main();

/** The child: one simulator at a time, driven over the IPC channel. */
async function serve() {
  const { startSimulator } = await import('../dist/sim/index.js');
  let sim = null;
  process.on('message', async (m) => {
    if (m.cmd === 'start') {
      if (sim) await sim.close();
      // No concurrent action limit (Ironic's default clean limit is 50): the floor is every
      // teardown at once, which is what the engine's overhead is measured against.
      sim = await startSimulator({
        deleteMs: m.deleteMs,
        cleanMs: m.cleanMs,
        log: false,
        maxConcurrentClean: Math.max(1, m.n),
      });
      for (let i = 0; i < m.n; i++) {
        const mac = [0x52, 0x54, 0x02, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(':');
        sim.addNode({
          provisionState: 'active',
          powerState: 'power on',
          instanceUuid: instanceOf(i),
          instanceInfo: { image_source: 'http://img/x.qcow2' },
          ports: [{ address: mac, vifId: `vif-${i}` }],
        });
      }
      process.send({ url: sim.url });
    } else if (m.cmd === 'stats') {
      const cpu = process.cpuUsage();
      process.send({ ...sim.stats(), busy: sim.busyNodes(), cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (m.cmd === 'stop') {
      if (sim) await sim.close();
      process.exit(0);
    }
  });
  process.send({ ready: true });
}

async function main() {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const engines = new Map();
  for (const d of new Set(args.dist)) {
    const { Engine } = await import(pathToFileURL(resolve(repo, d, 'engine/engine.js')).href);
    engines.set(d, Engine);
  }
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: 'inherit' });
  const next = () => new Promise((resolve) => child.once('message', resolve));
  const ask = (msg) => {
    const reply = next();
    child.send(msg);
    return reply;
  };
  await next();

  const fmt = (n, digits = 0) =>
    Number.isFinite(n)
      ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : '-';
  console.log(
    `machine: ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  console.log(
    `simulator: deleteMs ${DELETE_MS}, cleanMs ${CLEAN_MS}; engine: pollIntervalMs ${POLL_MS}, listThreshold default (16), auth ${args.token === undefined ? 'none' : 'token (every record scrubbed of it)'}`,
  );

  const rows = [];
  const passes = SIZES.flatMap((size) => args.observe.flatMap((m) => args.dist.map((d) => [size, m, d])));
  for (const [n, mode, dist] of passes) {
    const Engine = engines.get(dist);
    const observed = await observeOptions(mode);
    const { url } = await ask({ cmd: 'start', n, deleteMs: DELETE_MS, cleanMs: CLEAN_MS });
    const dir = mkdtempSync(join(tmpdir(), 'ironledger-bench-'));
    const engine = await Engine.open({
      db: join(dir, 'runs.db'),
      ironic: {
        url,
        connections: CONNECTIONS,
        ...(args.token === undefined ? {} : { auth: { type: 'token', token: args.token } }),
      },
      concurrency: Math.max(n, 1000),
      pollIntervalMs: POLL_MS,
      ...observed.options,
    });
    let commits = 0;
    let commitMs = 0;
    engine.on('store.commit', (c) => {
      commits++;
      commitMs += c.ms;
    });
    const threads0 = threadCpuMs();
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    const sim0 = await ask({ cmd: 'stats' });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();

    // When each run first waits on Ironic (after requestDeleted): the engine's own share of the wall time.
    const waitedAt = [];
    const handles = [];
    for (let i = 0; i < n; i++) {
      const h = engine.destroy({ instance: instanceOf(i), vifs: [`vif-${i}`], waitForAvailable: true });
      const off = h.subscribe((p) => {
        if (p.kind !== 'transition' || p.state !== 'unprovision.watching.waiting') return;
        waitedAt.push(performance.now() - t0);
        off();
      });
      handles.push(h);
    }
    const startedMs = performance.now() - t0;
    let done = 0;
    let lastDoneMs = 0;
    let firstDoneMs = NaN;
    const statuses = {};
    const all = Promise.all(
      handles.map((h) =>
        h.done.then((r) => {
          done++;
          lastDoneMs = performance.now() - t0;
          if (Number.isNaN(firstDoneMs)) firstDoneMs = lastDoneMs;
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status !== 'succeeded' && statuses[r.status] <= 3)
            console.log(`  run ${r.runId} ${r.status}: ${JSON.stringify(r.error)}`);
        }),
      ),
    );

    // Live heap per in-flight run: once every run is waiting (mid-cleaning), or as soon as the
    // first run has finished if that comes first (at 10,000 the early runs end before the last
    // ones start waiting), collect and divide by the runs still in flight.
    let heapPerRun = NaN;
    let forced = { cpuMs: 0, main: 0, other: 0 };
    let peakHeap = heap0;
    let inFlightAtSample = 0;
    let sampledWhen = '';
    let allWaitingMs = NaN;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, v8.getHeapStatistics().used_heap_size);
      if (!Number.isNaN(allWaitingMs) || done > 0) return;
      if (waitedAt.length === n) allWaitingMs = performance.now() - t0;
    }, 50);
    const measure = new Promise((resolve) => {
      const check = setInterval(() => {
        if (Number.isNaN(allWaitingMs) && done === 0) return;
        clearInterval(check);
        sampledWhen = done === 0 ? 'all waiting' : `first done, ${fmt(waitedAt.length)} waiting`;
        // This full collection is the bench's, not the engine's: its CPU (100-200 ms at 1,000
        // runs in flight, every thread) is taken out of the engine's figures below.
        const g0 = process.cpuUsage();
        const t0 = threadCpuMs();
        gc();
        const g = process.cpuUsage(g0);
        const t1 = threadCpuMs();
        forced = { cpuMs: (g.user + g.system) / 1000, main: t1.main - t0.main, other: t1.other - t0.other };
        const used = process.memoryUsage().heapUsed;
        inFlightAtSample = n - done;
        heapPerRun = inFlightAtSample > 0 ? (used - heap0) / inFlightAtSample : NaN;
        resolve();
      }, 50);
    });
    await all;
    await measure;
    clearInterval(sampler);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const threads1 = threadCpuMs();
    const sim1 = await ask({ cmd: 'stats' });
    const rss1 = process.memoryUsage().rss;
    const stats = engine.stats();
    const scraped = await observed.finish(engine);
    await engine.close({ deadlineMs: 2000 });
    // Failed attempts by error code, as the runs recorded them (no faults are injected here).
    const db = openConnection(join(dir, 'runs.db'), { readonly: true });
    const failedAttempts = Object.fromEntries(
      db
        .prepare(
          "SELECT json_extract(data, '$.errorCode') AS code, count(*) AS n FROM events WHERE kind = 'http' AND json_extract(data, '$.errorCode') IS NOT NULL GROUP BY code",
        )
        .all()
        .map((r) => [r.code, r.n]),
    );
    db.close();
    rmSync(dir, { recursive: true, force: true });

    const route = (k) => (sim1.byRoute[k] ?? 0) - (sim0.byRoute[k] ?? 0);
    const simRequests = sim1.requests - sim0.requests;
    // Each teardown looks its node up once with GET /v1/nodes?instance_uuid= (no faults here);
    // every other GET /v1/nodes is a page of a watcher sweep.
    const listPages = route('GET /v1/nodes') - n;
    const nodeGets = route('GET /v1/nodes/{node}');
    const watcherRequests = listPages + nodeGets;
    const ticks = stats.watcher.ticks;
    const sweepTicks = stats.watcher.listSweeps;
    const targetMs = DELETE_MS + CLEAN_MS + POLL_MS;
    rows.push({
      n,
      mode,
      dist,
      commitsPerRun: commits / n,
      commitMsPerRun: commitMs / n,
      mainThreadMsPerRun: (threads1.main - threads0.main - forced.main) / n,
      otherThreadsMsPerRun: (threads1.other - threads0.other - forced.other) / n,
      forcedGcMs: forced.cpuMs,
      userMsPerRun: cpu.user / 1000 / n,
      systemMsPerRun: cpu.system / 1000 / n,
      statuses,
      wallMs,
      startedMs,
      waitP50: waitedAt.sort((x, y) => x - y)[Math.floor(waitedAt.length / 2)],
      allWaitingMs: waitedAt.length === n ? waitedAt.reduce((m, x) => Math.max(m, x), 0) : NaN,
      lastDoneMs,
      firstDoneMs,
      targetMs,
      ratio: wallMs / targetMs,
      perRun: simRequests / n,
      waitingPerRun: watcherRequests / n,
      listPages,
      nodeGets,
      ticks,
      sweepTicks,
      pagesPerSweep: sweepTicks ? listPages / sweepTicks : NaN,
      engineSide: stats.watcher.getRequests + stats.watcher.listSweeps,
      engineRequests: stats.ironicRequests,
      cpuMsPerRun: ((cpu.user + cpu.system) / 1000 - forced.cpuMs) / n,
      simCpuMsPerRun: (sim1.cpuMs - sim0.cpuMs) / n,
      heapPerRun,
      peakHeapPerRun: (peakHeap - heap0) / n,
      rssDeltaMb: (rss1 - rss0) / 2 ** 20,
      eventsPerRun: stats.eventsAppended / n,
      failedAttempts,
      byRoute: Object.fromEntries(
        Object.keys(sim1.byRoute)
          .map((k) => [k, route(k)])
          .filter(([, v]) => v > 0),
      ),
    });
    const r = rows.at(-1);
    console.log(
      `\nN = ${fmt(n)}, observe ${mode}${args.dist.length > 1 ? `, engine from ${dist}` : ''}: ${JSON.stringify(r.statuses)}`,
    );
    if (scraped) console.log(scraped);
    console.log(`  simulator requests by route: ${JSON.stringify(r.byRoute)}`);
    console.log(`  failed attempts recorded by the runs, by code: ${JSON.stringify(r.failedAttempts)}`);
    console.log(
      `  all started (sync) ${fmt(r.startedMs)} ms; waiting (after the deleted request): median run at ${fmt(r.waitP50)} ms, all at ${fmt(r.allWaitingMs)} ms; first done at ${fmt(r.firstDoneMs)} ms, last at ${fmt(r.lastDoneMs)} ms`,
    );
    console.log(
      `  watcher: ${r.ticks} ticks, ${r.sweepTicks} list sweeps (${fmt(r.pagesPerSweep, 1)} pages each), ${fmt(r.nodeGets)} per-node GETs; engine counted ${fmt(r.engineRequests)} requests (sim ${fmt(simRequests)})`,
    );
    console.log(
      `  heap: live ${fmt(r.heapPerRun / 1024, 1)} KB/run after gc with ${fmt(inFlightAtSample)} in flight (${sampledWhen}); peak (with garbage) ${fmt(r.peakHeapPerRun / 1024, 1)} KB/run; rss +${fmt(r.rssDeltaMb, 1)} MB; sim CPU ${fmt(r.simCpuMsPerRun, 2)} ms/run`,
    );
    console.log(
      `  engine CPU ${fmt(r.cpuMsPerRun, 2)} ms/run (the bench's own heap-sample gc, ${fmt(r.forcedGcMs)} ms, taken out; all of it: user ${fmt(r.userMsPerRun, 2)}, system ${fmt(r.systemMsPerRun, 2)}); main thread ${fmt(r.mainThreadMsPerRun, 2)}, other threads (GC helpers, libuv pool, WAL checkpointer) ${fmt(r.otherThreadsMsPerRun, 2)}; ${fmt(r.eventsPerRun, 1)} events and ${fmt(r.commitsPerRun, 2)} store commits per teardown (${fmt(r.commitMsPerRun, 2)} ms of commits)`,
    );
    if (FLOOR) {
      const { url: floorUrl } = await ask({ cmd: 'start', n, deleteMs: DELETE_MS, cleanMs: CLEAN_MS });
      const fsim0 = await ask({ cmd: 'stats' });
      const f = await floorRun(floorUrl, n);
      const fsim1 = await ask({ cmd: 'stats' });
      r.floorMs = f.wallMs;
      r.floorCpuMsPerRun = f.cpuMsPerRun;
      console.log(
        `  floor (bare undici client, same requests, same sweep): all waiting at ${fmt(f.allWaitingMs)} ms, done at ${fmt(f.wallMs)} ms, ratio ${fmt(f.wallMs / r.targetMs, 2)}, client CPU ${fmt(f.cpuMsPerRun, 2)} ms/run, sim CPU ${fmt((fsim1.cpuMs - fsim0.cpuMs) / n, 2)} ms/run`,
      );
      if (args['client-floor']) {
        const { url: clientUrl } = await ask({ cmd: 'start', n, deleteMs: DELETE_MS, cleanMs: CLEAN_MS });
        const c = await floorRun(clientUrl, n, true);
        r.clientCpuMsPerRun = c.cpuMsPerRun;
        console.log(
          `  the same through IronicClient (no engine): done at ${fmt(c.wallMs)} ms, client CPU ${fmt(c.cpuMsPerRun, 2)} ms/run`,
        );
      }
      console.log(
        `  CPU per teardown: engine ${fmt(r.cpuMsPerRun, 2)} ms / bare client ${fmt(f.cpuMsPerRun, 2)} ms = ${fmt(r.cpuMsPerRun / f.cpuMsPerRun, 2)} (goal <= 2); wall engine / floor ${fmt(r.wallMs)} / ${fmt(f.wallMs)} ms = ${fmt(r.wallMs / f.wallMs, 2)}`,
      );
    }
  }
  child.send({ cmd: 'stop' });

  const cols = [
    ['N', (r) => fmt(r.n)],
    ['observe', (r) => r.mode],
    ...(args.dist.length > 1 ? [['engine', (r) => r.dist]] : []),
    ['done', (r) => `${r.statuses.succeeded ?? 0}/${r.n}`],
    ['wall ms', (r) => fmt(r.wallMs)],
    ['sim+poll ms', (r) => fmt(r.targetMs)],
    ['ratio', (r) => fmt(r.ratio, 2)],
    ['floor ratio', (r) => fmt(r.floorMs / r.targetMs, 2)],
    ['vs floor', (r) => fmt(r.wallMs / r.floorMs, 2)],
    ['req/run', (r) => fmt(r.perRun, 2)],
    ['wait req/run', (r) => fmt(r.waitingPerRun, 3)],
    ['list pages/tick', (r) => fmt(r.ticks ? r.listPages / r.ticks : NaN, 2)],
    ['GETs/tick', (r) => fmt(r.ticks ? r.nodeGets / r.ticks : NaN, 2)],
    ['CPU ms/run', (r) => fmt(r.cpuMsPerRun, 2)],
    ['sim CPU', (r) => fmt(r.simCpuMsPerRun, 2)],
    ['client CPU', (r) => fmt(r.floorCpuMsPerRun, 2)],
    ['CPU vs client', (r) => fmt(r.cpuMsPerRun / r.floorCpuMsPerRun, 2)],
    ['KB/run live', (r) => fmt(r.heapPerRun / 1024, 1)],
    ['KB/run peak', (r) => fmt(r.peakHeapPerRun / 1024, 1)],
    ['events/run', (r) => fmt(r.eventsPerRun, 1)],
    ['commits/run', (r) => fmt(r.commitsPerRun, 2)],
  ];
  const widths = cols.map(([h, f]) => Math.max(h.length, ...rows.map((r) => f(r).length)));
  console.log(`\n${cols.map(([h], i) => h.padStart(widths[i])).join('  ')}`);
  for (const r of rows) console.log(cols.map(([, f], i) => f(r).padStart(widths[i])).join('  '));
  // Modes given more than once (off,on,off,on: neither pass always runs on a colder process) are averaged.
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Builds given with --dist (each pass against the floor of its own pass): mean per build.
  for (const n of SIZES) {
    if (args.dist.length < 2) break;
    for (const d of engines.keys()) {
      const mine = rows.filter((r) => r.n === n && r.dist === d);
      const cpu = mean(mine.map((r) => r.cpuMsPerRun));
      const vs = mean(mine.map((r) => r.cpuMsPerRun / r.floorCpuMsPerRun));
      console.log(
        `N = ${fmt(n)}, engine from ${d} (${mine.length} passes): CPU per teardown ${fmt(cpu, 2)} ms, ${fmt(vs, 2)}x the bare client's; wall ${fmt(mean(mine.map((r) => r.wallMs)))} ms, ${fmt(mean(mine.map((r) => r.wallMs / r.floorMs)), 2)}x the floor's`,
      );
    }
  }
  for (const n of SIZES) {
    const off = rows.filter((r) => r.n === n && r.mode === 'off');
    const on = rows.filter((r) => r.n === n && r.mode === 'on');
    if (off.length === 0 || on.length === 0) continue;
    const cpuOn = mean(on.map((r) => r.cpuMsPerRun));
    const cpuOff = mean(off.map((r) => r.cpuMsPerRun));
    console.log(
      `N = ${fmt(n)}: metrics + tracing on/off (${on.length} + ${off.length} passes), engine CPU per teardown ${fmt(cpuOn, 2)} / ${fmt(cpuOff, 2)} ms = ${fmt(cpuOn / cpuOff, 3)}; wall ${fmt(mean(on.map((r) => r.wallMs)))} / ${fmt(mean(off.map((r) => r.wallMs)))} ms`,
    );
  }
  console.log(`
Goals (issue 6):
  10,000 concurrent teardowns complete                      -> 'done' column
  wall time within 1.2x of sim transition + one poll         -> 'ratio' <= 1.20 (sim+poll = deleteMs + cleanMs + pollIntervalMs)
                                                                'floor ratio': the same for a bare client (no engine)
  while waiting, at most one list request per tick in total  -> 'list pages/tick' <= 1 and 'GETs/tick' ~0 at scale
  under 50 KB memory per in-flight run                       -> 'KB/run live' < 50
Goal (issue 20): at N = 1,000 and 10,000, engine CPU per teardown <= 2x the bare client's, every
  event recorded                                             -> 'CPU vs client' <= 2 ('events/run' unchanged)
  and the wall ratio to the floor                           -> 'vs floor'
load now: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`);
}

/**
 * The floor: the Ironic requests of N teardowns from a bare undici client (same pool size), then
 * one paged list sweep per poll tick until every node is available. No store, no machines.
 */
async function floorRun(url, n, viaClient = false) {
  const pool = new Pool(url, { connections: CONNECTIONS });
  const { IronicClient } = await import('../dist/ironic/client.js');
  const client = viaClient ? await IronicClient.connect({ url, connections: CONNECTIONS }) : null;
  const headers = { accept: 'application/json', 'x-openstack-ironic-api-version': '1.82' };
  const call = async (method, path, body) => {
    const res = await pool.request({
      method,
      path,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`floor: ${method} ${path} -> ${res.statusCode} ${text}`);
    return text === '' ? null : JSON.parse(text);
  };
  const waiting = new Map();
  let ticker = null;
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    const state = new Map();
    let marker;
    do {
      const page = await call(
        'GET',
        `/v1/nodes?fields=uuid,provision_state&limit=1000${marker ? `&marker=${marker}` : ''}`,
      );
      for (const node of page.nodes) state.set(node.uuid, node.provision_state);
      marker = page.next ? page.nodes.at(-1).uuid : undefined;
    } while (marker);
    for (const [uuid, resolve] of waiting)
      if (state.get(uuid) === 'available') {
        waiting.delete(uuid);
        resolve();
      }
    sweeping = false;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let allWaitingMs = 0;
  const viaLibrary = async (i) => {
    const node = await client.getNodeByInstance(instanceOf(i), { fields: ['uuid', 'provision_state'] });
    await client.detachVif(node.uuid, `vif-${i}`);
    await client.setProvisionState(node.uuid, 'deleted');
    allWaitingMs = performance.now() - t0;
    ticker ??= setInterval(() => void sweep(), POLL_MS);
    await new Promise((resolve) => waiting.set(node.uuid, resolve));
  };
  const teardown = async (i) => {
    if (client) return viaLibrary(i);
    const { nodes } = await call(
      'GET',
      `/v1/nodes?instance_uuid=${instanceOf(i)}&fields=uuid,provision_state`,
    );
    const uuid = nodes[0].uuid;
    await call('DELETE', `/v1/nodes/${uuid}/vifs/vif-${i}`);
    await call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'deleted' });
    allWaitingMs = performance.now() - t0;
    ticker ??= setInterval(() => void sweep(), POLL_MS);
    await new Promise((resolve) => waiting.set(uuid, resolve));
  };
  await Promise.all(Array.from({ length: n }, (_, i) => teardown(i)));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(ticker);
  await pool.close();
  await client?.close();
  return { wallMs, allWaitingMs, cpuMsPerRun: (cpu.user + cpu.system) / 1000 / n };
}

/**
 * Engine options of an --observe mode, and what to do before the engine closes: `on` scrapes its
 * registry once (that cost is counted) and reports the spans exported and a few metric lines.
 */
async function observeOptions(mode) {
  if (mode === 'default') return { options: {}, finish: async () => null };
  if (mode === 'off') return { options: { metrics: false, tracing: false }, finish: async () => null };
  const { Registry } = await import('prom-client');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  let spans = 0;
  const exporter = {
    export(batch, done) {
      spans += batch.length;
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 2048 })],
  });
  const registry = new Registry();
  return {
    options: {
      metrics: mode === 'tracing' ? false : registry,
      tracing: mode === 'metrics' ? false : { tracerProvider: provider },
    },
    finish: async () => {
      const text = await registry.metrics();
      await provider.forceFlush();
      const sample = text
        .split('\n')
        .filter((l) =>
          /^ironledger_(runs_finished_total|ironic_requests_total\{method="(PUT|DELETE)"|ironic_retries_total|run_duration_seconds_(sum|count)|watcher_sweep_nodes_(sum|count)|store_commit_events_(sum|count))/.test(
            l,
          ),
        );
      return `  observe ${mode}: ${spans} spans exported, registry text ${text.length} bytes; sample:\n${sample.map((l) => `    ${l}`).join('\n')}`;
    },
  };
}

/** CPU ms of this process's main thread and of all its other threads, from /proc (Linux; else 0s). */
function threadCpuMs() {
  const out = { main: 0, other: 0 };
  let tasks = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let stat;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
    if (Number(tid) === process.pid) out.main += ms;
    else out.other += ms;
  }
  return out;
}
