import { describe, expect, it } from 'vitest';
import { teardownMachine } from '../../src/machines/teardown.js';
import { INSTANCE, NODE, fail, nodeView, observed, ok } from './fixtures.js';
import type { Script } from './script.js';
import { run } from './script.js';

const VIFS = ['vif-a', 'vif-b'];
const input = { instance: INSTANCE, vifs: VIFS, timeoutS: 4 };

function script(over: Script = {}): Script {
  return {
    lookupNode: ok(nodeView({ provision_state: 'active' })),
    unplugVifs: (call) => ok({ detached: (call.input as { vifs: string[] }).vifs, notAttached: [] }),
    stopFiltering: ok({ done: true }),
    requestDeleted: ok({ alreadyUnprovisioning: false, state: null }),
    observeNode: [observed('deleting'), observed('cleaning', { instance_uuid: null })],
    removeInstanceInfo: ok({ removed: true, reason: null }),
    ...over,
  };
}

describe('teardown machine', () => {
  it('detaches every VIF and stops filtering before requesting deleted (seed: destroy)', () => {
    const r = run(teardownMachine, input, script());
    expect(r.steps).toEqual([
      'lookup:lookupNode',
      'cleanup.unplugVifs:unplugVifs',
      'cleanup.stopFiltering:stopFiltering',
      'unprovision.requestDeleted:requestDeleted',
      'unprovision.watching.waiting:observeNode',
      'unprovision.watching.deleting:observeNode',
    ]);
    expect(r.trace[1]?.call.input).toEqual({ node: NODE, vifs: VIFS });
    expect(r.output).toEqual({ status: 'succeeded', node: NODE, warnings: [] });
  });

  it('shows the observed Ironic state as the waiting substate (seed: _unprovision)', () => {
    const r = run(
      teardownMachine,
      { ...input, waitForAvailable: true },
      script({
        observeNode: [
          observed('deleting'),
          observed('cleaning', { instance_uuid: null }),
          observed('clean wait', { instance_uuid: null }),
          observed('available', { instance_uuid: null }),
        ],
      }),
    );
    expect(r.steps.filter((s) => s.endsWith('observeNode')).map((s) => s.split(':')[0])).toEqual([
      'unprovision.watching.waiting',
      'unprovision.watching.deleting',
      'unprovision.watching.cleaning',
      'unprovision.watching.cleanWait',
    ]);
    expect(r.state).toBe('succeeded');
  });

  it('counts cleaning, clean wait and clean failed as unprovisioned (seed: _unprovision)', () => {
    for (const state of ['cleaning', 'clean wait', 'clean failed', 'available', null] as const) {
      const r = run(teardownMachine, input, script({ observeNode: observed(state) }));
      expect(r.state, String(state)).toBe('succeeded');
      expect(r.srcs.filter((s) => s === 'observeNode')).toHaveLength(1);
    }
  });

  it('warns that a clean failed node needs an operator, yet succeeds (seed: _unprovision)', () => {
    const r = run(
      teardownMachine,
      input,
      script({ observeNode: observed('clean failed', { last_error: 'bmc timeout' }) }),
    );
    expect(r.output.status).toBe('succeeded');
    expect(r.output.warnings.join()).toMatch(/clean failed.*bmc timeout/);
  });

  it('fails naming the last state when the poll budget runs out (seed: _unprovision)', () => {
    const r = run(teardownMachine, { ...input, timeoutS: 2 }, script({ observeNode: observed('deleting') }));
    expect(r.srcs.filter((s) => s === 'observeNode')).toHaveLength(3);
    expect(r.output.status).toBe('failed');
    expect(r.output.error).toMatchObject({ code: 'UNPROVISION_TIMEOUT', state: 'deleting', node: NODE });
    expect(r.output.error?.message).toContain('"deleting"');
  });

  it('waits 120 s by default, the seed api_max_retries x api_retry_interval (seed: _unprovision)', () => {
    // The driver's observations come 1 s apart: the first at 0 s, the last at 120 s.
    const r = run(
      teardownMachine,
      { instance: INSTANCE, vifs: [] },
      script({ observeNode: observed('deleting') }),
    );
    expect(r.srcs.filter((s) => s === 'observeNode')).toHaveLength(121);
    expect(r.output.error?.code).toBe('UNPROVISION_TIMEOUT');
    expect(r.output.error?.message).toContain('after 120 s (121 observations)');
  });

  it('requests deleted again when Ironic drops the node into error mid-teardown, then fails with its last_error (seed: _unprovision)', () => {
    const recovered = run(
      teardownMachine,
      input,
      script({
        observeNode: [
          observed('deleting'),
          observed('error', { last_error: 'conductor restarted' }),
          observed('deleting'),
          observed('available', { instance_uuid: null }),
        ],
      }),
    );
    expect(recovered.srcs.filter((s) => s === 'requestDeleted')).toHaveLength(2);
    expect(recovered.output.status).toBe('succeeded');
    expect(recovered.output.warnings.join('\n')).toContain(
      'went to error while unprovisioning (conductor restarted)',
    );

    const stuck = run(
      teardownMachine,
      { ...input, timeoutS: 600 },
      script({ observeNode: observed('error', { last_error: 'BMC unreachable' }) }),
    );
    expect(stuck.srcs.filter((s) => s === 'requestDeleted')).toHaveLength(4);
    expect(stuck.output.error).toMatchObject({
      code: 'UNPROVISION_FAILED',
      state: 'error',
      faultstring: 'BMC unreachable',
    });
    expect(stuck.output.error?.message).toContain('BMC unreachable');
  });

  it('is done when Ironic has released the instance or the node is gone (seed: _unprovision)', () => {
    const released = run(
      teardownMachine,
      input,
      script({ observeNode: observed('deleting', { instance_uuid: null }) }),
    );
    expect(released.state).toBe('succeeded');
    const gone = run(teardownMachine, input, script({ observeNode: fail('IRONIC_NOT_FOUND', 404) }));
    expect(gone.state).toBe('succeeded');
    expect(gone.output.warnings.join()).toMatch(/disappeared/);
  });

  it('with waitForAvailable keeps waiting through cleaning and fails on clean failed', () => {
    const r = run(
      teardownMachine,
      { ...input, waitForAvailable: true },
      script({
        observeNode: [
          observed('cleaning', { instance_uuid: null }),
          observed('clean failed', { last_error: 'disk wipe failed' }),
        ],
      }),
    );
    expect(r.output.error).toMatchObject({ code: 'CLEAN_FAILED', state: 'clean failed' });
    expect(r.output.error?.message).toContain('disk wipe failed');
  });

  it('succeeds with a warning when the instance is unknown to Ironic (seed: destroy)', () => {
    const r = run(teardownMachine, input, script({ lookupNode: fail('IRONIC_NOT_FOUND', 404) }));
    expect(r.srcs).toEqual(['lookupNode']);
    expect(r.output).toEqual({ status: 'succeeded', warnings: [`instance ${INSTANCE} unknown to Ironic`] });
  });

  it('removes instance_info instead of unprovisioning when provisioning never started (seed: destroy)', () => {
    for (const state of ['available', 'manageable', null] as const) {
      const r = run(teardownMachine, input, script({ lookupNode: ok(nodeView({ provision_state: state })) }));
      expect(r.srcs).toEqual(['lookupNode', 'unplugVifs', 'stopFiltering', 'removeInstanceInfo']);
      expect(r.state).toBe('succeeded');
    }
  });

  it('requests deleted from every state the seed unprovisions (seed: destroy)', () => {
    for (const state of ['active', 'deploy failed', 'error', 'wait call-back', 'deploying'] as const) {
      const r = run(teardownMachine, input, script({ lookupNode: ok(nodeView({ provision_state: state })) }));
      expect(r.srcs).toContain('requestDeleted');
      expect(r.srcs).not.toContain('removeInstanceInfo');
    }
  });

  it('turns a refused instance_info removal into a warning (seed: _remove_instance_info_from_node)', () => {
    const r = run(
      teardownMachine,
      input,
      script({
        lookupNode: ok(nodeView({ provision_state: 'available' })),
        removeInstanceInfo: ok({ removed: false, reason: 'Invalid patch' }),
      }),
    );
    expect(r.output.status).toBe('succeeded');
    expect(r.output.warnings).toEqual([`failed to remove instance_info from node ${NODE}: Invalid patch`]);
  });

  it('never requests deleted when a VIF detach stays locked (seed: _cleanup_deploy)', () => {
    const r = run(teardownMachine, input, script({ unplugVifs: fail('IRONIC_NODE_LOCKED', 409, 'locked') }));
    expect(r.srcs).toEqual(['lookupNode', 'unplugVifs']);
    expect(r.output.error?.code).toBe('IRONIC_NODE_LOCKED');
  });

  it('fails without unprovisioning when the filtering hook fails (seed: _stop_firewall)', () => {
    const r = run(teardownMachine, input, script({ stopFiltering: fail('FILTERING_HOOK_FAILED') }));
    expect(r.srcs).not.toContain('requestDeleted');
    expect(r.output.error?.code).toBe('FILTERING_HOOK_FAILED');
  });

  it('warns when the node found differs from the one given', () => {
    const r = run(teardownMachine, { ...input, node: 'some-other-node' }, script());
    expect(r.output.warnings).toEqual([`instance ${INSTANCE} is on node ${NODE}, not some-other-node`]);
    expect(r.trace[1]?.call.input).toMatchObject({ node: NODE });
  });
});
