import { afterEach, describe, expect, it } from 'vitest';
import { IronicClient, type IronicClientOptions } from '../../src/ironic/client.js';
import { IronicMalformedResponseError, isIronicError } from '../../src/ironic/errors.js';
import type { HttpAttempt } from '../../src/ironic/types.js';
import {
  ACTIVE_NODE_BODY,
  ASSOCIATED_BODY,
  BAD_PATCH_BODY,
  DETAIL_FIELDS_BODY,
  EMPTY_NODE_LIST,
  NODE_BY_INSTANCE_FIELDS,
  NODE_LOCKED_BODY,
  NODE_PAGE_1,
  NOT_ACCEPTABLE_BODY,
  NOT_FOUND_BODY,
  RECORDED_INSTANCE_UUID,
  RECORDED_NODE_2,
  RECORDED_NODE_UUID,
  ROOT_DOCUMENT,
  TRANSITION_IN_PROGRESS_BODY,
  V1_DOCUMENT,
} from './fixtures/recorded.js';
import { startRecordedIronic, type RecordedIronic, type Route } from './recorded-ironic.js';
import { failure } from './failure.js';

const N = RECORDED_NODE_UUID;
const NODE_PATH = `/v1/nodes/${N}`;
const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function world(
  routes: Record<string, Route>,
  opts: Partial<IronicClientOptions> = {},
): Promise<{ ironic: RecordedIronic; client: IronicClient; attempts: HttpAttempt[] }> {
  const ironic = await startRecordedIronic(routes);
  open.push(ironic);
  const attempts: HttpAttempt[] = [];
  // Discovery gets a generous timeout of its own: tests that shrink the client timeout
  // are about later calls, and a loaded machine must not fail them at connect.
  const client = await IronicClient.connect(
    { url: ironic.url, retryIntervalMs: 5, maxRetries: 3, observer: (a) => attempts.push(a), ...opts },
    { timeoutMs: 10_000 },
  );
  open.unshift(client);
  attempts.length = 0;
  return { ironic, client, attempts };
}

describe('microversion negotiation', () => {
  it('uses 1.82 against the recorded 2023.1 root document and sends it on every request', async () => {
    const { ironic, client } = await world({ [`GET ${NODE_PATH}`]: { status: 200, body: ACTIVE_NODE_BODY } });
    expect(client.microversion).toBe('1.82');
    await client.getNode(N);
    const [root, get] = ironic.requests;
    expect(root?.headers['x-openstack-ironic-api-version']).toBeUndefined();
    expect(get?.headers['x-openstack-ironic-api-version']).toBe('1.82');
  });

  it('takes the server maximum when it is below ours', async () => {
    const { client } = await world({
      'GET /': { status: 200, body: ROOT_DOCUMENT.replaceAll('"1.82"', '"1.65"') },
    });
    expect(client.microversion).toBe('1.65');
  });

  it('honours an operator cap', async () => {
    const { client } = await world({}, { microversion: '1.60' });
    expect(client.microversion).toBe('1.60');
  });

  it('refuses a server older than 1.56 once, at connect', async () => {
    const ironic = await startRecordedIronic({
      'GET /': { status: 200, body: ROOT_DOCUMENT.replaceAll('"1.82"', '"1.46"') },
    });
    open.push(ironic);
    const err = await failure(IronicClient.connect({ url: ironic.url }));
    expect(err.code).toBe('IRONIC_VERSION_UNSUPPORTED');
    expect(err.message).toContain('1.56');
    expect(ironic.requests).toHaveLength(1);
  });

  it('falls back to /v1 when the root document does not list versions', async () => {
    const { client, ironic } = await world({
      'GET /': { status: 200, body: '{"name": "proxy"}' },
      'GET /v1': { status: 200, body: V1_DOCUMENT },
    });
    expect(client.microversion).toBe('1.82');
    expect(ironic.requests.map((r) => r.url)).toEqual(['/', '/v1']);
  });

  it('falls back to /v1 when a proxy answers 404 at the root', async () => {
    const { client } = await world({
      'GET /': { status: 404, body: '<html>not here</html>' },
      'GET /v1': { status: 200, body: V1_DOCUMENT },
    });
    expect(client.microversion).toBe('1.82');
  });

  it('keeps a path prefix of the endpoint (Ironic behind /baremetal)', async () => {
    const ironic = await startRecordedIronic({
      'GET /baremetal/': { status: 200, body: ROOT_DOCUMENT },
      [`GET /baremetal${NODE_PATH}`]: { status: 200, body: ACTIVE_NODE_BODY },
    });
    open.push(ironic);
    const client = await IronicClient.connect({ url: `${ironic.url}/baremetal/` });
    open.unshift(client);
    const node = await client.getNode(N);
    expect(node.provision_state).toBe('active');
  });
});

