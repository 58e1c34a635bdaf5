// Issue 20 on the real Ironic: past `[conductor] max_concurrent_clean` nodes in deleting/cleaning,
// Ironic 2023.1 refuses a teardown with 500 "The concurrent action limit for unprovisioning has
// been reached" (17 of 200 Nova destroys failed on it). Our client retries that refusal, so
// concurrent destroys over the limit all succeed.
//
// This file starts its own Ironic with max_concurrent_clean = 2 and deploy_delay = 2 s: `deleting`
// runs the fake tear_down and clean_up, 2 s each, so six destroys at once must queue behind the
// limit in about three waves.
//
// Ironic counts the nodes in those states before the conductor writes the new state, and its API
// serves requests concurrently (eventlet): six requests arriving in the same few milliseconds all
// count 0 and all pass (seen: six `deleting` within 90 ms under a limit of 2). So the destroys here
// start 500 ms apart, as Nova's spread-out destroys arrive; from the third on Ironic refuses.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { availableNode, logMark, openRealEngine, readStream, replay, tempDir } from './engine-helpers.js';
import {
  deployFakeNode,
  getNode,
  loggedRequests,
  standalone,
  stopStandalone,
  type StandaloneIronic,
} from './helpers.js';

const url = inject('ironicUrl');
const LIMIT = 2;
const N = 6;
const tmp = tempDir('ironledger-real-concurrent-limit-');

describe.skipIf(url === null)("Ironic's concurrent action limit (real Ironic, issue 20)", () => {
  let ironic: StandaloneIronic | undefined;
  beforeAll(async () => {
    ironic = await standalone(['start', '--deploy-delay', '2', '--max-concurrent-clean', String(LIMIT)]);
  }, 180_000);
  afterAll(async () => {
    if (ironic !== undefined) await stopStandalone(ironic.dir);
    tmp.cleanup();
  }, 60_000);

  it(`${N} concurrent destroys with max_concurrent_clean ${LIMIT} all succeed; the refusals are retried and recorded`, async () => {
    const { url: base, log } = ironic!;
    const nodes = await Promise.all(Array.from({ length: N }, () => availableNode(base)));
    const instances = nodes.map(() => randomUUID());
    await Promise.all(
      nodes.map((node, i) => deployFakeNode(base, node, { instanceUuid: instances[i]!, vifs: [] })),
    );
    const db = join(tmp.dir, 'limit.db');
    // 200 ms apart for up to 60 s: the three waves take ~15 s.
    const engine = await openRealEngine(base, db, {
      ironic: { url: base, retryIntervalMs: 200, maxRetries: 300 },
    });
    let results;
    try {
      results = await Promise.all(
        instances.map(async (instance, i) => {
          await new Promise((r) => setTimeout(r, i * 500));
          return engine.destroy({ instance, vifs: [] }).done;
        }),
      );
    } finally {
      await engine.close();
    }
    for (const r of results) expect(r.error, JSON.stringify(r.error)).toBeNull();
    expect(results.map((r) => r.status)).toEqual(Array(N).fill('succeeded'));
    expect(results.map((r) => r.node)).toEqual(nodes);

    // Ironic's own record: it refused teardowns with 500, and accepted exactly one per node.
    await logMark(base, log, nodes[0]!);
    const provision = (await loggedRequests(log)).filter(
      (r) =>
        r.method === 'PUT' && r.path.endsWith('/states/provision') && nodes.some((n) => r.path.includes(n)),
    );
    const refused = provision.filter((r) => r.status === 500);
    const accepted = provision.filter((r) => r.status === 202);
    expect(refused.length).toBeGreaterThan(0);
    // Per node: manage, provide, active (the set-up) and exactly one deleted.
    for (const node of nodes) expect(accepted.filter((r) => r.path.includes(node))).toHaveLength(4);

    // Our event logs: each refusal as an http event retried with IRONIC_CONCURRENT_ACTION_LIMIT.
    let recorded = 0;
    for (const r of results) {
      const http = readStream(db, r.runId)
        .filter((e) => e.kind === 'http' && String(e.type).endsWith('/states/provision'))
        .map((e) => e.data as { status: number; errorCode?: string; willRetry: boolean });
      const limited = http.filter((d) => d.errorCode === 'IRONIC_CONCURRENT_ACTION_LIMIT');
      expect(limited.every((d) => d.status === 500 && d.willRetry)).toBe(true);
      expect(http.at(-1)).toMatchObject({ status: 202, willRetry: false });
      recorded += limited.length;
      expect(replay(db, r.runId, 'destroy')).toMatchObject({ matches: true, finished: true });
    }
    expect(recorded).toBe(refused.length);
    for (const node of nodes) expect((await getNode(base, node)).instance_uuid).toBeNull();
  }, 300_000);
});
