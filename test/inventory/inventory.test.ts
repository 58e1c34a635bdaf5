import { describe, it, expect } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import type { InventoryOptions } from '../../src/inventory/inventory.js';
import { HashRing } from '../../src/inventory/hash-ring.js';
import { IronicUnavailableError } from '../../src/ironic/errors.js';
import type { Node } from '../../src/ironic/types.js';
import { FakeIronic, makeNode, uuidFrom } from './fake-ironic.js';

const HOSTS = ['alpha', 'beta', 'gamma'];
const RING = new HashRing(HOSTS);

/** 300 free nodes plus 30 deployed ones: 10 instances per host, each placed on the ring elsewhere. */
function world(): { nodes: Node[]; managed: Map<string, Set<string>> } {
  const nodes: Node[] = [];
  const managed = new Map(HOSTS.map((h) => [h, new Set<string>()]));
  for (let i = 0; i < 300; i++) nodes.push(makeNode(`free-${i}`));
  for (let i = 0; nodes.length < 330; i++) {
    const node = makeNode(`busy-${i}`);
    const manager = HOSTS[i % 3] as string;
    if (RING.getHost(node.uuid) === manager) continue;
    const instance = uuidFrom(`instance-${i}`);
    managed.get(manager)?.add(instance);
    nodes.push({ ...node, instance_uuid: instance, provision_state: 'active', power_state: 'power on' });
  }
  return { nodes, managed };
}

function inventory(ironic: FakeIronic, host: string, extra: Partial<InventoryOptions> = {}): Inventory {
  return new Inventory({
    ironic,
    host,
    liveHosts: () => HOSTS,
    managedInstances: () => new Set<string>(),
    ...extra,
  });
}

describe('Inventory.availableNodes (seed: get_available_nodes, _refresh_cache)', () => {
  it('splits all nodes between the live hosts with none claimed twice, each with one paged list', async () => {
    const { nodes, managed } = world();
    const ironic = new FakeIronic(nodes);
    const claimed = new Map<string, string>();
    for (const host of HOSTS) {
      const inv = inventory(ironic, host, { managedInstances: () => managed.get(host) ?? new Set() });
      for (const uuid of await inv.availableNodes()) {
        expect(claimed.has(uuid)).toBe(false);
        claimed.set(uuid, host);
      }
    }
    expect(claimed.size).toBe(nodes.length);
    expect(ironic.calls.listNodes).toBe(3);
    expect(ironic.listFilters.every((f) => f.limit === 0)).toBe(true);
    // Each deployed node went to the scheduler that manages its instance, not its ring host.
    for (const node of nodes.filter((n) => n.instance_uuid !== null)) {
      expect(managed.get(claimed.get(node.uuid) as string)?.has(node.instance_uuid as string)).toBe(true);
    }
  });

  it("never claims a node holding another scheduler's instance", async () => {
    const { nodes } = world();
    const inv = inventory(new FakeIronic(nodes), 'alpha');
    const owned = new Set(await inv.availableNodes());
    expect(nodes.filter((n) => n.instance_uuid !== null && owned.has(n.uuid))).toEqual([]);
  });

  it('counts itself alive even when the embedder forgets it', async () => {
    const nodes = Array.from({ length: 60 }, (_, i) => makeNode(`n-${i}`));
    const inv = inventory(new FakeIronic(nodes), 'alpha', { liveHosts: () => ['beta', 'gamma'] });
    const owned = await inv.availableNodes();
    expect(owned.length).toBeGreaterThan(0);
    expect(owned.sort()).toEqual(
      nodes
        .filter((n) => RING.getHost(n.uuid) === 'alpha')
        .map((n) => n.uuid)
        .sort(),
    );
  });

  it('takes over the nodes of a host that left, and only those', async () => {
    const nodes = Array.from({ length: 300 }, (_, i) => makeNode(`n-${i}`));
    let live = HOSTS;
    const inv = inventory(new FakeIronic(nodes), 'alpha', { liveHosts: () => live });
    const before = new Set(await inv.availableNodes());
    live = ['alpha', 'beta'];
    const after = new Set(await inv.availableNodes());
    const gained = [...after].filter((u) => !before.has(u));
    expect([...before].every((u) => after.has(u))).toBe(true);
    expect(gained.length).toBeGreaterThan(0);
    expect(gained.every((u) => RING.getHost(u) === 'gamma')).toBe(true);
  });

  it('shares one node list between concurrent refreshes', async () => {
    const ironic = new FakeIronic(world().nodes);
    const inv = inventory(ironic, 'alpha');
    const [a, b] = await Promise.all([inv.availableNodes(), inv.availableNodes(), inv.refresh()]);
    expect(a).toEqual(b);
    expect(ironic.calls.listNodes).toBe(1);
  });
});

