// OpenTelemetry spans through @opentelemetry/api only: the embedder brings the SDK (or none:
// the API's global tracer is then a no-op, and nothing is recorded). One span per run, a child
// span per effect and per Ironic attempt made for the run. A run span's context is recorded in
// the run's log (a `trace` note), so a resumed run's span links to the spans of its earlier
// drives, in whatever process they ran.
import {
  context,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  type Link,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { StoredEvent } from '../store/types.js';
import type { EngineEvents } from './events.js';

export interface TracingOptions {
  /** Where spans go (default: the global provider, a no-op until an SDK registers one). */
  tracerProvider?: TracerProvider;
}

/** The note a run's log holds its span context in (kind `note`, type `trace`). */
export const TRACE_NOTE = 'trace';

/** A recorded span context: the ids a resumed run links to. */
export interface RecordedSpan {
  traceId: string;
  spanId: string;
}

interface OpenRun {
  span: Span;
  /** Effect spans by actor id, in the order they started. */
  effects: Map<string, Span>;
}

const TRACER = 'ironledger';

export class EngineTracing {
  private readonly tracer: Tracer;
  private readonly open = new Map<string, OpenRun>();
  /** Span contexts of a resumed run's earlier drives, until its span starts. */
  private readonly earlier = new Map<string, RecordedSpan[]>();

  constructor(
    events: EngineEvents,
    opts: TracingOptions,
    /** Records the run span's context in the run's log. */
    private readonly record: (runId: string, span: RecordedSpan) => void,
  ) {
    this.tracer = (opts.tracerProvider ?? trace.getTracerProvider()).getTracer(TRACER);

    events.on('run.started', (e) => {
      const links: Link[] = (this.earlier.get(e.runId) ?? []).map((s) => ({
        context: { traceId: s.traceId, spanId: s.spanId, traceFlags: 1, isRemote: true },
        attributes: { 'ironledger.link': 'earlier drive of this run' },
      }));
      this.earlier.delete(e.runId);
      const span = this.tracer.startSpan(`ironledger.run ${e.op}`, {
        kind: SpanKind.INTERNAL,
        startTime: Date.parse(e.at),
        links,
        attributes: {
          'ironledger.run_id': e.runId,
          'ironledger.op': e.op,
          'ironledger.resumed': e.resumed,
          ...(e.node === null ? {} : { 'ironledger.node': e.node }),
          ...(e.instance === null ? {} : { 'ironledger.instance': e.instance }),
        },
      });
      this.open.set(e.runId, { span, effects: new Map() });
      const sc = span.spanContext();
      if (isSpanContextValid(sc)) this.record(e.runId, { traceId: sc.traceId, spanId: sc.spanId });
    });

    events.on('effect.started', (e) => {
      const run = this.open.get(e.runId);
      if (!run) return;
      const span = this.tracer.startSpan(
        `ironledger.effect ${e.effect}`,
        {
          startTime: Date.parse(e.at),
          attributes: {
            'ironledger.run_id': e.runId,
            'ironledger.effect': e.effect,
            'ironledger.actor_id': e.actorId,
            'ironledger.rerun': e.rerun,
          },
        },
        trace.setSpan(context.active(), run.span),
      );
      run.effects.set(e.actorId, span);
    });

    events.on('effect.finished', (e) => {
      const run = this.open.get(e.runId);
      const span = run?.effects.get(e.actorId);
      if (!run || !span) return;
      run.effects.delete(e.actorId);
      span.setAttribute('ironledger.outcome', e.outcome);
      if (e.outcome === 'error') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.code ?? 'effect failed' });
        if (e.code !== null) span.setAttribute('ironledger.error_code', e.code);
      }
      span.end(Date.parse(e.at));
    });

    events.on('request', (e) => {
      if (e.runId === null) return;
      const run = this.open.get(e.runId);
      if (!run) return;
      // The attempt belongs to the effect that sent it: the latest still running (a run's effects
      // talk to Ironic one at a time; should two overlap, the attempt goes to the later one).
      let parent = run.span;
      for (const s of run.effects.values()) parent = s;
      const end = Date.parse(e.at) + e.ms;
      const span = this.tracer.startSpan(
        `${e.method} ${e.route}`,
        {
          kind: SpanKind.CLIENT,
          startTime: Date.parse(e.at),
          attributes: {
            'http.request.method': e.method,
            'http.route': e.route,
            'http.request.resend_count': e.attempt - 1,
            'ironledger.run_id': e.runId,
            'ironledger.will_retry': e.willRetry,
            ...(e.status === null ? {} : { 'http.response.status_code': e.status }),
            ...(e.errorCode === null ? {} : { 'ironledger.error_code': e.errorCode }),
          },
        },
        trace.setSpan(context.active(), parent),
      );
      if (e.status === null || e.status >= 400)
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: e.errorCode ?? String(e.status ?? 'no answer'),
        });
      span.end(end);
    });

    events.on('run.finished', (e) => {
      const run = this.open.get(e.runId);
      if (!run) return;
      this.open.delete(e.runId);
      const at = Date.parse(e.at);
      // Effects cut short by the run's end (close, a store failure) end with it.
      for (const span of run.effects.values()) {
        span.setAttribute('ironledger.outcome', 'abandoned');
        span.end(at);
      }
      run.span.setAttribute('ironledger.status', e.status);
      if (e.node !== null) run.span.setAttribute('ironledger.node', e.node);
      if (e.status === 'failed') {
        run.span.setStatus({ code: SpanStatusCode.ERROR, message: e.code ?? 'run failed' });
        if (e.code !== null) run.span.setAttribute('ironledger.error_code', e.code);
        if (e.failedIn !== null) run.span.setAttribute('ironledger.failed_in', e.failedIn);
      } else if (e.status === 'interrupted' && e.code !== null) {
        run.span.setAttribute('ironledger.error_code', e.code);
      }
      run.span.end(at);
    });
  }

  /** A run about to be resumed: its span will link to the spans recorded in its log. */
  resuming(runId: string, events: readonly StoredEvent[]): void {
    const spans = recordedSpans(events);
    if (spans.length > 0) this.earlier.set(runId, spans);
  }
}

/** The span contexts recorded in a run's log, oldest first. */
export function recordedSpans(events: readonly StoredEvent[]): RecordedSpan[] {
  const out: RecordedSpan[] = [];
  for (const e of events) {
    if (e.kind !== 'note' || e.type !== TRACE_NOTE) continue;
    const { traceId, spanId } = e.data;
    if (typeof traceId === 'string' && typeof spanId === 'string') out.push({ traceId, spanId });
  }
  return out;
}
