import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { deployMachine } from '../../src/machines/deploy.js';
import { FLAVOR, FULL_NODE, IMAGE, INSTANCE, NODE, OTHER_INSTANCE, fail, observed, ok } from './fixtures.js';
import type { Script } from './script.js';
import { run } from './script.js';

const VIFS = [{ id: 'vif-a' }, { id: 'vif-b' }];
const input = {
  instance: INSTANCE,
  node: NODE,
  vifs: VIFS,
  image: IMAGE,
  flavor: FLAVOR,
  hostname: 'web-1',
  configDrivePlan: {
    required: true,
    hasAdminPassword: true,
    hasUserData: true,
    injectedFiles: 1,
    metadata: { role: 'web' },
  },
  timeoutS: 9,
};
const GOOD = { result: true, reason: null };

function script(over: Script = {}): Script {
  return {
    getNode: ok(FULL_NODE),
    addInstanceInfo: ok({ paths: ['/instance_info/image_source', '/instance_uuid'] }),
    validateNode: ok({ deploy: GOOD, power: GOOD }),
    plugVifs: ok({ attached: ['vif-a', 'vif-b'], alreadyAttached: [] }),
    startFiltering: ok({ done: true }),
    collectNetworkMetadata: ok({ links: [{ id: 'vif-a' }], networks: [], services: [] }),
    requestActive: ok({ configDriveSent: true, alreadyRequested: false }),
    observeNode: [observed('deploying'), observed('wait call-back'), observed('active')],
    unplugVifs: ok({ detached: [], notAttached: ['vif-a', 'vif-b'] }),
    stopFiltering: ok({ done: true }),
    ...over,
  };
}

const CLEANUP = ['unplugVifs', 'stopFiltering'];

