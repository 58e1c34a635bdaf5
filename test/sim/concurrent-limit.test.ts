// ConductorManager._concurrent_action_limit (Ironic 2023.1): a deploy/rebuild is refused while
// max_concurrent_deploy nodes are deploying or in wait call-back; a teardown or manual clean while
// max_concurrent_clean nodes are deleting, cleaning or in clean wait. The answer (recorded on
// Ironic 2023.1 with max_concurrent_clean = 1) is HTTP 500 with faultcode Server.
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring, INSTANCE } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

const limitText = (task: string): string =>
  `Unable to process request at this time. The concurrent action limit for ${task} has been reached. Please contact your administrator and try again later.`;

const provision = (id: string, body: Record<string, unknown>) =>
  call(sim, 'PUT', `/v1/nodes/${id}/states/provision`, body);

const instance = (i: number): string => `${INSTANCE.slice(0, -4)}${String(i).padStart(4, '0')}`;

describe('concurrent action limit', () => {
  it("refuses a teardown with Ironic's exact 500 body once max_concurrent_clean nodes are deleting or cleaning, and changes nothing", async () => {
    sim = await startSimulator({ deleteMs: 5000, cleanMs: 5000, maxConcurrentClean: 2 });
    const a = sim.addNode({ provisionState: 'active', instanceUuid: instance(1) });
    const b = sim.addNode({ provisionState: 'cleaning' });
    const c = sim.addNode({ provisionState: 'active', instanceUuid: instance(3) });
    expect((await provision(a.uuid, { target: 'deleted' })).status).toBe(202);

    const refused = await provision(c.uuid, { target: 'deleted' });
    expect(refused.status).toBe(500);
    // Byte for byte what Ironic 2023.1 answered (Python's json.dumps spacing).
    expect(refused.text).toBe(
      '{"error_message": "{\\"faultcode\\": \\"Server\\", \\"faultstring\\": \\"Unable to process request at this time. The concurrent action limit for unprovisioning has been reached. Please contact your administrator and try again later.\\", \\"debuginfo\\": null}"}',
    );
    expect(sim.node(c.uuid)).toMatchObject({
      provision_state: 'active',
      reservation: null,
      target_provision_state: null,
    });
    // undeploy is the same verb; a manual clean is counted against the same limit.
    expect(faultstring(await provision(c.uuid, { target: 'undeploy' }))).toBe(limitText('unprovisioning'));
    const m = sim.addNode({ provisionState: 'manageable' });
    const clean = await provision(m.uuid, {
      target: 'clean',
      clean_steps: [{ interface: 'deploy', step: 'erase_devices' }],
    });
    expect(clean.status).toBe(500);
    expect(faultstring(clean)).toBe(limitText('cleaning'));
    // Deploys are not counted against the clean limit, and provide (automated cleaning) is not limited.
    const avail = sim.addNode({});
    expect((await provision(avail.uuid, { target: 'active' })).status).toBe(202);
    expect((await provision(m.uuid, { target: 'provide' })).status).toBe(202);
    void b;
  });

  it('counts clean wait and lets the next teardown through once a node leaves the counted states', async () => {
    sim = await startSimulator({ deleteMs: 5000, cleanWaitMs: 5000, maxConcurrentClean: 1 });
    const waiting = sim.addNode({ provisionState: 'clean wait' });
    const c = sim.addNode({ provisionState: 'active', instanceUuid: instance(2) });
    expect(faultstring(await provision(c.uuid, { target: 'deleted' }))).toBe(limitText('unprovisioning'));
    expect((await provision(waiting.uuid, { target: 'abort' })).status).toBe(202);
    expect(sim.node(waiting.uuid)?.provision_state).toBe('clean failed');
    expect((await provision(c.uuid, { target: 'deleted' })).status).toBe(202);
    expect(sim.node(c.uuid)?.provision_state).toBe('deleting');
  });

  it('refuses deploy and rebuild while max_concurrent_deploy nodes are deploying or in wait call-back', async () => {
    sim = await startSimulator({ deployMs: 5000, deployWaitMs: 5000, maxConcurrentDeploy: 2 });
    sim.addNode({ provisionState: 'wait call-back', instanceUuid: instance(1) });
    const a = sim.addNode({});
    const b = sim.addNode({});
    const act = sim.addNode({ provisionState: 'active', instanceUuid: instance(4) });
    expect((await provision(a.uuid, { target: 'active' })).status).toBe(202);
    const refused = await provision(b.uuid, { target: 'active' });
    expect(refused.status).toBe(500);
    expect(faultstring(refused)).toBe(limitText('provisioning'));
    expect(sim.node(b.uuid)).toMatchObject({ provision_state: 'available', reservation: null });
    expect(faultstring(await provision(act.uuid, { target: 'rebuild' }))).toBe(limitText('provisioning'));
    // A teardown is not counted against the deploy limit.
    expect((await provision(act.uuid, { target: 'deleted' })).status).toBe(202);
  });

  it('stops counting a node deleted (in maintenance) while in clean wait', async () => {
    sim = await startSimulator({ cleanWaitMs: 5000, deleteMs: 5000, maxConcurrentClean: 1 });
    const stuck = sim.addNode({ provisionState: 'clean wait', maintenance: true });
    const c = sim.addNode({ provisionState: 'active', instanceUuid: instance(2) });
    expect(faultstring(await provision(c.uuid, { target: 'deleted' }))).toBe(limitText('unprovisioning'));
    expect((await call(sim, 'DELETE', `/v1/nodes/${stuck.uuid}`)).status).toBe(204);
    expect((await provision(c.uuid, { target: 'deleted' })).status).toBe(202);
  });

  it("checks the API's own validation first: a verb not allowed from the state is still 400", async () => {
    sim = await startSimulator({ maxConcurrentClean: 1 });
    sim.addNode({ provisionState: 'cleaning' });
    const n = sim.addNode({});
    const r = await provision(n.uuid, { target: 'deleted' });
    expect(r.status).toBe(400);
  });

  it("defaults to Ironic's 250 / 50 and rejects a limit below 1", async () => {
    sim = await startSimulator({ deleteMs: 5000, cleanMs: 5000 });
    for (let i = 0; i < 49; i++) sim.addNode({ provisionState: 'cleaning' });
    const a = sim.addNode({ provisionState: 'active', instanceUuid: instance(1) });
    const b = sim.addNode({ provisionState: 'active', instanceUuid: instance(2) });
    expect((await provision(a.uuid, { target: 'deleted' })).status).toBe(202);
    expect(faultstring(await provision(b.uuid, { target: 'deleted' }))).toBe(limitText('unprovisioning'));
    await sim.close();
    sim = await startSimulator({ deployMs: 5000 });
    for (let i = 0; i < 249; i++)
      sim.addNode({ provisionState: 'deploying', instanceUuid: instance(100 + i) });
    const d = sim.addNode({});
    const e = sim.addNode({});
    expect((await provision(d.uuid, { target: 'active' })).status).toBe(202);
    expect(faultstring(await provision(e.uuid, { target: 'active' }))).toBe(limitText('provisioning'));
    await expect(startSimulator({ maxConcurrentClean: 0 })).rejects.toThrow(
      /maxConcurrentClean must be an integer >= 1/,
    );
  });
});