describe('Ironic errors become typed errors', () => {
  const cases: Array<{
    name: string;
    status: number;
    body: string;
    code: string;
    faultstring: string | null;
  }> = [
    {
      name: '404 node not found',
      status: 404,
      body: NOT_FOUND_BODY,
      code: 'IRONIC_NOT_FOUND',
      faultstring: 'Node 00000000-0000-0000-0000-000000000000 could not be found.',
    },
    {
      name: '400 bad patch',
      status: 400,
      body: BAD_PATCH_BODY,
      code: 'IRONIC_BAD_REQUEST',
      faultstring: "Schema error for patch: 'bogus' is not one of ['add', 'replace', 'remove']",
    },
    {
      name: '409 NodeLocked',
      status: 409,
      body: NODE_LOCKED_BODY,
      code: 'IRONIC_NODE_LOCKED',
      faultstring: `Node ${N} is locked by host localhost, please retry after the current operation is completed.`,
    },
    {
      name: '409 transition in progress',
      status: 409,
      body: TRANSITION_IN_PROGRESS_BODY,
      code: 'IRONIC_NODE_LOCKED',
      faultstring: `Node ${N} can not be updated while a state transition is in progress.`,
    },
    {
      name: '409 associated with another instance',
      status: 409,
      body: ASSOCIATED_BODY,
      code: 'IRONIC_CONFLICT',
      faultstring: `Node ${N} is associated with instance ${RECORDED_INSTANCE_UUID}.`,
    },
    {
      name: '406 unknown microversion',
      status: 406,
      body: NOT_ACCEPTABLE_BODY,
      code: 'IRONIC_NOT_ACCEPTABLE',
      faultstring: 'Invalid value for X-OpenStack-Ironic-API-Version header',
    },
    {
      name: '503 from a proxy, HTML body',
      status: 503,
      body: '<html><body>Service Unavailable</body></html>',
      code: 'IRONIC_UNAVAILABLE',
      faultstring: null,
    },
    {
      name: '500 with an object error_message',
      status: 500,
      body: '{"error_message": {"faultstring": "boom", "faultcode": "Server"}}',
      code: 'IRONIC_SERVER_ERROR',
      faultstring: 'boom',
    },
    {
      name: '403 policy refusal',
      status: 403,
      body: '{"error_message": "{\\"faultstring\\": \\"Access was denied to this resource.\\"}"}',
      code: 'IRONIC_HTTP_ERROR',
      faultstring: 'Access was denied to this resource.',
    },
  ];
  for (const c of cases) {
    it(`maps ${c.name} to ${c.code} with status, faultstring, node and request`, async () => {
      const { client } = await world(
        { [`GET ${NODE_PATH}`]: { status: c.status, body: c.body } },
        { maxRetries: 0 },
      );
      const err = await failure(client.getNode(N));
      expect(err.code).toBe(c.code);
      expect(err.status).toBe(c.status);
      expect(err.faultstring).toBe(c.faultstring);
      expect(err.node).toBe(N);
      expect(err.method).toBe('GET');
      expect(err.path).toBe(NODE_PATH);
      expect(err.toJSON()).toMatchObject({ code: c.code, status: c.status, node: N });
    });
  }

  it('refuses detail with fields before asking Ironic, which would answer 400 "Unexpected arguments: fields"', async () => {
    const { client, ironic } = await world({
      'GET /v1/nodes/detail?fields=uuid': { status: 400, body: DETAIL_FIELDS_BODY },
    });
    const err = await failure(client.listNodes({ detail: true, fields: ['uuid'] }));
    expect(err.code).toBe('IRONIC_INVALID_INPUT');
    expect(ironic.calls()).toHaveLength(0);
  });
});