describe('deploy machine', () => {
  it('adds instance info, validates, plugs VIFs, filters, then requests active and waits (seed: spawn)', () => {
    const r = run(deployMachine, input, script());
    expect(r.steps).toEqual([
      'getNode:getNode',
      'addInstanceInfo:addInstanceInfo',
      'validate:validateNode',
      'plugVifs:plugVifs',
      'startFiltering:startFiltering',
      'networkMetadata:collectNetworkMetadata',
      'requestActive:requestActive',
      'waitActive.waiting:observeNode',
      'waitActive.deploying:observeNode',
      'waitActive.waitCallBack:observeNode',
    ]);
    expect(r.output).toEqual({ status: 'succeeded', node: NODE, warnings: [] });
  });

  it('hands requestActive only flags and network data, never a secret or a drive (seed: spawn)', () => {
    const r = run(deployMachine, input, script());
    const request = r.trace.find((t) => t.call.src === 'requestActive');
    expect(request?.call.input).toEqual({
      node: NODE,
      instance: INSTANCE,
      hostname: 'web-1',
      configDrivePlan: input.configDrivePlan,
      networkData: { links: [{ id: 'vif-a' }], networks: [], services: [] },
    });
  });

  it('skips network metadata when no config drive is required (seed: spawn)', () => {
    const r = run(
      deployMachine,
      { ...input, configDrivePlan: { ...input.configDrivePlan, required: false } },
      script(),
    );
    expect(r.srcs).not.toContain('collectNetworkMetadata');
    expect(r.state).toBe('succeeded');
  });

  it('fails at once with NODE_REQUIRED when no node is given (seed: spawn)', () => {
    const r = run(deployMachine, { ...input, node: '' }, script());
    expect(r.srcs).toEqual([]);
    expect(r.output.error?.code).toBe('NODE_REQUIRED');
  });

  it('cleans up and fails with both reasons when deploy or power does not validate (seed: spawn)', () => {
    const r = run(
      deployMachine,
      input,
      script({
        validateNode: ok({
          deploy: { result: false, reason: 'no deploy_kernel' },
          power: { result: false, reason: 'no ipmi_address' },
        }),
      }),
    );
    expect(r.srcs).toEqual(['getNode', 'addInstanceInfo', 'validateNode', ...CLEANUP]);
    expect(r.output.error?.code).toBe('VALIDATION_FAILED');
    expect(r.output.error?.message).toContain('no deploy_kernel');
    expect(r.output.error?.message).toContain('no ipmi_address');
  });

  it('fails fast without plugging when the node is already taken (seed: _add_instance_info_to_node)', () => {
    const r = run(
      deployMachine,
      input,
      script({ addInstanceInfo: fail('IRONIC_CONFLICT', 409, 'Node is associated with instance') }),
    );
    // No cleanup: the VIFs named here may be the other instance's ports, attached and in use.
    expect(r.srcs).toEqual(['getNode', 'addInstanceInfo']);
    expect(r.output.error).toMatchObject({ code: 'IRONIC_CONFLICT', status: 409 });
    expect(r.output.error?.message).toMatch(/failed to add deploy parameters/);
  });

  it('fails without touching VIFs or filtering when the node cannot be read (seed: spawn _get_node)', () => {
    const r = run(
      deployMachine,
      input,
      script({ getNode: fail('IRONIC_NOT_FOUND', 404, 'Node could not be found') }),
    );
    expect(r.srcs).toEqual(['getNode']);
    expect(r.output.error).toMatchObject({ code: 'IRONIC_NOT_FOUND', status: 404 });
    expect(r.output.error?.message).toMatch(/cannot read node/);
  });

  it('cleans up when a VIF cannot be attached (seed: _plug_vifs)', () => {
    const r = run(deployMachine, input, script({ plugVifs: fail('VIF_ATTACH_FAILED', 400, 'no free port') }));
    expect(r.srcs.slice(-2)).toEqual(CLEANUP);
    expect(r.output.error?.cause).toBe('VIF_ATTACH_FAILED');
  });

  it('cleans up when the config drive cannot be built because the secrets are gone (seed: spawn)', () => {
    const r = run(deployMachine, input, script({ requestActive: fail('SECRETS_UNAVAILABLE') }));
    expect(r.srcs.slice(-3)).toEqual(['requestActive', ...CLEANUP]);
    expect(r.output.error?.cause).toBe('SECRETS_UNAVAILABLE');
  });

  it('keeps the deploy error when the cleanup itself fails, adding warnings (seed: _cleanup_deploy)', () => {
    const r = run(
      deployMachine,
      input,
      script({
        requestActive: fail('IRONIC_UNAVAILABLE', 503),
        unplugVifs: fail('IRONIC_NODE_LOCKED', 409),
        stopFiltering: fail('FILTERING_HOOK_FAILED'),
      }),
    );
    expect(r.output.error?.cause).toBe('IRONIC_UNAVAILABLE');
    expect(r.output.warnings).toHaveLength(3);
    // The node stays associated, as after the seed's failed spawn: the result says how to free it.
    expect(r.output.warnings.at(-1)).toBe(
      `node ${NODE} still holds instance ${INSTANCE} after the failed deploy; release it with: ironledger destroy --instance ${INSTANCE}`,
    );
  });

  it('fails with last_error on deploy failed, without cleanup (seed: _wait_for_active)', () => {
    const r = run(
      deployMachine,
      input,
      script({
        observeNode: [
          observed('deploying'),
          observed('deploy failed', { last_error: 'image checksum mismatch' }),
        ],
      }),
    );
    expect(r.srcs.at(-1)).toBe('observeNode');
    expect(r.output.error).toMatchObject({ code: 'DEPLOY_FAILED', state: 'deploy failed' });
    expect(r.output.error?.message).toContain('image checksum mismatch');
  });

  it('treats target deleted, available, no state and another instance as instance gone (seed: _wait_for_active)', () => {
    const gone = [
      observed('deploying', { target_provision_state: 'deleted' }),
      observed('deploying', { target_provision_state: 'available' }),
      observed('available'),
      observed(null),
      observed('deploying', { instance_uuid: OTHER_INSTANCE }),
      fail('IRONIC_NOT_FOUND', 404),
    ];
    for (const answer of gone) {
      const r = run(deployMachine, input, script({ observeNode: answer }));
      expect(r.output.error?.code, JSON.stringify(answer)).toBe('INSTANCE_GONE');
    }
  });

  it('fails with DEPLOY_TIMEOUT after maxPolls observations', () => {
    const r = run(
      deployMachine,
      { ...input, timeoutS: 3 },
      script({ observeNode: observed('wait call-back') }),
    );
    expect(r.srcs.filter((s) => s === 'observeNode')).toHaveLength(4);
    expect(r.output.error).toMatchObject({ code: 'DEPLOY_TIMEOUT', state: 'wait call-back' });
  });
});

