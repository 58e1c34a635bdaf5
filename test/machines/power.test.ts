import { describe, expect, it } from 'vitest';
import { powerOffMachine, powerOnMachine } from '../../src/machines/power.js';
import { INSTANCE, NODE, fail, nodeView, ok, power } from './fixtures.js';
import type { Script } from './script.js';
import { run } from './script.js';

function script(over: Script = {}): Script {
  return {
    lookupNode: ok(nodeView()),
    setPowerState: (call) => ok(call.input),
    observeNode: [power('power on', 'power off'), power('power off', null)],
    ...over,
  };
}

const requests = (r: ReturnType<typeof run>) =>
  r.trace.filter((t) => t.call.src === 'setPowerState').map((t) => t.call.input);

describe('power off machine', () => {
  it('soft powers off with the timeout and stops when the node is off (seed: power_off)', () => {
    const r = run(powerOffMachine, { instance: INSTANCE, softTimeoutSeconds: 30 }, script());
    expect(requests(r)).toEqual([{ node: NODE, target: 'off', soft: true, timeoutSeconds: 30 }]);
    expect(r.output).toEqual({ status: 'succeeded', node: NODE, warnings: [] });
  });

  it('powers off hard when the node is still on after the soft attempt (seed: power_off)', () => {
    const r = run(
      powerOffMachine,
      { instance: INSTANCE, softTimeoutSeconds: 30 },
      script({
        observeNode: [
          power('power on', null, { last_error: 'guest ignored ACPI' }),
          power('power off', null),
        ],
      }),
    );
    expect(r.steps).toEqual([
      'lookup:lookupNode',
      'requestSoftOff:setPowerState',
      'waitSoftOff:observeNode',
      'requestHardOff:setPowerState',
      'waitOff:observeNode',
    ]);
    expect(requests(r)[1]).toEqual({ node: NODE, target: 'off', soft: false });
    expect(r.output.warnings.join()).toMatch(/guest ignored ACPI/);
  });

  it('powers off hard when Ironic refuses the soft request (seed: power_off)', () => {
    let n = 0;
    const r = run(
      powerOffMachine,
      { instance: INSTANCE, softTimeoutSeconds: 30 },
      script({ setPowerState: (call) => (n++ === 0 ? fail('IRONIC_BAD_REQUEST', 400) : ok(call.input)) }),
    );
    expect(requests(r).map((i) => (i as { soft: boolean }).soft)).toEqual([true, false]);
    expect(r.output.status).toBe('succeeded');
  });

  it('powers off hard at once without a timeout (seed: power_off)', () => {
    const r = run(powerOffMachine, { instance: INSTANCE }, script({ observeNode: power('power off', null) }));
    expect(r.steps[1]).toBe('requestHardOff:setPowerState');
    expect(requests(r)).toEqual([{ node: NODE, target: 'off', soft: false }]);
  });

  it('gives the hard wait its own poll budget after the soft wait used its own', () => {
    const r = run(
      powerOffMachine,
      { instance: INSTANCE, softTimeoutSeconds: 5, timeoutS: 1 },
      script({
        observeNode: [
          power('power on', 'power off'),
          power('power on', 'power off'),
          power('power on', 'power off'),
          power('power off', null),
        ],
      }),
    );
    expect(r.output.status).toBe('succeeded');
    expect(r.srcs.filter((s) => s === 'observeNode')).toHaveLength(4);
  });
});

describe('power on machine', () => {
  it('requests power on and waits until target_power_state clears (seed: power_on)', () => {
    const r = run(
      powerOnMachine,
      { instance: INSTANCE },
      script({ observeNode: [power('power off', 'power on'), power('power on', null)] }),
    );
    expect(r.steps).toEqual([
      'lookup:lookupNode',
      'requestOn:setPowerState',
      'waitOn:observeNode',
      'waitOn:observeNode',
    ]);
    expect(r.output.status).toBe('succeeded');
  });

  it('fails when the instance is unknown (seed: _validate_instance_and_node)', () => {
    const r = run(
      powerOnMachine,
      { instance: INSTANCE },
      script({ lookupNode: fail('IRONIC_NOT_FOUND', 404) }),
    );
    expect(r.output.error?.code).toBe('IRONIC_NOT_FOUND');
  });
});
