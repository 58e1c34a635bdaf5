// The CLI configured the OpenStack way, end to end (built CLI, one child process per command,
// the simulator over real HTTP): OS_CLOUD and clouds.yaml (+ secure.yaml), a flag over a file's
// value, a cloud that is not there, HTTP basic from clouds.yaml and from flags, a static token
// from secure.yaml, and no secret in any output or in the event store.
import { createServer, request, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, expectJsonError, expectUsageError, json, type CliResult } from './helpers.js';

const INSTANCE = (i: number): string => `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`;
const UNREACHABLE = 'http://127.0.0.1:1';
const BASIC_PASSWORD = 'basic-pw-S3CRET';
const TOKEN = 'static-token-S3CRET';

let sim: Simulator;
let basicSim: Simulator;
let gate: Server;
let gateUrl: string;
const tokensSeen: string[] = [];
let dir: string;

/** Ironic behind a gate that wants one static token (401 with keystonemiddleware's body otherwise). */
function tokenGate(target: string): Server {
  return createServer((req, res) => {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string') tokensSeen.push(token);
    if (token !== TOKEN && req.url !== '/' && req.url !== '/v1') {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            code: 401,
            title: 'Unauthorized',
            message: 'The request you have made requires authentication.',
          },
        }),
      );
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
}

beforeAll(async () => {
  const timings = { deployMs: 40, deleteMs: 20, cleanMs: 40, powerMs: 20 };
  sim = await startSimulator({ ...timings, nodes: 2, seed: 21 });
  basicSim = await startSimulator({
    ...timings,
    nodes: 2,
    seed: 22,
    httpBasic: { users: { admin: BASIC_PASSWORD } },
  });
  gate = tokenGate(sim.url);
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'ironledger-cli-cloud-'));
});

