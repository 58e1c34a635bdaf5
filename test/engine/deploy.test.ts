// Deploy through the engine against the simulator: what a refused deploy leaves untouched.
import { afterEach, describe, expect, it } from 'vitest';
import { INSTANCE, makeWorld, type World } from './helpers.js';

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
    const result = await w.engine.deploy({
      instance: INSTANCE(2),
      node,
      vifs: [{ id: 'port-of-1' }],
      image: { source: 'http://img/x.qcow2' },
      flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
      configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
    }).done;
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'IRONIC_CONFLICT' });
    expect(w.sim.requests().filter((r) => r.path.includes('/vifs'))).toEqual([]);
    expect(w.sim.node(node)).toMatchObject({ provision_state: 'active', instance_uuid: INSTANCE(1) });
  });
});
