// The servers themselves, checked as a client would with plain fetch (no ironledger code): what
// scripts/keystone-standalone.sh promises the ironledger tests in this directory.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  adminAuthHeaders,
  appCredentialToken,
  availableNodeWithAuth,
  createAppCredential,
  currentKeystonePid,
  ironicGet,
  keystonePair,
  keystoneTime,
  passwordToken,
  sleep,
  startKeystone,
  stopKeystone,
  type KeystonePair,
} from './helpers.js';

const run = promisify(execFile);
const maybePair = keystonePair();

function basicAuth(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

describe.skipIf(maybePair === null)('the real Keystone and Ironic pair', () => {
  const pair = maybePair as KeystonePair;

  it('gives admin a project-scoped password token (201) whose catalog holds the baremetal endpoints', async () => {
    const t = await passwordToken(pair, 'admin');
    expect(t.status).toBe(201);
    expect(t.token).toMatch(/^gAAAAA/); // fernet
    expect(t.body?.methods).toEqual(['password']);
    expect(t.body?.project).toEqual(expect.objectContaining({ id: pair.admin.projectId, name: 'admin' }));
    expect(t.body?.roles?.map((r) => r.name)).toContain('admin');
    const baremetal = t.body?.catalog?.find((s) => s.type === 'baremetal');
    expect(baremetal?.endpoints.map((e) => [e.interface, e.region, e.url]).sort()).toEqual([
      ['internal', pair.region, pair.ironicUrl],
      ['public', pair.region, pair.ironicUrl],
    ]);
    // The lifetime the pair was started with.
    const lifetimeS = (keystoneTime(t.body!.expires_at) - keystoneTime(t.body!.issued_at)) / 1000;
    expect(lifetimeS).toBe(pair.tokenExpiration);
  });

  it('refuses a wrong password with 401', async () => {
    const t = await passwordToken(pair, 'admin', `${pair.admin.password}-wrong`);
    expect(t.status).toBe(401);
    expect(t.token).toBe('');
  });

  it('Ironic answers 200 with a Keystone token and 401 without one', async () => {
    const t = await passwordToken(pair, 'admin');
    const withToken = await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token });
    expect(withToken.status).toBe(200);
    expect(withToken.json).toEqual({ nodes: expect.any(Array) });

    const without = await ironicGet(pair.ironicUrl, '/v1/nodes');
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe(`Keystone uri="${pair.keystoneUrl}"`);

    const bad = await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': 'not-a-token' });
    expect(bad.status).toBe(401);
    // Ironic's root stays public.
    expect((await ironicGet(pair.ironicUrl, '/')).status).toBe(200);
  });

  it('a node enrolled with an admin token reaches available, owned by the project admin', async () => {
    const headers = await adminAuthHeaders(pair);
    const node = await availableNodeWithAuth(pair.ironicUrl, headers);
    const res = await ironicGet(pair.ironicUrl, `/v1/nodes/${node}`, headers);
    expect(res.json).toMatchObject({ provision_state: 'available', owner: pair.admin.projectId });
    // demo's project does not own it: Ironic does not show it to demo.
    const demo = await passwordToken(pair, 'demo');
    expect(
      (await ironicGet(pair.ironicUrl, `/v1/nodes/${node}`, { 'x-auth-token': demo.token })).status,
    ).toBe(404);
  });

  it('demo (member of project demo) may list nodes but not create one', async () => {
    const t = await passwordToken(pair, 'demo');
    expect(t.status).toBe(201);
    expect(t.body?.project?.id).toBe(pair.demo.projectId);
    expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token })).status).toBe(200);
    const res = await fetch(`${pair.ironicUrl}/v1/nodes`, {
      method: 'POST',
      headers: {
        'x-auth-token': t.token,
        'content-type': 'application/json',
        'x-openstack-ironic-api-version': '1.82',
      },
      body: JSON.stringify({ driver: 'fake-hardware' }),
    });
    expect(res.status).toBe(403);
  });

  it("the setup's application credential gets a token (no scope needed) that Ironic accepts", async () => {
    const t = await appCredentialToken(pair, pair.appCredential);
    expect(t.status).toBe(201);
    expect(t.body?.methods).toEqual(['application_credential']);
    expect(t.body?.application_credential?.id).toBe(pair.appCredential.id);
    expect(t.body?.project?.id).toBe(pair.admin.projectId);
    expect(t.body?.catalog?.some((s) => s.type === 'baremetal')).toBe(true);
    expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token })).status).toBe(200);

    const wrong = await appCredentialToken(pair, { id: pair.appCredential.id, secret: 'wrong' });
    expect(wrong.status).toBe(401);
  });

  it('a fresh application credential works; a short-lived one is refused, and so is its token, after it expires', async () => {
    const fresh = await createAppCredential(pair);
    expect(fresh.expiresAt).toBeNull();
    expect((await appCredentialToken(pair, fresh)).status).toBe(201);

    const shortLived = await createAppCredential(pair, { expiresInS: 12 });
    expect(shortLived.expiresAt).not.toBeNull();
    const expiresAt = keystoneTime(shortLived.expiresAt!);
    const t = await appCredentialToken(pair, shortLived);
    expect(t.status).toBe(201);
    // The token ends when the credential does (not after the pair's 3600 s lifetime).
    expect(keystoneTime(t.body!.expires_at)).toBe(expiresAt);
    expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token })).status).toBe(200);

    // Keystone's clock is this machine's; one second more for its whole-second timestamps.
    await sleep(Math.max(0, expiresAt - Date.now()) + 1_500);
    expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token })).status).toBe(401);
    expect((await appCredentialToken(pair, shortLived)).status).toBe(401);
  });

  it('the http_basic Ironic answers 200 with the htpasswd user and 401 without or with a wrong password', async () => {
    const { username, password } = pair.basic;
    expect((await ironicGet(pair.ironicBasicUrl, '/v1/nodes', basicAuth(username, password))).status).toBe(
      200,
    );
    const without = await ironicGet(pair.ironicBasicUrl, '/v1/nodes');
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Basic realm="Baremetal API"');
    expect((await ironicGet(pair.ironicBasicUrl, '/v1/nodes', basicAuth(username, 'wrong'))).status).toBe(
      401,
    );
  });

  it('clouds.yaml is YAML with a cloud for each auth type, and env holds admin OS_* variables', async () => {
    // PyYAML comes with python3-ironic; the project has no YAML reader of its own yet.
    const { stdout } = await run('/usr/bin/python3', [
      '-c',
      'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))',
      pair.cloudsYaml,
    ]);
    const clouds = (
      JSON.parse(stdout) as { clouds: Record<string, { auth_type: string; auth: Record<string, string> }> }
    ).clouds;
    expect(Object.keys(clouds).sort()).toEqual([
      'ironledger-admin',
      'ironledger-appcred',
      'ironledger-basic',
      'ironledger-demo',
    ]);
    expect(clouds['ironledger-admin']).toMatchObject({
      auth_type: 'password',
      auth: {
        auth_url: pair.keystoneUrl,
        username: 'admin',
        password: pair.admin.password,
        project_name: 'admin',
      },
      region_name: pair.region,
    });
    expect(clouds['ironledger-appcred']).toMatchObject({
      auth_type: 'v3applicationcredential',
      auth: {
        application_credential_id: pair.appCredential.id,
        application_credential_secret: pair.appCredential.secret,
      },
    });
    expect(clouds['ironledger-basic']).toMatchObject({
      auth_type: 'http_basic',
      auth: { username: pair.basic.username, password: pair.basic.password },
      baremetal_endpoint_override: pair.ironicBasicUrl,
    });
    const env = readFileSync(pair.envFile, 'utf8');
    expect(env).toContain(`OS_AUTH_URL=${pair.keystoneUrl}\n`);
    expect(env).toContain(`OS_PASSWORD=${pair.admin.password}\n`);
  });

  it("OpenStack's own client reads clouds.yaml: password and application-credential clouds get tokens", async () => {
    // python3-openstackclient comes with python3-keystone (a dependency).
    const env: NodeJS.ProcessEnv = { ...process.env, OS_CLIENT_CONFIG_FILE: pair.cloudsYaml };
    for (const name of Object.keys(env)) {
      if (name.startsWith('OS_') && name !== 'OS_CLIENT_CONFIG_FILE') delete env[name];
    }
    for (const [cloud, projectId] of [
      ['ironledger-admin', pair.admin.projectId],
      ['ironledger-demo', pair.demo.projectId],
      ['ironledger-appcred', pair.admin.projectId],
    ] as const) {
      const { stdout } = await run(
        'openstack',
        ['--os-cloud', cloud, 'token', 'issue', '-f', 'value', '-c', 'project_id'],
        {
          env,
        },
      );
      expect(stdout.trim(), cloud).toBe(projectId);
    }
  });

  it('with Keystone stopped, Ironic answers a token with 503 (and no token still with 401); started again, 200', async () => {
    const t = await passwordToken(pair, 'admin');
    expect(t.status).toBe(201);
    const before = currentKeystonePid(pair);
    await stopKeystone(pair);
    try {
      expect(() => process.kill(before, 0)).toThrow();
      const down = await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token });
      expect(down.status).toBe(503);
      expect((await ironicGet(pair.ironicUrl, '/v1/nodes')).status).toBe(401);
    } finally {
      await startKeystone(pair);
    }
    const after = currentKeystonePid(pair);
    expect(after).not.toBe(before);
    // Same database and fernet keys: the token issued before the stop is still good.
    expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token })).status).toBe(200);
  });
});