afterAll(async () => {
  await Promise.all([sim.close(), basicSim.close()]);
  await new Promise((resolve) => gate.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh directory holding `files` (path -> text). */
function tree(files: Record<string, string>): string {
  const root = join(dir, `t${++n}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const db = (): string => join(dir, `run-${++n}.db`);

function expectOk(r: CliResult): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

function expectNoSecret(r: CliResult, ...secrets: string[]): void {
  for (const s of secrets) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

describe('clouds.yaml through OS_CLOUD', () => {
  it('auth_type none: the cloud named by OS_CLOUD in OS_CLIENT_CONFIG_FILE is used', async () => {
    const root = tree({
      'clouds.yaml': `clouds:\n  lab:\n    auth_type: none\n    baremetal_endpoint_override: ${sim.url}\n  other:\n    auth_type: none\n    baremetal_endpoint_override: ${UNREACHABLE}\n`,
    });
    const env = { OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'), OS_CLOUD: 'lab' };
    const r = await cli(['--db', db(), '--json', 'nodes'], env);
    expectOk(r);
    expect(json<unknown[]>(r).length).toBeGreaterThanOrEqual(2);
    // --os-cloud picks another cloud of the same file over OS_CLOUD.
    const other = await cli(['--db', db(), '--os-cloud', 'other', '--max-retries', '0', 'nodes'], env);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('IRONIC_NETWORK');
  });

  it('a static token in secure.yaml beside clouds.yaml in ~/.config/openstack reaches Ironic', async () => {
    const home = tree({
      '.config/openstack/clouds.yaml': `clouds:\n  prod:\n    auth_type: token\n    auth:\n      endpoint: ${gateUrl}\n`,
      '.config/openstack/secure.yaml': `clouds:\n  prod:\n    auth:\n      token: ${TOKEN}\n`,
    });
    tokensSeen.length = 0;
    const r = await cli(['--db', db(), '--json', 'nodes'], { HOME: home, OS_CLOUD: 'prod' });
    expectOk(r);
    expect(tokensSeen).toContain(TOKEN);
    expectNoSecret(r, TOKEN);
    // The same cloud with the token overridden by a wrong one: Ironic refuses it (exit 3).
    const wrong = await cli(['--db', db(), '--os-token', 'wrong-token-S3CRET', 'nodes'], {
      HOME: home,
      OS_CLOUD: 'prod',
    });
    expect(wrong.code, wrong.stderr).toBe(3);
    expect(wrong.stderr).toMatch(/401/);
    expectNoSecret(wrong, TOKEN, 'wrong-token-S3CRET');
  });

  it('a flag overrides the file value, and OS_* variables sit between them', async () => {
    const root = tree({
      'clouds.yaml': `clouds:\n  lab:\n    auth_type: none\n    baremetal_endpoint_override: ${UNREACHABLE}\n`,
    });
    const env = { OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'), OS_CLOUD: 'lab' };
    for (const flag of ['--os-endpoint', '--ironic-url', '--os-url']) {
      expectOk(await cli(['--db', db(), '--json', flag, sim.url, 'nodes'], env));
    }
    expectOk(await cli(['--db', db(), '--json', 'nodes'], { ...env, OS_ENDPOINT: sim.url }));
    expectOk(
      await cli(['--db', db(), '--json', '--os-endpoint', sim.url, 'nodes'], {
        ...env,
        OS_ENDPOINT: UNREACHABLE,
      }),
    );
  });

  it('a cloud that is not there: exit 2, one line naming the clouds that are', async () => {
    const root = tree({
      'clouds.yaml': `clouds:\n  lab:\n    auth_type: none\n    baremetal_endpoint_override: ${sim.url}\n  prod:\n    auth:\n      password: ${BASIC_PASSWORD}\n`,
    });
    const env = { OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'), OS_CLOUD: 'staging' };
    const r = await cli(['--db', db(), 'nodes'], env);
    expectUsageError(
      r,
      /Cloud "staging": not in .*clouds\.yaml; clouds defined: "lab", "prod"\. \[CLOUD_NOT_FOUND\]$/m,
    );
    const doc = expectJsonError(await cli(['--db', db(), '--json', 'nodes'], env), /Cloud "staging"/);
    expect(doc.code).toBe('CLOUD_NOT_FOUND');
    expectNoSecret(r, BASIC_PASSWORD);
  });

  it('a broken clouds.yaml: exit 2, one line with file, line and column, not the text', async () => {
    const root = tree({ 'clouds.yaml': `clouds:\n  lab:\n    auth:\n      password: "${BASIC_PASSWORD}\n` });
    const r = await cli(['--db', db(), 'nodes'], {
      OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'),
      OS_CLOUD: 'lab',
    });
    expectUsageError(
      r,
      /clouds\.yaml is not valid YAML: \w+ at line \d+, column \d+\. \[CLOUD_CONFIG_INVALID\]$/m,
    );
    expectNoSecret(r, BASIC_PASSWORD);
  });
});

describe('HTTP basic (Ironic with auth_strategy = http_basic)', () => {
  it('from clouds.yaml with the password in secure.yaml: a deploy succeeds, and no byte of the password is stored', async () => {
    const root = tree({
      'clouds.yaml': `clouds:\n  basic:\n    auth_type: http_basic\n    auth:\n      username: admin\n      endpoint: ${basicSim.url}\n`,
      'secure.yaml': `clouds:\n  basic:\n    auth:\n      password: ${BASIC_PASSWORD}\n`,
    });
    // secure.yaml is found in the working directory's search slot only via OS_CLIENT_SECURE_FILE here.
    const env = {
      OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'),
      OS_CLIENT_SECURE_FILE: join(root, 'secure.yaml'),
      OS_CLOUD: 'basic',
    };
    const store = db();
    const node = basicSim.addNode({ provisionState: 'available' }).uuid;
    const r = await cli(
      [
        '--db',
        store,
        '--poll-interval',
        '20',
        '--json',
        'deploy',
        '--node',
        node,
        '--instance',
        INSTANCE(1),
        '--image-source',
        'http://img/x',
      ],
      env,
    );
    expectOk(r);
    expect(json(r)).toMatchObject({ status: 'succeeded', node });
    expectNoSecret(r, BASIC_PASSWORD);
    for (const file of [store, `${store}-wal`]) {
      if (existsSync(file)) expect(readFileSync(file).includes(Buffer.from(BASIC_PASSWORD))).toBe(false);
    }
  });

  it('a wrong password: Ironic refuses (401, exit 3) and the password is not shown', async () => {
    const root = tree({
      'clouds.yaml': `clouds:\n  basic:\n    auth_type: http_basic\n    auth:\n      username: admin\n      password: not-it-S3CRET\n    baremetal_endpoint_override: ${basicSim.url}\n`,
    });
    const r = await cli(['--db', db(), 'nodes'], {
      OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'),
      OS_CLOUD: 'basic',
    });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/401/);
    expectNoSecret(r, 'not-it-S3CRET', BASIC_PASSWORD);
  });

  it('from flags alone, and from OS_* variables', async () => {
    const flags = ['--os-auth-type', 'http_basic', '--os-username', 'admin', '--os-password', BASIC_PASSWORD];
    const r = await cli(['--db', db(), '--json', ...flags, '--os-endpoint', basicSim.url, 'nodes']);
    expectOk(r);
    const env = await cli(['--db', db(), '--json', 'nodes'], {
      OS_AUTH_TYPE: 'http_basic',
      OS_USERNAME: 'admin',
      OS_PASSWORD: BASIC_PASSWORD,
      OS_ENDPOINT: basicSim.url,
    });
    expectOk(env);
    // Without auth_type the user and password mean Keystone password auth, which needs auth_url.
    const keystone = await cli(['--db', db(), 'nodes'], {
      OS_USERNAME: 'admin',
      OS_PASSWORD: BASIC_PASSWORD,
      OS_ENDPOINT: basicSim.url,
    });
    expectUsageError(keystone, /missing: auth_url .*set auth_type http_basic\. \[CLOUD_CONFIG_INVALID\]$/m);
    expectNoSecret(keystone, BASIC_PASSWORD);
  });
});

