// The `ironledger` command against the real Keystone and Ironic, configured the OpenStack way:
// OS_CLOUD naming a cloud of the clouds.yaml the pair wrote (password, application credential,
// HTTP basic), and a wrong password in OS_* variables. Every byte the runs left is read.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, json, type CliResult } from '../e2e/cli.js';
import { tempDir } from '../ironic-real/engine-helpers.js';
import { adminAuthHeaders, availableNodeWithAuth, keystonePair, type KeystonePair } from './helpers.js';

const maybePair = keystonePair();
const tmp = tempDir('ironledger-keystone-cli-');
afterAll(() => tmp.cleanup());

const deployArgs = (db: string, node: string, instance: string): string[] => [
  '--db',
  db,
  '--json',
  '--poll-interval',
  '500',
  'deploy',
  '--node',
  node,
  '--instance',
  instance,
  '--image-source',
  'http://127.0.0.1/image.qcow2',
];
const destroyArgs = (db: string, instance: string): string[] => [
  '--db',
  db,
  '--json',
  '--poll-interval',
  '500',
  'destroy',
  '--instance',
  instance,
];

/** The database, its WAL and the commands' output: where a secret must never be. */
function everyByte(db: string, ...results: CliResult[]): string {
  const files = [db, `${db}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1'));
  return [...files, ...results.flatMap((r) => [r.stdout, r.stderr])].join('\n');
}

describe.skipIf(maybePair === null)('ironledger configured by clouds.yaml against a real Keystone', () => {
  const pair = maybePair as KeystonePair;
  const envFor = (cloud: string): Record<string, string> => ({
    OS_CLIENT_CONFIG_FILE: pair.cloudsYaml,
    OS_CLOUD: cloud,
  });

  it.each(['ironledger-admin', 'ironledger-appcred'])(
    'deploys and destroys through OS_CLOUD=%s, Ironic found in the catalog, no secret anywhere',
    async (cloud) => {
      const node = await availableNodeWithAuth(pair.ironicUrl, await adminAuthHeaders(pair));
      const db = join(tmp.dir, `${cloud}.db`);
      const instance = randomUUID();
      const deploy = await cli(deployArgs(db, node, instance), envFor(cloud), 180_000);
      expect(deploy.code, deploy.stderr).toBe(0);
      expect(json(deploy)).toMatchObject({ status: 'succeeded', node });
      const destroy = await cli(destroyArgs(db, instance), envFor(cloud), 180_000);
      expect(destroy.code, destroy.stderr).toBe(0);
      const all = everyByte(db, deploy, destroy);
      for (const secret of [pair.admin.password, pair.appCredential.secret])
        expect(all).not.toContain(secret);
      expect(all).not.toMatch(/gAAAAA[\w-]{40}/); // no fernet token
    },
  );

  it('deploys and destroys with HTTP basic from clouds.yaml (OS_CLOUD=ironledger-basic)', async () => {
    const basic = `Basic ${Buffer.from(`${pair.basic.username}:${pair.basic.password}`).toString('base64')}`;
    const node = await availableNodeWithAuth(pair.ironicBasicUrl, { authorization: basic });
    const db = join(tmp.dir, 'basic.db');
    const instance = randomUUID();
    const deploy = await cli(deployArgs(db, node, instance), envFor('ironledger-basic'), 180_000);
    expect(deploy.code, deploy.stderr).toBe(0);
    const destroy = await cli(destroyArgs(db, instance), envFor('ironledger-basic'), 180_000);
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(everyByte(db, deploy, destroy)).not.toContain(pair.basic.password);
  });

  it('a wrong password: one line, exit 3 (KEYSTONE_UNAUTHORIZED), no run recorded, the node untouched', async () => {
    const node = await availableNodeWithAuth(pair.ironicUrl, await adminAuthHeaders(pair));
    const db = join(tmp.dir, 'wrong.db');
    const wrong = 'not-the-admin-password';
    const r = await cli(deployArgs(db, node, randomUUID()), {
      OS_AUTH_URL: pair.keystoneUrl,
      OS_USERNAME: pair.admin.username,
      OS_PASSWORD: wrong,
      OS_PROJECT_NAME: pair.admin.projectName,
      OS_USER_DOMAIN_NAME: pair.userDomainName,
      OS_PROJECT_DOMAIN_NAME: pair.projectDomainName,
    });
    expect(r.code, r.stderr).toBe(3);
    const error = json<{ error: { code: string; message: string } }>(r).error;
    expect(error.code).toBe('KEYSTONE_UNAUTHORIZED');
    expect(error.message).toMatch(/Keystone refused the password .*401/);
    expect(everyByte(db, r)).not.toContain(wrong);
    if (existsSync(db)) expect(json(await cli(['--db', db, '--json', 'runs']))).toEqual([]);
  });
});
