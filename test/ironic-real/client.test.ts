// Our IronicClient against the real Ironic: version negotiation, paging, not-found and the
// held lock, each checked against what Ironic itself answers and logs.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IronicClient } from '../../src/ironic/client.js';
import { isIronicError } from '../../src/ironic/errors.js';
import type { HttpAttempt } from '../../src/ironic/types.js';
import { availableNode, between, describeRequest, logMark } from './engine-helpers.js';
import { call, enrollFakeNode, pollNode, REAL_POLL, settledIn } from './helpers.js';

const url = inject('ironicUrl');
const log = inject('ironicLog');

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, the call succeeded');
}

describe.skipIf(url === null || log === null)('IronicClient against the real Ironic', () => {
  const base = url!;
  const logPath = log!;
  const attempts: HttpAttempt[] = [];
  let client: IronicClient;

  beforeAll(async () => {
    client = await IronicClient.connect({
      url: base,
      retryIntervalMs: 200,
      maxRetries: 150,
      observer: (a) => attempts.push(a),
    });
  });
  afterAll(async () => {
    await client?.close();
  });

  it('negotiates 1.82, the newest microversion Ironic 2023.1 serves', () => {
    expect(client.microversion).toBe('1.82');
  });

  it('lists every node with limit 0, and pages by marker with a small limit, as Ironic orders them', async () => {
    const mine = await Promise.all([0, 1, 2].map(() => enrollFakeNode(base)));
    const raw = await call(base, 'GET', '/v1/nodes?fields=uuid');
    expect(raw.status).toBe(200);
    const expected = (raw.json as { nodes: Array<{ uuid: string }> }).nodes.map((n) => n.uuid);
    expect(expected).toEqual(expect.arrayContaining(mine));

    const all = await client.listNodes({ fields: ['uuid', 'provision_state'], limit: 0 });
    expect(all.map((n) => n.uuid)).toEqual(expected);

    const walked: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const before = attempts.length;
      const page = await client.listNodes({
        fields: ['uuid'],
        limit: 2,
        ...(marker === undefined ? {} : { marker }),
      });
      // A page size asks for exactly one page: one request, carrying limit and marker.
      const sent = attempts.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.path).toContain('limit=2');
      if (marker !== undefined) expect(sent[0]!.path).toContain(`marker=${marker}`);
      walked.push(...page.map((n) => n.uuid));
      if (page.length < 2) break;
      marker = page.at(-1)!.uuid;
    }
    expect(walked).toEqual(expected);
  });

  it('answers IRONIC_NOT_FOUND for an unknown node and for an instance no node holds', async () => {
    const missing = randomUUID();
    const byUuid = await rejectionOf(client.getNode(missing));
    expect(isIronicError(byUuid, 'IRONIC_NOT_FOUND')).toBe(true);
    expect(byUuid).toMatchObject({ status: 404, node: missing });
    expect(String((byUuid as Error).message)).toContain(missing);

    const byName = await rejectionOf(client.getNode('no-such-node-name'));
    expect(byName).toMatchObject({ code: 'IRONIC_NOT_FOUND', status: 404 });

    const instance = randomUUID();
    const byInstance = await rejectionOf(client.getNodeByInstance(instance, { fields: ['uuid'] }));
    expect(byInstance).toMatchObject({ code: 'IRONIC_NOT_FOUND' });
    expect(String((byInstance as Error).message)).toContain(instance);
  });

  it('fails at once with IRONIC_NODE_LOCKED when retryOnConflict is false and a deploy holds the node, and gets through once it is released', async () => {
    const node = await availableNode(base);
    const claim = await call(base, 'PATCH', `/v1/nodes/${node}`, [
      { op: 'add', path: '/instance_uuid', value: randomUUID() },
      { op: 'add', path: '/instance_info', value: { image_source: 'http://127.0.0.1/image.qcow2' } },
    ]);
    expect(claim.status).toBe(200);
    const m0 = await logMark(base, logPath, node);
    expect((await call(base, 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'active' })).status).toBe(
      202,
    );

    const before = attempts.length;
    const locked = await rejectionOf(client.setPowerState(node, 'off', { retryOnConflict: false }));
    expect(locked).toMatchObject({ code: 'IRONIC_NODE_LOCKED', status: 409, node, attempts: 1 });
    expect(String((locked as { faultstring: unknown }).faultstring)).toMatch(/is locked by host/);
    const once = attempts.slice(before);
    expect(once.map((a) => [a.status, a.errorCode, a.willRetry])).toEqual([
      [409, 'IRONIC_NODE_LOCKED', false],
    ]);
    const m1 = await logMark(base, logPath, node);
    const logged = (await between(logPath, node, m0, m1))
      .filter((r) => r.method !== 'GET')
      .map((r) => describeRequest(r, node));
    expect(logged).toEqual(['PUT /v1/nodes/N/states/provision 202', 'PUT /v1/nodes/N/states/power 409']);

    // With retries (the default), the same request waits out the deploy's lock.
    const retried = attempts.length;
    await client.setPowerState(node, 'off');
    const tries = attempts.slice(retried);
    expect(tries.at(-1)).toMatchObject({ status: 202, willRetry: false });
    for (const t of tries.slice(0, -1)) expect(t).toMatchObject({ status: 409, willRetry: true });
    const after = await pollNode(
      base,
      node,
      (n) => settledIn('active')(n) && n.power_state === 'power off' && n.target_power_state === null,
      REAL_POLL,
    );
    expect(after.power_state).toBe('power off');
  });
});