describe('Inventory cache age and failures', () => {
  it('has no age before the first refresh, then the time since it', async () => {
    let now = 1_000;
    const inv = inventory(new FakeIronic(world().nodes), 'alpha', { now: () => now });
    expect(inv.cacheAge()).toBeNull();
    await inv.refresh();
    now = 4_500;
    expect(inv.cacheAge()).toBe(3_500);
  });

  it('keeps the previous cache when a refresh fails, and lets its age grow', async () => {
    let now = 0;
    const { nodes } = world();
    const ironic = new FakeIronic(nodes);
    const inv = inventory(ironic, 'alpha', { now: () => now });
    const owned = await inv.availableNodes();
    ironic.failWith = new IronicUnavailableError('Service Unavailable', { status: 503 });
    now = 10_000;
    await expect(inv.refresh()).rejects.toMatchObject({ code: 'IRONIC_UNAVAILABLE' });
    expect(inv.cacheAge()).toBe(10_000);
    ironic.failWith = null;
    expect(await inv.nodeIsAvailable(owned[0] as string)).toBe(true);
    expect(ironic.calls.getNode).toBe(0);
  });

  it('keeps ownership as of the refresh when the embedder changes its managed set afterwards', async () => {
    const instance = uuidFrom('late');
    const node = makeNode('late', { instance_uuid: instance, provision_state: 'active' });
    const managed = new Set<string>();
    const inv = inventory(new FakeIronic([node]), 'alpha', { managedInstances: () => managed });
    await inv.refresh();
    managed.add(instance);
    expect(inv.ownerOf(node)).toBeNull();
    await inv.refresh();
    expect(inv.ownerOf(node)).toBe('alpha');
  });

  it('refuses ownership questions before the first refresh', () => {
    const inv = inventory(new FakeIronic([]), 'alpha');
    expect(() => inv.ownerOf(makeNode('x'))).toThrow(
      expect.objectContaining({ code: 'INVENTORY_NOT_REFRESHED' }),
    );
  });
});

describe('Inventory.nodeIsAvailable (seed: node_is_available)', () => {
  const nodes = Array.from({ length: 60 }, (_, i) => makeNode(`n-${i}`));
  const ours = nodes.find((n) => RING.getHost(n.uuid) === 'alpha') as Node;
  const theirs = nodes.find((n) => RING.getHost(n.uuid) === 'beta') as Node;

  it('fills an empty cache with one list, then answers for its own node without a GET', async () => {
    const ironic = new FakeIronic(nodes);
    const inv = inventory(ironic, 'alpha');
    expect(await inv.nodeIsAvailable(ours.uuid)).toBe(true);
    expect(await inv.nodeIsAvailable(ours.uuid)).toBe(true);
    expect(ironic.calls).toEqual({ listNodes: 1, getNode: 0, getNodeByInstance: 0 });
  });

  it("falls back to one GET for a node outside the cache (another host's)", async () => {
    const ironic = new FakeIronic(nodes);
    const inv = inventory(ironic, 'alpha');
    expect(await inv.nodeIsAvailable(theirs.uuid)).toBe(true);
    expect(ironic.calls).toEqual({ listNodes: 1, getNode: 1, getNodeByInstance: 0 });
  });

  it('answers false when the fallback GET finds no such node (404)', async () => {
    const ironic = new FakeIronic(nodes);
    const inv = inventory(ironic, 'alpha');
    await inv.refresh();
    expect(await inv.nodeIsAvailable(uuidFrom('deleted-node'))).toBe(false);
    expect(ironic.calls.getNode).toBe(1);
  });

  it('lets other Ironic failures of the fallback GET through', async () => {
    const ironic = new FakeIronic(nodes);
    const inv = inventory(ironic, 'alpha');
    await inv.refresh();
    ironic.failWith = new IronicUnavailableError('Service Unavailable', { status: 503 });
    await expect(inv.nodeIsAvailable(theirs.uuid)).rejects.toMatchObject({ code: 'IRONIC_UNAVAILABLE' });
  });
});

