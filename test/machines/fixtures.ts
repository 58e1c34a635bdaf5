// Answers an effect can give, as the engine feeds them back: outputs are plain JSON, errors are
// EffectErrorJson with Ironic's codes. Shared by the behaviour tests, the walker and properties.
import type { EffectAnswer } from './drive.js';
import type { EffectErrorJson } from '../../src/machines/effect-error.js';
import type { NodeView } from '../../src/machines/node-view.js';
import type { Json } from '../../src/ironic/types.js';
import type { PowerStateValue, ProvisionStateValue } from '../../src/ironic/states.js';

export const INSTANCE = '6e0f4c58-2f1a-4d8e-9a55-5f3c2d4b7a10';
export const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
export const OTHER_INSTANCE = '0c7a5a2e-98d4-4c43-8b7e-3e0cf5e9d0a1';

export function nodeView(over: Partial<NodeView> = {}): NodeView {
  return {
    uuid: NODE,
    provision_state: 'active',
    target_provision_state: null,
    power_state: 'power on',
    target_power_state: null,
    last_error: null,
    instance_uuid: INSTANCE,
    maintenance: false,
    ...over,
  };
}

export function ok(output: unknown): EffectAnswer {
  return { output: output as Json };
}

export function observed(provision: ProvisionStateValue, over: Partial<NodeView> = {}): EffectAnswer {
  return ok(nodeView({ provision_state: provision, ...over }));
}

export function power(
  state: PowerStateValue,
  target: PowerStateValue = null,
  over: Partial<NodeView> = {},
): EffectAnswer {
  return ok(nodeView({ power_state: state, target_power_state: target, ...over }));
}

export function fail(
  code: string,
  status: number | null = null,
  faultstring: string | null = null,
): EffectAnswer {
  const error: EffectErrorJson = {
    name: 'IronicError',
    code,
    message: `${code}${faultstring ? `: ${faultstring}` : ''}`,
    status,
    faultstring,
    node: NODE,
  };
  return { error };
}

/** Every way an effect's Ironic call can end badly after the client's own retries. */
export const IRONIC_FAILURES: ReadonlyArray<{ label: string; answer: EffectAnswer }> = [
  { label: '400', answer: fail('IRONIC_BAD_REQUEST', 400, 'Invalid input') },
  { label: '404', answer: fail('IRONIC_NOT_FOUND', 404, 'Node could not be found') },
  {
    label: '409 locked',
    answer: fail(
      'IRONIC_NODE_LOCKED',
      409,
      `Node ${NODE} is locked by host localhost, please retry after the current operation is completed.`,
    ),
  },
  { label: '409 conflict', answer: fail('IRONIC_CONFLICT', 409, 'conflict') },
  { label: '503', answer: fail('IRONIC_UNAVAILABLE', 503, 'Service Unavailable') },
  { label: 'network', answer: fail('IRONIC_NETWORK', null, null) },
];

export const FULL_NODE = {
  uuid: NODE,
  driver: 'fake-hardware',
  power_state: 'power off',
  target_power_state: null,
  provision_state: 'available',
  target_provision_state: null,
  last_error: null,
  maintenance: false,
  instance_uuid: null,
  properties: { cpus: 8, memory_mb: 16384, local_gb: 100, cpu_arch: 'x86_64' },
  instance_info: {},
};

export const IMAGE = { source: 'https://images.example/fedora.qcow2', checksum: 'abc' };
export const FLAVOR = { name: 'bm.small', vcpus: 8, memoryMb: 16384, rootGb: 40, ephemeralGb: 0, swapMb: 0 };
