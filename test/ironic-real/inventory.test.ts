// The inventory CLI commands against the real Ironic (seed: get_available_nodes,
// get_available_resource, list_instance_uuids, get_info): what they report must match
// what Ironic itself says about the nodes.
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { cli, json } from '../e2e/cli.js';
import { call, deployFakeNode, enrollFakeNode, makeAvailable } from './helpers.js';

const url = inject('ironicUrl');

interface NodeRow {
  node: { uuid: string; provision_state: string | null; instance_uuid: string | null };
  owner: string | null;
  owned: boolean;
  resources: {
    vcpus: number;
    vcpusUsed: number;
    memoryMb: number;
    cpuArch: string | null;
    stats: Record<string, string | null>;
  };
}
interface InstanceRow {
  instance: string;
  node: string;
  info: { state: string; numCpu: number; memKb: number };
}

async function settlePower(base: string, node: string, target: string): Promise<void> {
  await call(base, 'PUT', `/v1/nodes/${node}/states/power`, { target });
  for (let i = 0; i < 300; i++) {
    const n = (await call(base, 'GET', `/v1/nodes/${node}?fields=power_state,target_power_state`))
      .json as Record<string, unknown>;
    if (n.target_power_state === null && n.power_state === target) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`node ${node} never reached ${target}`);
}

describe.skipIf(url === null)('inventory commands on the real Ironic', () => {
  const base = url!;

  it('nodes reports each node with its resources and owner, and instances the deployed one (seed: _node_resource, get_info)', async () => {
    const properties = {
      cpus: 8,
      memory_mb: 16384,
      local_gb: 100,
      cpu_arch: 'x86_64',
      capabilities: 'boot_mode:uefi,raid:yes',
    };
    const free = await enrollFakeNode(base, { properties });
    const used = await enrollFakeNode(base, { properties });
    await Promise.all([makeAvailable(base, free), makeAvailable(base, used)]);
    const instance = randomUUID();
    await deployFakeNode(base, used, { instanceUuid: instance, vifs: [] });
    // A node whose power state Ironic has never read reports no capacity (seed: bad power state),
    // so give both a known one first.
    await settlePower(base, free, 'power off');
    await settlePower(base, used, 'power on');

    const nodes = await cli([
      '--ironic-url',
      base,
      '--db',
      '/nonexistent/ironledger.db',
      '--json',
      'nodes',
      '--host',
      'sched-a',
    ]);
    expect(nodes.code, nodes.stderr).toBe(0);
    const rows = json<NodeRow[]>(nodes);
    const freeRow = rows.find((r) => r.node.uuid === free)!;
    const usedRow = rows.find((r) => r.node.uuid === used)!;
    expect(freeRow.resources).toMatchObject({ vcpus: 8, vcpusUsed: 0, memoryMb: 16384, cpuArch: 'x86_64' });
    expect(freeRow.resources.stats).toMatchObject({ boot_mode: 'uefi', raid: 'yes', cpu_arch: 'x86_64' });
    // One host alone owns every unassigned node; a node holding an instance this host did not
    // deploy (no database) belongs to nobody here.
    expect(freeRow.owner).toBe('sched-a');
    expect(usedRow.owner).toBeNull();
    expect(usedRow.resources.vcpusUsed).toBe(8);

    const instances = await cli([
      '--ironic-url',
      base,
      '--db',
      '/nonexistent/ironledger.db',
      '--json',
      'instances',
    ]);
    expect(instances.code, instances.stderr).toBe(0);
    const mine = json<InstanceRow[]>(instances).find((r) => r.instance === instance);
    expect(mine).toMatchObject({ node: used, info: { numCpu: 8, memKb: 16384 * 1024 } });
    expect(mine?.info.state).toBe('running');
  });
});
