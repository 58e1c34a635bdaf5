// Our engine (library, in-process, SQLite on disk) driving the real Ironic through every
// lifecycle. Each scenario asserts on Ironic's own view: the node through the API, and the
// order of requests in Ironic's log.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { DeployInput } from '../../src/machines/index.js';
import {
  availableNode,
  between,
  describeRequest,
  logMark,
  markerHooks,
  mutating,
  openRealEngine,
  readStream,
  replay,
  SETUP_MARKER,
  tempDir,
  TEARDOWN_MARKER,
} from './engine-helpers.js';
import {
  call,
  deployFakeNode,
  getNode,
  pollNode,
  REAL_POLL,
  settledIn,
  type LoggedRequest,
} from './helpers.js';

const url = inject('ironicUrl');
const log = inject('ironicLog');
const tmp = tempDir('ironledger-real-lifecycle-');
afterAll(() => tmp.cleanup());

const FLAVOR = { vcpus: 1, memoryMb: 1024, rootGb: 10, ephemeralGb: 0, swapMb: 0 };

function deployInput(node: string, instance: string, vifs: string[]): DeployInput {
  return {
    instance,
    node,
    vifs: vifs.map((id) => ({ id })),
    image: { source: 'http://127.0.0.1/image.qcow2' },
    flavor: FLAVOR,
    hostname: 'real-lifecycle',
    configDrivePlan: { required: true, hasAdminPassword: true, hasUserData: true, injectedFiles: 0 },
  };
}

/** Index of the first request matching, at or after `from`; -1 when none. */
function indexOf(requests: readonly LoggedRequest[], match: (r: LoggedRequest) => boolean, from = 0): number {
  for (let i = from; i < requests.length; i++) if (match(requests[i]!)) return i;
  return -1;
}