describe('Inventory.resource (seed: get_available_resource)', () => {
  const nodes = Array.from({ length: 60 }, (_, i) =>
    makeNode(`n-${i}`, { properties: { cpus: 4 + (i % 3), cpu_arch: 'x86_64' } }),
  );
  const ours = nodes.find((n) => RING.getHost(n.uuid) === 'alpha') as Node;
  const theirs = nodes.find((n) => RING.getHost(n.uuid) === 'beta') as Node;

  it('computes resources of its own node from the cache, hypervisor version from the microversion', async () => {
    const ironic = new FakeIronic(nodes, '1.82');
    const r = await inventory(ironic, 'alpha').resource(ours.uuid);
    expect(r).toMatchObject({
      hypervisorHostname: ours.uuid,
      vcpus: ours.properties?.['cpus'],
      hypervisorVersion: 1,
    });
    expect(ironic.calls.getNode).toBe(0);
  });

  it('fetches a node outside the cache with one GET that includes instance_info', async () => {
    const deployed = {
      ...theirs,
      instance_uuid: uuidFrom('i'),
      instance_info: { vcpus: 2, memory_mb: 1024, local_gb: 10 },
    };
    const ironic = new FakeIronic(nodes.map((n) => (n.uuid === theirs.uuid ? deployed : n)));
    const r = await inventory(ironic, 'alpha').resource(theirs.uuid);
    expect([r.vcpusUsed, r.memoryMbUsed, r.localGbUsed]).toEqual([2, 1024, 10]);
    expect(ironic.calls.getNode).toBe(1);
  });

  it('routes malformed node data to the warn callback', async () => {
    const broken = makeNode('broken', { properties: { cpus: 'many', cpu_arch: 'x86_64' } });
    const messages: string[] = [];
    const inv = inventory(new FakeIronic([broken]), 'alpha', { warn: (m) => messages.push(m) });
    expect((await inv.resource(broken.uuid)).vcpus).toBe(0);
    expect(messages).toEqual([expect.stringContaining('malformed properties.cpus')]);
  });
});

describe('Inventory.nodes (for `ironledger nodes`)', () => {
  it('lists every node with its owner and resources, marking the ones this host manages', async () => {
    const { nodes, managed } = world();
    const inv = inventory(new FakeIronic(nodes), 'beta', {
      managedInstances: () => managed.get('beta') ?? new Set(),
    });
    const rows = await inv.nodes();
    expect(rows).toHaveLength(nodes.length);
    const owned = new Set(await inv.availableNodes());
    for (const row of rows) {
      expect(row.owned).toBe(owned.has(row.node.uuid));
      expect(row.owner).toBe(inv.ownerOf(row.node));
      expect(row.resources.hypervisorHostname).toBe(row.node.uuid);
    }
    const othersInstances = nodes.filter(
      (n) => n.instance_uuid !== null && !managed.get('beta')?.has(n.instance_uuid),
    );
    expect(othersInstances.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.owner === null).map((r) => r.node.uuid)).toEqual(
      othersInstances.map((n) => n.uuid),
    );
  });
});

