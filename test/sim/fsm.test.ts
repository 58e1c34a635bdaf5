import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring, waitForState } from './helpers.js';

// Written by hand from ironic/common/states.py (2023.1), independently of src/sim/fsm.ts:
// the verbs each stable or failed state accepts, among those our engine uses.
const ALLOWED: Record<string, string[]> = {
  enroll: ['manage'],
  manageable: ['provide', 'clean', 'inspect'],
  available: ['active', 'manage'],
  active: ['deleted', 'rebuild'],
  'deploy failed': ['active', 'rebuild', 'deleted'],
  'clean failed': ['manage'],
  error: ['rebuild', 'deleted'],
  'inspect failed': ['manage', 'inspect'],
};
const VERBS = ['manage', 'provide', 'active', 'deleted', 'rebuild', 'clean', 'abort', 'inspect'];

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ deployMs: 5000, deleteMs: 5000, cleanMs: 5000, powerMs: 5000 });
});
afterAll(async () => {
  await sim.close();
});

describe('provision verbs accepted per state (states.py)', () => {
  for (const [state, allowed] of Object.entries(ALLOWED)) {
    for (const verb of VERBS) {
      const ok = allowed.includes(verb);
      it(`${ok ? 'accepts' : 'refuses'} ${verb} in ${state}`, async () => {
        const n = sim.addNode({ provisionState: state as 'available', maintenance: false });
        const body =
          verb === 'clean'
            ? { target: verb, clean_steps: [{ interface: 'deploy', step: 'x' }] }
            : { target: verb };
        const r = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, body);
        if (ok) {
          expect(r.status).toBe(202);
          expect(sim.node(n.uuid)?.provision_state).not.toBe(state);
        } else {
          expect(r.status).toBe(400);
          expect(faultstring(r)).toBe(
            `The requested action "${verb}" can not be performed on node "${n.uuid}" while it is in state "${state}".`,
          );
        }
      });
    }
  }
});

describe('other verbs', () => {
  it('inspects a manageable node back to manageable, and adopts one into active', async () => {
    const quick = await startSimulator({ powerMs: 100 });
    try {
      const a = quick.addNode({ provisionState: 'manageable' });
      await call(quick, 'PUT', `/v1/nodes/${a.uuid}/states/provision`, { target: 'inspect' });
      expect(quick.node(a.uuid)).toMatchObject({
        provision_state: 'inspecting',
        target_provision_state: 'manageable',
      });
      await waitForState(quick, a.uuid, 'manageable');
      const b = quick.addNode({ provisionState: 'manageable' });
      expect(
        (await call(quick, 'PUT', `/v1/nodes/${b.uuid}/states/provision`, { target: 'adopt' })).status,
      ).toBe(202);
      await waitForState(quick, b.uuid, 'active');
    } finally {
      await quick.close();
    }
  });

  it('accepts deploy and undeploy as verbs only from API 1.73', async () => {
    const n = sim.addNode();
    expect(
      (await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'deploy' }, '1.72')).status,
    ).toBe(406);
    expect(
      (await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'deploy' }, '1.73')).status,
    ).toBe(202);
    expect(sim.node(n.uuid)?.provision_state).toBe('deploying');
  });
});
