import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { call, faultstring, waitFor } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

// VIF placement exists only on the port-tracking interfaces (flat, neutron); the simulator's
// default is the standalone Ironic's noop, so these tests ask for flat.
describe('VIFs', () => {
  it('attaches to a free port, lists, refuses a second attach with VifAlreadyAttached', async () => {
    sim = await startSimulator({ networkInterface: 'flat' });
    const n = sim.addNode({
      ports: [{ address: '52:54:00:00:00:01', uuid: 'aaaaaaaa-2222-3333-4444-555555555555' }],
    });
    expect((await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' })).status).toBe(204);
    expect((await call(sim, 'GET', `/v1/nodes/${n.uuid}/vifs`)).json).toEqual({ vifs: [{ id: 'vif-a' }] });
    const again = await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' });
    expect(again.status).toBe(409);
    expect(faultstring(again)).toBe(
      'Unable to attach VIF because VIF vif-a is already attached to Ironic Port aaaaaaaa-2222-3333-4444-555555555555',
    );
    const ports = await call(sim, 'GET', `/v1/ports/detail?node=${n.uuid}`);
    expect((ports.json as { ports: { internal_info: unknown }[] }).ports[0]!.internal_info).toEqual({
      tenant_vif_port_id: 'vif-a',
    });
  });

  it('refuses a VIF when no physical port is free', async () => {
    sim = await startSimulator({ networkInterface: 'flat' });
    const n = sim.addNode({ ports: [{ address: '52:54:00:00:00:01', vifId: 'vif-a' }] });
    const r = await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-b' });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe('Unable to attach VIF vif-b, not enough free physical ports.');
  });

  it('prefers a portgroup over its member ports', async () => {
    sim = await startSimulator({ networkInterface: 'flat' });
    const n = sim.addNode({ ports: [] });
    const g = sim.addPortgroup(n.uuid, { address: '52:54:00:00:00:09', mode: 'active-backup' });
    sim.addPort(n.uuid, { address: '52:54:00:00:00:01', portgroup: g.uuid as string });
    await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' });
    const groups = (await call(sim, 'GET', `/v1/portgroups/detail?node=${n.uuid}`)).json as {
      portgroups: { uuid: string; internal_info: unknown; mode: string }[];
    };
    expect(groups.portgroups[0]).toMatchObject({
      uuid: g.uuid,
      mode: 'active-backup',
      internal_info: { tenant_vif_port_id: 'vif-a' },
    });
  });

  it('skips a portgroup without ports, like network/common.py _get_free_portgroups_and_ports', async () => {
    sim = await startSimulator({ networkInterface: 'flat' });
    const n = sim.addNode({ ports: [] });
    const g = sim.addPortgroup(n.uuid, { mode: 'active-backup' });
    const r = await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe('Unable to attach VIF vif-a, not enough free physical ports.');
    expect(sim.node(n.uuid)?.vifs).toEqual([]);
    sim.addPort(n.uuid, { address: '52:54:00:00:00:01', portgroup: g.uuid as string });
    expect((await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' })).status).toBe(204);
    const again = await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' });
    expect(faultstring(again)).toBe(
      `Unable to attach VIF because VIF vif-a is already attached to Ironic Portgroup ${String(g.uuid)}`,
    );
  });

  it('falls back to a standalone port when the only portgroup is empty', async () => {
    sim = await startSimulator({ networkInterface: 'flat' });
    const n = sim.addNode({ ports: [{ address: '52:54:00:00:00:01' }] });
    sim.addPortgroup(n.uuid, { mode: 'active-backup' });
    expect((await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' })).status).toBe(204);
    const ports = await call(sim, 'GET', `/v1/ports/detail?node=${n.uuid}`);
    expect((ports.json as { ports: { internal_info: unknown }[] }).ports[0]!.internal_info).toEqual({
      tenant_vif_port_id: 'vif-a',
    });
  });

  it('offers the free member ports of a portgroup whose other member already carries a VIF', async () => {
    sim = await startSimulator({ networkInterface: 'flat' });
    const n = sim.addNode({ ports: [] });
    const g = sim.addPortgroup(n.uuid, { mode: 'active-backup' });
    sim.addPort(n.uuid, { address: '52:54:00:00:00:01', portgroup: g.uuid as string, vifId: 'vif-a' });
    sim.addPort(n.uuid, { address: '52:54:00:00:00:02', portgroup: g.uuid as string });
    expect((await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-b' })).status).toBe(204);
    const groups = (await call(sim, 'GET', `/v1/portgroups/detail?node=${n.uuid}`)).json as {
      portgroups: { internal_info: unknown }[];
    };
    expect(groups.portgroups[0]!.internal_info).toEqual({});
    expect((await call(sim, 'GET', `/v1/nodes/${n.uuid}/vifs`)).json).toEqual({
      vifs: [{ id: 'vif-a' }, { id: 'vif-b' }],
    });
    const third = await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-c' });
    expect(third.status).toBe(400);
  });

  it('detaches, and refuses to detach an unknown VIF with VifNotAttached', async () => {
    sim = await startSimulator({ networkInterface: 'flat' });
    const n = sim.addNode({ ports: [{ address: '52:54:00:00:00:01', vifId: 'vif-a' }] });
    expect((await call(sim, 'DELETE', `/v1/nodes/${n.uuid}/vifs/vif-a`)).status).toBe(204);
    expect(sim.node(n.uuid)?.vifs).toEqual([]);
    const r = await call(sim, 'DELETE', `/v1/nodes/${n.uuid}/vifs/vif-a`);
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe(
      `Unable to detach VIF vif-a from node ${n.uuid} because it is not attached to it.`,
    );
  });

  it('accepts and forgets VIFs on the noop network interface, like the reference Ironic', async () => {
    sim = await startSimulator({ networkInterface: 'noop' });
    const n = sim.addNode({ ports: [] });
    expect((await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' })).status).toBe(204);
    expect((await call(sim, 'POST', `/v1/nodes/${n.uuid}/vifs`, { id: 'vif-a' })).status).toBe(204);
    expect((await call(sim, 'GET', `/v1/nodes/${n.uuid}/vifs`)).json).toEqual({ vifs: [] });
    expect((await call(sim, 'DELETE', `/v1/nodes/${n.uuid}/vifs/zzz`)).status).toBe(204);
  });

  it('validates the attach body and hides VIFs before API 1.28', async () => {
    sim = await startSimulator({ nodes: 1 });
    const [id] = sim.nodeIds();
    expect(faultstring(await call(sim, 'POST', `/v1/nodes/${id}/vifs`, {}))).toBe(
      "Schema error for vif: 'id' is a required property",
    );
    expect((await call(sim, 'GET', `/v1/nodes/${id}/vifs`, undefined, '1.27')).text).toBe(
      '{"error_message": "{\\"code\\": 404, \\"title\\": \\"Not Found\\", \\"description\\": \\"\\"}"}',
    );
  });
});

describe('power', () => {
  it('sets target_power_state and holds the lock during the change', async () => {
    sim = await startSimulator({ powerMs: 300, nodes: 1 });
    const [id] = sim.nodeIds();
    const r = await call(sim, 'PUT', `/v1/nodes/${id}/states/power`, { target: 'power on' });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe(`${sim.url}/v1/nodes/${id}/states`);
    expect(sim.node(id!)).toMatchObject({
      power_state: 'power off',
      target_power_state: 'power on',
      reservation: 'localhost',
    });
    await waitFor(() => (sim.node(id!)?.target_power_state === null ? true : undefined));
    expect(sim.node(id!)).toMatchObject({ power_state: 'power on', reservation: null });
    const states = (await call(sim, 'GET', `/v1/nodes/${id}/states`)).json as Record<string, unknown>;
    expect(states).toMatchObject({
      power_state: 'power on',
      target_power_state: null,
      provision_state: 'available',
    });
  });

  it.each([
    ['rebooting', 'power on'],
    ['soft rebooting', 'power on'],
    ['soft power off', 'power off'],
  ])('%s targets %s', async (target, expected) => {
    sim = await startSimulator({ powerMs: 250 });
    const n = sim.addNode({ powerState: 'power on' });
    expect((await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target, timeout: 5 })).status).toBe(
      202,
    );
    expect(sim.node(n.uuid)?.target_power_state).toBe(expected);
    await waitFor(() => (sim.node(n.uuid)?.target_power_state === null ? true : undefined));
    expect(sim.node(n.uuid)?.power_state).toBe(expected);
  });

  it('refuses soft power and timeouts before API 1.27 with 406', async () => {
    sim = await startSimulator({ nodes: 1 });
    const [id] = sim.nodeIds();
    const r = await call(sim, 'PUT', `/v1/nodes/${id}/states/power`, { target: 'soft power off' }, '1.26');
    expect(r.status).toBe(406);
    expect(r.headers.get('x-openstack-ironic-api-version')).toBe('1.26');
    expect(r.text).toBe(
      '{"error_message": "{\\"faultcode\\": \\"Client\\", \\"faultstring\\": \\"Request not acceptable.\\", \\"debuginfo\\": null}"}',
    );
  });

  it('refuses an unknown target and power changes while cleaning', async () => {
    sim = await startSimulator({ cleanMs: 2000 });
    const n = sim.addNode({ powerState: 'power on' });
    const bad = await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'bogus' });
    expect(faultstring(bad)).toBe(
      `The requested action "bogus" can not be performed on node "${n.uuid}" while it is in state "power on".`,
    );
    const c = sim.addNode({ provisionState: 'cleaning' });
    const r = await call(sim, 'PUT', `/v1/nodes/${c.uuid}/states/power`, { target: 'power off' });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toContain('while it is in state "cleaning"');
    expect(
      faultstring(
        await call(sim, 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'power on', timeout: 0 }),
      ),
    ).toBe('timeout has to be positive integer');
  });
});

describe('console', () => {
  it('enables the fake console, whose console_info is {} as on fake-hardware', async () => {
    sim = await startSimulator({ consoleMs: 200, nodes: 1 });
    const [id] = sim.nodeIds();
    expect((await call(sim, 'GET', `/v1/nodes/${id}/states/console`)).json).toEqual({
      console_enabled: false,
      console_info: null,
    });
    const put = await call(sim, 'PUT', `/v1/nodes/${id}/states/console`, { enabled: true });
    expect(put.status).toBe(202);
    expect(put.headers.get('location')).toBe(`${sim.url}/v1/nodes/${id}/states/console`);
    expect(sim.node(id!)?.reservation).toBe('localhost');
    await waitFor(() => (sim.node(id!)?.console_enabled ? true : undefined));
    expect((await call(sim, 'GET', `/v1/nodes/${id}/states/console`)).json).toEqual({
      console_enabled: true,
      console_info: {},
    });
  });

  it('gives a socat tcp URL for a socat console; no-console reads as disabled and refuses enabling', async () => {
    sim = await startSimulator({ consoleMs: 5 });
    const s = sim.addNode({ consoleInterface: 'ipmitool-socat', consolePort: 8123, consoleEnabled: true });
    expect((await call(sim, 'GET', `/v1/nodes/${s.uuid}/states/console`)).json).toEqual({
      console_enabled: true,
      console_info: { type: 'socat', url: 'tcp://127.0.0.1:8123' },
    });
    const none = sim.addNode({ consoleInterface: 'no-console' });
    expect((await call(sim, 'GET', `/v1/nodes/${none.uuid}/states/console`)).json).toEqual({
      console_enabled: false,
      console_info: null,
    });
    const r = await call(sim, 'PUT', `/v1/nodes/${none.uuid}/states/console`, { enabled: true });
    expect(r.status).toBe(400);
    expect(faultstring(r)).toBe(
      'Driver fake-hardware does not support console (disabled or not implemented).',
    );
    expect(faultstring(await call(sim, 'PUT', `/v1/nodes/${s.uuid}/states/console`, {}))).toBe(
      'Missing mandatory parameter: enabled',
    );
  });
});
