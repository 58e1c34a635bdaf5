import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { IronicClient } from '../../src/ironic/client.js';
import { IronicError } from '../../src/ironic/errors.js';
import type { HttpAttempt, IronicApi, PatchOp } from '../../src/ironic/types.js';
import {
  ACTIVE_NODE_BODY,
  POWER_TIMEOUT_BODY,
  RECORDED_NODE_UUID,
  CONSOLE_BODY,
  VALIDATE_BODY,
} from './fixtures/recorded.js';
import { startRecordedIronic, type RecordedIronic, type Route } from './recorded-ironic.js';
import { failure } from './failure.js';

const N = RECORDED_NODE_UUID;
const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function world(
  routes: Record<string, Route>,
  extra: Partial<Parameters<typeof IronicClient.connect>[0]> = {},
) {
  const ironic: RecordedIronic = await startRecordedIronic(routes);
  open.push(ironic);
  const attempts: HttpAttempt[] = [];
  const client = await IronicClient.connect({
    url: ironic.url,
    maxRetries: 2,
    retryIntervalMs: 5,
    observer: (a) => attempts.push(a),
    ...extra,
  });
  open.unshift(client);
  return { ironic, client, attempts };
}

describe('bad input is refused before any request', () => {
  const bad: Array<[string, (c: IronicApi) => Promise<unknown>]> = [
    ['an instance that is not a UUID', (c) => c.getNodeByInstance('not-a-uuid')],
    ['an empty node id', (c) => c.getNode('')],
    ['a node id with a slash', (c) => c.getNode('a/../../v1/ports')],
    [
      'a patch op that is not add/replace/remove',
      (c) => c.updateNode(N, [{ op: 'move', path: '/extra/a' } as unknown as PatchOp]),
    ],
    [
      'a patch path without a leading slash',
      (c) => c.updateNode(N, [{ op: 'remove', path: 'instance_info' }]),
    ],
    [
      'an add without a value',
      (c) => c.updateNode(N, [{ op: 'add', path: '/extra/a' } as unknown as PatchOp]),
    ],
    ['a negative call timeout', (c) => c.getNode(N, { timeoutMs: -1 })],
    ['a NaN call timeout', (c) => c.getNode(N, { timeoutMs: Number.NaN })],
    ['a zero power timeout', (c) => c.setPowerState(N, 'off', { timeoutSeconds: 0 })],
    ['a fractional power timeout', (c) => c.setPowerState(N, 'off', { timeoutSeconds: 1.5 })],
    ['a soft power on', (c) => c.setPowerState(N, 'on', { soft: true })],
    [
      'a config drive with target deleted',
      (c) => c.setProvisionState(N, 'deleted', { configdrive: { meta_data: {} } }),
    ],
    ['an unknown provision target', (c) => c.setProvisionState(N, 'explode' as 'active')],
    ['an empty VIF id', (c) => c.detachVif(N, '')],
    ['a negative list limit', (c) => c.listNodes({ limit: -1 })],
    ['an instance filter that is not a UUID', (c) => c.listNodes({ instance_uuid: 'x' })],
    ['an empty field selection', (c) => c.getNode(N, { fields: [] })],
  ];
  for (const [what, call] of bad) {
    it(`refuses ${what} with IRONIC_INVALID_INPUT and sends nothing`, async () => {
      const { client, ironic } = await world({});
      const err = await failure(call(client));
      expect(err.code).toBe('IRONIC_INVALID_INPUT');
      expect(ironic.calls()).toHaveLength(0);
    });
  }

  it('refuses credentials in the URL, a negative client timeout and an unreadable CA file before connecting', async () => {
    const ironic = await startRecordedIronic({});
    open.push(ironic);
    const withUser = ironic.url.replace('http://', 'http://admin:s3cr3t-pw@');
    const e1 = await failure(IronicClient.connect({ url: withUser }));
    expect(e1.code).toBe('IRONIC_INVALID_INPUT');
    expect(JSON.stringify(e1.toJSON()) + e1.message).not.toContain('s3cr3t-pw');
    const e2 = await failure(IronicClient.connect({ url: ironic.url, timeoutMs: -5 }));
    expect(e2.code).toBe('IRONIC_INVALID_INPUT');
    const e3 = await failure(
      IronicClient.connect({ url: ironic.url, tls: { caFile: '/nonexistent/ca.pem' } }),
    );
    expect(e3.code).toBe('IRONIC_INVALID_INPUT');
    expect(ironic.requests).toHaveLength(0);
  });

  it('accepts a node name and encodes it as one path segment', async () => {
    const { client, ironic } = await world({
      'GET /v1/nodes/rack-1.node~7': { status: 200, body: ACTIVE_NODE_BODY },
    });
    await client.getNode('rack-1.node~7');
    expect(ironic.calls().map((r) => r.url)).toEqual(['/v1/nodes/rack-1.node~7']);
  });
});

