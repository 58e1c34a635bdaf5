// Issue 15, finding 6 on the real Ironic: Ironic restarted while it tears a node down. At start-up
// its conductor fails every node it finds in a state it cannot resume (ironic/conductor/
// base_manager.py, init_host: STUCK_STATES_TREATED_AS_FAIL, `deleting` among them), so the node goes
// `deleting -> error` with "The deleting state can't be resumed by conductor ...". The destroy must
// observe `error`, request `deleted` again and finish.
//
// This file starts its own Ironic (the suite's is shared by every file and must not be restarted
// under them) with deploy_delay = 5 s: `deleting` runs the fake tear_down and clean_up, 5 s each,
// so the node is still `deleting` when the test has seen it and kills Ironic (`restart --kill`: a
// crash, as the finding's restart was; SIGTERM would let the conductor finish the tear down).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunResult } from '../../src/engine/engine.js';
import type { DeployInput } from '../../src/machines/index.js';
import {
  availableNode,
  between,
  describeRequest,
  logMark,
  mutating,
  openRealEngine,
  readStream,
  replay,
  tempDir,
} from './engine-helpers.js';
import {
  deployFakeNode,
  getNode,
  pollNode,
  REAL_POLL,
  standalone,
  stopStandalone,
  type StandaloneIronic,
} from './helpers.js';

const url = inject('ironicUrl');
const DEPLOY_DELAY_S = 5;
const tmp = tempDir('ironledger-real-teardown-restart-');

describe.skipIf(url === null)('a destroy across an Ironic restart (real Ironic, issue 15 finding 6)', () => {
  let ironic: StandaloneIronic | undefined;
  beforeAll(async () => {
    ironic = await standalone(['start', '--deploy-delay', String(DEPLOY_DELAY_S)]);
  }, 180_000);
  afterAll(async () => {
    if (ironic !== undefined) await stopStandalone(ironic.dir);
    tmp.cleanup();
  }, 60_000);

  it('Ironic killed and restarted while the node is deleting puts it in error; the destroy requests deleted again and ends with the node available', async () => {
    const { url: base, dir, log } = ironic!;
    const node = await availableNode(base);
    const instance = randomUUID();
    await deployFakeNode(base, node, { instanceUuid: instance, vifs: [] });
    const db = join(tmp.dir, 'restart.db');
    // Ironic is down for the whole restart (tens of seconds on a loaded machine): a connection
    // refused is retried every 200 ms for up to 3 minutes.
    const engine = await openRealEngine(base, db, {
      ironic: { url: base, retryIntervalMs: 200, maxRetries: 900 },
    });
    const before = await logMark(base, log, node);
    let result: RunResult;
    let seenAfterRestart: string | null = null;
    try {
      const destroy = engine.destroy({ instance, vifs: [], waitForAvailable: true, timeoutS: 600 });
      await pollNode(base, node, (n) => n.provision_state === 'deleting', { ...REAL_POLL, intervalMs: 100 });
      await standalone(['restart', dir, '--kill']);
      // What the restarted conductor made of the node, unless the destroy already moved it on.
      seenAfterRestart = (await getNode(base, node)).provision_state;
      result = await destroy.done;
    } finally {
      await engine.close();
    }
    const after = await logMark(base, log, node);

    expect(result.error).toBeNull();
    expect(result).toMatchObject({ status: 'succeeded', node });
    expect(['error', 'deleting', 'cleaning', 'available']).toContain(seenAfterRestart);
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /went to error while unprovisioning \(The deleting state can't be resumed by conductor .+\); requesting deleted again \(1 of 3\)$/,
      ),
    ]);
    expect(await getNode(base, node)).toMatchObject({ provision_state: 'available', instance_uuid: null });

    // Ironic's own record: `deleted` accepted once before the restart and once after it.
    const changes = mutating(await between(log, node, before, after)).map((r) => describeRequest(r, node));
    expect(changes).toEqual(['PUT /v1/nodes/N/states/provision 202', 'PUT /v1/nodes/N/states/provision 202']);

    // Our event log: two requestDeleted effects, with the observed `error` between them.
    const events = readStream(db, result.runId);
    const story = events
      .filter(
        (e) =>
          (e.kind === 'effect.started' && e.type === 'requestDeleted') ||
          (e.kind === 'machine.event' &&
            (e.data as { event?: { node?: { provision_state?: string } } }).event?.node?.provision_state ===
              'error'),
      )
      .map((e) => (e.kind === 'effect.started' ? 'requestDeleted' : 'observed error'));
    expect(story[0]).toBe('requestDeleted');
    expect(story.filter((s) => s === 'requestDeleted')).toHaveLength(2);
    expect(story.indexOf('observed error')).toBeGreaterThan(0);
    expect(story.indexOf('observed error')).toBeLessThan(story.lastIndexOf('requestDeleted'));
    expect(replay(db, result.runId, 'destroy')).toMatchObject({ matches: true, finished: true });
  }, 420_000);

  it('finding 5: waits are budgeted in time, not polls: a deploy longer than 60 polls succeeds by default, and one given 2 s fails saying what Ironic was doing', async () => {
    const { url: base } = ironic!;
    const [slow, limited] = [await availableNode(base), await availableNode(base)];
    const db = join(tmp.dir, 'budgets.db');
    // 100 ms ticks: the ~10 s fake deploy takes about 100 polls, past the old default of 60.
    const engine = await openRealEngine(base, db, { pollIntervalMs: 100 });
    try {
      const input = (node: string, timeoutS?: number): DeployInput => ({
        instance: randomUUID(),
        node,
        vifs: [],
        image: { source: 'http://127.0.0.1/image.qcow2' },
        flavor: { vcpus: 1, memoryMb: 1024, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
        configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
        ...(timeoutS === undefined ? {} : { timeoutS }),
      });
      const [unbounded, bounded] = await Promise.all([
        engine.deploy(input(slow)).done,
        engine.deploy(input(limited, 2)).done,
      ]);
      expect(unbounded, JSON.stringify(unbounded.error)).toMatchObject({ status: 'succeeded', node: slow });
      const polls = readStream(db, unbounded.runId).filter(
        (e) => e.kind === 'machine.event' && e.type === 'node.observed',
      );
      expect(polls.length).toBeGreaterThan(60);
      expect(bounded).toMatchObject({ status: 'failed', error: { code: 'DEPLOY_TIMEOUT' } });
      expect(String(bounded.error?.message)).toMatch(
        /Ironic still has it in "(deploying|wait call-back)" \(target "active"\)/,
      );
    } finally {
      await engine.close();
    }
  }, 300_000);
});
