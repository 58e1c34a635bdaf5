// The simulator's http_basic mode answers as Ironic 21.4 with auth_strategy = http_basic does
// (../shared/ironic/KEYSTONE.md): public version documents, 401 with ironic-lib's body and
// Basic challenge without or with wrong credentials, 400 for another scheme, 200 with a user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ nodes: 1, httpBasic: { users: { admin: 'pw:with:colons' } } });
});
afterAll(() => sim.close());

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${sim.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

describe('simulator with http_basic', () => {
  it('leaves / and /v1 public', async () => {
    expect((await get('/')).status).toBe(200);
    expect((await get('/v1')).status).toBe(200);
  });

  it('without credentials: 401 "Authorization required" with the Basic challenge', async () => {
    const r = await get('/v1/nodes');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Basic realm="Baremetal API"');
    expect(r.body).toEqual({ error: { message: 'Authorization required', code: 401 } });
    // A Keystone token is no credential here.
    expect((await get('/v1/nodes', { 'X-Auth-Token': 'tok' })).status).toBe(401);
  });

  it('wrong user or password: 401 "Incorrect username or password"', async () => {
    for (const auth of [basic('admin', 'nope'), basic('root', 'pw:with:colons')]) {
      const r = await get('/v1/nodes', { Authorization: auth });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { message: 'Incorrect username or password', code: 401 } });
    }
  });

  it('another scheme or a broken token: 400', async () => {
    const bearer = await get('/v1/nodes', { Authorization: 'Bearer x' });
    expect(bearer).toMatchObject({
      status: 400,
      body: { error: { message: 'Unsupported authorization type "Bearer"', code: 400 } },
    });
    expect(bearer.headers.get('www-authenticate')).toBeNull();
    expect((await get('/v1/nodes', { Authorization: 'Basic !!!' })).status).toBe(400);
  });

  it('the right user: the API as usual', async () => {
    const r = await get('/v1/nodes', { Authorization: basic('admin', 'pw:with:colons') });
    expect(r.status).toBe(200);
    expect((r.body as { nodes: unknown[] }).nodes).toHaveLength(1);
  });
});
