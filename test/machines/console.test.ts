import { describe, expect, it } from 'vitest';
import { consoleMachine, parseSerialConsole } from '../../src/machines/console.js';
import { INSTANCE, NODE, fail, nodeView, ok } from './fixtures.js';
import type { Script } from './script.js';
import { run } from './script.js';

const ON = ok({ enabled: true, type: 'socat', url: 'tcp://192.0.2.10:8023' });
const OFF = ok({ enabled: false, type: null, url: null });

function script(over: Script = {}): Script {
  return {
    lookupNode: ok(nodeView()),
    getConsole: [ON, OFF, ON],
    setConsoleMode: (call) => ok({ enabled: (call.input as { enabled: boolean }).enabled }),
    sleep: (call) => ok({ sleptMs: (call.input as { ms: number }).ms }),
    ...over,
  };
}

describe('console machine', () => {
  it('resets an enabled console (disable, wait, enable, wait) and returns host and port (seed: _get_node_console_with_reset)', () => {
    const r = run(consoleMachine, { instance: INSTANCE }, script());
    expect(r.steps).toEqual([
      'lookup:lookupNode',
      'readConsole:getConsole',
      'reset.disable:setConsoleMode',
      'reset.waitDisabled.check:getConsole',
      'reset.enable:setConsoleMode',
      'reset.waitEnabled.check:getConsole',
    ]);
    expect(r.output).toEqual({
      status: 'succeeded',
      node: NODE,
      warnings: [],
      console: { host: '192.0.2.10', port: 8023 },
    });
  });

  it('backs off with growing sleeps cut to the timeout (seed: _get_node_console_with_reset)', () => {
    const r = run(
      consoleMachine,
      { instance: INSTANCE, timeoutMs: 5000 },
      script({ getConsole: [ON, ON, ON, ON, OFF, ON] }),
    );
    const sleeps = r.trace
      .filter((t) => t.call.src === 'sleep')
      .map((t) => (t.call.input as { ms: number }).ms);
    expect(sleeps).toEqual([1000, 2000, 2000]);
    expect(r.output.status).toBe('succeeded');
  });

  it('enables the console again when the reset times out, then succeeds (seed: _get_node_console_with_reset)', () => {
    const r = run(
      consoleMachine,
      { instance: INSTANCE, timeoutMs: 1000 },
      script({ getConsole: [ON, ON, ON, ON] }),
    );
    expect(r.steps.slice(-2)).toEqual([
      'recover.enable:setConsoleMode',
      'recover.waitEnabled.check:getConsole',
    ]);
    expect(r.output.status).toBe('succeeded');
    expect(r.output.warnings.join()).toMatch(/timed out/);
  });

  it('fails as unavailable when recovery fails too (seed: _get_node_console_with_reset)', () => {
    const r = run(
      consoleMachine,
      { instance: INSTANCE },
      script({ setConsoleMode: fail('IRONIC_BAD_REQUEST', 400, 'in maintenance') }),
    );
    expect(r.srcs.filter((s) => s === 'setConsoleMode')).toHaveLength(2);
    expect(r.output.error).toMatchObject({ code: 'CONSOLE_UNAVAILABLE', cause: 'IRONIC_BAD_REQUEST' });
  });

  it('fails as unavailable when the console is disabled, without touching it (seed: _get_node_console_with_reset)', () => {
    const r = run(consoleMachine, { instance: INSTANCE }, script({ getConsole: OFF }));
    expect(r.srcs).toEqual(['lookupNode', 'getConsole']);
    expect(r.output.error?.code).toBe('CONSOLE_UNAVAILABLE');
    expect(r.output.error?.message).toMatch(/disabled/);
  });

  it('accepts only socat over tcp://host:port (seed: get_serial_console)', () => {
    expect(parseSerialConsole({ enabled: true, type: 'socat', url: 'tcp://[2001:db8::1]:9000' })).toEqual({
      ok: true,
      host: '2001:db8::1',
      port: 9000,
    });
    expect(parseSerialConsole({ enabled: true, type: 'shellinabox', url: 'http://h:1' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not socat/),
    });
    expect(parseSerialConsole({ enabled: true, type: 'socat', url: 'udp://h:1' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not tcp/),
    });
    expect(parseSerialConsole({ enabled: true, type: 'socat', url: 'tcp://h' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/invalid/),
    });
    expect(parseSerialConsole({ enabled: true, type: 'socat', url: 'nonsense' })).toMatchObject({
      ok: false,
    });
  });

  it('fails as unavailable for a non-socat console after the reset (seed: get_serial_console)', () => {
    const shell = ok({ enabled: true, type: 'shellinabox', url: 'http://192.0.2.10:8023' });
    const r = run(consoleMachine, { instance: INSTANCE }, script({ getConsole: [shell, OFF, shell] }));
    expect(r.output.error?.code).toBe('CONSOLE_UNAVAILABLE');
    expect(r.output.console).toBeUndefined();
  });
});
