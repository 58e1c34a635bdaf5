// Runs that outlast a Keystone token, and a Keystone that stops while a run waits: a pair of
// its own, with 20 s tokens and fake deploys and teardowns that take ~25 s each.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { readStream, replay, tempDir } from '../ironic-real/engine-helpers.js';
import { passwordAuth, realDeployInput } from './engine-helpers.js';
import {
  adminAuthHeaders,
  availableNodeWithAuth,
  keystonePair,
  sleep,
  startKeystone,
  stopKeystone,
} from './helpers.js';
import type { KeystonePair } from './provided-context.js';
import { keystoneScript, pairFromKeyValues } from './script.js';

const TOKEN_S = 20;
const DELAY_S = 25;
const enabled = keystonePair() !== null;
const tmp = tempDir('ironledger-keystone-expiry-');
let pair: KeystonePair;

beforeAll(async () => {
  if (!enabled) return;
  pair = pairFromKeyValues(
    await keystoneScript([
      'start',
      '--basic',
      '--token-expiration',
      String(TOKEN_S),
      '--deploy-delay',
      String(DELAY_S),
    ]),
  );
}, 300_000);

afterAll(async () => {
  if (enabled && pair !== undefined) await keystoneScript(['stop', pair.dir]);
  tmp.cleanup();
});

describe.skipIf(!enabled)(`runs against a Keystone whose tokens live ${TOKEN_S} s`, () => {
  it('a deploy and a teardown that each outlast a token both succeed, and their logs show the renewals', async () => {
    const node = await availableNodeWithAuth(pair.ironicUrl, await adminAuthHeaders(pair));
    const db = join(tmp.dir, 'outlast.db');
    const engine = await Engine.open({
      db,
      ironic: { auth: passwordAuth(pair), retryIntervalMs: 500, maxRetries: 60 },
      pollIntervalMs: 1000,
    });
    try {
      const instance = randomUUID();
      const started = Date.now();
      const deployed = await engine.deploy(realDeployInput(node, instance)).done;
      expect(deployed, JSON.stringify(deployed.error)).toMatchObject({ status: 'succeeded' });
      expect(Date.now() - started).toBeGreaterThan(TOKEN_S * 1000);
      const destroyed = await engine.destroy({ instance, vifs: [], waitForAvailable: true }).done;
      expect(destroyed, JSON.stringify(destroyed.error)).toMatchObject({ status: 'succeeded' });
      for (const [id, op] of [
        [deployed.runId, 'deploy'],
        [destroyed.runId, 'destroy'],
      ] as const) {
        const renewals = readStream(db, id).filter(
          (e) => e.kind === 'http' && e.data.service === 'keystone' && e.data.authReason === 'expiring',
        );
        expect(renewals.length, `${op}: token renewals in its log`).toBeGreaterThanOrEqual(1);
        expect(renewals.every((e) => e.data.status === 201)).toBe(true);
        // Renewed before expiry: Ironic never had to refuse a token.
        expect(readStream(db, id).some((e) => e.kind === 'http' && e.data.status === 401)).toBe(false);
        expect(replay(db, id, op).divergence).toBeNull();
      }
    } finally {
      await engine.close();
    }
  });

  it('Keystone stopped mid-wait: the run stops interrupted (KEYSTONE_UNAVAILABLE); started again, resume finishes it', async () => {
    const node = await availableNodeWithAuth(pair.ironicUrl, await adminAuthHeaders(pair));
    const db = join(tmp.dir, 'stopped.db');
    const ironic = { auth: passwordAuth(pair), retryIntervalMs: 500, maxRetries: 3 };
    const engine = await Engine.open({ db, ironic, pollIntervalMs: 1000 });
    const instance = randomUUID();
    const run = engine.deploy(realDeployInput(node, instance));
    let waiting = false;
    run.subscribe((p) => {
      if (p.state.includes('wait')) waiting = true;
    });
    while (!waiting) await sleep(200);
    await stopKeystone(pair);
    const result = await run.done;
    expect(result.status).toBe('interrupted');
    expect(result.error).toMatchObject({ code: 'KEYSTONE_UNAVAILABLE' });
    await engine.close();

    await startKeystone(pair);
    const again = await Engine.open({ db, ironic: { ...ironic, maxRetries: 60 }, pollIntervalMs: 1000 });
    try {
      const done = await again.resume(run.id).done;
      expect(done, JSON.stringify(done.error)).toMatchObject({ status: 'succeeded', node });
      const note = readStream(db, run.id).find(
        (e) => e.kind === 'note' && e.data.code === 'KEYSTONE_UNAVAILABLE',
      );
      expect(String(note?.data.message)).toContain('resume');
      expect(replay(db, run.id, 'deploy').divergence).toBeNull();
    } finally {
      await again.close();
    }
  });
});
