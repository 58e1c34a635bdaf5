// Ironic's ConcurrentActionLimit (HTTP 500, refused before the conductor touched the node) is
// retried like a 409, on real HTTP against recorded answers; any other 500 is not.
import { afterEach, describe, expect, it } from 'vitest';
import { IronicClient } from '../../src/ironic/client.js';
import type { HttpAttempt } from '../../src/ironic/types.js';
import { CONCURRENT_ACTION_LIMIT_BODY, RECORDED_NODE_UUID } from './fixtures/recorded.js';
import { startRecordedIronic, type Route } from './recorded-ironic.js';
import { failure } from './failure.js';

const N = RECORDED_NODE_UUID;
const PROVISION = `PUT /v1/nodes/${N}/states/provision`;
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function world(route: Route, maxRetries = 3) {
  const ironic = await startRecordedIronic({ [PROVISION]: route });
  open.push(ironic);
  const attempts: HttpAttempt[] = [];
  const client = await IronicClient.connect(
    { url: ironic.url, retryIntervalMs: 5, maxRetries, observer: (a) => attempts.push(a) },
    { timeoutMs: 10_000 },
  );
  open.unshift(client);
  attempts.length = 0;
  return { ironic, client, attempts };
}

const OTHER_500 =
  '{"error_message": "{\\"faultcode\\": \\"Server\\", \\"faultstring\\": \\"Failed to validate power driver interface. Can not delete instance. Error: boom\\", \\"debuginfo\\": null}"}';

describe('concurrent action limit (500 ConcurrentActionLimit)', () => {
  it('resends the same teardown after the refusal, with jittered waits, reporting IRONIC_CONCURRENT_ACTION_LIMIT', async () => {
    const { client, ironic, attempts } = await world([
      { status: 500, body: CONCURRENT_ACTION_LIMIT_BODY },
      { status: 500, body: CONCURRENT_ACTION_LIMIT_BODY },
      { status: 202 },
    ]);
    await client.setProvisionState(N, 'deleted');
    expect(ironic.calls().map((c) => [c.method, c.url, c.body])).toEqual(
      Array(3).fill(['PUT', `/v1/nodes/${N}/states/provision`, '{"target":"deleted"}']),
    );
    expect(attempts.map((a) => [a.attempt, a.status, a.errorCode ?? null, a.willRetry])).toEqual([
      [1, 500, 'IRONIC_CONCURRENT_ACTION_LIMIT', true],
      [2, 500, 'IRONIC_CONCURRENT_ACTION_LIMIT', true],
      [3, 202, null, false],
    ]);
    expect(attempts[0]!.retryInMs).toBeGreaterThanOrEqual(4);
  });

  it('gives up with the typed error and its facts once the retries are spent', async () => {
    const { client, ironic } = await world({ status: 500, body: CONCURRENT_ACTION_LIMIT_BODY }, 2);
    const err = await failure(client.setProvisionState(N, 'active'));
    expect(err).toMatchObject({
      name: 'IronicConcurrentActionLimitError',
      code: 'IRONIC_CONCURRENT_ACTION_LIMIT',
      status: 500,
      node: N,
      method: 'PUT',
      attempts: 3,
      faultstring: expect.stringContaining('The concurrent action limit for unprovisioning has been reached'),
    });
    expect(ironic.calls()).toHaveLength(3);
  });

  it('still retries it when the call opts out of conflict retries: it is no conflict over the node', async () => {
    const { client, ironic } = await world([
      { status: 500, body: CONCURRENT_ACTION_LIMIT_BODY },
      { status: 202 },
    ]);
    await client.setProvisionState(N, 'deleted', { retryOnConflict: false });
    expect(ironic.calls()).toHaveLength(2);
  });

  it('does not retry any other 500: Ironic may have acted', async () => {
    const { client, ironic, attempts } = await world([{ status: 500, body: OTHER_500 }, { status: 202 }]);
    const err = await failure(client.setProvisionState(N, 'deleted'));
    expect(err.code).toBe('IRONIC_SERVER_ERROR');
    expect(ironic.calls()).toHaveLength(1);
    expect(attempts.map((a) => a.willRetry)).toEqual([false]);
  });

  it('keeps the non-idempotent rule: a lost answer after a refusal is not resent blind', async () => {
    const { client, ironic } = await world([
      { status: 500, body: CONCURRENT_ACTION_LIMIT_BODY },
      { status: 0, destroy: true },
      { status: 202 },
    ]);
    const err = await failure(client.setProvisionState(N, 'deleted'));
    expect(err.code).toBe('IRONIC_ANSWER_LOST');
    expect(ironic.calls()).toHaveLength(2);
  });
});

describe('backoff on the concurrent action limit', () => {
  async function limitedClient(opts: {
    retryIntervalMs: number;
    maxRetryIntervalMs?: number;
    deadlineMs: number;
  }) {
    const ironic = await startRecordedIronic({
      [PROVISION]: { status: 500, body: CONCURRENT_ACTION_LIMIT_BODY },
    });
    open.push(ironic);
    const attempts: HttpAttempt[] = [];
    const client = await IronicClient.connect(
      { url: ironic.url, maxRetries: 1000, random: () => 0.5, observer: (a) => attempts.push(a), ...opts },
      { timeoutMs: 10_000 },
    );
    open.unshift(client);
    attempts.length = 0;
    return { client, attempts };
  }

  it('doubles the wait per refusal of the same request, up to the cap', async () => {
    const { client, attempts } = await limitedClient({
      retryIntervalMs: 10,
      maxRetryIntervalMs: 80,
      deadlineMs: 60_000,
    });
    const err = await failure(client.setProvisionState(N, 'deleted', { deadlineMs: 2_000 }));
    expect(err.code).toBe('IRONIC_DEADLINE_EXCEEDED');
    const waits = attempts.filter((a) => a.willRetry).map((a) => a.retryInMs);
    expect(waits.slice(0, 6)).toEqual([10, 20, 40, 80, 80, 80]);
  });

  it('never waits past the request deadline: a long backoff is shortened so one more attempt fits', async () => {
    const { client, attempts } = await limitedClient({
      retryIntervalMs: 40,
      maxRetryIntervalMs: 60_000,
      deadlineMs: 2_500,
    });
    const err = await failure(client.setProvisionState(N, 'deleted'));
    expect(err).toMatchObject({ code: 'IRONIC_DEADLINE_EXCEEDED', deadlineMs: 2_500 });
    expect((err as Error & { cause?: { code?: string } }).cause?.code).toBe('IRONIC_CONCURRENT_ACTION_LIMIT');
    const waits = attempts.filter((a) => a.willRetry).map((a) => a.retryInMs!);
    // 40, 80, 160, 320 as doubled (room for them even on a slow machine); later a doubled wait
    // that would pass the deadline is cut to half of what is left, so one more attempt fits.
    expect(waits.slice(0, 4)).toEqual([40, 80, 160, 320]);
    expect(waits.some((w, k) => w < 40 * 2 ** k)).toBe(true);
    expect(waits.reduce((a, b) => a + b, 0)).toBeLessThan(2_500);
  });
});
