// The inventory against the simulator over HTTP, through the real client: paging, the one
// list per refresh, and the GETs the seed's fallbacks make, counted from the simulator's log.
import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { IronicClient } from '../../src/ironic/client.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { HashRing } from '../../src/inventory/hash-ring.js';
import { uuidFrom } from './fake-ironic.js';

const HOSTS = ['alpha', 'beta', 'gamma'];
const RING = new HashRing(HOSTS);
const FREE = 1_100; // more than Ironic's page of 1000, so every list needs a second page
const MINE = uuidFrom('sim-instance-alpha');
const THEIRS = uuidFrom('sim-instance-beta');

let sim: Simulator;
let client: IronicClient;
let deployedMine: string;
let deployedTheirs: string;
let maintenanceNode: string;

function inventory(host: string, managed: string[] = []): Inventory {
  return new Inventory({
    ironic: client,
    host,
    liveHosts: () => HOSTS,
    managedInstances: () => new Set(managed),
  });
}

function requestsSince(mark: number): string[] {
  return sim
    .requests()
    .slice(mark)
    .map((r) => `${r.method} ${r.path.split('?')[0]}`);
}

beforeAll(async () => {
  sim = await startSimulator({ nodes: 0, seed: 8 });
  const properties = {
    cpus: 32,
    memory_mb: 131072,
    local_gb: 960,
    cpu_arch: 'x86_64',
    capabilities: 'boot_mode:uefi',
  };
  for (let i = 0; i < FREE; i++) sim.addNode({ properties });
  // A deployed node whose ring host is not its manager: ownership must follow the instance.
  let i = 0;
  const onRingOf = (host: string, not: boolean): string => {
    for (; ; i++) {
      const uuid = uuidFrom(`sim-deployed-${i}`);
      if ((RING.getHost(uuid) === host) !== not) return uuid;
    }
  };
  const deployed = { provisionState: 'active', powerState: 'power on', properties } as const;
  deployedMine = sim.addNode({
    ...deployed,
    uuid: onRingOf('alpha', true),
    instanceUuid: MINE,
    instanceInfo: { vcpus: 8, memory_mb: 32768, local_gb: 100 },
  }).uuid;
  deployedTheirs = sim.addNode({ ...deployed, uuid: onRingOf('alpha', false), instanceUuid: THEIRS }).uuid;
  maintenanceNode = sim.addNode({ properties, maintenance: true, maintenanceReason: 'disk swap' }).uuid;
  client = await IronicClient.connect({ url: sim.url, retryIntervalMs: 10, maxRetries: 1 });
});

afterAll(async () => {
  await client?.close();
  await sim?.close();
});

describe('Inventory on the simulator (seed: _refresh_cache, get_available_nodes)', () => {
  it('refreshes with one paged node list and splits every node between the three hosts', async () => {
    const owners = new Map<string, string>();
    for (const [host, managed] of [
      ['alpha', [MINE]],
      ['beta', [THEIRS]],
      ['gamma', []],
    ] as const) {
      const mark = sim.requests().length;
      for (const uuid of await inventory(host, [...managed]).availableNodes()) {
        expect(owners.get(uuid)).toBeUndefined();
        owners.set(uuid, host);
      }
      expect(requestsSince(mark)).toEqual(['GET /v1/nodes', 'GET /v1/nodes']);
    }
    expect(owners.size).toBe(FREE + 3);
    expect(owners.get(deployedMine)).toBe('alpha');
    expect(owners.get(deployedTheirs)).toBe('beta');
  });

  it('reports a cached deployed node as used per instance_info and the maintenance node as empty', async () => {
    const inv = inventory('alpha', [MINE]);
    await inv.refresh();
    const mark = sim.requests().length;
    const used = await inv.resource(deployedMine);
    expect(requestsSince(mark)).toEqual([]);
    expect(used).toMatchObject({
      vcpus: 0,
      vcpusUsed: 8,
      memoryMbUsed: 32768,
      localGbUsed: 100,
      hypervisorVersion: 1,
    });
    const rows = await inv.nodes();
    const maintenance = rows.find((r) => r.node.uuid === maintenanceNode);
    expect(maintenance?.resources).toMatchObject({ vcpus: 0, memoryMb: 0, localGb: 0 });
    const free = rows.find((r) => r.node.instance_uuid === null && !r.node.maintenance);
    expect(free?.resources).toMatchObject({
      vcpus: 32,
      memoryMb: 131072,
      localGb: 960,
      stats: { boot_mode: 'uefi' },
    });
  });

  it('answers nodeIsAvailable from the cache, else with one GET, and false for a deleted node', async () => {
    const inv = inventory('alpha', [MINE]);
    await inv.refresh();
    let mark = sim.requests().length;
    expect(await inv.nodeIsAvailable(deployedMine)).toBe(true);
    expect(requestsSince(mark)).toEqual([]);
    mark = sim.requests().length;
    expect(await inv.nodeIsAvailable(deployedTheirs)).toBe(true);
    expect(requestsSince(mark)).toEqual([`GET /v1/nodes/${deployedTheirs}`]);
    mark = sim.requests().length;
    expect(await inv.nodeIsAvailable(uuidFrom('never-enrolled'))).toBe(false);
    expect(requestsSince(mark)).toHaveLength(1);
  });
});

describe('Instance queries on the simulator (seed: list_instance_uuids, instance_exists, get_info)', () => {
  it('lists both instances from the associated nodes', async () => {
    expect((await inventory('gamma').listInstanceUuids()).sort()).toEqual([MINE, THEIRS].sort());
  });

  it('knows which instances exist and how they run', async () => {
    const inv = inventory('alpha', [MINE]);
    expect(await inv.instanceExists(MINE)).toBe(true);
    expect(await inv.instanceExists(uuidFrom('gone'))).toBe(false);
    expect(await inv.getInfo(MINE)).toEqual({
      state: 'running',
      maxMemKb: 131072 * 1024,
      memKb: 131072 * 1024,
      numCpu: 32,
    });
    expect(await inv.getInfo(uuidFrom('gone'))).toEqual({
      state: 'nostate',
      maxMemKb: 0,
      memKb: 0,
      numCpu: 0,
    });
  });

  it('builds the instance table from the associated nodes with their managers', async () => {
    const rows = await inventory('alpha', [MINE]).instances();
    expect(rows.map((r) => [r.instance, r.node, r.owner, r.info.state]).sort()).toEqual(
      [
        [MINE, deployedMine, 'alpha', 'running'],
        [THEIRS, deployedTheirs, null, 'running'],
      ].sort(),
    );
  });
});
