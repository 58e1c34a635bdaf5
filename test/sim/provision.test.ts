import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring, INSTANCE, waitFor, waitForState } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

// Long enough that a state read right after the PUT still sees the transitional state on a
// loaded machine (the conductor's timers run in this process), short enough to keep tests fast.
const fast = { deployMs: 250, deleteMs: 250, cleanMs: 250, powerMs: 250, consoleMs: 50 };

describe('provision state machine', () => {
  it('enrolls a node in enroll, then manage -> verifying -> manageable, provide -> cleaning -> available', async () => {
    sim = await startSimulator(fast);
    const created = await call(sim, 'POST', '/v1/nodes', { driver: 'fake-hardware', name: 'n1' });
    expect(created.status).toBe(201);
    const node = created.json as { uuid: string; provision_state: string; driver: string };
    expect(node.provision_state).toBe('enroll');
    expect(created.headers.get('location')).toBe(`${sim.url}/v1/nodes/${node.uuid}`);

    expect((await call(sim, 'PUT', '/v1/nodes/n1/states/provision', { target: 'manage' })).status).toBe(202);
    expect(sim.node('n1')).toMatchObject({
      provision_state: 'verifying',
      target_provision_state: 'manageable',
      reservation: 'localhost',
    });
    await waitForState(sim, 'n1', 'manageable');

    expect((await call(sim, 'PUT', '/v1/nodes/n1/states/provision', { target: 'provide' })).status).toBe(202);
    expect(sim.node('n1')).toMatchObject({
      provision_state: 'cleaning',
      target_provision_state: 'available',
      reservation: 'localhost',
    });
    await waitForState(sim, 'n1', 'available');
    expect(sim.node('n1')?.target_provision_state).toBeNull();
  });

  it('deploys with a JSON config drive, masked in instance_info, and holds the lock while deploying', async () => {
    sim = await startSimulator({ ...fast, nodes: 1 });
    const [id] = sim.nodeIds();
    await call(sim, 'PATCH', `/v1/nodes/${id}`, [
      { op: 'add', path: '/instance_uuid', value: INSTANCE },
      { op: 'add', path: '/instance_info', value: { image_source: 'http://x/img' } },
    ]);
    const put = await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, {
      target: 'active',
      configdrive: { meta_data: { uuid: INSTANCE } },
    });
    expect(put.status).toBe(202);
    expect(put.text).toBe('');
    expect(put.headers.get('location')).toBe(`${sim.url}/v1/nodes/${id}/states`);
    const during = (
      await call(
        sim,
        'GET',
        `/v1/nodes/${id}?fields=provision_state,target_provision_state,reservation,instance_info`,
      )
    ).json;
    expect(during).toMatchObject({
      provision_state: 'deploying',
      target_provision_state: 'active',
      reservation: 'localhost',
      instance_info: { image_source: 'http://x/img', image_type: 'whole-disk', configdrive: '******' },
    });
    await waitForState(sim, id!, 'active');
    expect(sim.node(id!)?.target_provision_state).toBeNull();
  });

  it('passes through wait call-back unlocked when deployWaitMs is set', async () => {
    sim = await startSimulator({ ...fast, deployMs: 20, deployWaitMs: 250, nodes: 1 });
    const [id] = sim.nodeIds();
    await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'active' });
    await waitFor(() => (sim.node(id!)?.provision_state === 'wait call-back' ? true : undefined));
    expect(sim.node(id!)).toMatchObject({ reservation: null, target_provision_state: 'active' });
    await waitForState(sim, id!, 'active');
  });

  it('clears instance_uuid, instance_info and VIFs at the end of deleting, before cleaning', async () => {
    sim = await startSimulator({ ...fast, nodes: 1 });
    const [id] = sim.nodeIds();
    sim.addNode({
      uuid: '22222222-2222-3333-4444-555555555555',
      provisionState: 'active',
      instanceUuid: INSTANCE,
      instanceInfo: { a: 1 },
      ports: [{ address: '52:54:00:aa:bb:cc', vifId: 'vif-1' }],
    });
    const nid = '22222222-2222-3333-4444-555555555555';
    expect(id).toBeDefined();
    await call(sim, 'PUT', `/v1/nodes/${nid}/states/provision`, { target: 'deleted' });
    expect(sim.node(nid)).toMatchObject({
      provision_state: 'deleting',
      target_provision_state: 'available',
      instance_uuid: INSTANCE,
      vifs: ['vif-1'],
    });
    await waitFor(() => (sim.node(nid)?.provision_state === 'cleaning' ? true : undefined));
    expect(sim.node(nid)).toMatchObject({
      instance_uuid: null,
      instance_info: {},
      vifs: [],
      reservation: 'localhost',
    });
    await waitForState(sim, nid, 'available');
    const byInstance = await call(sim, 'GET', `/v1/nodes?instance_uuid=${INSTANCE}`);
    expect((byInstance.json as { nodes: unknown[] }).nodes).toEqual([]);
  });

  it('goes from deleting straight to available with automated clean off', async () => {
    sim = await startSimulator({ ...fast, automatedClean: false });
    const n = sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE });
    await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'deleted' });
    const seen = new Set<string>();
    await waitFor(() => {
      const s = sim.node(n.uuid)!.provision_state;
      seen.add(s);
      return s === 'available' ? true : undefined;
    });
    expect(seen.has('cleaning')).toBe(false);
  });

  it('rebuilds an active node through deploying back to active', async () => {
    sim = await startSimulator(fast);
    const n = sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE });
    expect(
      (await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'rebuild' })).status,
    ).toBe(202);
    expect(sim.node(n.uuid)?.provision_state).toBe('deploying');
    await waitForState(sim, n.uuid, 'active');
    expect(sim.node(n.uuid)?.instance_uuid).toBe(INSTANCE);
  });

  it('ends an injected deploy failure in deploy failed with last_error, which deleted can tear down', async () => {
    sim = await startSimulator({ ...fast, nodes: 1 });
    const [id] = sim.nodeIds();
    sim.failNextDeploy(id!, 'Deploy step failed: boom');
    await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'active' });
    await waitForState(sim, id!, 'deploy failed');
    expect(sim.node(id!)).toMatchObject({
      last_error: 'Deploy step failed: boom',
      target_provision_state: 'active',
    });
    expect((await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'deleted' })).status).toBe(
      202,
    );
    await waitForState(sim, id!, 'available');
  });

  it('ends an injected clean failure in clean failed with maintenance, recoverable by manage', async () => {
    sim = await startSimulator(fast);
    const n = sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE });
    sim.failNextClean(n.uuid, 'Clean step erase_devices failed');
    await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'deleted' });
    await waitForState(sim, n.uuid, 'clean failed');
    expect(sim.node(n.uuid)).toMatchObject({
      last_error: 'Clean step erase_devices failed',
      maintenance: true,
      target_provision_state: 'available',
    });
    expect(
      (await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'manage' })).status,
    ).toBe(202);
    expect(sim.node(n.uuid)?.provision_state).toBe('manageable');
  });

  it('runs manual cleaning with clean_steps back to manageable, and requires clean_steps', async () => {
    sim = await startSimulator(fast);
    const n = sim.addNode({ provisionState: 'manageable' });
    const missing = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'clean' });
    expect(missing.status).toBe(400);
    expect(faultstring(missing)).toBe(
      '"clean_steps" is required when setting target provision state to clean',
    );
    const ok = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, {
      target: 'clean',
      clean_steps: [{ interface: 'deploy', step: 'erase_devices' }],
    });
    expect(ok.status).toBe(202);
    expect(sim.node(n.uuid)).toMatchObject({
      provision_state: 'cleaning',
      target_provision_state: 'manageable',
    });
    await waitForState(sim, n.uuid, 'manageable');
  });

  it("aborts clean wait into clean failed with Ironic's last_error", async () => {
    sim = await startSimulator({ ...fast, cleanMs: 20, cleanWaitMs: 5000 });
    const n = sim.addNode({ provisionState: 'manageable' });
    await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'provide' });
    await waitFor(() => (sim.node(n.uuid)?.provision_state === 'clean wait' ? true : undefined));
    expect((await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'abort' })).status).toBe(
      202,
    );
    expect(sim.node(n.uuid)).toMatchObject({
      provision_state: 'clean failed',
      last_error: 'By request, the clean operation was aborted',
      maintenance: false,
    });
  });

  it('finishes the work of a node seeded in a transitional state', async () => {
    sim = await startSimulator(fast);
    const n = sim.addNode({ provisionState: 'deploying', instanceUuid: INSTANCE });
    expect(n).toMatchObject({ reservation: 'localhost', target_provision_state: 'active' });
    await waitForState(sim, n.uuid, 'active');
    expect(sim.busyNodes()).toBe(0);
  });
});