describe('retries like Nova’s client wrapper', () => {
  it('retries a NodeLocked 409 until Ironic lets go, reporting each attempt', async () => {
    const { client, ironic, attempts } = await world({
      [`DELETE ${NODE_PATH}/vifs/port-1`]: [
        { status: 409, body: NODE_LOCKED_BODY },
        { status: 409, body: TRANSITION_IN_PROGRESS_BODY },
        { status: 204 },
      ],
    });
    await client.detachVif(N, 'port-1');
    expect(ironic.calls()).toHaveLength(3);
    expect(attempts.map((a) => [a.attempt, a.status, a.errorCode ?? null, a.willRetry])).toEqual([
      [1, 409, 'IRONIC_NODE_LOCKED', true],
      [2, 409, 'IRONIC_NODE_LOCKED', true],
      [3, 204, null, false],
    ]);
    expect(
      attempts.every((a) => a.method === 'DELETE' && a.path === `${NODE_PATH}/vifs/port-1` && a.node === N),
    ).toBe(true);
  });

  it('retries 503 and then succeeds', async () => {
    const { client, ironic } = await world({
      [`GET ${NODE_PATH}`]: [
        { status: 503, body: 'busy' },
        { status: 200, body: ACTIVE_NODE_BODY },
      ],
    });
    const node = await client.getNode(N);
    expect(node.instance_uuid).toBe(RECORDED_INSTANCE_UUID);
    expect(ironic.calls()).toHaveLength(2);
  });

  it('spreads its retries with bounded, seeded jitter, so runs answered 503 together do not retry in lockstep', async () => {
    const draws = [0, 0.5, 0.999];
    const { client, attempts } = await world(
      { [`GET ${NODE_PATH}`]: { status: 503, body: 'busy' } },
      { retryIntervalMs: 100, retryJitter: 0.2, maxRetries: 3, random: () => draws.shift() ?? 0.5 },
    );
    await failure(client.getNode(N));
    expect(attempts.map((a) => a.retryInMs)).toEqual([80, 100, 120, undefined]);
  });

  it('refuses a jitter outside [0, 1]', async () => {
    const ironic = await startRecordedIronic({});
    open.push(ironic);
    await expect(IronicClient.connect({ url: ironic.url, retryJitter: 1.5 })).rejects.toMatchObject({
      code: 'IRONIC_INVALID_INPUT',
    });
  });

  it('gives up after maxRetries more attempts with the last error and the attempt count', async () => {
    const { client, ironic, attempts } = await world(
      { [`PATCH ${NODE_PATH}`]: { status: 409, body: TRANSITION_IN_PROGRESS_BODY } },
      { maxRetries: 4 },
    );
    const err = await failure(client.updateNode(N, [{ op: 'remove', path: '/instance_info' }]));
    expect(err.code).toBe('IRONIC_NODE_LOCKED');
    expect(err.attempts).toBe(5);
    expect(ironic.calls()).toHaveLength(5);
    expect(attempts.map((a) => a.willRetry)).toEqual([true, true, true, true, false]);
  });

  it('fails a 409 at once when the call opts out (seed: deploy PATCH, VIF attach)', async () => {
    const { client, ironic } = await world({
      [`POST ${NODE_PATH}/vifs`]: { status: 409, body: ASSOCIATED_BODY },
    });
    const err = await failure(client.attachVif(N, 'port-1', { retryOnConflict: false }));
    expect(err.code).toBe('IRONIC_CONFLICT');
    expect(ironic.calls()).toHaveLength(1);
  });

  it('never retries a 400', async () => {
    const { client, ironic, attempts } = await world({
      [`PATCH ${NODE_PATH}`]: { status: 400, body: BAD_PATCH_BODY },
    });
    const err = await failure(client.updateNode(N, [{ op: 'add', path: '/extra/x', value: 1 }]));
    expect(err.code).toBe('IRONIC_BAD_REQUEST');
    expect(ironic.calls()).toHaveLength(1);
    expect(attempts).toEqual([
      expect.objectContaining({ status: 400, willRetry: false, errorCode: 'IRONIC_BAD_REQUEST' }),
    ]);
  });

  it('retries a dropped connection as a network failure', async () => {
    const { client, ironic, attempts } = await world({
      [`GET ${NODE_PATH}`]: [
        { status: 0, destroy: true },
        { status: 200, body: ACTIVE_NODE_BODY },
      ],
    });
    await client.getNode(N);
    expect(ironic.calls()).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ status: null, errorCode: 'IRONIC_NETWORK', willRetry: true });
  });

  it('reports a refused connection as IRONIC_NETWORK once the budget is spent', async () => {
    const { client, ironic } = await world({});
    await ironic.close();
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_NETWORK');
    expect(err.attempts).toBe(4);
    expect(err.status).toBeNull();
  });
});