describe('requests on the wire', () => {
  it('asks for a soft power off with a timeout (API 1.27)', async () => {
    const { client, ironic } = await world({ [`PUT /v1/nodes/${N}/states/power`]: { status: 202 } });
    await client.setPowerState(N, 'off', { soft: true, timeoutSeconds: 30 });
    await client.setPowerState(N, 'reboot');
    await client.setPowerState(N, 'reboot', { soft: true });
    await client.setPowerState(N, 'on');
    expect(ironic.calls().map((r) => JSON.parse(r.body) as unknown)).toEqual([
      { target: 'soft power off', timeout: 30 },
      { target: 'rebooting' },
      { target: 'soft rebooting' },
      { target: 'power on' },
    ]);
  });

  it('surfaces Ironic’s own refusal of a power timeout as a bad request', async () => {
    const { client } = await world({
      [`PUT /v1/nodes/${N}/states/power`]: { status: 400, body: POWER_TIMEOUT_BODY },
    });
    const err = await failure(client.setPowerState(N, 'off', { timeoutSeconds: 5 }));
    expect(err.faultstring).toBe('timeout has to be positive integer');
  });

  it('sends the config drive as JSON with target active', async () => {
    const { client, ironic } = await world({ [`PUT /v1/nodes/${N}/states/provision`]: { status: 202 } });
    await client.setProvisionState(N, 'active', { configdrive: { meta_data: { uuid: N } } });
    await client.setProvisionState(N, 'deleted');
    expect(ironic.calls().map((r) => JSON.parse(r.body) as unknown)).toEqual([
      { target: 'active', configdrive: { meta_data: { uuid: N } } },
      { target: 'deleted' },
    ]);
  });

  it('attaches, lists and detaches VIFs, encoding the VIF id', async () => {
    const { client, ironic } = await world({
      [`POST /v1/nodes/${N}/vifs`]: { status: 204 },
      [`GET /v1/nodes/${N}/vifs`]: { status: 200, body: '{"vifs": [{"id": "a b"}]}' },
      [`DELETE /v1/nodes/${N}/vifs/a%20b`]: { status: 204 },
    });
    await client.attachVif(N, 'a b');
    expect(await client.listVifs(N)).toEqual([{ id: 'a b' }]);
    await client.detachVif(N, 'a b');
    expect(ironic.calls().map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([
      `POST /v1/nodes/${N}/vifs {"id":"a b"}`,
      `GET /v1/nodes/${N}/vifs `,
      `DELETE /v1/nodes/${N}/vifs/a%20b `,
    ]);
  });

  it('reads validation, console and the port and portgroup details of a node', async () => {
    const port = `{"ports": [{"uuid": "6a1c7e9e-4c43-4a0e-9d8b-3f2f1a7e5a01", "address": "52:54:00:12:34:56", "node_uuid": "${N}", "portgroup_uuid": null, "internal_info": {"tenant_vif_port_id": "vif-1"}, "extra": {}}]}`;
    const group = `{"portgroups": [{"uuid": "7b2d8f0f-5d54-4b1f-8e9c-4a3a2b8f6b02", "address": null, "node_uuid": "${N}", "mode": "802.3ad", "properties": {"miimon": "100"}, "internal_info": {}, "extra": {}}]}`;
    const { client } = await world({
      [`GET /v1/nodes/${N}/validate`]: { status: 200, body: VALIDATE_BODY },
      [`GET /v1/nodes/${N}/states/console`]: { status: 200, body: CONSOLE_BODY },
      [`PUT /v1/nodes/${N}/states/console`]: { status: 202 },
      [`GET /v1/ports/detail?node=${N}`]: { status: 200, body: port },
      [`GET /v1/portgroups/detail?node=${N}`]: { status: 200, body: group },
    });
    const validation = await client.validateNode(N);
    expect(validation['deploy']).toEqual({ result: true });
    expect(validation['rescue']?.result).toBe(false);
    expect(await client.getConsole(N)).toEqual({ console_enabled: false, console_info: null });
    await client.setConsoleMode(N, true);
    expect((await client.listPorts(N))[0]?.internal_info).toEqual({ tenant_vif_port_id: 'vif-1' });
    expect((await client.listPortgroups(N))[0]).toMatchObject({
      mode: '802.3ad',
      properties: { miimon: '100' },
    });
  });

  it('creates and deletes a node', async () => {
    const { client, ironic } = await world({
      'POST /v1/nodes': { status: 201, body: ACTIVE_NODE_BODY },
      [`DELETE /v1/nodes/${N}`]: { status: 204 },
    });
    const node = await client.createNode({ driver: 'fake-hardware' });
    await client.deleteNode(node.uuid);
    expect(ironic.calls().map((r) => r.method)).toEqual(['POST', 'DELETE']);
  });
});

describe('secrets never leave in errors or attempts', () => {
  const TOKEN = 'gAAAAABtoken-SECRET-7f3a9c';
  const PASSWORD = 'pw-SECRET-91d2';
  const ADMIN_PASS = 'adminpass-SECRET-55e1';
  const USER_DATA = '#cloud-config\nchpasswd: { list: "root:userdata-SECRET-2b7c" }\n';

  it('keeps the token, the basic password and the config drive out of every error and attempt', async () => {
    // Ironic's schema errors quote what they reject; this one echoes everything it got.
    const echo: Route = (req) => ({
      status: 400,
      body: JSON.stringify({
        error_message: JSON.stringify({
          faultstring: `rejected ${req.body} token=${String(req.headers['x-auth-token'])} auth=${String(req.headers['authorization'])}`,
        }),
      }),
    });
    const produced: unknown[] = [];
    const routes: Record<string, Route> = {
      [`PUT /v1/nodes/${N}/states/provision`]: echo,
      [`GET /v1/nodes/${N}`]: echo,
      // A broken proxy page that reflects the credentials it saw.
      [`PATCH /v1/nodes/${N}`]: (req) => ({
        status: 200,
        body: `<html>${String(req.headers['x-auth-token'] ?? req.headers['authorization'])}</html>`,
      }),
    };
    for (const auth of [
      { type: 'token', token: TOKEN } as const,
      { type: 'basic', username: 'ironic', password: PASSWORD } as const,
    ]) {
      const { client, ironic, attempts } = await world(routes, { auth });
      produced.push(...attempts);
      produced.push(await failure(client.getNode(N)));
      produced.push(
        await failure(
          client.setProvisionState(N, 'active', {
            configdrive: { meta_data: { uuid: N, admin_pass: ADMIN_PASS }, user_data: USER_DATA },
          }),
        ),
      );
      produced.push(await failure(client.updateNode(N, [{ op: 'add', path: '/extra/a', value: 1 }])));
      produced.push(await failure(client.getNode('')));
      // The credentials did reach Ironic, so their absence below is the client's doing.
      const sent = ironic.calls()[0]!.headers;
      expect(String(sent['x-auth-token'] ?? sent['authorization'])).not.toBe('undefined');
    }
    const text = produced
      .map((p) =>
        p instanceof IronicError
          ? `${p.message} ${p.stack ?? ''} ${JSON.stringify(p.toJSON())}`
          : JSON.stringify(p),
      )
      .join('\n');
    expect(text).toContain('rejected');
    for (const secret of [
      TOKEN,
      PASSWORD,
      ADMIN_PASS,
      'userdata-SECRET-2b7c',
      Buffer.from(`ironic:${PASSWORD}`).toString('base64'),
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('TLS', () => {
  const certFile = fileURLToPath(new URL('./fixtures/tls/self-signed-127.0.0.1.cert.pem', import.meta.url));
  const tls = {
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(new URL('./fixtures/tls/self-signed-127.0.0.1.key.pem', import.meta.url), 'utf8'),
  };
  const routes = { [`GET /v1/nodes/${N}`]: { status: 200, body: ACTIVE_NODE_BODY } };

  it('trusts Ironic’s certificate through a CA file, or skips verification only when told to', async () => {
    const ironic = await startRecordedIronic(routes, tls);
    open.push(ironic);
    for (const options of [{ caFile: certFile }, { insecure: true }]) {
      const client = await IronicClient.connect({ url: ironic.url, tls: options });
      open.unshift(client);
      expect((await client.getNode(N)).uuid).toBe(N);
    }
  });

  it('fails an unverifiable certificate once, as a network error, without retrying', async () => {
    const ironic = await startRecordedIronic(routes, tls);
    open.push(ironic);
    const attempts: HttpAttempt[] = [];
    const err = await failure(
      IronicClient.connect({
        url: ironic.url,
        maxRetries: 5,
        retryIntervalMs: 5,
        observer: (a) => attempts.push(a),
      }),
    );
    expect(err.code).toBe('IRONIC_NETWORK');
    expect(err.message).toContain('SELF_SIGNED');
    expect(attempts).toEqual([expect.objectContaining({ path: '/', status: null, willRetry: false })]);
    expect(ironic.requests).toHaveLength(0);
  });
});
