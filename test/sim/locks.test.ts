import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring, INSTANCE, waitForState } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

const locked = (id: string): string =>
  `Node ${id} is locked by host localhost, please retry after the current operation is completed.`;

describe('reservations while the conductor works', () => {
  it.each(['deploying', 'deleting', 'cleaning'] as const)(
    'answers 409 to VIF attach/detach and PATCH while %s',
    async (phase) => {
      sim = await startSimulator({ deployMs: 2000, deleteMs: 2000, cleanMs: 2000 });
      const n = sim.addNode({
        provisionState: phase === 'deploying' ? 'available' : 'active',
        instanceUuid: phase === 'deploying' ? null : INSTANCE,
        ports: [{ address: '52:54:00:00:00:01', vifId: 'vif-1' }],
      });
      if (phase === 'cleaning') {
        sim.addNode({ uuid: '33333333-2222-3333-4444-555555555555', provisionState: 'cleaning' });
      }
      const id = phase === 'cleaning' ? '33333333-2222-3333-4444-555555555555' : n.uuid;
      if (phase === 'deploying')
        await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'active' });
      if (phase === 'deleting')
        await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'deleted' });
      expect(sim.node(id)).toMatchObject({ provision_state: phase, reservation: 'localhost' });

      const detach = await call(sim, 'DELETE', `/v1/nodes/${id}/vifs/vif-1`);
      expect(detach.status).toBe(409);
      expect(faultstring(detach)).toBe(locked(id));
      const attach = await call(sim, 'POST', `/v1/nodes/${id}/vifs`, { id: 'vif-2' });
      expect(attach.status).toBe(409);
      expect(faultstring(attach)).toBe(locked(id));
      const patch = await call(sim, 'PATCH', `/v1/nodes/${id}`, [{ op: 'remove', path: '/instance_info' }]);
      expect(patch.status).toBe(409);
      expect(faultstring(patch)).toBe(
        `Node ${id} can not be updated while a state transition is in progress.`,
      );
      const power = await call(sim, 'PUT', `/v1/nodes/${id}/states/power`, { target: 'power off' });
      expect(power.status).toBe(phase === 'cleaning' ? 400 : 409);
    },
  );

  it('names the node as the client did in the transition-in-progress message', async () => {
    sim = await startSimulator({ deployMs: 2000 });
    sim.addNode({ name: 'rack1-n7' });
    await call(sim, 'PUT', '/v1/nodes/rack1-n7/states/provision', { target: 'active' });
    const r = await call(sim, 'PATCH', '/v1/nodes/rack1-n7', [{ op: 'add', path: '/extra/a', value: 1 }]);
    expect(faultstring(r)).toBe('Node rack1-n7 can not be updated while a state transition is in progress.');
  });

  it('waits within lockWaitMs for a power change to release the node, as the conductor retries, then patches', async () => {
    sim = await startSimulator({ powerMs: 300, lockWaitMs: 2000, nodes: 1 });
    const [id] = sim.nodeIds();
    await call(sim, 'PUT', `/v1/nodes/${id}/states/power`, { target: 'power on' });
    const started = Date.now();
    const r = await call(sim, 'PATCH', `/v1/nodes/${id}`, [{ op: 'add', path: '/extra/a', value: 1 }]);
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(sim.node(id!)).toMatchObject({ power_state: 'power on', extra: { a: 1 } });
  });

  it('answers NodeLocked at once when lockWaitMs is 0', async () => {
    sim = await startSimulator({ powerMs: 2000, nodes: 1 });
    const [id] = sim.nodeIds();
    await call(sim, 'PUT', `/v1/nodes/${id}/states/power`, { target: 'power on' });
    const r = await call(sim, 'PATCH', `/v1/nodes/${id}`, [{ op: 'add', path: '/extra/a', value: 1 }]);
    expect(r.status).toBe(409);
    expect(faultstring(r)).toBe(locked(id!));
  });

  it('frees the node once the transition ends', async () => {
    sim = await startSimulator({ deployMs: 30, nodes: 1 });
    const [id] = sim.nodeIds();
    await call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'active' });
    await waitForState(sim, id!, 'active');
    expect((await call(sim, 'POST', `/v1/nodes/${id}/vifs`, { id: 'vif-9' })).status).toBe(204);
  });
});

