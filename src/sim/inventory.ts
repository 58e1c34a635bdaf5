// Every node, port and portgroup the simulator holds, with the indexes the API
// needs at 10,000 nodes: by UUID, by name, by instance UUID, and creation order
// (Ironic's default sort, `id` ascending) for limit/marker paging.
import type { ProvisionStateName } from '../ironic/states.js';
import type { SimNode, SimPort, SimPortgroup } from './node-record.js';

export class Inventory {
  /** Nodes in ascending `id`; deletion splices (rare), lookups use the maps. */
  readonly ordered: SimNode[] = [];
  private readonly byUuid = new Map<string, SimNode>();
  private readonly byName = new Map<string, SimNode>();
  private readonly byInstance = new Map<string, SimNode>();
  private readonly portsByUuid = new Map<string, SimPort>();
  private readonly portgroupsByUuid = new Map<string, SimPortgroup>();
  /** Nodes per provision state, for the conductor's concurrent action limit (Ironic counts in SQL). */
  private readonly perState = new Map<ProvisionStateName, number>();
  private nextId = 1;

  allocateId(): number {
    return this.nextId++;
  }

  add(node: SimNode): void {
    this.ordered.push(node);
    this.byUuid.set(node.uuid, node);
    if (node.name !== null) this.byName.set(node.name, node);
    if (node.instanceUuid !== null) this.byInstance.set(node.instanceUuid, node);
    this.bump(node.provisionState, 1);
  }

  /** Sets a held node's provision state, keeping the per-state counts. */
  setProvisionState(node: SimNode, to: ProvisionStateName): void {
    if (this.byUuid.get(node.uuid) === node) {
      this.bump(node.provisionState, -1);
      this.bump(to, 1);
    }
    node.provisionState = to;
  }

  /** How many nodes are in any of `states`. */
  countIn(states: Iterable<ProvisionStateName>): number {
    let n = 0;
    for (const s of states) n += this.perState.get(s) ?? 0;
    return n;
  }

  private bump(state: ProvisionStateName, by: number): void {
    this.perState.set(state, (this.perState.get(state) ?? 0) + by);
  }

  remove(node: SimNode): void {
    const i = this.indexAfter(node.id) - 1;
    if (this.ordered[i] === node) this.ordered.splice(i, 1);
    if (this.byUuid.get(node.uuid) === node) this.bump(node.provisionState, -1);
    this.byUuid.delete(node.uuid);
    if (node.name !== null) this.byName.delete(node.name);
    if (node.instanceUuid !== null) this.byInstance.delete(node.instanceUuid);
    for (const p of node.ports) this.portsByUuid.delete(p.uuid);
    for (const g of node.portgroups) this.portgroupsByUuid.delete(g.uuid);
  }

  get size(): number {
    return this.ordered.length;
  }

  /** Ironic resolves a path identifier as a UUID first, then as a logical name. */
  find(ident: string): SimNode | undefined {
    return this.byUuid.get(ident) ?? this.byName.get(ident);
  }

  byUuidOnly(uuid: string): SimNode | undefined {
    return this.byUuid.get(uuid);
  }

  nameTaken(name: string): boolean {
    return this.byName.has(name);
  }

  nodeWithInstance(instance: string): SimNode | undefined {
    return this.byInstance.get(instance);
  }

  rename(node: SimNode, name: string | null): void {
    if (node.name !== null) this.byName.delete(node.name);
    node.name = name;
    if (name !== null) this.byName.set(name, node);
  }

  setInstance(node: SimNode, instance: string | null): void {
    if (node.instanceUuid !== null && this.byInstance.get(node.instanceUuid) === node) {
      this.byInstance.delete(node.instanceUuid);
    }
    node.instanceUuid = instance;
    if (instance !== null) this.byInstance.set(instance, node);
  }

  /** Index of the first node whose id is greater than `id` (binary search). */
  indexAfter(id: number): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ordered[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  addPort(port: SimPort, node: SimNode): void {
    node.ports.push(port);
    this.portsByUuid.set(port.uuid, port);
  }

  addPortgroup(group: SimPortgroup, node: SimNode): void {
    node.portgroups.push(group);
    this.portgroupsByUuid.set(group.uuid, group);
  }

  portgroup(uuid: string): SimPortgroup | undefined {
    return this.portgroupsByUuid.get(uuid);
  }

  addressTaken(address: string): boolean {
    for (const p of this.portsByUuid.values()) if (p.address === address) return true;
    return false;
  }
}