describe('timeouts and cancellation', () => {
  it('times out an attempt that gets no answer, and retries it', async () => {
    // The default deadline (40 + 1 x 5 ms) would leave no room for the retry: limits.test.ts.
    const { client, ironic, attempts } = await world(
      { [`GET ${NODE_PATH}`]: { status: 200, body: ACTIVE_NODE_BODY, delayMs: 300 } },
      { timeoutMs: 40, maxRetries: 1, deadlineMs: 10_000 },
    );
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_TIMEOUT');
    expect(err.status).toBeNull();
    expect(ironic.calls()).toHaveLength(2);
    expect(attempts.map((a) => a.errorCode)).toEqual(['IRONIC_TIMEOUT', 'IRONIC_TIMEOUT']);
  });

  it('lets a call override the client timeout', async () => {
    const { client } = await world(
      { [`GET ${NODE_PATH}`]: { status: 200, body: ACTIVE_NODE_BODY, delayMs: 60 } },
      { timeoutMs: 20, maxRetries: 0 },
    );
    const node = await client.getNode(N, { timeoutMs: 2_000 });
    expect(node.uuid).toBe(N);
  });

  it('stops waiting between retries as soon as the signal aborts, without another attempt', async () => {
    const { client, ironic } = await world(
      { [`GET ${NODE_PATH}`]: { status: 409, body: NODE_LOCKED_BODY } },
      { retryIntervalMs: 60_000, maxRetries: 5 },
    );
    const controller = new AbortController();
    const started = Date.now();
    // Abort once the first attempt has failed and the minute-long wait has begun.
    const err = await failure(
      client.getNode(N, { signal: controller.signal, observer: (a) => a.willRetry && controller.abort() }),
    );
    expect(err.code).toBe('IRONIC_ABORTED');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(ironic.calls()).toHaveLength(1);
  });

  it('aborts an attempt in flight and does not retry it', async () => {
    const controller = new AbortController();
    const { client, ironic, attempts } = await world({
      [`GET ${NODE_PATH}`]: () => {
        // Ironic has the request; the caller gives up before the answer comes.
        setTimeout(() => controller.abort(), 10);
        return { status: 200, body: ACTIVE_NODE_BODY, delayMs: 5_000 };
      },
    });
    const err = await failure(client.getNode(N, { signal: controller.signal }));
    expect(err.code).toBe('IRONIC_ABORTED');
    expect(ironic.calls()).toHaveLength(1);
    expect(attempts).toEqual([
      expect.objectContaining({ status: null, errorCode: 'IRONIC_ABORTED', willRetry: false }),
    ]);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const { client, ironic } = await world({ [`GET ${NODE_PATH}`]: { status: 200, body: ACTIVE_NODE_BODY } });
    const err = await failure(client.getNode(N, { signal: AbortSignal.abort() }));
    expect(err.code).toBe('IRONIC_ABORTED');
    expect(ironic.calls()).toHaveLength(0);
  });
});

describe('malformed responses', () => {
  it('turns a non-JSON 200 into IRONIC_MALFORMED_RESPONSE with the status and a short snippet', async () => {
    const page = `<html>${'x'.repeat(5_000)}</html>`;
    const { client, ironic } = await world({ [`GET ${NODE_PATH}`]: { status: 200, body: page } });
    const err = await failure(client.getNode(N));
    expect(err).toBeInstanceOf(IronicMalformedResponseError);
    expect(err.status).toBe(200);
    const snippet = (err as IronicMalformedResponseError).snippet ?? '';
    expect(snippet.startsWith('<html>xxx')).toBe(true);
    expect(snippet.length).toBeLessThanOrEqual(201);
    expect(err.message.length).toBeLessThan(400);
    expect(ironic.calls()).toHaveLength(1);
  });

  it('rejects a node whose fields have the wrong types', async () => {
    const wrong = ACTIVE_NODE_BODY.replace('"maintenance": false', '"maintenance": "no"');
    const { client } = await world({ [`GET ${NODE_PATH}`]: { status: 200, body: wrong } });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_MALFORMED_RESPONSE');
    expect(err.message).toContain('maintenance');
  });

  it('rejects a node list without a nodes array', async () => {
    const { client } = await world({ 'GET /v1/nodes': { status: 200, body: '{"items": []}' } });
    expect((await failure(client.listNodes())).code).toBe('IRONIC_MALFORMED_RESPONSE');
  });
});