describe('PATCH', () => {
  it('refuses a second instance_uuid with NodeAssociated and accepts the same one again', async () => {
    sim = await startSimulator({ nodes: 1 });
    const [id] = sim.nodeIds();
    const set = [{ op: 'add', path: '/instance_uuid', value: INSTANCE }];
    expect((await call(sim, 'PATCH', `/v1/nodes/${id}`, set)).status).toBe(200);
    expect((await call(sim, 'PATCH', `/v1/nodes/${id}`, set)).status).toBe(200);
    const other = await call(sim, 'PATCH', `/v1/nodes/${id}`, [
      { op: 'add', path: '/instance_uuid', value: '11111111-2222-3333-4444-666666666666' },
    ]);
    expect(other.status).toBe(409);
    expect(faultstring(other)).toBe(`Node ${id} is associated with instance ${INSTANCE}.`);
  });

  it('refuses an instance already on another node', async () => {
    sim = await startSimulator();
    sim.addNode({ instanceUuid: INSTANCE, provisionState: 'active' });
    const b = sim.addNode();
    const r = await call(sim, 'PATCH', `/v1/nodes/${b.uuid}`, [
      { op: 'add', path: '/instance_uuid', value: INSTANCE },
    ]);
    expect(r.status).toBe(409);
    expect(faultstring(r)).toBe(
      `Instance ${INSTANCE} is already associated with a node, it cannot be associated with this other node ${b.uuid}`,
    );
  });

  it('resets removed root attributes and reports patch errors like Ironic', async () => {
    sim = await startSimulator();
    const n = sim.addNode({ instanceUuid: INSTANCE, instanceInfo: { a: 1 } });
    const ok = await call(sim, 'PATCH', `/v1/nodes/${n.uuid}`, [
      { op: 'remove', path: '/instance_info' },
      { op: 'remove', path: '/instance_uuid' },
    ]);
    expect(ok.json).toMatchObject({ instance_info: {}, instance_uuid: null });
    const missing = await call(sim, 'PATCH', `/v1/nodes/${n.uuid}`, [{ op: 'remove', path: '/extra/nope' }]);
    expect(faultstring(missing)).toBe(
      "Couldn't apply patch '{'op': 'remove', 'path': '/extra/nope'}'. Reason: can't remove a non-existent object 'nope'",
    );
    const internal = await call(sim, 'PATCH', `/v1/nodes/${n.uuid}`, [
      { op: 'replace', path: '/provision_state', value: 'x' },
    ]);
    expect(faultstring(internal)).toMatch(
      /^Cannot patch \/provision_state\. Only the following can be updated: automated_clean, /,
    );
    const notList = await call(sim, 'PATCH', `/v1/nodes/${n.uuid}`, { op: 'add' });
    expect(faultstring(notList)).toBe("Schema error for patch: {'op': 'add'} is not of type 'array'");
    const badUuid = await call(sim, 'PATCH', `/v1/nodes/${n.uuid}`, [
      { op: 'add', path: '/instance_uuid', value: 'x' },
    ]);
    expect(faultstring(badUuid)).toBe('Expected UUID for instance_uuid: x');
    const nested = await call(sim, 'PATCH', `/v1/nodes/${n.uuid}`, [
      { op: 'add', path: '/instance_info/x/y', value: 1 },
    ]);
    expect(faultstring(nested)).toBe(
      "Couldn't apply patch '{'op': 'add', 'path': '/instance_info/x/y', 'value': 1}'. Reason: member 'x' not found in {}",
    );
  });

  it('lets only a maintenance node drop its instance_uuid while a transition is pending', async () => {
    sim = await startSimulator({ deployWaitMs: 5000 });
    const plain = sim.addNode({ provisionState: 'wait call-back', instanceUuid: INSTANCE });
    const held = sim.addNode({
      provisionState: 'wait call-back',
      instanceUuid: '11111111-2222-3333-4444-777777777777',
      maintenance: true,
    });
    const drop = [{ op: 'remove', path: '/instance_uuid' }];
    expect((await call(sim, 'PATCH', `/v1/nodes/${plain.uuid}`, drop)).status).toBe(409);
    const r = await call(sim, 'PATCH', `/v1/nodes/${held.uuid}`, drop);
    expect(r.status).toBe(200);
    expect(sim.node(held.uuid)?.instance_uuid).toBeNull();
  });
});

describe('DELETE /v1/nodes/{node}', () => {
  it('deletes available and enroll nodes and refuses active ones', async () => {
    sim = await startSimulator();
    const a = sim.addNode();
    const b = sim.addNode({ provisionState: 'active' });
    expect((await call(sim, 'DELETE', `/v1/nodes/${a.uuid}`)).status).toBe(204);
    expect(sim.node(a.uuid)).toBeUndefined();
    const r = await call(sim, 'DELETE', `/v1/nodes/${b.uuid}`);
    expect(r.status).toBe(409);
    expect(faultstring(r)).toBe(
      `Can not delete node "${b.uuid}" while it is in provision state "active". Valid provision states to perform deletion are: "('manageable', 'enroll', 'adopt failed', 'available')", or set the node into maintenance mode`,
    );
  });
});
