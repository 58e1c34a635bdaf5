// The scheduler-facing inventory (seed: get_available_nodes, get_available_resource,
// node_is_available, _refresh_cache, list_instance_uuids, instance_exists, get_info): which
// Ironic nodes this scheduler process manages, what each offers, and what Ironic says about
// instances. One paged node list per refresh; single-node GETs only where the seed falls back.
import { isIronicError } from '../ironic/errors.js';
import { mapPowerState, nodeResources, parseNodeProperties } from '../ironic/resources.js';
import type { InstancePowerState, NodeResources, WarnFn } from '../ironic/resources.js';
import { NODE_FIELDS } from '../ironic/types.js';
import type { CallOptions, IronicApi, Node, NodeField, Uuid } from '../ironic/types.js';
import { InventoryNotRefreshedError } from './errors.js';
import { HashRing } from './hash-ring.js';
import type { HashRingOptions } from './hash-ring.js';
import { ownerOf } from './ownership.js';

export interface InventoryOptions {
  ironic: IronicApi;
  /** This scheduler process's host name. */
  host: string;
  /** The scheduler hosts currently alive. `host` is added when missing: a new host is alive. */
  liveHosts: () => Iterable<string> | Promise<Iterable<string>>;
  /** The instances this host manages. */
  managedInstances: () => ReadonlySet<Uuid> | Promise<ReadonlySet<Uuid>>;
  /** Problems in node data and unknown states; never thrown. */
  warn?: WarnFn;
  ring?: HashRingOptions;
  /** Reported in resources; defaults to the major version of the negotiated microversion. */
  hypervisorVersion?: number;
  /** Clock for cacheAge(), in ms. */
  now?: () => number;
}

/** One node as the last refresh saw it, with its owner and resources (for `ironledger nodes`). */
export interface InventoryNode {
  node: Node;
  /** The host managing it, or null when another scheduler's instance holds it. */
  owner: string | null;
  /** owner === this host. */
  owned: boolean;
  resources: NodeResources;
}

/** An instance's state as the scheduler reports it (seed: get_info, hardware.InstanceInfo). */
export interface InstanceInfo {
  state: InstancePowerState;
  maxMemKb: number;
  memKb: number;
  numCpu: number;
}

/** One instance as Ironic holds it (for `ironledger instances`). */
export interface InventoryInstance {
  instance: Uuid;
  node: Uuid;
  nodeName: string | null;
  provisionState: Node['provision_state'];
  maintenance: boolean;
  /** This host when it manages the instance, else null (another scheduler's, or nobody's). */
  owner: string | null;
  info: InstanceInfo;
}

/** What the instance table needs of each associated node, in one paged list. */
const INSTANCE_FIELDS: readonly NodeField[] = [
  'uuid',
  'name',
  'instance_uuid',
  'power_state',
  'provision_state',
  'maintenance',
  'properties',
];

/**
 * What ownership, resources and the node table need: the seed's fields plus the sizes as
 * deployed, the resource class, the name and the conductor lock. The seed lists
 * `/v1/nodes/detail`; asking for these fields instead carries about a third of the bytes
 * (driver_info, links, interfaces, ... left out), and a 10,000-node refresh on the simulator
 * takes about a third of the time (bench/inventory.mjs).
 */
const INVENTORY_FIELDS: readonly NodeField[] = [
  ...NODE_FIELDS,
  'name',
  'instance_info',
  'resource_class',
  'reservation',
];

interface Snapshot {
  ring: HashRing;
  managedInstances: ReadonlySet<Uuid>;
  /** Every node Ironic listed, in its order. */
  nodes: Node[];
  /** The nodes this host manages, by UUID. */
  owned: Map<Uuid, Node>;
  at: number;
}

export class Inventory {
  private readonly ironic: IronicApi;
  private readonly host: string;
  private readonly liveHosts: InventoryOptions['liveHosts'];
  private readonly managedInstances: InventoryOptions['managedInstances'];
  private readonly warn: WarnFn;
  private readonly ringOptions: HashRingOptions;
  private readonly hypervisorVersion: number;
  private readonly now: () => number;
  private snapshot: Snapshot | null = null;
  private inflight: Promise<void> | null = null;