describe('refusals', () => {
  it("refuses a verb the current state does not allow with Ironic's InvalidStateRequested", async () => {
    sim = await startSimulator({ nodes: 1 });
    const [id] = sim.nodeIds();
    const r = await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'deleted' });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe(
      `The requested action "deleted" can not be performed on node "${id}" while it is in state "available".`,
    );
    const body = JSON.parse((r.json as { error_message: string }).error_message) as Record<string, unknown>;
    expect(body).toEqual({ faultcode: 'Client', faultstring: faultstring(r), debuginfo: null });
  });

  it.each([
    ['enroll', 'provide'],
    ['available', 'abort'],
    ['available', 'clean'],
    ['active', 'active'],
    ['manageable', 'active'],
    ['available', 'bogus'],
  ])('refuses %s -> %s with 400', async (state, verb) => {
    sim = await startSimulator();
    const n = sim.addNode({ provisionState: state as 'available' });
    const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: verb });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toContain(`while it is in state "${state}"`);
  });

  it('answers 409 NodeLocked (not 400) for any verb while the conductor holds the node', async () => {
    sim = await startSimulator({ deployMs: 500, nodes: 1 });
    const [id] = sim.nodeIds();
    await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'active' });
    for (const target of ['active', 'deleted', 'manage']) {
      const r = await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target });
      expect(r.status).toBe(409);
      expect(faultstring(r)).toBe(
        `Node ${id} is locked by host localhost, please retry after the current operation is completed.`,
      );
    }
  });

  it('refuses provisioning a node in maintenance', async () => {
    sim = await startSimulator();
    const n = sim.addNode({ maintenance: true });
    const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'active' });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe(
      `The provisioning operation can't be performed on node ${n.uuid} because it's in maintenance mode.`,
    );
  });

  it('refuses a config drive with any verb but active and rebuild', async () => {
    sim = await startSimulator();
    const n = sim.addNode({ provisionState: 'active' });
    const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, {
      target: 'deleted',
      configdrive: 'H4sI',
    });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe(
      'Adding a config drive is only supported when setting provision state to active, rebuild',
    );
  });

  it('answers 406 for a verb newer than the requested microversion', async () => {
    sim = await startSimulator();
    const n = sim.addNode({ provisionState: 'manageable' });
    const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'provide' }, '1.3');
    expect(r.status).toBe(406);
  });

  it('requires target', async () => {
    sim = await startSimulator({ nodes: 1 });
    const r = await call(sim, 'PUT', `/v1/nodes/${sim.nodeIds()[0]}/states/provision`, {});
    expect(faultstring(r)).toBe('Missing mandatory parameter: target');
  });

  it('fails deploy validation with the seeded reason', async () => {
    sim = await startSimulator();
    const n = sim.addNode({ validationFailures: { deploy: 'Missing image_source' } });
    const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'active' });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe(
      `Failed to validate deploy or power info for node ${n.uuid}. Error: Missing image_source`,
    );
    const v = await call(sim, 'GET', `/v1/nodes/${n.uuid}/validate`);
    expect((v.json as Record<string, unknown>).deploy).toEqual({
      result: false,
      reason: 'Missing image_source',
    });
    expect((v.json as Record<string, unknown>).power).toEqual({ result: true });
  });
});

describe('verbs fake-hardware cannot serve', () => {
  it('asks for a rescue password, then fails rescue like no-rescue does', async () => {
    sim = await startSimulator();
    const n = sim.addNode({ provisionState: 'active' });
    const bare = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'rescue' });
    expect(faultstring(bare)).toBe(
      'A non-empty "rescue_password" is required when setting target provision state to rescue',
    );
    const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, {
      target: 'rescue',
      rescue_password: 'x',
    });
    expect(r.status).toBe(500);
    expect(faultstring(r)).toBe(
      `Failed to rescue instance None for node ${n.uuid}: Validation failed: Driver fake-hardware does not support rescue (disabled or not implemented).`,
    );
    expect(sim.node(n.uuid)?.provision_state).toBe('active');
  });
});
