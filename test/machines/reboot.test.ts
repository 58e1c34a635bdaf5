import { describe, expect, it } from 'vitest';
import { rebootMachine } from '../../src/machines/reboot.js';
import { INSTANCE, NODE, fail, nodeView, ok, power } from './fixtures.js';
import type { Script } from './script.js';

const UPDATED_AT = '2026-12-03T10:00:00.123456+00:00';
import { run } from './script.js';

function script(over: Script = {}): Script {
  return {
    lookupNode: ok(nodeView({ updated_at: UPDATED_AT })),
    setPowerState: (call) => ok(call.input),
    observeNode: [power('power on', 'power on'), power('power on', null)],
    ...over,
  };
}

describe('reboot machine', () => {
  it('soft reboots when asked and waits until target_power_state clears (seed: reboot, _wait_for_power_state)', () => {
    const r = run(rebootMachine, { instance: INSTANCE, soft: true }, script());
    expect(r.steps).toEqual([
      'lookup:lookupNode',
      'requestSoftReboot:setPowerState',
      'waitReboot:observeNode',
      'waitReboot:observeNode',
    ]);
    // The lookup's updated_at goes with the request: a resumed run tells by it whether Ironic took it.
    expect(r.trace[1]?.call.input).toEqual({ node: NODE, target: 'reboot', soft: true, since: UPDATED_AT });
    expect(r.output).toEqual({ status: 'succeeded', node: NODE, warnings: [] });
  });

  it('falls back to a hard reboot when Ironic refuses soft with 400 (seed: reboot)', () => {
    let calls = 0;
    const r = run(
      rebootMachine,
      { instance: INSTANCE, soft: true },
      script({
        setPowerState: (call) =>
          calls++ === 0 ? fail('IRONIC_BAD_REQUEST', 400, 'soft reboot not supported') : ok(call.input),
      }),
    );
    expect(r.trace.filter((t) => t.call.src === 'setPowerState').map((t) => t.call.input)).toEqual([
      { node: NODE, target: 'reboot', soft: true, since: UPDATED_AT },
      { node: NODE, target: 'reboot', soft: false, since: UPDATED_AT },
    ]);
    expect(r.output.status).toBe('succeeded');
    expect(r.output.warnings.join()).toMatch(/soft reboot not supported/);
  });

  it('fails on other errors to the soft request instead of rebooting hard (seed: reboot)', () => {
    const r = run(
      rebootMachine,
      { instance: INSTANCE, soft: true },
      script({ setPowerState: fail('IRONIC_NODE_LOCKED', 409) }),
    );
    expect(r.srcs).toEqual(['lookupNode', 'setPowerState']);
    expect(r.output.error?.code).toBe('IRONIC_NODE_LOCKED');
  });

  it('reboots hard directly when soft is not asked (seed: reboot)', () => {
    const r = run(rebootMachine, { instance: INSTANCE, soft: false }, script());
    expect(r.steps[1]).toBe('requestHardReboot:setPowerState');
  });

  it('fails with POWER_TIMEOUT when the change never settles', () => {
    const r = run(
      rebootMachine,
      { instance: INSTANCE, soft: false, timeoutS: 2 },
      script({ observeNode: power('power on', 'power on') }),
    );
    expect(r.output.error?.code).toBe('POWER_TIMEOUT');
    expect(r.srcs.filter((s) => s === 'observeNode')).toHaveLength(3);
  });
});
