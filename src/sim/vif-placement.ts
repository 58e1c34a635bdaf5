// Where a VIF attach lands on a port-tracking network interface (flat, neutron): Ironic's
// get_free_port_like_object and _get_free_portgroups_and_ports in
// drivers/modules/network/common.py, for VIFs without physical networks (the simulator's ports
// have none, so Ironic's physnet filter and physnet-first ordering change nothing).
import { Fault } from './api-error.js';
import type { SimNode, SimPort, SimPortgroup } from './node-record.js';

const VIF_KEY = 'tenant_vif_port_id';

/**
 * The port or portgroup `vif` would be attached to, or undefined when nothing is free (Ironic's
 * NoFreePhysicalPorts). Throws VifAlreadyAttached when `vif` is already on one of them.
 */
export function freePortLike(node: SimNode, vif: string): SimPort | SimPortgroup | undefined {
  const freePorts: SimPort[] = [];
  const freeByGroup = new Map<string, SimPort[]>();
  // Portgroups with a VIF on one of their member ports: Ironic offers their free ports one by
  // one instead of the whole group, so two VIFs never share a bond.
  const groupsWithBusyPort = new Set<string>();
  for (const p of node.ports) {
    if (isAttached(p, 'Port', vif)) {
      if (p.portgroupUuid !== null) groupsWithBusyPort.add(p.portgroupUuid);
      continue;
    }
    if (p.portgroupUuid === null) freePorts.push(p);
    else freeByGroup.set(p.portgroupUuid, [...(freeByGroup.get(p.portgroupUuid) ?? []), p]);
  }
  const freeGroups: SimPortgroup[] = [];
  const portsOfBusyGroups: SimPort[] = [];
  for (const g of node.portgroups) {
    if (isAttached(g, 'Portgroup', vif)) continue;
    const members = freeByGroup.get(g.uuid) ?? [];
    if (groupsWithBusyPort.has(g.uuid)) portsOfBusyGroups.push(...members);
    // "Also ignore empty portgroups": a group without ports cannot carry traffic.
    else if (members.length > 0) freeGroups.push(g);
  }
  // Ironic sorts the candidates portgroups first (a stable sort, so each kind keeps its order);
  // every simulated port has pxe_enabled true, so ports keep their order among themselves.
  return freeGroups[0] ?? freePorts[0] ?? portsOfBusyGroups[0];
}

/** Ironic's _vif_attached: whether another VIF holds the object; the same VIF is a 409. */
function isAttached(obj: SimPort | SimPortgroup, type: 'Port' | 'Portgroup', vif: string): boolean {
  const held = obj.internalInfo[VIF_KEY];
  if (held === vif) throw Fault.vifAlreadyAttached(vif, type, obj.uuid);
  return held !== undefined && held !== null;
}

/** The VIFs on a node, ports first, then portgroups, in the order Ironic's vif_list reports them. */
export function attachedVifs(node: SimNode): string[] {
  const out: string[] = [];
  for (const obj of [...node.ports, ...node.portgroups]) {
    const held = obj.internalInfo[VIF_KEY];
    if (typeof held === 'string') out.push(held);
  }
  return out;
}