describe('listing nodes', () => {
  const page2 = `{"nodes": [{"uuid": "0b0f7e4c-2d55-4a3c-9a3e-3f1d2a6b9c01", "provision_state": "enroll"}]}`;

  it('follows next links to the end with limit 0 (seed: _get_node_list)', async () => {
    const { client, ironic } = await world({
      'GET /v1/nodes?fields=uuid,provision_state': { status: 200, body: NODE_PAGE_1 },
      [`GET /v1/nodes?marker=${RECORDED_NODE_2}&fields=uuid,provision_state`]: { status: 200, body: page2 },
    });
    const nodes = await client.listNodes({ fields: ['uuid', 'provision_state'], limit: 0 });
    expect(nodes.map((n) => n.uuid)).toEqual([N, RECORDED_NODE_2, '0b0f7e4c-2d55-4a3c-9a3e-3f1d2a6b9c01']);
    expect(ironic.calls()).toHaveLength(2);
  });

  it('stops at a positive limit without following next', async () => {
    const { client, ironic } = await world({
      'GET /v1/nodes?limit=2&fields=uuid,provision_state': { status: 200, body: NODE_PAGE_1 },
    });
    const nodes = await client.listNodes({ fields: ['uuid', 'provision_state'], limit: 2 });
    expect(nodes).toHaveLength(2);
    expect(ironic.calls()).toHaveLength(1);
  });

  it('sends the seed’s filters as Ironic spells them', async () => {
    const { client } = await world({
      'GET /v1/nodes/detail?associated=false&maintenance=false&provision_state=available': {
        status: 200,
        body: EMPTY_NODE_LIST,
      },
    });
    const nodes = await client.listNodes({
      detail: true,
      associated: false,
      maintenance: false,
      provision_state: 'available',
    });
    expect(nodes).toEqual([]);
  });

  it('fails instead of paging forever when next repeats a marker', async () => {
    const loop = `{"nodes": [], "next": "http://x/v1/nodes?marker=${RECORDED_NODE_2}"}`;
    const { client } = await world({
      'GET /v1/nodes': { status: 200, body: loop },
      [`GET /v1/nodes?marker=${RECORDED_NODE_2}`]: { status: 200, body: loop },
    });
    expect((await failure(client.listNodes())).code).toBe('IRONIC_MALFORMED_RESPONSE');
  });
});

describe('finding the node of an instance (seed: _validate_instance_and_node)', () => {
  const fields = [
    'uuid',
    'power_state',
    'target_power_state',
    'provision_state',
    'target_provision_state',
    'last_error',
    'maintenance',
    'properties',
    'instance_uuid',
  ] as const;

  it('asks the plain list for fields, since /v1/nodes/detail refuses them', async () => {
    const { client } = await world({
      [`GET /v1/nodes?instance_uuid=${RECORDED_INSTANCE_UUID}&fields=${fields.join(',')}`]: {
        status: 200,
        body: NODE_BY_INSTANCE_FIELDS,
      },
    });
    const node = await client.getNodeByInstance(RECORDED_INSTANCE_UUID, { fields });
    expect(node).toMatchObject({ uuid: N, provision_state: 'deploying', target_provision_state: 'active' });
  });

  it('uses /v1/nodes/detail for a full node', async () => {
    const { client } = await world({
      [`GET /v1/nodes/detail?instance_uuid=${RECORDED_INSTANCE_UUID}`]: {
        status: 200,
        body: `{"nodes": [${ACTIVE_NODE_BODY}]}`,
      },
    });
    const node = await client.getNodeByInstance(RECORDED_INSTANCE_UUID);
    expect(node.instance_info?.['image_source']).toBe('http://x/img');
  });

  it('throws IRONIC_NOT_FOUND when Ironic answers an empty list', async () => {
    const unknown = '99999999-2222-3333-4444-555555555555';
    const { client } = await world({
      [`GET /v1/nodes/detail?instance_uuid=${unknown}`]: { status: 200, body: EMPTY_NODE_LIST },
    });
    const err = await failure(client.getNodeByInstance(unknown));
    expect(isIronicError(err, 'IRONIC_NOT_FOUND')).toBe(true);
    expect(err.message).toContain(unknown);
  });
});

