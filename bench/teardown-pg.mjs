// N concurrent teardowns on each store, in one run (issue 18's benchmark):
//   npm run bench:teardown-pg [-- --n 1000 --rounds 2 --clean-ms 3000 --poll-ms 2000 --delete-ms 100]
//
// The same N teardowns (waitForAvailable: each run waits out deleting and cleaning) against the
// simulator in a child process (bench/teardown.mjs --serve: N `active` nodes with an instance and
// a VIF each, no concurrent action limit), once with a fresh SQLite file and once with a fresh
// PostgreSQL schema, alternated for --rounds rounds so neither always runs on a colder process.
// PostgreSQL is PG_URL when set, otherwise a cluster of our own (scripts/postgres-standalone.sh,
// fsync on), stopped at the end. Prints per pass: wall, durable events/s (events the engine
// appended over the wall time), engine CPU per teardown (this process: engine, pg client), the
// PostgreSQL server's CPU per teardown (its processes, when the cluster is ours), events and
// store commits per teardown and the commits' mean time; then per store the mean, and the
// PostgreSQL / SQLite ratios. Numbers only; no assertions.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';

const USAGE = `usage: npm run bench:teardown-pg [-- --n 1000] [--rounds 2] [--clean-ms 3000] [--poll-ms 2000]
       [--delete-ms 100] [--connections 8]`;
const args = benchArgs(USAGE, {
  n: { kind: 'int', default: 1000, min: 1 },
  rounds: { kind: 'int', default: 2, min: 1 },
  'clean-ms': { kind: 'int', default: 3000 },
  'poll-ms': { kind: 'int', default: 2000, min: 1 },
  'delete-ms': { kind: 'int', default: 100 },
  connections: { kind: 'int', default: 8, min: 1 },
});
const N = args.n;
const instanceOf = (i) => `11111111-2222-4333-8444-${String(i).padStart(12, '0')}`;
const { Engine } = await import('../dist/engine/engine.js');
const { openRunStore } = await import('../dist/store/run-store.js');

let pgDir = null;
let pgPid = null;
let pgUrl = process.env.PG_URL;
if (!pgUrl) {
  const out = execFileSync('bash', ['scripts/postgres-standalone.sh', 'start'], { encoding: 'utf8' });
  pgUrl = /^PG_URL=(.*)$/m.exec(out)?.[1];
  pgDir = /^PG_DIR=(.*)$/m.exec(out)?.[1] ?? null;
  pgPid = Number(/^PG_PID=(.*)$/m.exec(out)?.[1]) || null;
}
const stopPg = () => {
  if (pgDir) execFileSync('bash', ['scripts/postgres-standalone.sh', 'stop', pgDir], { stdio: 'ignore' });
};

/** CPU ms of the PostgreSQL cluster we started: the postmaster and all its children (Linux /proc). */
function serverCpuMs() {
  if (pgPid === null) return NaN;
  let ms = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[1] is the parent pid; utime, stime at 11, 12 (clock ticks of 10 ms).
    if (Number(pid) === pgPid || Number(f[1]) === pgPid) ms += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  }
  return ms;
}

const child = fork(fileURLToPath(new URL('./teardown.mjs', import.meta.url)), ['--serve'], {
  stdio: 'inherit',
});
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

async function pass(store, db) {
  const { url } = await ask({ cmd: 'start', n: N, deleteMs: args['delete-ms'], cleanMs: args['clean-ms'] });
  const engine = await Engine.open({
    db,
    ironic: { url, connections: args.connections },
    concurrency: Math.max(N, 1000),
    pollIntervalMs: args['poll-ms'],
  });
  let commits = 0;
  let commitMs = 0;
  engine.on('store.commit', (c) => {
    commits++;
    commitMs += c.ms;
  });
  const server0 = store === 'postgres' ? serverCpuMs() : NaN;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const handles = Array.from({ length: N }, (_, i) =>
    engine.destroy({ instance: instanceOf(i), vifs: [`vif-${i}`], waitForAvailable: true }),
  );
  const results = await Promise.all(handles.map((h) => h.done));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const serverMs = store === 'postgres' ? serverCpuMs() - server0 : NaN;
  const events = engine.stats().eventsAppended;
  await engine.close({ deadlineMs: 5000 });
  // Every run's stream is whole in the store it was written to.
  const check = await openRunStore(db, { mode: 'reader' });
  const integrity = (await check.integrityCheck()).join('; ');
  await check.close();
  const ok = results.filter((r) => r.status === 'succeeded').length;
  return {
    store,
    ok,
    wallMs,
    events,
    eventsPerS: events / (wallMs / 1000),
    cpuMsPerRun: (cpu.user + cpu.system) / 1000 / N,
    serverMsPerRun: serverMs / N,
    eventsPerRun: events / N,
    commitsPerRun: commits / N,
    commitMs: commits ? commitMs / commits : NaN,
    integrity,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'ironledger-bench-tdpg-'));
const rows = [];
try {
  console.log(
    `${fmt(N)} concurrent teardowns per pass, ${args.rounds} round(s) of SQLite then PostgreSQL; ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );
  console.log(
    `simulator: deleteMs ${args['delete-ms']}, cleanMs ${args['clean-ms']}; engine: pollIntervalMs ${args['poll-ms']}; PostgreSQL on loopback, fsync on${pgPid === null ? ' (PG_URL given: its server CPU is not measured)' : ''}`,
  );
  const pgBase = new URL(pgUrl);
  for (let round = 0; round < args.rounds; round++) {
    for (const store of ['sqlite', 'postgres']) {
      let db;
      if (store === 'sqlite') db = join(dir, `r${round}.db`);
      else {
        pgBase.searchParams.set('schema', `bench_td_${process.pid}_${round}`);
        db = pgBase.toString();
      }
      const r = await pass(store, db);
      rows.push(r);
      console.log(
        `  ${store.padEnd(8)} round ${round + 1}: ${r.ok}/${N} succeeded, wall ${fmt(r.wallMs)} ms, ${fmt(r.eventsPerS)} events/s, engine CPU ${fmt(r.cpuMsPerRun, 2)} ms/run${store === 'postgres' ? `, server CPU ${fmt(r.serverMsPerRun, 2)} ms/run` : ''}, ${fmt(r.eventsPerRun, 1)} events and ${fmt(r.commitsPerRun, 2)} commits per run (${fmt(r.commitMs, 2)} ms each), integrity ${r.integrity}`,
      );
    }
  }
} finally {
  child.send({ cmd: 'stop' });
  rmSync(dir, { recursive: true, force: true });
  stopPg();
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const of = (store, k) => mean(rows.filter((r) => r.store === store).map((r) => r[k]));
const cols = [
  ['wall ms', 'wallMs', 0],
  ['events/s', 'eventsPerS', 0],
  ['engine CPU ms/run', 'cpuMsPerRun', 2],
  ['server CPU ms/run', 'serverMsPerRun', 2],
  ['commits/run', 'commitsPerRun', 2],
  ['ms/commit', 'commitMs', 2],
];
console.log(`\nmean of ${args.rounds} round(s), N = ${fmt(N)}`);
console.log(`${''.padEnd(18)}${'sqlite'.padStart(10)}${'postgres'.padStart(10)}${'pg/sqlite'.padStart(11)}`);
for (const [label, k, d] of cols) {
  const s = of('sqlite', k);
  const p = of('postgres', k);
  console.log(
    `${label.padEnd(18)}${fmt(s, d).padStart(10)}${fmt(p, d).padStart(10)}${fmt(p / s, 2).padStart(11)}`,
  );
}
console.log(
  `load now: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
