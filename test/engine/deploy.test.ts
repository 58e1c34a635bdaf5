// Deploy through the engine against the simulator: what a refused deploy leaves untouched.
import { afterEach, describe, expect, it } from 'vitest';
import { buildTimeline } from '../../src/runlog/timeline.js';
import { EventStore } from '../../src/store/event-store.js';
import { deployInput, INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('engine: deploy', () => {
  it("leaves another instance's ports attached when its node refuses the association (seed: spawn)", async () => {
    world = await makeWorld();
    const w = world;
    const node = w.sim.addNode({
      provisionState: 'active',
      powerState: 'power on',
      instanceUuid: INSTANCE(1),
      ports: [{ address: '52:54:00:00:03:01', vifId: 'port-of-1' }],
    }).uuid;
    // A stale scheduler decision: instance 2 sent to instance 1's node, naming instance 1's port.
    const result = await w.engine.deploy(deployInput(2, node, 'port-of-1')).done;
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'IRONIC_CONFLICT' });
    expect(result.failedIn).toBe('addInstanceInfo');
    expect(w.sim.requests().filter((r) => r.path.includes('/vifs'))).toEqual([]);
    expect(w.sim.node(node)).toMatchObject({ provision_state: 'active', instance_uuid: INSTANCE(1) });
  });

  it('names the state a deploy failed in, not the cleanup step it ended with (seed: spawn validate)', async () => {
    world = await makeWorld();
    const w = world;
    const node = w.sim.addNode({
      validationFailures: { deploy: 'Missing image_source' },
      ports: [{ address: '52:54:00:00:03:02' }],
    }).uuid;
    const result = await w.engine.deploy(deployInput(3, node)).done;
    expect(result).toMatchObject({
      status: 'failed',
      failedIn: 'validate',
      error: { code: 'VALIDATION_FAILED' },
    });
    const store = EventStore.open(w.db, { mode: 'reader' });
    try {
      const timeline = buildTimeline(store.getRun(result.runId)!, store.readStream(result.runId));
      // The cleanup ran after the failure, and the timeline still points at validate.
      expect(timeline.states.map((s) => s.state)).toContain('cleanup.stopFiltering');
      expect(timeline.failure).toMatchObject({ state: 'validate', ironicState: null });
    } finally {
      store.close();
    }
  });

  it('aborts a deploy whose instance is destroyed before its wait began (seed: _wait_for_active)', async () => {
    // A deploy that would take 30 s to reach active: the teardown must not wait for that.
    world = await makeWorld({ deployMs: 30_000 });
    const w = world;
    const node = w.sim.addNode({
      provisionState: 'available',
      ports: [{ address: '52:54:00:00:03:04' }],
    }).uuid;
    const deploy = w.engine.deploy(deployInput(4, node));
    const destroy = w.engine.destroy({ instance: INSTANCE(4), vifs: ['vif-4'] }); // the same tick
    const deployed = await deploy.done;
    expect(deployed).toMatchObject({ status: 'failed', error: { code: 'DEPLOY_ABORTED' } });
    expect(String(deployed.error?.message)).toContain(`instance ${INSTANCE(4)} is being destroyed`);
    // It ended as Ironic began deploying, not when the node became active.
    expect(w.sim.node(node)?.provision_state).not.toBe('active');
    await destroy.done; // it then runs into the simulator's deploy lock, held for the 30 s
  }, 15_000);
});
