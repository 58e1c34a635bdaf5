import { afterEach, describe, expect, it } from 'vitest';
import { IronicClient, type IronicClientOptions } from '../../src/ironic/client.js';
import { isIronicError } from '../../src/ironic/errors.js';
import { keystoneTime, tokensUrlOf } from '../../src/ironic/keystone.js';
import type { HttpAttempt } from '../../src/ironic/types.js';
import { startSimulator, type Simulator, type SimKeystoneOptions } from '../../src/sim/index.js';

const PASSWORD = 'admin-secret-horse-battery';
const APP_SECRET = 'app-cred-secret-staple';
const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function cloud(keystone: Partial<SimKeystoneOptions> = {}): Promise<Simulator> {
  const sim = await startSimulator({
    nodes: 2,
    keystone: {
      users: [{ name: 'admin', password: PASSWORD, project: 'admin' }],
      applicationCredentials: [{ id: 'ac-1', name: 'ci', secret: APP_SECRET, user: 'admin' }],
      ...keystone,
    },
  });
  open.push(sim);
  return sim;
}

function passwordAuth(sim: Simulator, password = PASSWORD): IronicClientOptions['auth'] {
  return {
    type: 'password',
    authUrl: `${sim.url}/v3`,
    user: { username: 'admin', userDomainName: 'Default' },
    password,
    project: { projectName: 'admin', projectDomainName: 'Default' },
  };
}

async function connect(
  sim: Simulator,
  opts: Partial<IronicClientOptions> = {},
): Promise<{ client: IronicClient; attempts: HttpAttempt[] }> {
  const attempts: HttpAttempt[] = [];
  const client = await IronicClient.connect({
    auth: passwordAuth(sim),
    retryIntervalMs: 10,
    observer: (a) => attempts.push(a),
    ...opts,
  });
  open.push(client);
  return { client, attempts };
}