describe('observer views', () => {
  it('report their own calls to their observer and every call to the client observer, over one pool', async () => {
    const { client, attempts, ironic } = await world(
      {
        [`GET ${NODE_PATH}`]: { status: 200, body: ACTIVE_NODE_BODY },
        [`GET ${NODE_PATH}/vifs`]: { status: 200, body: '{"vifs": [{"id": "port-1"}]}' },
      },
      { connections: 1 },
    );
    const runA: HttpAttempt[] = [];
    const runB: HttpAttempt[] = [];
    const viewA = client.withObserver((a) => runA.push(a));
    const viewB = client.withObserver((a) => runB.push(a));
    const perCall: HttpAttempt[] = [];
    await viewA.getNode(N);
    expect(await viewB.listVifs(N, { observer: (a) => perCall.push(a) })).toEqual([{ id: 'port-1' }]);
    expect(viewA.microversion).toBe('1.82');
    expect(runA.map((a) => a.path)).toEqual([NODE_PATH]);
    expect(runB.map((a) => a.path)).toEqual([`${NODE_PATH}/vifs`]);
    expect(perCall.map((a) => a.path)).toEqual([`${NODE_PATH}/vifs`]);
    expect(attempts.map((a) => a.path)).toEqual([NODE_PATH, `${NODE_PATH}/vifs`]);
    expect(Date.parse(runA[0]!.at)).not.toBeNaN();
    // A pool of one: if a view opened its own pool, Ironic would see a second connection.
    expect(ironic.connections()).toBe(1);
    expect(runA[0]!.ms).toBeGreaterThanOrEqual(0);
  });
});

describe('connection queue', () => {
  it('sends an urgent call on the next free connection, ahead of ordinary calls queued before it', async () => {
    const { client, ironic } = await world(
      {
        // The first call holds the only connection while the others queue behind it.
        [`GET ${NODE_PATH}`]: [
          { status: 200, body: ACTIVE_NODE_BODY, delayMs: 200 },
          { status: 200, body: ACTIVE_NODE_BODY },
        ],
        [`GET ${NODE_PATH}/vifs`]: { status: 200, body: '{"vifs": []}' },
        'GET /v1/nodes?fields=uuid': { status: 200, body: '{"nodes": []}' },
      },
      { connections: 1 },
    );
    const first = client.getNode(N);
    const ordinary = [client.listVifs(N), client.listVifs(N), client.getNode(N)];
    const urgent = client.listNodes({ fields: ['uuid'] }, { priority: 'urgent' });
    await Promise.all([first, ...ordinary, urgent]);
    expect(ironic.calls().map((r) => r.url)).toEqual([
      NODE_PATH,
      '/v1/nodes?fields=uuid',
      `${NODE_PATH}/vifs`,
      `${NODE_PATH}/vifs`,
      NODE_PATH,
    ]);
  });
});

describe('console', () => {
  it("accepts the fake console's empty console_info, as Ironic 2023.1 answers it when enabled", async () => {
    const { client } = await world({
      [`GET ${NODE_PATH}/states/console`]: {
        status: 200,
        body: '{"console_enabled": true, "console_info": {}}',
      },
    });
    expect(await client.getConsole(N)).toEqual({ console_enabled: true, console_info: {} });
  });

  it('still refuses a console answer of the wrong shape', async () => {
    const { client } = await world({
      [`GET ${NODE_PATH}/states/console`]: {
        status: 200,
        body: '{"console_enabled": "yes", "console_info": null}',
      },
    });
    expect((await failure(client.getConsole(N))).code).toBe('IRONIC_MALFORMED_RESPONSE');
  });
});