describe('deploy: aborted while waiting for active', () => {
  const answers: Record<string, unknown> = {
    getNode: {
      uuid: 'node-1',
      provision_state: 'available',
      instance_uuid: null,
      power_state: 'power off',
      target_power_state: null,
      target_provision_state: null,
      last_error: null,
      maintenance: false,
      properties: {},
    },
    addInstanceInfo: { paths: ['/instance_uuid'] },
    validateNode: { deploy: { result: true, reason: null }, power: { result: true, reason: null } },
    plugVifs: { attached: [], alreadyAttached: [] },
    startFiltering: { done: true },
    requestActive: { configDriveSent: false, alreadyRequested: false },
  };

  /** Answers every effect with success until `until` holds; returns the snapshot and the effects run. */
  function walk(
    snapshot: AnyMachineSnapshot,
    until: (s: AnyMachineSnapshot) => boolean,
  ): { snapshot: AnyMachineSnapshot; srcs: string[] } {
    const srcs: string[] = [];
    for (let i = 0; i < 20 && !until(snapshot); i++) {
      const child = Object.keys(snapshot.children)[0];
      expect(child, `stuck in ${JSON.stringify(snapshot.value)}`).toBeDefined();
      srcs.push(child!);
      [snapshot] = transition(deployMachine, snapshot, {
        type: `xstate.done.actor.${child}`,
        output: answers[child!],
      } as never);
    }
    return { snapshot, srcs };
  }

  const start = (): AnyMachineSnapshot =>
    initialTransition(deployMachine, {
      instance: '11111111-2222-4333-8444-555555555555',
      node: 'node-1',
      vifs: [],
      image: { source: 'http://img/x' },
      flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
      configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
    })[0];

  it('fails with DEPLOY_ABORTED when the instance is being deleted, without further polls (seed: _wait_for_active)', () => {
    const { snapshot } = walk(start(), (s) => JSON.stringify(s.value).includes('waitActive'));
    expect(JSON.stringify(snapshot.value)).toContain('waitActive');

    const [after, actions] = transition(deployMachine, snapshot, {
      type: 'ABORT',
      reason: 'instance is being destroyed',
    });

    expect(after.status).toBe('done');
    expect(after.output).toMatchObject({ status: 'failed', error: { code: 'DEPLOY_ABORTED' } });
    expect(actions.some((a) => a.type === 'xstate.spawnChild')).toBe(false);
  });

  it('notes an ABORT that comes before the wait and fails as the wait would begin (seed: first poll)', () => {
    const early = walk(start(), (s) => s.value === 'plugVifs');
    // The instance is being destroyed while its VIFs are plugged: the deploy goes on.
    const [noted] = transition(deployMachine, early.snapshot, {
      type: 'ABORT',
      reason: 'instance is being destroyed',
    });
    expect(noted.value).toBe('plugVifs');
    const rest = walk(noted, (s) => s.status === 'done');
    // Like the seed's spawn it requests active, then its first poll sees the deletion: no wait is
    // started and no cleanup runs (the teardown that aborted it takes the node over).
    expect([...early.srcs, ...rest.srcs]).toEqual([
      'getNode',
      'addInstanceInfo',
      'validateNode',
      'plugVifs',
      'startFiltering',
      'requestActive',
    ]);
    expect(rest.snapshot.output).toMatchObject({
      status: 'failed',
      error: { code: 'DEPLOY_ABORTED', message: expect.stringContaining('instance is being destroyed') },
    });
  });
});