describe('Keystone auth (the simulator with a Keystone in front)', () => {
  const KS_PASSWORD = 'ks-pw-S3CRET';
  let ksSim: Simulator;
  beforeAll(async () => {
    ksSim = await startSimulator({
      deployMs: 40,
      deleteMs: 20,
      cleanMs: 40,
      seed: 23,
      keystone: {
        users: [{ name: 'admin', password: KS_PASSWORD, project: 'admin' }],
        applicationCredentials: [{ id: 'ac-9', name: 'ci', secret: 'ac-S3CRET', user: 'admin' }],
      },
    });
  });
  afterAll(() => ksSim.close());

  function cloudsYaml(password: string): string {
    return (
      `clouds:\n  ks:\n    region_name: RegionOne\n    auth:\n      auth_url: ${ksSim.url}/v3\n      username: admin\n` +
      `      password: ${password}\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n` +
      `  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${ksSim.url}\n` +
      `      application_credential_id: ac-9\n      application_credential_secret: ac-S3CRET\n`
    );
  }

  it('password auth from clouds.yaml: Ironic found in the catalog, a deploy and a destroy succeed, no secret shown or stored', async () => {
    const root = tree({ 'clouds.yaml': cloudsYaml(KS_PASSWORD) });
    const env = { OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'), OS_CLOUD: 'ks' };
    const store = db();
    const node = ksSim.addNode({ provisionState: 'available' }).uuid;
    const common = ['--db', store, '--poll-interval', '20', '--json'];
    const deployed = await cli(
      [...common, 'deploy', '--node', node, '--instance', INSTANCE(7), '--image-source', 'http://img/x'],
      env,
    );
    expectOk(deployed);
    expect(json(deployed)).toMatchObject({ status: 'succeeded', node });
    const destroyed = await cli([...common, 'destroy', '--instance', INSTANCE(7)], env);
    expectOk(destroyed);
    const tokens = ksSim.keystone!.issuedTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    for (const r of [deployed, destroyed]) expectNoSecret(r, KS_PASSWORD, ...tokens);
    for (const file of [store, `${store}-wal`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      for (const secret of [KS_PASSWORD, ...tokens]) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    }
  });

  it('an application credential from OS_CLOUD works too', async () => {
    const root = tree({ 'clouds.yaml': cloudsYaml(KS_PASSWORD) });
    const r = await cli(['--db', db(), '--json', 'nodes'], {
      OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'),
      OS_CLOUD: 'ac',
    });
    expectOk(r);
    expectNoSecret(r, 'ac-S3CRET');
  });

  it('a wrong password: one line, exit 3 (KEYSTONE_UNAUTHORIZED), no run recorded, the password never shown', async () => {
    const root = tree({ 'clouds.yaml': cloudsYaml('wrong-S3CRET') });
    const env = { OS_CLIENT_CONFIG_FILE: join(root, 'clouds.yaml'), OS_CLOUD: 'ks' };
    const store = db();
    const node = ksSim.addNode({ provisionState: 'available' }).uuid;
    const r = await cli(
      ['--db', store, 'deploy', '--node', node, '--instance', INSTANCE(8), '--image-source', 'http://img/x'],
      env,
    );
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Keystone refused the password .*401.*KEYSTONE_UNAUTHORIZED/);
    expectNoSecret(r, 'wrong-S3CRET', KS_PASSWORD);
    if (existsSync(store)) {
      const runs = await cli(['--db', store, '--json', 'runs']);
      expect(json(runs)).toEqual([]);
    }
    expect(ksSim.node(node)).toMatchObject({ provision_state: 'available', instance_uuid: null });
  });
});
