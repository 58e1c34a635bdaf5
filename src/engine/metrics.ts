// Prometheus metrics of one engine, on a prom-client Registry the embedder passes in (or a
// fresh one, engine.metrics.registry): never prom-client's global default registry, so two
// engines in one process, or the embedder's own metrics, never collide. Fed by the engine's
// event stream (events.ts); labels carry op, status, method, route templates and error
// codes only: never a node, an instance, a run id or anything secret.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineEvents } from './events.js';

export interface MetricsOptions {
  /** Where the metrics are registered (default: a new Registry of their own). */
  registry?: Registry;
  /** Prefix of every metric name (default `ironledger_`). */
  prefix?: string;
}

/** What the gauges read when scraped. */
export interface MetricsGauges {
  inFlight(): number;
  queued(): number;
  waiting(): number;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RUN_SECONDS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

export class EngineMetrics {
  readonly registry: Registry;

  constructor(events: EngineEvents, gauges: MetricsGauges, opts: MetricsOptions = {}) {
    const registry = opts.registry ?? new Registry();
    this.registry = registry;
    const p = opts.prefix ?? 'ironledger_';
    const registers = [registry];

    const runsStarted = new Counter({
      name: `${p}runs_started_total`,
      help: 'Runs the engine accepted, by operation; resumed: continued after a restart.',
      labelNames: ['op', 'resumed'] as const,
      registers,
    });
    const runsFinished = new Counter({
      name: `${p}runs_finished_total`,
      help: 'Runs the engine stopped driving, by operation and status (interrupted: still resumable).',
      labelNames: ['op', 'status'] as const,
      registers,
    });
    const runSeconds = new Histogram({
      name: `${p}run_duration_seconds`,
      help: 'Time from a run being accepted to its end in this engine, by operation and status.',
      labelNames: ['op', 'status'] as const,
      buckets: RUN_SECONDS,
      registers,
    });
    new Gauge({
      name: `${p}runs_in_flight`,
      help: 'Runs holding a concurrency slot.',
      registers,
      collect() {
        this.set(gauges.inFlight());
      },
    });
    new Gauge({
      name: `${p}runs_queued`,
      help: 'Runs accepted and waiting for their node, instance or a concurrency slot.',
      registers,
      collect() {
        this.set(gauges.queued());
      },
    });
    new Gauge({
      name: `${p}effects_waiting`,
      help: 'Effects waiting on a node state (node watcher) or a sleep rather than talking to Ironic.',
      registers,
      collect() {
        this.set(gauges.waiting());
      },
    });
    const effects = new Counter({
      name: `${p}effects_total`,
      help: 'Effects ended, by effect and outcome (ok, error, abandoned).',
      labelNames: ['effect', 'outcome'] as const,
      registers,
    });
    const requests = new Counter({
      name: `${p}ironic_requests_total`,
      help: 'HTTP attempts to Ironic, by method, route template and status (none: no answer).',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    });
    const requestSeconds = new Histogram({
      name: `${p}ironic_request_duration_seconds`,
      help: 'Latency of one HTTP attempt to Ironic, by method and route template.',
      labelNames: ['method', 'route'] as const,
      buckets: SECONDS,
      registers,
    });
    const retries = new Counter({
      name: `${p}ironic_retries_total`,
      help: 'Attempts that will be retried, by reason (the error code, e.g. IRONIC_NODE_LOCKED).',
      labelNames: ['reason'] as const,
      registers,
    });
    const reauth = new Counter({
      name: `${p}keystone_reauthentications_total`,
      help: 'Keystone tokens issued after the engine opened (renewals).',
      registers,
    });
    const sweepSeconds = new Histogram({
      name: `${p}watcher_sweep_duration_seconds`,
      help: 'Duration of one node watcher tick, by mode (get: a GET per node; list: node list pages).',
      labelNames: ['mode'] as const,
      buckets: SECONDS,
      registers,
    });
    const sweepNodes = new Histogram({
      name: `${p}watcher_sweep_nodes`,
      help: 'Nodes observed per node watcher tick.',
      labelNames: ['mode'] as const,
      buckets: [1, 2, 5, 10, 16, 50, 100, 500, 1000, 5000],
      registers,
    });
    const commitSeconds = new Histogram({
      name: `${p}store_commit_duration_seconds`,
      help: 'Duration of one event-store transaction.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    const commitEvents = new Histogram({
      name: `${p}store_commit_events`,
      help: 'Events written per event-store transaction.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000],
      registers,
    });

    events.on('run.started', (e) => runsStarted.inc({ op: e.op, resumed: String(e.resumed) }));
    events.on('run.finished', (e) => {
      runsFinished.inc({ op: e.op, status: e.status });
      runSeconds.observe({ op: e.op, status: e.status }, e.ms / 1000);
    });
    events.on('effect.finished', (e) => effects.inc({ effect: e.effect, outcome: e.outcome }));
    events.on('request', (e) => {
      requests.inc({
        method: e.method,
        route: e.route,
        status: e.status === null ? 'none' : String(e.status),
      });
      requestSeconds.observe({ method: e.method, route: e.route }, e.ms / 1000);
      if (e.willRetry)
        retries.inc({ reason: e.errorCode ?? (e.status === null ? 'none' : String(e.status)) });
    });
    events.on('auth.renewed', () => reauth.inc());
    events.on('watcher.sweep', (e) => {
      sweepSeconds.observe({ mode: e.mode }, e.ms / 1000);
      sweepNodes.observe({ mode: e.mode }, e.nodes);
    });
    events.on('store.commit', (e) => {
      commitSeconds.observe(e.ms / 1000);
      commitEvents.observe(e.events);
    });
  }
}