describe.skipIf(url === null || log === null).concurrent('our engine against the real Ironic', () => {
  const base = url!;
  const logPath = log!;

  it('deploys with two VIFs and a config drive, then destroys with every VIF detached and filtering stopped before deleted (seed: spawn, destroy)', async () => {
    const node = await availableNode(base);
    const instance = randomUUID();
    const vifs = [randomUUID(), randomUUID()];
    const db = join(tmp.dir, 'lifecycle.db');
    const { hooks, calls } = markerHooks(base);
    const adminPassword = `pw-${randomUUID()}`;
    const userData = `#cloud-config\n# ud-${randomUUID()}\n`;
    const engine = await openRealEngine(base, db, { hooks });
    let deployId: string;
    let destroyId: string;
    try {
      const m0 = await logMark(base, logPath, node);
      const deploy = engine.deploy(deployInput(node, instance, vifs), { adminPassword, userData });
      deployId = deploy.id;
      const deployed = await deploy.done;
      expect(deployed.error).toBeNull();
      expect(deployed.status).toBe('succeeded');

      const active = await getNode(base, node);
      expect(active).toMatchObject({ provision_state: 'active', instance_uuid: instance, last_error: null });
      // Ironic keeps the config drive it was sent in instance_info (no object store configured).
      expect(active.instance_info).toHaveProperty('configdrive');
      expect(active.instance_info).toMatchObject({
        image_source: 'http://127.0.0.1/image.qcow2',
        root_gb: '10',
      });
      const m1 = await logMark(base, logPath, node);
      const atDeploy = await between(logPath, node, m0, m1);
      const patch = indexOf(atDeploy, (r) => r.method === 'PATCH');
      const validate = indexOf(atDeploy, (r) => r.path.endsWith('/validate'), patch);
      const attach1 = indexOf(atDeploy, (r) => r.method === 'POST' && r.path.endsWith('/vifs'), validate);
      const attach2 = indexOf(atDeploy, (r) => r.method === 'POST' && r.path.endsWith('/vifs'), attach1 + 1);
      const setupMark = indexOf(atDeploy, (r) => r.path === SETUP_MARKER(node), attach2);
      const active202 = indexOf(atDeploy, (r) => r.path.endsWith('/states/provision'), setupMark);
      expect([patch, validate, attach1, attach2, setupMark, active202].every((i) => i >= 0)).toBe(true);
      expect(
        [patch, validate, attach1, attach2, setupMark, active202].map((i) =>
          describeRequest(atDeploy[i]!, node),
        ),
      ).toEqual([
        'PATCH /v1/nodes/N 200',
        'GET /v1/nodes/N/validate 200',
        'POST /v1/nodes/N/vifs 204',
        'POST /v1/nodes/N/vifs 204',
        'GET /v1/nodes/N/states 200',
        'PUT /v1/nodes/N/states/provision 202',
      ]);

      const destroy = engine.destroy({ instance, vifs, waitForAvailable: true });
      destroyId = destroy.id;
      const destroyed = await destroy.done;
      expect(destroyed.error).toBeNull();
      expect(destroyed).toMatchObject({ status: 'succeeded', node, warnings: [] });

      const available = await getNode(base, node);
      expect(available).toMatchObject({
        provision_state: 'available',
        instance_uuid: null,
        instance_info: {},
        last_error: null,
      });
      const during = await between(logPath, node, m1, await logMark(base, logPath, node));
      const order = during
        .filter((r) => r.method !== 'GET' || r.path === TEARDOWN_MARKER(node))
        .map((r) => describeRequest(r, node));
      expect(order).toEqual([
        `DELETE /v1/nodes/N/vifs/${vifs[0]} 204`,
        `DELETE /v1/nodes/N/vifs/${vifs[1]} 204`,
        'GET /v1/nodes/N/traits 200',
        'PUT /v1/nodes/N/states/provision 202',
      ]);
      // Nothing of ours met the lock Ironic holds while deleting and cleaning.
      expect(during.filter((r) => r.status >= 400)).toEqual([]);
      expect(calls.map((c) => c.hook)).toEqual(['setupFiltering', 'teardownFiltering']);
      expect(calls[1]).toEqual({ hook: 'teardownFiltering', instance, node, vifs });
    } finally {
      await engine.close();
    }

    expect(replay(db, deployId, 'deploy')).toMatchObject({ matches: true, finished: true });
    expect(replay(db, destroyId, 'destroy')).toMatchObject({ matches: true, finished: true });
    const deployEvents = readStream(db, deployId);
    expect(deployEvents.at(-1)).toMatchObject({ kind: 'run.finished', data: { status: 'succeeded' } });
    // The secrets went to Ironic inside the config drive, and nowhere into our store.
    const stored = ['', '-wal']
      .map((suffix) => {
        try {
          return readFileSync(`${db}${suffix}`).toString('latin1');
        } catch {
          return '';
        }
      })
      .join('');
    expect(stored).toContain(instance);
    expect(stored).not.toContain(adminPassword);
    expect(stored).not.toContain(userData.trim().split('\n')[1]!);
  });

  it('destroys an instance whose node never started provisioning with one PATCH and no provision request (seed: _remove_instance_info_from_node)', async () => {
    const node = await availableNode(base);
    const instance = randomUUID();
    const claim = await call(base, 'PATCH', `/v1/nodes/${node}`, [
      { op: 'add', path: '/instance_uuid', value: instance },
      { op: 'add', path: '/instance_info', value: { image_source: 'http://127.0.0.1/image.qcow2' } },
    ]);
    expect(claim.status).toBe(200);
    const m0 = await logMark(base, logPath, node);
    const db = join(tmp.dir, 'never-provisioned.db');
    const engine = await openRealEngine(base, db);
    let result;
    try {
      result = await engine.destroy({ instance, vifs: [] }).done;
    } finally {
      await engine.close();
    }

    expect(result.error).toBeNull();
    expect(result).toMatchObject({ status: 'succeeded', node, warnings: [] });
    const after = await getNode(base, node);
    expect(after).toMatchObject({ provision_state: 'available', instance_uuid: null, instance_info: {} });
    const changes = mutating(await between(logPath, node, m0, await logMark(base, logPath, node)));
    expect(changes.map((r) => describeRequest(r, node))).toEqual(['PATCH /v1/nodes/N 200']);
    expect(replay(db, result.runId, 'destroy').matches).toBe(true);
  });

  it('destroys an instance Ironic does not know as a success with a warning, and changes nothing (seed: destroy)', async () => {
    const instance = randomUUID();
    const sentinel = `/v1/nodes?instance_uuid=${instance}`;
    const m0 = await logMark(base, logPath, instance, sentinel);
    const db = join(tmp.dir, 'unknown.db');
    const engine = await openRealEngine(base, db);
    let result;
    try {
      result = await engine.destroy({ instance, vifs: [randomUUID()] }).done;
    } finally {
      await engine.close();
    }

    expect(result).toMatchObject({
      status: 'succeeded',
      node: null,
      warnings: [`instance ${instance} unknown to Ironic`],
    });
    // Every request the run sent is in its stream; Ironic logged the one look-up by instance.
    const sent = readStream(db, result.runId).filter((e) => e.kind === 'http');
    expect(sent.map((e) => `${String(e.data.method)} ${String(e.data.status)}`)).toEqual(['GET 200']);
    const m1 = await logMark(base, logPath, instance, sentinel);
    const lookups = await between(logPath, instance, m0, m1, sentinel);
    expect(lookups.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200']);
    expect(lookups[0]!.path).toMatch(new RegExp(`^/v1/nodes\\?instance_uuid=${instance}&fields=`));
  });

  it('fails a deploy whose node does not validate with the reasons, after detaching the VIFs and stopping filtering (seed: spawn)', async () => {
    // fake-hardware's own interfaces always validate; what Ironic checks for the deploy
    // interface beyond them is that instance traits are node traits. A stale trait left in
    // instance_info (kept by our per-key deploy PATCH) fails that check.
    const node = await availableNode(base);
    const stale = await call(base, 'PATCH', `/v1/nodes/${node}`, [
      { op: 'add', path: '/instance_info', value: { traits: ['CUSTOM_GPU'] } },
    ]);
    expect(stale.status).toBe(200);
    const instance = randomUUID();
    const vifs = [randomUUID(), randomUUID()];
    const db = join(tmp.dir, 'invalid.db');
    const { hooks, calls } = markerHooks(base);
    const m0 = await logMark(base, logPath, node);
    const engine = await openRealEngine(base, db, { hooks });
    let result;
    let cleanup;
    try {
      result = await engine.deploy(deployInput(node, instance, vifs), { adminPassword: 'x', userData: 'y' })
        .done;
      // Nova destroys what a failed spawn left: the instance fields, without unprovisioning.
      cleanup = await engine.destroy({ instance, vifs }).done;
    } finally {
      await engine.close();
    }

    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'VALIDATION_FAILED', node });
    expect(String(result.error?.message)).toContain(
      `deploy: failed (Cannot specify instance traits that are not also set on the node. Node ${node} is missing traits CUSTOM_GPU)`,
    );
    expect(String(result.error?.message)).toContain('power: ok');
    expect(calls.map((c) => c.hook)).toEqual(['teardownFiltering', 'teardownFiltering']);

    const requests = await between(logPath, node, m0, await logMark(base, logPath, node));
    const validate = indexOf(requests, (r) => r.path.endsWith('/validate'));
    expect(validate).toBeGreaterThan(-1);
    const afterValidate = requests
      .slice(validate + 1)
      .filter((r) => r.method !== 'GET' || r.path === TEARDOWN_MARKER(node))
      .map((r) => describeRequest(r, node));
    // The deploy's cleanup, then the destroy: VIFs (never attached: noop network says so with
    // nothing to detach), the filtering marker, and the instance fields removed with one PATCH.
    const detach = afterValidate.filter((r) => r.startsWith('DELETE'));
    expect(detach).toHaveLength(4);
    expect(afterValidate.slice(0, 3).map((r) => r.replace(/ \d{3}$/, ''))).toEqual([
      `DELETE /v1/nodes/N/vifs/${vifs[0]}`,
      `DELETE /v1/nodes/N/vifs/${vifs[1]}`,
      'GET /v1/nodes/N/traits',
    ]);
    expect(afterValidate.at(-1)).toBe('PATCH /v1/nodes/N 200');
    expect(requests.filter((r) => r.method === 'POST' || r.path.endsWith('/states/provision'))).toEqual([]);
    expect(cleanup.status).toBe('succeeded');
    expect(await getNode(base, node)).toMatchObject({
      provision_state: 'available',
      instance_uuid: null,
      instance_info: {},
    });
    expect(replay(db, result.runId, 'deploy').matches).toBe(true);
  });

  it('reboots soft, powers off with a soft timeout, powers on, rebuilds, and refuses a disabled console (seed: reboot, power_off, power_on, rebuild, get_serial_console)', async () => {
    const node = await availableNode(base);
    const instance = randomUUID();
    await deployFakeNode(base, node, { instanceUuid: instance, vifs: [] });
    const db = join(tmp.dir, 'power.db');
    const engine = await openRealEngine(base, db);
    const count = (): Promise<number> => logMark(base, logPath, node);
    const since = async (n: number): Promise<string[]> =>
      mutating(await between(logPath, node, n, await count())).map((r) => describeRequest(r, node));
    try {
      // fake-hardware lists soft reboot and soft power off as supported: Ironic accepts both,
      // so no fallback to hard happens here (the fallback needs a driver that refuses soft).
      let mark = await count();
      const reboot = await engine.reboot({ instance, soft: true }).done;
      expect(reboot.error).toBeNull();
      expect(reboot).toMatchObject({ status: 'succeeded', node, warnings: [] });
      expect(await since(mark)).toEqual(['PUT /v1/nodes/N/states/power 202']);
      const rebootEffects = readStream(db, reboot.runId).filter(
        (e) => e.kind === 'effect.started' && e.type === 'setPowerState',
      );
      // With the node's updated_at from the lookup: what a resumed reboot is judged by (Ironic's own
      // timestamp, read from the whole node because `fields=updated_at` is refused).
      expect(rebootEffects.map((e) => e.data.input)).toEqual([
        { node, target: 'reboot', soft: true, since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string },
      ]);
      expect(await getNode(base, node)).toMatchObject({ power_state: 'power on', target_power_state: null });

      mark = await count();
      const off = await engine.powerOff({ instance, softTimeoutSeconds: 5 }).done;
      expect(off.error).toBeNull();
      expect(off).toMatchObject({ status: 'succeeded', warnings: [] });
      expect(await since(mark)).toEqual(['PUT /v1/nodes/N/states/power 202']);
      expect(
        readStream(db, off.runId)
          .filter((e) => e.kind === 'effect.started' && e.type === 'setPowerState')
          .map((e) => e.data.input),
      ).toEqual([{ node, target: 'off', soft: true, timeoutSeconds: 5 }]);
      expect(await getNode(base, node)).toMatchObject({ power_state: 'power off', target_power_state: null });

      mark = await count();
      const on = await engine.powerOn({ instance }).done;
      expect(on).toMatchObject({ status: 'succeeded', error: null });
      expect(await since(mark)).toEqual(['PUT /v1/nodes/N/states/power 202']);
      expect(await getNode(base, node)).toMatchObject({ power_state: 'power on', target_power_state: null });

      mark = await count();
      const rebuild = await engine.rebuild({
        instance,
        image: { source: 'http://127.0.0.1/rebuilt.qcow2' },
        flavor: FLAVOR,
        preserveEphemeral: true,
      }).done;
      expect(rebuild.error).toBeNull();
      expect(rebuild.status).toBe('succeeded');
      expect(await since(mark)).toEqual(['PATCH /v1/nodes/N 200', 'PUT /v1/nodes/N/states/provision 202']);
      expect(await getNode(base, node)).toMatchObject({
        provision_state: 'active',
        instance_uuid: instance,
        instance_info: { image_source: 'http://127.0.0.1/rebuilt.qcow2', preserve_ephemeral: 'True' },
      });

      // A disabled console is refused at once, without touching the console mode.
      mark = await count();
      const disabled = await engine.console({ instance, timeoutMs: 10_000 }).done;
      expect(disabled.status).toBe('failed');
      expect(disabled.error).toMatchObject({
        code: 'CONSOLE_UNAVAILABLE',
        message: `serial console unavailable for instance ${instance}: console is disabled`,
      });
      expect(await since(mark)).toEqual([]);

      for (const r of [reboot, off, on, rebuild, disabled]) {
        expect(replay(db, r.runId, r.op as 'reboot').matches, `replay of ${r.op}`).toBe(true);
      }
    } finally {
      await engine.close();
    }
    await pollNode(base, node, settledIn('active'), REAL_POLL);
  });

  it('resets an enabled fake console and reports it unusable for a serial console: its console_info has no socat type (seed: get_serial_console)', async () => {
    const node = await availableNode(base);
    const instance = randomUUID();
    await deployFakeNode(base, node, { instanceUuid: instance, vifs: [] });
    expect((await call(base, 'PUT', `/v1/nodes/${node}/states/console`, { enabled: true })).status).toBe(202);
    await pollConsole(base, node, true);
    // fake-hardware's console interface answers console_info {} once enabled: a console that
    // exists but names no type, so no socat endpoint to hand out.
    expect((await call(base, 'GET', `/v1/nodes/${node}/states/console`)).json).toEqual({
      console_enabled: true,
      console_info: {},
    });
    const db = join(tmp.dir, 'console.db');
    const engine = await openRealEngine(base, db);
    const mark = await logMark(base, logPath, node);
    let unusable;
    try {
      unusable = await engine.console({ instance, timeoutMs: 20_000 }).done;
    } finally {
      await engine.close();
    }
    const changes = mutating(await between(logPath, node, mark, await logMark(base, logPath, node)));

    expect(unusable.status).toBe('failed');
    expect(unusable.error).toMatchObject({
      code: 'CONSOLE_UNAVAILABLE',
      message: `serial console unavailable for instance ${instance}: console type "null" is not socat`,
    });
    // The reset ran first (seed: _get_node_console_with_reset): disabled, then enabled again.
    expect(changes.map((r) => describeRequest(r, node))).toEqual([
      'PUT /v1/nodes/N/states/console 202',
      'PUT /v1/nodes/N/states/console 202',
    ]);
    expect((await call(base, 'GET', `/v1/nodes/${node}/states/console`)).json).toEqual({
      console_enabled: true,
      console_info: {},
    });
    expect(replay(db, unusable.runId, 'console').matches).toBe(true);
  });
});

async function pollConsole(baseUrl: string, node: string, enabled: boolean): Promise<void> {
  const deadline = Date.now() + REAL_POLL.timeoutMs;
  for (;;) {
    const res = await call(baseUrl, 'GET', `/v1/nodes/${node}/states/console`);
    if ((res.json as { console_enabled?: boolean } | undefined)?.console_enabled === enabled) return;
    if (Date.now() > deadline) throw new Error(`console of ${node} never became enabled=${enabled}`);
    await new Promise((r) => setTimeout(r, REAL_POLL.intervalMs));
  }
}
