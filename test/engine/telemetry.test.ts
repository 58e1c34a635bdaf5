// What a scheduler embedding the engine sees without polling: Prometheus metrics on its own
// registry, the typed event stream, OpenTelemetry spans (captured in memory here; the engine
// depends on @opentelemetry/api only). Teardowns run on the simulator over real HTTP, with a
// real store file; nothing of our own layers is faked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { register, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineEventMap, EngineEventName } from '../../src/engine/events.js';
import { EventStore } from '../../src/store/event-store.js';
import { startSimulator } from '../../src/sim/index.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function activeNode(w: World, i: number, vifs: string[]): string {
  return w.sim.addNode({
    provisionState: 'active',
    powerState: 'power on',
    instanceUuid: INSTANCE(i),
    instanceInfo: { image_source: 'http://img/x.qcow2' },
    ports: vifs.map((vifId, k) => ({ address: `52:54:00:00:0${i}:0${k}`, vifId })),
  }).uuid;
}

type Metric = MetricObjectWithValues<MetricValue<string> & { metricName?: string }>;

async function metricsOf(registry: Registry): Promise<Map<string, Metric>> {
  const all = (await registry.getMetricsAsJSON()) as Metric[];
  return new Map(all.map((m) => [m.name, m]));
}

/** The value of the sample with exactly these labels (histograms: `_count` unless `metricName` says). */
function sample(
  m: Metric | undefined,
  labels: Record<string, string>,
  metricName?: string,
): number | undefined {
  const want = Object.entries(labels);
  return m?.values.find(
    (v) =>
      (metricName === undefined || v.metricName === metricName) &&
      want.every(([k, val]) => String(v.labels[k]) === val) &&
      Object.keys(v.labels).filter((k) => k !== 'le').length === want.length,
  )?.value;
}

function total(m: Metric | undefined, metricName?: string): number {
  return (m?.values ?? [])
    .filter((v) => metricName === undefined || v.metricName === metricName)
    .reduce((s, v) => s + v.value, 0);
}

