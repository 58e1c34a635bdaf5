// ironledger's engine against the real Keystone and the real Ironic behind it: password and
// application-credential auth with Ironic found in the catalog, and a wrong password.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { IronicClientOptions } from '../../src/ironic/client.js';
import { passwordAuth, realDeployInput } from './engine-helpers.js';
import { isIronicError } from '../../src/ironic/errors.js';
import { EventStore } from '../../src/store/event-store.js';
import { readStream, replay, tempDir } from '../ironic-real/engine-helpers.js';
import {
  adminAuthHeaders,
  availableNodeWithAuth,
  createAppCredential,
  keystonePair,
  type KeystonePair,
} from './helpers.js';

const maybePair = keystonePair();
const tmp = tempDir('ironledger-keystone-engine-');
afterAll(() => tmp.cleanup());

function storeBytes(db: string): string {
  return [db, `${db}-wal`]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('');
}

describe.skipIf(maybePair === null)('the engine against a real Keystone in front of a real Ironic', () => {
  const pair = maybePair as KeystonePair;

  async function deployAndDestroy(auth: IronicClientOptions['auth'], db: string): Promise<string[]> {
    const node = await availableNodeWithAuth(pair.ironicUrl, await adminAuthHeaders(pair));
    const instance = randomUUID();
    // No url: Ironic is found in the token's catalog (service type baremetal, public).
    const engine = await Engine.open({
      db,
      ironic: { auth, retryIntervalMs: 200, maxRetries: 150 },
      pollIntervalMs: 250,
    });
    try {
      const deployed = await engine.deploy(realDeployInput(node, instance)).done;
      expect(deployed, JSON.stringify(deployed.error)).toMatchObject({ status: 'succeeded', node });
      const destroyed = await engine.destroy({ instance, vifs: [] }).done;
      expect(destroyed, JSON.stringify(destroyed.error)).toMatchObject({ status: 'succeeded', node });
      for (const [id, op] of [
        [deployed.runId, 'deploy'],
        [destroyed.runId, 'destroy'],
      ] as const) {
        expect(replay(db, id, op).divergence).toBeNull();
      }
      return [deployed.runId, destroyed.runId];
    } finally {
      await engine.close();
    }
  }

  it('deploys and destroys with password auth, Ironic found in the catalog; the store holds neither password nor token', async () => {
    const db = join(tmp.dir, 'password.db');
    const [deployRun] = await deployAndDestroy(passwordAuth(pair), db);
    // The token was asked for at open, before any run: no run's log has a token request yet.
    expect(readStream(db, deployRun!).some((e) => e.kind === 'http' && e.data.status === 401)).toBe(false);
    expect(storeBytes(db)).not.toContain(pair.admin.password);
    expect(storeBytes(db)).not.toContain('gAAAAA');
  });

  it('deploys and destroys with an application credential', async () => {
    const cred = await createAppCredential(pair, { name: `engine-${randomUUID().slice(0, 8)}` });
    const db = join(tmp.dir, 'appcred.db');
    await deployAndDestroy(
      { type: 'applicationCredential', authUrl: pair.keystoneUrl, id: cred.id, secret: cred.secret },
      db,
    );
    expect(storeBytes(db)).not.toContain(cred.secret);
  });

  it('a wrong password fails Engine.open with KEYSTONE_UNAUTHORIZED, before any run is recorded', async () => {
    const db = join(tmp.dir, 'wrong.db');
    const wrong = 'not-the-admin-password';
    const err: unknown = await Engine.open({ db, ironic: { auth: passwordAuth(pair, wrong) } }).catch(
      (e: unknown) => e,
    );
    expect(isIronicError(err, 'KEYSTONE_UNAUTHORIZED')).toBe(true);
    expect(String((err as Error).message)).not.toContain(wrong);
    if (existsSync(db)) {
      const store = EventStore.open(db, { mode: 'reader' });
      try {
        expect(store.listRuns({})).toEqual([]);
      } finally {
        store.close();
      }
    }
  });
});
