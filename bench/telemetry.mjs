// What metrics and tracing cost one teardown, alone: the engine's telemetry hooks fed the
// events of a teardown (7 transitions, 5 effects, 3 Ironic attempts, a run start and end, 2
// store commits) N times, with metrics + tracing (an OpenTelemetry SDK, BatchSpanProcessor, an
// exporter that only counts) on, each alone, and off. End-to-end (bench/teardown.mjs --observe off,on) the
// difference drowns in the noise of a loaded 2-core machine; this isolates it.
//   npm run build && node bench/telemetry.mjs [--runs 20000] [--rounds 5]
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { EngineTelemetry } from '../dist/engine/telemetry.js';
import { benchArgs } from './args.mjs';

const USAGE = 'usage: npm run build && node bench/telemetry.mjs [--runs 20000] [--rounds 5]';
const args = benchArgs(USAGE, {
  runs: { kind: 'int', default: 20_000, min: 1 },
  rounds: { kind: 'int', default: 5, min: 1 },
});
const log = pino({ level: 'silent' });
const gauges = { inFlight: () => 0, queued: () => 0, waiting: () => 0 };
const STATES = ['lookup', 'cleanup.unplugVifs', 'cleanup.stopFiltering', 'unprovision.requestDeleted'];
const EFFECTS = ['lookupNode', 'unplugVifs', 'stopFiltering', 'requestDeleted', 'observeNode'];
const ATTEMPTS = [
  ['GET', '/v1/nodes?instance_uuid=11111111-2222-4333-8444-000000000001&fields=uuid', 200],
  ['DELETE', '/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123/vifs/vif-1', 204],
  ['PUT', '/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123/states/provision', 202],
];

function make(mode) {
  let spans = 0;
  const exporter = {
    export(batch, done) {
      spans += batch.length;
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 1_000_000, maxExportBatchSize: 4096 })],
  });
  const options = {
    metrics: mode === 'on' || mode === 'metrics' ? new Registry() : false,
    tracing: mode === 'on' || mode === 'tracing' ? { tracerProvider: provider } : false,
  };
  return { t: new EngineTelemetry(log, options, gauges, () => undefined), provider, spans: () => spans };
}

/** The telemetry of one teardown. */
function teardown(t, i) {
  const id = `run-${i}`;
  const run = { id, op: 'destroy', instance: '11111111-2222-4333-8444-000000000001', node: null };
  t.runStarted(run, false);
  const o = t.observerFor(id, 'destroy');
  let from = null;
  for (let k = 0; k < EFFECTS.length; k++) {
    const to = STATES[k] ?? 'unprovision.watching.waiting';
    o.transition(from, to);
    from = to;
    o.effectStarted(EFFECTS[k], EFFECTS[k], false);
    const a = ATTEMPTS[k - 1];
    if (a)
      t.request(id, {
        method: a[0],
        path: a[1],
        status: a[2],
        ms: 3.2,
        attempt: 1,
        willRetry: false,
        at: new Date().toISOString(),
      });
    o.effectEnded(EFFECTS[k], EFFECTS[k], 'ok', null, 4.1);
  }
  o.transition(from, 'unprovision.watching.cleaning');
  o.transition('unprovision.watching.cleaning', 'succeeded');
  t.commit({ events: 20, runs: 1, ms: 0.4 });
  t.commit({ events: 8, runs: 1, ms: 0.3 });
  t.runFinished(run, { status: 'succeeded', error: null, failedIn: null, node: 'n', instance: run.instance });
}

const MODES = ['off', 'metrics', 'tracing', 'on'];
const results = Object.fromEntries(MODES.map((m) => [m, []]));
for (let round = 0; round < args.rounds; round++) {
  for (const mode of MODES) {
    const { t, provider, spans } = make(mode);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < args.runs; i++) teardown(t, i);
    if (t.metrics) await t.metrics.registry.metrics();
    await provider.forceFlush();
    const cpu = process.cpuUsage(cpu0);
    const us = (cpu.user + cpu.system) / args.runs;
    results[mode].push(us);
    if (round === 0) console.log(`${mode}: ${spans()} spans exported for ${args.runs} teardowns`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const mode of MODES)
  console.log(
    `${mode}: ${results[mode].map((x) => x.toFixed(1)).join(' / ')} us CPU per teardown (median ${median(results[mode]).toFixed(1)})`,
  );
console.log(
  `metrics + tracing cost ${(median(results.on) - median(results.off)).toFixed(1)} us of CPU per teardown`,
);