describe('Keystone v3 auth (simulated Keystone in front of the simulated Ironic)', () => {
  it('authenticates with a password and finds Ironic in the catalog by service type baremetal', async () => {
    const sim = await cloud();
    const { client, attempts } = await connect(sim);
    const nodes = await client.listNodes({ fields: ['uuid'] });
    expect(nodes).toHaveLength(2);
    expect(sim.keystone?.stats.issued).toBe(1);
    const tokenRequest = attempts.find((a) => a.service === 'keystone');
    expect(tokenRequest).toMatchObject({
      method: 'POST',
      path: '/v3/auth/tokens',
      status: 201,
      authReason: 'initial',
    });
  });

  it('authenticates with an application credential', async () => {
    const sim = await cloud();
    const { client } = await connect(sim, {
      auth: { type: 'applicationCredential', authUrl: sim.url, id: 'ac-1', secret: APP_SECRET },
    });
    await expect(client.listNodes({ fields: ['uuid'] })).resolves.toHaveLength(2);
  });

  it('a wrong password fails at connect with KEYSTONE_UNAUTHORIZED, and the message never holds it', async () => {
    const sim = await cloud();
    const wrong = 'wrong-password-zebra';
    const err: unknown = await IronicClient.connect({ auth: passwordAuth(sim, wrong) }).catch(
      (e: unknown) => e,
    );
    expect(isIronicError(err, 'KEYSTONE_UNAUTHORIZED')).toBe(true);
    const text = `${String((err as Error).message)} ${JSON.stringify(err)}`;
    expect(text).toContain('401');
    expect(text).not.toContain(wrong);
    expect(sim.keystone?.stats.tokenRequests).toBe(1);
  });

  it('renews the token before it expires: requests across three lifetimes never meet a 401', async () => {
    const sim = await cloud({ tokenLifetimeMs: 1500 });
    const { client, attempts } = await connect(sim);
    const until = Date.now() + 4500;
    while (Date.now() < until) {
      await client.listNodes({ fields: ['uuid'] });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sim.keystone?.stats.unauthorized).toBe(0);
    // Renewed at half the lifetime: about 4500 / 750 times, not once per request.
    const renewals = attempts.filter((a) => a.service === 'keystone' && a.authReason === 'expiring');
    expect(renewals.length).toBeGreaterThanOrEqual(3);
    expect(renewals.length).toBeLessThanOrEqual(8);
  });

  it('after a 401 it re-authenticates once and repeats the request', async () => {
    const sim = await cloud();
    const { client, attempts } = await connect(sim);
    sim.keystone?.revokeAll();
    await expect(client.getNode(sim.nodeIds()[0]!)).resolves.toMatchObject({ uuid: sim.nodeIds()[0] });
    expect(sim.keystone?.stats.unauthorized).toBe(1);
    expect(attempts.filter((a) => a.status === 401)).toMatchObject([
      { willRetry: true, errorCode: 'IRONIC_UNAUTHORIZED' },
    ]);
    expect(attempts.filter((a) => a.authReason === 'unauthorized')).toHaveLength(1);
  });

  it('one renewal serves every caller: 500 concurrent requests after a revocation send one token request', async () => {
    const sim = await cloud();
    const { client } = await connect(sim, { connections: 16 });
    const before = sim.keystone?.stats.tokenRequests ?? 0;
    sim.keystone?.revokeAll();
    const node = sim.nodeIds()[0]!;
    await Promise.all(Array.from({ length: 500 }, () => client.getNode(node, { fields: ['uuid'] })));
    expect((sim.keystone?.stats.tokenRequests ?? 0) - before).toBe(1);
  });

  it('a renewal Keystone refuses after a 401 is KEYSTONE_UNAUTHORIZED', async () => {
    const sim = await cloud();
    const { client } = await connect(sim);
    // Keystone now refuses the password too: the renewal itself fails.
    (sim.keystone as unknown as { opts: SimKeystoneOptions }).opts.users = [];
    sim.keystone?.revokeAll();
    const err: unknown = await client.getNode(sim.nodeIds()[0]!).catch((e: unknown) => e);
    expect(isIronicError(err, 'KEYSTONE_UNAUTHORIZED')).toBe(true);
    expect(String((err as Error).message)).not.toContain(PASSWORD);
  });

  it('a Keystone that is down is KEYSTONE_UNAVAILABLE once its retries are spent', async () => {
    const sim = await cloud({ tokenLifetimeMs: 400 });
    const { client } = await connect(sim, { maxRetries: 2 });
    await new Promise((r) => setTimeout(r, 450));
    if (sim.keystone) sim.keystone.down = true;
    const err: unknown = await client.getNode(sim.nodeIds()[0]!).catch((e: unknown) => e);
    expect(isIronicError(err, 'KEYSTONE_UNAVAILABLE')).toBe(true);
  });

  it("Ironic's 503 for a Keystone it cannot reach is KEYSTONE_UNAVAILABLE, retried like any 503", async () => {
    const sim = await cloud();
    const { client, attempts } = await connect(sim, { maxRetries: 2 });
    if (sim.keystone) sim.keystone.down = true;
    const err: unknown = await client.getNode(sim.nodeIds()[0]!).catch((e: unknown) => e);
    expect(isIronicError(err, 'KEYSTONE_UNAVAILABLE')).toBe(true);
    expect(attempts.filter((a) => a.status === 503)).toHaveLength(3);
  });

  it('no baremetal endpoint in the asked region: KEYSTONE_NO_ENDPOINT names what the catalog has', async () => {
    const sim = await cloud();
    const err: unknown = await IronicClient.connect({ auth: passwordAuth(sim), region: 'Mars' }).catch(
      (e: unknown) => e,
    );
    expect(isIronicError(err, 'KEYSTONE_NO_ENDPOINT')).toBe(true);
    expect(String((err as Error).message)).toContain('public@RegionOne');
  });

  it('an endpoint override is used instead of the catalog; a 401 a fresh token does not cure is IRONIC_UNAUTHORIZED', async () => {
    const sim = await cloud();
    const other = await startSimulator({ nodes: 5, keystone: { staticTokens: [] } });
    open.push(other);
    // The other Ironic refuses our token (it has its own Keystone): proof the override was used.
    const err: unknown = await IronicClient.connect({ auth: passwordAuth(sim), url: other.url })
      .then((c) => (open.push(c), c.listNodes({})))
      .catch((e: unknown) => e);
    expect(isIronicError(err, 'IRONIC_UNAUTHORIZED')).toBe(true);
  });
});

describe('Keystone helpers', () => {
  it('reads both forms of expires_at Keystone writes', () => {
    expect(keystoneTime('2026-12-03T13:10:16.000000Z')).toBe(Date.parse('2026-12-03T13:10:16.000Z'));
    // A token capped by an expiring application credential: no fraction, no zone (UTC).
    expect(keystoneTime('2026-12-03T12:10:54')).toBe(Date.parse('2026-12-03T12:10:54Z'));
    expect(keystoneTime('soon')).toBeNull();
  });

  it('finds /v3/auth/tokens from an auth_url with or without /v3', () => {
    expect(tokensUrlOf('http://k:5000/v3').href).toBe('http://k:5000/v3/auth/tokens');
    expect(tokensUrlOf('http://k:5000/v3/').href).toBe('http://k:5000/v3/auth/tokens');
    expect(tokensUrlOf('https://cloud/identity').href).toBe('https://cloud/identity/v3/auth/tokens');
  });
});
