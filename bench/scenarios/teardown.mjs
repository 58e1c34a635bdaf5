// Replay scenario for bench/store.mjs: the real teardown machine (src/machines/teardown.ts)
// with a node that is observed 200 times while deleting and cleaning before it is available.
//   npm run build && node bench/store.mjs --only replay --scenario bench/scenarios/teardown.mjs
import { lifecycles } from '../../dist/machines/index.js';

const NODE = '5f0c6b0e-1111-4222-8333-444455556666';
const INSTANCE = '0a1b2c3d-1111-4222-8333-444455556666';
const POLLS = 200;

const node = (provision_state, target_provision_state) => ({
  uuid: NODE,
  provision_state,
  target_provision_state,
  power_state: 'power on',
  target_power_state: null,
  last_error: null,
  maintenance: false,
  instance_uuid: provision_state === 'available' ? null : INSTANCE,
});

export const name = `teardown machine, ${POLLS} polls`;
export const machine = lifecycles.destroy.machine;
export const input = {
  instance: INSTANCE,
  vifs: ['vif-a', 'vif-b'],
  waitForAvailable: true,
};

export function respond(src, _input, nth) {
  switch (src) {
    case 'lookupNode':
      return { output: node('active', null) };
    case 'unplugVifs':
      return { output: { detached: ['vif-a', 'vif-b'], notAttached: [] } };
    case 'stopFiltering':
      return { output: { done: true } };
    case 'requestDeleted':
      return { output: { alreadyUnprovisioning: false, state: 'active' } };
    case 'observeNode':
      if (nth < 5) return { output: node('deleting', 'available') };
      if (nth < POLLS) return { output: node('cleaning', 'available') };
      return { output: node('available', null) };
    default:
      return { error: { name: 'Error', code: 'EFFECT_FAILED', message: `unexpected effect ${src}` } };
  }
}
