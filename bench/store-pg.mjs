// Store backends side by side: `npm run bench:store-pg` (builds, then node bench/store-pg.mjs).
//
// Durable appends/s on SQLite (a file, synchronous=NORMAL) and on PostgreSQL (fsync on), in one
// run, through the interface the engine uses (RunStore.write):
//  - single: one event per transaction, awaited before the next (a lone run's steps);
//  - batched: 100 runs x 1 event per transaction (one event-loop turn of a busy engine).
// Prints each, and PostgreSQL's rate as a fraction of SQLite's. PostgreSQL is PG_URL when set,
// otherwise a cluster of our own started (and stopped) with scripts/postgres-standalone.sh.
// Options: --seconds N per measurement (default 3).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openRunStore } from '../dist/store/run-store.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 3) || 3;
const RUNS = 100;

let pgDir = null;
let pgUrl = process.env.PG_URL;
if (!pgUrl) {
  const out = execFileSync('bash', ['scripts/postgres-standalone.sh', 'start'], { encoding: 'utf8' });
  pgUrl = /^PG_URL=(.*)$/m.exec(out)?.[1];
  pgDir = /^PG_DIR=(.*)$/m.exec(out)?.[1] ?? null;
}
const stopPg = () => {
  if (pgDir) execFileSync('bash', ['scripts/postgres-standalone.sh', 'stop', pgDir], { stdio: 'ignore' });
};

const runSpec = (i) => ({
  op: 'destroy',
  instanceUuid: `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, '0')}`,
  machine: 'teardown',
  machineVersion: 1,
  input: { instance: 'x' },
});
const event = (n) => ({
  kind: 'http',
  type: 'GET /v1/nodes/x',
  data: { method: 'GET', path: `/v1/nodes/${n}`, status: 200, ms: 3, attempt: 1, willRetry: false },
});

async function measure(store, batchRuns) {
  const { runs } = await store.write(
    Array.from({ length: batchRuns }, (_, i) => runSpec(i)),
    [],
  );
  const seqs = runs.map(() => 1);
  let events = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  while (performance.now() < until) {
    await store.write(
      [],
      runs.map((r, i) => ({ runId: r.id, expectedSeq: seqs[i], events: [event(events + i)] })),
    );
    for (let i = 0; i < seqs.length; i++) seqs[i] += 1;
    events += runs.length;
  }
  return events / ((performance.now() - t0) / 1000);
}

async function backend(name, db) {
  const out = {};
  for (const [part, n] of [
    ['single', 1],
    ['batched', RUNS],
  ]) {
    const store = await openRunStore(typeof db === 'function' ? db() : db);
    try {
      out[part] = await measure(store, n);
    } finally {
      await store.close();
    }
  }
  return { name, ...out };
}

const dir = mkdtempSync(join(tmpdir(), 'ironledger-bench-pg-'));
let file = 0;
try {
  const sqlite = await backend('sqlite', () => join(dir, `b${file++}.db`));
  let schema = 0;
  const pgBase = new URL(pgUrl);
  const postgres = await backend('postgres', () => {
    pgBase.searchParams.set('schema', `bench_${process.pid}_${schema++}`);
    return pgBase.toString();
  });
  const f = (x) => Math.round(x).toLocaleString('en-US');
  console.log(
    `store backends, ${seconds} s per measurement, ${cpus().length} cores, node ${process.version}`,
  );
  console.log('part      sqlite ev/s   postgres ev/s   postgres/sqlite');
  for (const part of ['single', 'batched']) {
    console.log(
      `${part.padEnd(8)}  ${f(sqlite[part]).padStart(11)}   ${f(postgres[part]).padStart(13)}   ${(postgres[part] / sqlite[part]).toFixed(2).padStart(15)}`,
    );
  }
  console.log(`(batched: ${RUNS} runs x 1 event per transaction; PostgreSQL on loopback, fsync on)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  stopPg();
}
