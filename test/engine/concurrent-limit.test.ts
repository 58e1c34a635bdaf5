// Ironic's concurrent action limit through the whole stack: 200 destroys at once against a
// simulator that, like Ironic 2023.1, refuses a teardown with 500 ConcurrentActionLimit while 50
// nodes are deleting or cleaning. Every run succeeds; the refusals and their retries are in the
// runs' own event logs.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const N = 200;

describe('engine: concurrent action limit on the simulator', () => {
  it('200 concurrent destroys with max_concurrent_clean 50 all succeed, retrying the refusals', async () => {
    // Each node counts against the limit for deleteMs + cleanMs: 50 slots drain in waves. A wave
    // lasts 3 s, far longer than the 200 first requests take to arrive even on a loaded machine
    // (~0.5-1 s at a load of 15 on 2 cores), so all but the first 50 meet the limit.
    world = await makeWorld({ maxConcurrentClean: 50, deleteMs: 50, cleanMs: 3000 });
    const w = world;
    // Retry budget of 400 attempts, at 25 ms doubling to the 100 ms cap (~40 s), over the ~12 s
    // the four waves take (Nova's default is 60 x 2 s).
    await w.engine.close();
    await w.reopen({ ironic: { url: w.sim.url, retryIntervalMs: 25, maxRetries: 400 } });
    const nodes = new Map<string, string>();
    for (let i = 1; i <= N; i++) {
      const node = w.sim.addNode({
        provisionState: 'active',
        powerState: 'power on',
        instanceUuid: INSTANCE(i),
        instanceInfo: { image_source: 'http://img/x.qcow2' },
      });
      nodes.set(INSTANCE(i), node.uuid);
    }
    w.sim.clearRequests();

    const handles = Array.from({ length: N }, (_, k) =>
      w.engine.destroy({ instance: INSTANCE(k + 1), vifs: [] }),
    );
    const results = await Promise.all(handles.map((h) => h.done));

    expect(results.filter((r) => r.status !== 'succeeded')).toEqual([]);
    for (let i = 1; i <= N; i++) expect(results[i - 1]!.node).toBe(nodes.get(INSTANCE(i)));

    // What Ironic saw: refusals, and exactly one accepted teardown per node.
    const provision = w.sim
      .requests()
      .filter((r) => r.method === 'PUT' && r.path.endsWith('/states/provision'));
    const refused = provision.filter((r) => r.status === 500);
    expect(refused.length).toBeGreaterThan(0);
    expect(provision.filter((r) => r.status === 202)).toHaveLength(N);
    expect(new Set(provision.filter((r) => r.status === 202).map((r) => r.path)).size).toBe(N);

    // What the runs recorded: every refusal as an http event marked for retry, then the 202.
    const store = EventStore.open(w.db, { mode: 'reader' });
    try {
      let retried = 0;
      let runsRetried = 0;
      for (const h of handles) {
        const http = store
          .readStream(h.id)
          .filter((e) => e.kind === 'http' && String(e.type).endsWith('/states/provision'))
          .map(
            (e) => e.data as { status: number; errorCode?: string; willRetry: boolean; retryInMs?: number },
          );
        const limited = http.filter((d) => d.errorCode === 'IRONIC_CONCURRENT_ACTION_LIMIT');
        expect(limited.every((d) => d.status === 500 && d.willRetry && (d.retryInMs ?? 0) > 0)).toBe(true);
        expect(http.at(-1)).toMatchObject({ status: 202, willRetry: false });
        expect(http).toHaveLength(limited.length + 1);
        retried += limited.length;
        if (limited.length > 0) runsRetried++;
      }
      expect(retried).toBe(refused.length);
      expect(runsRetried).toBeGreaterThanOrEqual(N - 50);
    } finally {
      store.close();
    }
  }, 120_000);
});

describe('engine: backoff on the concurrent action limit', () => {
  it('waits longer after each refusal of the same request (exponential, capped), as the event log shows', async () => {
    // One clean slot held for ~3 s by the first teardown: the second is refused until then.
    world = await makeWorld({ maxConcurrentClean: 1, deleteMs: 30, cleanMs: 3000 });
    const w = world;
    await w.engine.close();
    // random 0.5: no jitter, so the waits the client chose are exact; the cap is 8x the base.
    await w.reopen({
      ironic: {
        url: w.sim.url,
        retryIntervalMs: 50,
        maxRetryIntervalMs: 800,
        maxRetries: 400,
        random: () => 0.5,
      },
    });
    for (let i = 1; i <= 2; i++) {
      w.sim.addNode({
        provisionState: 'active',
        powerState: 'power on',
        instanceUuid: INSTANCE(i),
        instanceInfo: { image_source: 'http://img/x.qcow2' },
      });
    }
    const handles = [1, 2].map((i) => w.engine.destroy({ instance: INSTANCE(i), vifs: [] }));
    const results = await Promise.all(handles.map((h) => h.done));
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);

    const store = EventStore.open(w.db, { mode: 'reader' });
    let attempts: Array<{ at: number; retryInMs?: number; errorCode?: string }>;
    try {
      attempts = handles
        .map((h) =>
          store
            .readStream(h.id)
            .filter((e) => e.kind === 'http' && String(e.type).endsWith('/states/provision'))
            .map((e) => ({
              at: Date.parse(e.at),
              ...(e.data as { retryInMs?: number; errorCode?: string }),
            })),
        )
        .sort((a, b) => b.length - a.length)[0]!;
    } finally {
      store.close();
    }
    const refused = attempts.filter((a) => a.errorCode === 'IRONIC_CONCURRENT_ACTION_LIMIT');
    expect(refused.length).toBeGreaterThanOrEqual(5);
    // The waits the client chose: 50, 100, 200, 400, 800, then the cap (each recorded with its reason).
    expect(refused.map((a) => a.retryInMs)).toEqual(refused.map((_, k) => Math.min(800, 50 * 2 ** k)));
    // And what happened: each attempt started at least its wait after the one before, so the
    // gaps between the refused attempts' timestamps grow (a loaded machine only adds to each).
    const gaps = attempts.slice(1).map((a, k) => a.at - attempts[k]!.at);
    gaps.forEach((gap, k) => expect(gap).toBeGreaterThanOrEqual(refused[k]!.retryInMs! - 1));
    expect(gaps[4]!).toBeGreaterThanOrEqual(3 * gaps[0]!);
  }, 60_000);
});