describe('Inventory instance queries (seed: list_instance_uuids, instance_exists, get_info)', () => {
  it('lists the instance of every associated node beyond the first page', async () => {
    const nodes = Array.from({ length: 2500 }, (_, i) =>
      makeNode(
        `n-${i}`,
        i % 2 === 0 ? { instance_uuid: uuidFrom(`inst-${i}`), provision_state: 'active' } : {},
      ),
    );
    const uuids = await inventory(new FakeIronic(nodes), 'alpha').listInstanceUuids();
    expect(uuids.sort()).toEqual(nodes.flatMap((n) => (n.instance_uuid ? [n.instance_uuid] : [])).sort());
    expect(uuids).toHaveLength(1250);
  });

  it('says whether a node holds an instance (404 is false, not an error)', async () => {
    const held = uuidFrom('held');
    const inv = inventory(new FakeIronic([makeNode('a', { instance_uuid: held })]), 'alpha');
    expect(await inv.instanceExists(held)).toBe(true);
    expect(await inv.instanceExists(uuidFrom('gone'))).toBe(false);
  });

  it('lets an outage through instanceExists rather than calling the instance gone', async () => {
    const ironic = new FakeIronic([]);
    ironic.failWith = new IronicUnavailableError('Service Unavailable', { status: 503 });
    await expect(inventory(ironic, 'alpha').instanceExists(uuidFrom('x'))).rejects.toMatchObject({
      code: 'IRONIC_UNAVAILABLE',
    });
  });

  const instance = uuidFrom('vm');
  const table: Array<{
    power: Node['power_state'];
    props: Node['properties'];
    expected: object;
    warnings: number;
  }> = [
    {
      power: 'power on',
      props: { cpus: 16, memory_mb: 65536, cpu_arch: 'x86_64' },
      expected: { state: 'running', maxMemKb: 65536 * 1024, memKb: 65536 * 1024, numCpu: 16 },
      warnings: 0,
    },
    {
      power: 'power off',
      props: { cpus: 2, memory_mb: 512, cpu_arch: 'x86_64' },
      expected: { state: 'shutdown', maxMemKb: 524288, memKb: 524288, numCpu: 2 },
      warnings: 0,
    },
    {
      power: 'rebooting',
      props: { cpus: 2, memory_mb: 512, cpu_arch: 'x86_64' },
      expected: { state: 'nostate', numCpu: 2 },
      warnings: 1,
    },
    {
      power: 'power on',
      props: { cpu_arch: 'x86_64' },
      expected: { state: 'running', maxMemKb: 0, memKb: 0, numCpu: 0 },
      warnings: 2,
    },
  ];
  for (const c of table) {
    it(`reports power ${c.power} with properties ${JSON.stringify(c.props)} as ${JSON.stringify(c.expected)}`, async () => {
      const messages: string[] = [];
      const ironic = new FakeIronic([
        makeNode('vm', { instance_uuid: instance, power_state: c.power, properties: c.props }),
      ]);
      const info = await inventory(ironic, 'alpha', { warn: (m) => messages.push(m) }).getInfo(instance);
      expect(info).toMatchObject(c.expected);
      expect(messages).toHaveLength(c.warnings);
    });
  }

  it('reports an instance no node holds as nostate with nothing', async () => {
    const info = await inventory(new FakeIronic([]), 'alpha').getInfo(instance);
    expect(info).toEqual({ state: 'nostate', maxMemKb: 0, memKb: 0, numCpu: 0 });
  });
});

describe('Inventory.instances (for `ironledger instances`)', () => {
  it('lists every held instance with its node, power state, size and manager in one paged list', async () => {
    const mine = uuidFrom('mine');
    const other = uuidFrom('other');
    const nodes = [
      makeNode('a', { instance_uuid: mine, provision_state: 'active', power_state: 'power on' }),
      makeNode('b', { instance_uuid: other, provision_state: 'deploying', power_state: 'power off' }),
      ...Array.from({ length: 1500 }, (_, i) => makeNode(`free-${i}`)),
    ];
    const ironic = new FakeIronic(nodes);
    const rows = await inventory(ironic, 'alpha', { managedInstances: () => new Set([mine]) }).instances();
    expect(rows).toEqual([
      {
        instance: mine,
        node: nodes[0]?.uuid,
        nodeName: 'node-a',
        provisionState: 'active',
        maintenance: false,
        owner: 'alpha',
        info: { state: 'running', maxMemKb: 16384 * 1024, memKb: 16384 * 1024, numCpu: 8 },
      },
      {
        instance: other,
        node: nodes[1]?.uuid,
        nodeName: 'node-b',
        provisionState: 'deploying',
        maintenance: false,
        owner: null,
        info: { state: 'shutdown', maxMemKb: 16384 * 1024, memKb: 16384 * 1024, numCpu: 8 },
      },
    ]);
    expect(ironic.calls).toEqual({ listNodes: 1, getNode: 0, getNodeByInstance: 0 });
  });
});
