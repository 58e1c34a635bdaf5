// Which network interface a node gets, by Ironic's rule (driver_factory.default_interface): the
// configured [DEFAULT] default_network_interface, else the first of the hardware type's supported
// interfaces (fake-hardware: flat, neutron, noop) that is enabled. The simulator's defaults are
// what scripts/ironic-standalone.sh configures: enabled noop and flat, default noop.
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { call, faultstring } from './helpers.js';

const FAKE = { driver: 'fake-hardware' };
const VIF = '7b0c1f7e-3a2d-4c61-9a0e-2f1f0e7b5a11';

let sim: Simulator | undefined;
const interfaces = (s: Simulator): string[] => s.nodeIds().map((id) => s.node(id)!.network_interface);
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function posted(opts: SimOptions, body: Record<string, unknown> = FAKE): Promise<string> {
  sim = await startSimulator(opts);
  const res = await call(sim, 'POST', '/v1/nodes', body);
  expect(res.status, res.text).toBe(201);
  return (res.json as { network_interface: string }).network_interface;
}

describe('default network interface', () => {
  it('gives a POSTed node noop, as the standalone Ironic does, so a VIF attach on a port-less node is 204', async () => {
    sim = await startSimulator({ nodes: 0 });
    const res = await call(sim, 'POST', '/v1/nodes', FAKE);
    const node = res.json as { uuid: string; network_interface: string };
    expect(node.network_interface).toBe('noop');
    const attach = await call(sim, 'POST', `/v1/nodes/${node.uuid}/vifs`, { id: VIF });
    expect(attach.status, attach.text).toBe(204);
    expect((await call(sim, 'GET', `/v1/nodes/${node.uuid}/vifs`)).json).toEqual({ vifs: [] });
  });

  it('gives pre-enrolled nodes the same default', async () => {
    sim = await startSimulator({ nodes: 2 });
    expect(interfaces(sim)).toEqual(['noop', 'noop']);
    await sim.close();
    sim = await startSimulator({ nodes: 1, networkInterface: 'flat' });
    expect(interfaces(sim)).toEqual(['flat']);
  });

  it('picks the first enabled of flat, neutron, noop when no default is configured', async () => {
    // Stock Ironic: default_network_interface unset, enabled_network_interfaces = flat, noop.
    expect(await posted({ networkInterface: null })).toBe('flat');
    await sim?.close();
    // The enabled list's own order does not matter; the hardware type's does.
    expect(await posted({ networkInterface: null, enabledNetworkInterfaces: ['noop', 'neutron'] })).toBe(
      'neutron',
    );
    await sim?.close();
    expect(await posted({ networkInterface: null, enabledNetworkInterfaces: ['noop'] })).toBe('noop');
  });

  it('uses the configured default, enabling it when no enabled list is given', async () => {
    expect(await posted({ networkInterface: 'neutron' })).toBe('neutron');
    const res = await call(sim!, 'POST', '/v1/nodes', { ...FAKE, network_interface: 'flat' });
    expect((res.json as { network_interface: string }).network_interface).toBe('flat');
  });

  it('refuses a default that is not enabled, as a conductor refuses to start', async () => {
    await expect(
      startSimulator({ networkInterface: 'neutron', enabledNetworkInterfaces: ['noop', 'flat'] }),
    ).rejects.toThrow(/default network interface neutron is not enabled/);
    await expect(startSimulator({ enabledNetworkInterfaces: [] })).rejects.toThrow(
      /at least one network interface/,
    );
  });
});

describe('network_interface in POST and PATCH', () => {
  // Captured from the reference Ironic (enabled_network_interfaces = noop, flat).
  const notEnabled = (name: string): string =>
    `Could not find the following interface in the 'ironic.hardware.interfaces.network' entrypoint: ${name}. Valid interfaces are ['flat', 'noop'].`;

  it('refuses an interface that is not enabled, naming the enabled ones in entry point order', async () => {
    sim = await startSimulator();
    for (const name of ['neutron', 'bogus']) {
      const res = await call(sim, 'POST', '/v1/nodes', { ...FAKE, network_interface: name });
      expect(res.status).toBe(400);
      expect(faultstring(res)).toBe(notEnabled(name));
    }
    const node = (await call(sim, 'POST', '/v1/nodes', FAKE)).json as { uuid: string };
    const patch = await call(sim, 'PATCH', `/v1/nodes/${node.uuid}`, [
      { op: 'replace', path: '/network_interface', value: 'neutron' },
    ]);
    expect(patch.status).toBe(400);
    expect(faultstring(patch)).toBe(notEnabled('neutron'));
    expect(sim.node(node.uuid)?.network_interface).toBe('noop');
  });

  it('sets an enabled interface, and resets a removed one to the default', async () => {
    sim = await startSimulator();
    const node = (await call(sim, 'POST', '/v1/nodes', FAKE)).json as { uuid: string };
    const set = await call(sim, 'PATCH', `/v1/nodes/${node.uuid}`, [
      { op: 'replace', path: '/network_interface', value: 'flat' },
    ]);
    expect((set.json as { network_interface: string }).network_interface).toBe('flat');
    const removed = await call(sim, 'PATCH', `/v1/nodes/${node.uuid}`, [
      { op: 'remove', path: '/network_interface' },
    ]);
    expect(removed.status, removed.text).toBe(200);
    expect((removed.json as { network_interface: string }).network_interface).toBe('noop');
  });
});

describe('neutron network interface', () => {
  it('tracks VIFs on ports as flat does', async () => {
    sim = await startSimulator({ networkInterface: 'neutron', nodes: 1 });
    const bare = (await call(sim, 'POST', '/v1/nodes', FAKE)).json as { uuid: string };
    const none = await call(sim, 'POST', `/v1/nodes/${bare.uuid}/vifs`, { id: VIF });
    expect(none.status).toBe(400);
    expect(faultstring(none)).toBe(`Unable to attach VIF ${VIF}, not enough free physical ports.`);
    const node = sim.nodeIds()[0]!;
    expect((await call(sim, 'POST', `/v1/nodes/${node}/vifs`, { id: VIF })).status).toBe(204);
    expect((await call(sim, 'GET', `/v1/nodes/${node}/vifs`)).json).toEqual({ vifs: [{ id: VIF }] });
  });
});