  constructor(opts: InventoryOptions) {
    this.ironic = opts.ironic;
    this.host = opts.host;
    this.liveHosts = opts.liveHosts;
    this.managedInstances = opts.managedInstances;
    this.warn = opts.warn ?? (() => {});
    this.ringOptions = opts.ring ?? {};
    this.hypervisorVersion = opts.hypervisorVersion ?? majorVersion(opts.ironic.microversion);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Re-read every node (one paged `GET /v1/nodes?fields=...`), the live hosts and the managed
   * instances, and recompute ownership. Concurrent calls share one refresh. On failure the
   * previous cache stays and its age keeps growing.
   */
  refresh(opts: CallOptions = {}): Promise<void> {
    this.inflight ??= this.load(opts).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Milliseconds since the last successful refresh, or null before the first. */
  cacheAge(): number | null {
    return this.snapshot === null ? null : this.now() - this.snapshot.at;
  }

  /** UUIDs of the nodes this host manages, after a refresh (seed: get_available_nodes). */
  async availableNodes(): Promise<Uuid[]> {
    await this.refresh();
    return [...this.current().owned.keys()];
  }

  /**
   * Whether Ironic has this node (seed: node_is_available). A stale yes from the cache is fine:
   * the caller only needs to know the node was not deleted long ago. Otherwise one GET.
   */
  async nodeIsAvailable(uuid: Uuid): Promise<boolean> {
    const snapshot = await this.cached();
    if (snapshot.owned.has(uuid)) return true;
    try {
      await this.ironic.getNode(uuid, { fields: ['uuid'] });
      return true;
    } catch (err) {
      if (isIronicError(err, 'IRONIC_NOT_FOUND')) return false;
      throw err;
    }
  }

  /** A node's resources, from the cache when this host manages it, else one GET (seed: get_available_resource). */
  async resource(uuid: Uuid): Promise<NodeResources> {
    const snapshot = await this.cached();
    const node = snapshot.owned.get(uuid) ?? (await this.ironic.getNode(uuid, { fields: INVENTORY_FIELDS }));
    return this.resourcesOf(node);
  }

  /** The host managing `node` as of the last refresh; null when another scheduler's instance holds it. */
  ownerOf(node: Pick<Node, 'uuid' | 'instance_uuid'>): string | null {
    const snapshot = this.current();
    return ownerOf(node, {
      host: this.host,
      ring: snapshot.ring,
      managedInstances: snapshot.managedInstances,
    });
  }

  /** Every node of the last refresh (refreshing first if there was none) with owner and resources. */
  async nodes(): Promise<InventoryNode[]> {
    const snapshot = await this.cached();
    const view = { host: this.host, ring: snapshot.ring, managedInstances: snapshot.managedInstances };
    return snapshot.nodes.map((node) => {
      const owner = ownerOf(node, view);
      return { node, owner, owned: owner === this.host, resources: this.resourcesOf(node) };
    });
  }

  /** Instances Ironic has on any node, all pages (seed: list_instance_uuids). */
  async listInstanceUuids(opts: CallOptions = {}): Promise<Uuid[]> {
    const nodes = await this.ironic.listNodes(
      { associated: true, fields: ['uuid', 'instance_uuid'], limit: 0 },
      opts,
    );
    return nodes.flatMap((node) => (node.instance_uuid === null ? [] : [node.instance_uuid]));
  }

  /**
   * Every instance Ironic holds with its node, state and size, from one paged list of the
   * associated nodes rather than a GET per instance.
   */
  async instances(opts: CallOptions = {}): Promise<InventoryInstance[]> {
    const [nodes, managed] = await Promise.all([
      this.ironic.listNodes({ associated: true, fields: INSTANCE_FIELDS, limit: 0 }, opts),
      this.managedInstances(),
    ]);
    return nodes.flatMap((node) => {
      const instance = node.instance_uuid;
      if (instance === null) return [];
      return [
        {
          instance,
          node: node.uuid,
          nodeName: node.name ?? null,
          provisionState: node.provision_state,
          maintenance: node.maintenance,
          owner: managed.has(instance) ? this.host : null,
          info: this.infoOf(instance, node),
        },
      ];
    });
  }

  /** Whether a node holds this instance (seed: instance_exists). */
  async instanceExists(instance: Uuid, opts: CallOptions = {}): Promise<boolean> {
    try {
      await this.ironic.getNodeByInstance(instance, { ...opts, fields: ['uuid', 'instance_uuid'] });
      return true;
    } catch (err) {
      if (isIronicError(err, 'IRONIC_NOT_FOUND')) return false;
      throw err;
    }
  }

  /**
   * The instance's power state and size from its node (seed: get_info). An instance no node
   * holds is `nostate` with zero sizes, not an error: the scheduler asks about instances that
   * are being deleted.
   */
  async getInfo(instance: Uuid, opts: CallOptions = {}): Promise<InstanceInfo> {
    let node: Node;
    try {
      node = await this.ironic.getNodeByInstance(instance, { ...opts, fields: NODE_FIELDS });
    } catch (err) {
      if (isIronicError(err, 'IRONIC_NOT_FOUND'))
        return { state: 'nostate', maxMemKb: 0, memKb: 0, numCpu: 0 };
      throw err;
    }
    return this.infoOf(instance, node);
  }

  private infoOf(instance: Uuid, node: Node): InstanceInfo {
    const properties = parseNodeProperties(node, this.warn);
    const memKb = properties.memoryMb * 1024;
    if (memKb === 0) {
      this.warn(`Instance ${instance} on node ${node.uuid} reports 0 memory`, { instance, node: node.uuid });
    }
    if (properties.cpus === 0) {
      this.warn(`Instance ${instance} on node ${node.uuid} reports 0 CPUs`, { instance, node: node.uuid });
    }
    return {
      state: mapPowerState(node.power_state, this.warn),
      maxMemKb: memKb,
      memKb,
      numCpu: properties.cpus,
    };
  }

  private resourcesOf(node: Node): NodeResources {
    return nodeResources(node, { hypervisorVersion: this.hypervisorVersion, warn: this.warn });
  }

  private current(): Snapshot {
    if (this.snapshot === null) throw new InventoryNotRefreshedError(this.host);
    return this.snapshot;
  }

  /** The cache, filled first when it never was (seed: "if not self.node_cache"). */
  private async cached(): Promise<Snapshot> {
    if (this.snapshot === null) await this.refresh();
    return this.current();
  }

  private async load(opts: CallOptions): Promise<void> {
    const [hosts, managed, nodes] = await Promise.all([
      this.liveHosts(),
      this.managedInstances(),
      this.ironic.listNodes({ fields: INVENTORY_FIELDS, limit: 0 }, opts),
    ]);
    // A copy: the embedder's set keeps changing, the snapshot must describe one moment.
    const managedInstances: ReadonlySet<Uuid> = new Set(managed);
    const ring = this.ringFor(hosts);
    const owned = new Map<Uuid, Node>();
    for (const node of nodes) {
      if (ownerOf(node, { host: this.host, ring, managedInstances }) === this.host)
        owned.set(node.uuid, node);
    }
    this.snapshot = { ring, managedInstances, nodes, owned, at: this.now() };
  }

  /** The ring for these hosts, reusing the last one when the set of hosts has not changed. */
  private ringFor(hosts: Iterable<string>): HashRing {
    const names = [...new Set([...hosts, this.host])].sort();
    const previous = this.snapshot?.ring;
    if (
      previous &&
      previous.hosts.length === names.length &&
      previous.hosts.every((h, i) => h === names[i])
    ) {
      return previous;
    }
    return new HashRing(names, this.ringOptions);
  }
}

function majorVersion(microversion: string): number {
  const major = Number.parseInt(microversion.split('.')[0] ?? '', 10);
  return Number.isInteger(major) && major > 0 ? major : 1;
}
