// Where the engine reports what happens: one hub that turns the engine's, the runs', the
// watcher's, the client's and the store's hooks into the typed event stream (events.ts), which
// the Prometheus metrics (metrics.ts) and the OpenTelemetry spans (tracing.ts) listen to.
// The engine calls it from a handful of places; nothing here changes what a run does.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { routeOf } from '../ironic/route.js';
import type { HttpAttempt } from '../ironic/types.js';
import type { OpName } from '../machines/index.js';
import type { StoredEvent } from '../store/types.js';
import { EngineEvents } from './events.js';
import { EngineMetrics, type MetricsGauges, type MetricsOptions } from './metrics.js';
import type { RunObserver, RunResult } from './run.js';
import { EngineTracing, type RecordedSpan, type TracingOptions } from './tracing.js';

export interface TelemetryOptions {
  /**
   * Prometheus metrics: on a registry of their own (true, the default; read it as
   * engine.metrics.registry), on the embedder's Registry, or none (false).
   */
  metrics?: boolean | Registry | MetricsOptions;
  /**
   * OpenTelemetry spans: from the global tracer provider (true, the default: a no-op until the
   * embedder registers an SDK), from the given provider, or none (false).
   */
  tracing?: boolean | TracingOptions;
}

interface RunRef {
  id: string;
  op: string;
  instance: string | null;
  node: string | null;
}

export class EngineTelemetry {
  readonly events: EngineEvents;
  readonly metrics: EngineMetrics | null;
  private readonly tracing: EngineTracing | null;
  /** When each run was accepted (performance.now()). */
  private readonly accepted = new Map<string, number>();

  constructor(
    log: Logger,
    opts: TelemetryOptions,
    gauges: MetricsGauges,
    recordSpan: (runId: string, span: RecordedSpan) => void,
  ) {
    this.events = new EngineEvents(log);
    const m = opts.metrics ?? true;
    this.metrics =
      m === false
        ? null
        : new EngineMetrics(this.events, gauges, m === true ? {} : isRegistry(m) ? { registry: m } : m);
    const t = opts.tracing ?? true;
    this.tracing = t === false ? null : new EngineTracing(this.events, t === true ? {} : t, recordSpan);
  }

  /** A run about to be resumed: reads the span contexts its log recorded. */
  resuming(runId: string, events: readonly StoredEvent[]): void {
    this.tracing?.resuming(runId, events);
  }

  runStarted(run: RunRef, resumed: boolean): void {
    this.accepted.set(run.id, performance.now());
    if (!this.events.has('run.started')) return;
    this.events.emit('run.started', {
      runId: run.id,
      op: run.op as OpName,
      instance: run.instance,
      node: run.node,
      resumed,
      at: new Date().toISOString(),
    });
  }

  runFinished(run: RunRef, result: RunResult): void {
    const since = this.accepted.get(run.id);
    this.accepted.delete(run.id);
    if (!this.events.has('run.finished')) return;
    const code = result.error?.code;
    this.events.emit('run.finished', {
      runId: run.id,
      op: run.op as OpName,
      status: result.status,
      code: typeof code === 'string' ? code : null,
      failedIn: result.failedIn,
      node: result.node,
      instance: result.instance,
      ms: since === undefined ? 0 : performance.now() - since,
      at: new Date().toISOString(),
    });
  }

  /** The observer a run reports its steps to. */
  observerFor(runId: string, op: string): RunObserver {
    const events = this.events;
    const opName = op as OpName;
    return {
      transition(from, to) {
        if (events.has('transition'))
          events.emit('transition', { runId, op: opName, from, to, at: new Date().toISOString() });
      },
      effectStarted(actorId, effect, rerun) {
        if (events.has('effect.started'))
          events.emit('effect.started', {
            runId,
            op: opName,
            actorId,
            effect,
            rerun,
            at: new Date().toISOString(),
          });
      },
      effectEnded(actorId, effect, outcome, code, ms) {
        if (events.has('effect.finished'))
          events.emit('effect.finished', {
            runId,
            op: opName,
            actorId,
            effect,
            outcome,
            code,
            ms,
            at: new Date().toISOString(),
          });
      },
    };
  }

  /** One attempt to Ironic, reported once: for a run, or (null) by the shared watcher. Keystone's are not Ironic's. */
  request(runId: string | null, a: HttpAttempt): void {
    if (a.service !== undefined || !this.events.has('request')) return;
    this.events.emit('request', {
      runId,
      method: a.method,
      route: routeOf(a.path),
      status: a.status,
      ms: a.ms,
      attempt: a.attempt,
      willRetry: a.willRetry,
      errorCode: a.errorCode ?? null,
      at: a.at,
    });
  }

  renewed(): void {
    if (this.events.has('auth.renewed')) this.events.emit('auth.renewed', { at: new Date().toISOString() });
  }

  sweep(tick: { mode: 'get' | 'list'; nodes: number; ms: number }): void {
    if (this.events.has('watcher.sweep'))
      this.events.emit('watcher.sweep', { ...tick, at: new Date().toISOString() });
  }

  commit(c: { events: number; runs: number; ms: number }): void {
    if (this.events.has('store.commit'))
      this.events.emit('store.commit', { ...c, at: new Date().toISOString() });
  }
}

function isRegistry(m: Registry | MetricsOptions): m is Registry {
  return typeof (m as Registry).getMetricsAsJSON === 'function';
}