describe('engine metrics (prom-client)', () => {
  it('counts runs, requests, retries, sweeps and commits of teardowns on the registry the embedder passed', async () => {
    const registry = new Registry();
    world = await makeWorld({}, { metrics: registry });
    const w = world;
    const plain = activeNode(w, 1, ['vif-a']);
    const locked = activeNode(w, 2, ['vif-b']);
    const broken = activeNode(w, 3, []);
    w.sim.faults.script({ method: 'DELETE', path: '/v1/nodes/*/vifs/*', node: locked }, ['409-locked']);
    w.sim.failNextClean(broken, 'Clean step erase_devices failed: disk on fire');
    w.sim.clearRequests();

    const results = await Promise.all([
      w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-a'], waitForAvailable: true }).done,
      w.engine.destroy({ instance: INSTANCE(2), vifs: ['vif-b'], waitForAvailable: true }).done,
      w.engine.destroy({ instance: INSTANCE(3), vifs: [], waitForAvailable: true }).done,
    ]);
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'failed']);

    const m = await metricsOf(registry);
    expect(sample(m.get('ironledger_runs_started_total'), { op: 'destroy', resumed: 'false' })).toBe(3);
    const finished = m.get('ironledger_runs_finished_total');
    expect(sample(finished, { op: 'destroy', status: 'succeeded' })).toBe(2);
    expect(sample(finished, { op: 'destroy', status: 'failed' })).toBe(1);
    const runSeconds = m.get('ironledger_run_duration_seconds');
    expect(
      sample(runSeconds, { op: 'destroy', status: 'succeeded' }, 'ironledger_run_duration_seconds_count'),
    ).toBe(2);
    expect(
      sample(runSeconds, { op: 'destroy', status: 'failed' }, 'ironledger_run_duration_seconds_count'),
    ).toBe(1);
    expect(sample(m.get('ironledger_runs_in_flight'), {})).toBe(0);
    expect(sample(m.get('ironledger_runs_queued'), {})).toBe(0);

    // Every attempt the simulator answered is counted once (the watcher's shared polls too),
    // labelled by a route template: no node UUID, no VIF id, no query.
    const requests = m.get('ironledger_ironic_requests_total');
    const seen = w.sim.requests();
    expect(total(requests)).toBe(seen.length);
    for (const v of requests!.values) {
      expect(String(v.labels.route)).toMatch(/^\/v1(\/([a-z_]+|\{[a-z]+\}))*$/);
      for (const id of [plain, locked, broken, 'vif-a', 'vif-b'])
        expect(String(v.labels.route)).not.toContain(id);
    }
    const route409 = { method: 'DELETE', route: '/v1/nodes/{node}/vifs/{vif}', status: '409' };
    expect(sample(requests, route409)).toBe(1);
    expect(sample(requests, { ...route409, status: '204' })).toBe(2);
    expect(
      sample(requests, { method: 'PUT', route: '/v1/nodes/{node}/states/provision', status: '202' }),
    ).toBe(3);
    expect(sample(m.get('ironledger_ironic_retries_total'), { reason: 'IRONIC_NODE_LOCKED' })).toBe(1);
    expect(total(m.get('ironledger_ironic_retries_total'))).toBe(1);
    const latency = m.get('ironledger_ironic_request_duration_seconds');
    expect(total(latency, 'ironledger_ironic_request_duration_seconds_count')).toBe(seen.length);

    const sweeps = total(
      m.get('ironledger_watcher_sweep_duration_seconds'),
      'ironledger_watcher_sweep_duration_seconds_count',
    );
    expect(sweeps).toBeGreaterThan(0);
    expect(total(m.get('ironledger_watcher_sweep_nodes'), 'ironledger_watcher_sweep_nodes_count')).toBe(
      sweeps,
    );
    expect(
      total(m.get('ironledger_watcher_sweep_nodes'), 'ironledger_watcher_sweep_nodes_sum'),
    ).toBeGreaterThanOrEqual(sweeps);

    // Every event the recorder made durable went through a counted commit.
    const commits = m.get('ironledger_store_commit_events');
    expect(total(commits, 'ironledger_store_commit_events_sum')).toBe(w.engine.stats().eventsAppended);
    expect(
      total(
        m.get('ironledger_store_commit_duration_seconds'),
        'ironledger_store_commit_duration_seconds_count',
      ),
    ).toBe(total(commits, 'ironledger_store_commit_events_count'));
    expect(sample(m.get('ironledger_effects_total'), { effect: 'requestDeleted', outcome: 'ok' })).toBe(3);
    expect(m.has('ironledger_keystone_reauthentications_total')).toBe(true);

    const text = await registry.metrics();
    expect(text).toContain('# TYPE ironledger_ironic_requests_total counter');
    expect(text).toContain('ironledger_runs_finished_total{op="destroy",status="failed"} 1');
    // prom-client's global registry is left alone.
    expect(register.getMetricsAsArray()).toHaveLength(0);
  });

  it('counts Keystone re-authentications (a token revoked mid-run)', async () => {
    const password = 'metrics-test-password-fig';
    const sim = await startSimulator({
      deployMs: 50,
      deleteMs: 30,
      cleanMs: 400,
      seed: 1,
      keystone: { users: [{ name: 'admin', password, project: 'admin' }] },
    });
    const dir = mkdtempSync(join(tmpdir(), 'ironledger-metrics-'));
    const engine = await Engine.open({
      db: join(dir, 'runs.db'),
      ironic: {
        auth: {
          type: 'password',
          authUrl: `${sim.url}/v3`,
          user: { username: 'admin', userDomainName: 'Default' },
          password,
          project: { projectName: 'admin', projectDomainName: 'Default' },
        },
        retryIntervalMs: 10,
        maxRetries: 5,
      },
      pollIntervalMs: 20,
    });
    try {
      sim.addNode({ provisionState: 'active', powerState: 'power on', instanceUuid: INSTANCE(7) });
      const run = engine.destroy({ instance: INSTANCE(7), vifs: [], waitForAvailable: true });
      await new Promise((r) => setTimeout(r, 150));
      sim.keystone!.revokeAll();
      expect((await run.done).status).toBe('succeeded');
      const m = await metricsOf(engine.metrics!.registry);
      expect(sample(m.get('ironledger_keystone_reauthentications_total'), {})).toBe(1);
      // The token request is Keystone's, not Ironic's: no /v3 route among Ironic's requests.
      for (const v of m.get('ironledger_ironic_requests_total')!.values)
        expect(String(v.labels.route)).toMatch(/^\/v1/);
      expect(
        sample(m.get('ironledger_ironic_requests_total'), {
          method: 'GET',
          route: '/v1/nodes/{node}',
          status: '401',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(await engine.metrics!.registry.metrics()).not.toContain(password);
    } finally {
      await engine.close({ deadlineMs: 100 });
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

type Seen = { [K in EngineEventName]: { name: K; event: EngineEventMap[K] } }[EngineEventName];

describe('engine.on: the typed event stream', () => {
  it('delivers a teardown in order, and a throwing listener neither breaks the run nor goes unlogged', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    world = await makeWorld({}, { logger, metrics: false, tracing: false });
    const w = world;
    activeNode(w, 1, ['vif-a']);
    const seen: Seen[] = [];
    const names: EngineEventName[] = [
      'run.started',
      'transition',
      'effect.started',
      'effect.finished',
      'request',
      'run.finished',
    ];
    for (const name of names) w.engine.on(name, (event) => seen.push({ name, event } as Seen));
    let thrown = 0;
    w.engine.on('transition', () => {
      thrown++;
      throw new Error('a listener bug');
    });

    const handle = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-a'], waitForAvailable: true });
    const result = await handle.done;
    expect(result.status).toBe('succeeded');

    const mine = seen.filter((s) => 'runId' in s.event && s.event.runId === handle.id);
    expect(mine[0]!.name).toBe('run.started');
    expect(mine[mine.length - 1]!.name).toBe('run.finished');
    const fin = mine[mine.length - 1]!.event as EngineEventMap['run.finished'];
    expect(fin).toMatchObject({ op: 'destroy', status: 'succeeded', code: null, instance: INSTANCE(1) });

    // The transitions are the recorded ones, in order.
    const store = EventStore.open(w.db, { mode: 'reader' });
    const stream = store.readStream(handle.id);
    store.close();
    const recorded = stream.filter((e) => e.kind === 'transition' && e.from !== e.to).map((e) => e.to);
    const transitions = mine.flatMap((s) => (s.name === 'transition' ? [s.event] : []));
    expect(transitions.map((t) => t.to)).toEqual(recorded);
    expect(transitions[0]!.from).toBeNull();
    for (let i = 1; i < transitions.length; i++) expect(transitions[i]!.from).toBe(transitions[i - 1]!.to);
    expect(thrown).toBe(transitions.length);

    // Each effect starts, then finishes, in the order the store recorded them.
    const started = mine.flatMap((s) => (s.name === 'effect.started' ? [s.event.effect] : []));
    expect(started).toEqual(stream.filter((e) => e.kind === 'effect.started').map((e) => e.type));
    for (const s of mine.filter((x) => x.name === 'effect.started')) {
      const { actorId } = s.event as EngineEventMap['effect.started'];
      const at = (name: EngineEventName): number =>
        mine.findIndex((x) => x.name === name && (x.event as { actorId?: string }).actorId === actorId);
      expect(at('effect.finished')).toBeGreaterThan(at('effect.started'));
    }
    const requests = mine.flatMap((s) => (s.name === 'request' ? [s.event] : []));
    expect(requests.map((r) => `${r.method} ${r.route}`)).toContain('PUT /v1/nodes/{node}/states/provision');
    expect(requests.map((r) => `${r.method} ${r.route}`)).toContain('DELETE /v1/nodes/{node}/vifs/{vif}');

    const warned = lines.map(
      (l) => JSON.parse(l) as { msg: string; event?: string; err?: { message: string } },
    );
    const listenerWarnings = warned.filter((l) => l.msg === 'an engine listener threw; ignored');
    expect(listenerWarnings).toHaveLength(thrown);
    expect(listenerWarnings[0]).toMatchObject({ event: 'transition', err: { message: 'a listener bug' } });
  });
});

describe('OpenTelemetry spans', () => {
  function tracer(): { provider: BasicTracerProvider; exporter: InMemorySpanExporter } {
    const exporter = new InMemorySpanExporter();
    return {
      exporter,
      provider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    };
  }
  const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

  it('one span per run, a child per effect and per Ironic attempt; a failed run has an error status', async () => {
    const { provider, exporter } = tracer();
    world = await makeWorld({}, { tracing: { tracerProvider: provider }, metrics: false });
    const w = world;
    const node = activeNode(w, 1, ['vif-a']);
    const broken = activeNode(w, 2, []);
    w.sim.faults.script({ method: 'DELETE', path: '/v1/nodes/*/vifs/*', node }, ['409-locked']);
    w.sim.failNextClean(broken, 'Clean step failed');
    const ok = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-a'], waitForAvailable: true });
    const bad = w.engine.destroy({ instance: INSTANCE(2), vifs: [], waitForAvailable: true });
    expect((await ok.done).status).toBe('succeeded');
    expect((await bad.done).status).toBe('failed');

    const spans = exporter.getFinishedSpans();
    const runSpan = spans.find(
      (s) => s.name === 'ironledger.run destroy' && s.attributes['ironledger.run_id'] === ok.id,
    )!;
    expect(runSpan).toBeDefined();
    expect(parentOf(runSpan)).toBeUndefined();
    expect(runSpan.attributes).toMatchObject({
      'ironledger.instance': INSTANCE(1),
      'ironledger.node': node,
      'ironledger.status': 'succeeded',
    });
    const trace = spans.filter((s) => s.spanContext().traceId === runSpan.spanContext().traceId);
    const effects = trace.filter((s) => s.name.startsWith('ironledger.effect '));
    expect(effects.length).toBeGreaterThan(2);
    for (const e of effects) expect(parentOf(e)).toBe(runSpan.spanContext().spanId);
    const effectIds = new Set(effects.map((e) => e.spanContext().spanId));
    const attempts = trace.filter((s) => s.attributes['http.request.method'] !== undefined);
    expect(attempts.map((a) => a.name)).toContain('PUT /v1/nodes/{node}/states/provision');
    for (const a of attempts) expect(effectIds.has(parentOf(a) ?? '')).toBe(true);
    // The 409 is an errored attempt inside the effect that detached the VIF, then its retry.
    const vifs = attempts.filter((a) => a.name === 'DELETE /v1/nodes/{node}/vifs/{vif}');
    expect(vifs.map((a) => a.attributes['http.response.status_code'])).toEqual([409, 204]);
    expect(vifs[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(vifs[0]!.attributes['ironledger.will_retry']).toBe(true);
    expect(new Set(vifs.map(parentOf)).size).toBe(1);
    // The run's record holds its span context.
    const store = EventStore.open(w.db, { mode: 'reader' });
    const note = store.readStream(ok.id).find((e) => e.kind === 'note' && e.type === 'trace');
    store.close();
    expect(note?.data).toMatchObject({
      traceId: runSpan.spanContext().traceId,
      spanId: runSpan.spanContext().spanId,
    });

    const failed = spans.find(
      (s) => s.attributes['ironledger.run_id'] === bad.id && s.name.startsWith('ironledger.run'),
    )!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['ironledger.error_code']).toBeTypeOf('string');
  });

  it('a run closed mid-wait and resumed by a new engine links its span to the first one', async () => {
    const { provider, exporter } = tracer();
    world = await makeWorld({ cleanMs: 1500 }, { tracing: { tracerProvider: provider }, metrics: false });
    const w = world;
    activeNode(w, 1, []);
    const handle = w.engine.destroy({ instance: INSTANCE(1), vifs: [], waitForAvailable: true });
    await new Promise<void>((resolve) =>
      handle.subscribe((p) => {
        if (p.state.includes('cleaning')) resolve();
      }),
    );
    await w.engine.close({ deadlineMs: 100 });
    expect((await handle.done).status).toBe('interrupted');
    const engine = await w.reopen();
    const resumed = engine.resume(handle.id);
    expect((await resumed.done).status).toBe('succeeded');

    const runs = exporter
      .getFinishedSpans()
      .filter((s) => s.name === 'ironledger.run destroy' && s.attributes['ironledger.run_id'] === handle.id);
    expect(runs).toHaveLength(2);
    const [first, second] = runs as [ReadableSpan, ReadableSpan];
    expect(first.attributes['ironledger.status']).toBe('interrupted');
    expect(second.attributes['ironledger.resumed']).toBe(true);
    expect(second.links.map((l) => l.context.spanId)).toEqual([first.spanContext().spanId]);
    expect(second.links[0]!.context.traceId).toBe(first.spanContext().traceId);
  });
});
