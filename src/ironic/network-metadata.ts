// network_data.json for the config drive (seed: _get_network_metadata over Nova's
// netutils.get_network_metadata). First the generic view of the instance's VIFs; then
// Ironic's knowledge of the wiring: a VIF attached to a portgroup becomes a bond of the
// group's ports, a VIF attached to a plain port becomes that physical NIC, with the MAC
// Ironic actually has (Ironic rewrites the Neutron port's MAC on attach).
import type {
  Json,
  NetworkData,
  NetworkEntry,
  NetworkLink,
  NetworkRoute,
  NetworkService,
  NetworkVif,
  Port,
  Portgroup,
  VifIp,
} from './types.js';

/**
 * Neutron binds bare-metal ports with vif_type "other": a link nobody has matched to a
 * port or portgroup keeps that type.
 */
export const UNMATCHED_LINK_TYPE = 'other';

export function buildNetworkMetadata(args: {
  vifs: readonly NetworkVif[];
  ports: readonly Port[];
  portgroups: readonly Portgroup[];
}): NetworkData {
  const data = baseNetworkData(args.vifs);
  const portByVif = byAttachedVif(args.ports);
  const groupByVif = byAttachedVif(args.portgroups);
  const memberLinks: NetworkLink[] = [];
  for (const link of data.links) {
    const vifId = link.vif_id;
    if (vifId === undefined) continue;
    const group = groupByVif.get(vifId);
    const port = portByVif.get(vifId);
    if (group !== undefined) {
      const members = args.ports.filter((p) => p.portgroup_uuid === group.uuid);
      link.type = 'bond';
      link.bond_mode = group.mode;
      // With an address on the portgroup, Ironic's VIF attach already gave it to Neutron.
      if (group.address) link.ethernet_mac_address = group.address;
      for (const [key, value] of Object.entries(group.properties)) {
        // cloud-init only reads bonding options whose names start with "bond".
        link[key.startsWith('bond') ? key : `bond_${key}`] = value;
      }
      link.bond_links = members.map((p) => p.uuid);
      // A port belongs to at most one portgroup, so no member is listed twice.
      memberLinks.push(...members.map((p) => ({ id: p.uuid, type: 'phy', ethernet_mac_address: p.address })));
    } else if (port !== undefined) {
      link.type = 'phy';
      link.ethernet_mac_address = port.address;
    }
  }
  data.links.push(...memberLinks);
  return data;
}

/** The VIF a port or portgroup is attached to, as Ironic records it (newer, then older field). */
export function attachedVifOf(p: {
  internal_info: Record<string, Json>;
  extra: Record<string, Json>;
}): string | null {
  for (const value of [p.internal_info['tenant_vif_port_id'], p.extra['vif_port_id']]) {
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return null;
}

function byAttachedVif<T extends Port | Portgroup>(items: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    const vif = attachedVifOf(item);
    if (vif !== null) map.set(vif, item);
  }
  return map;
}

/**
 * The generic part (Nova's netutils): one link per VIF that has addresses, one network
 * per first IPv4 and first IPv6 address, DNS servers once each. VIFs without addresses
 * configure nothing and are left out, as Nova leaves out VIFs without subnets.
 */
export function baseNetworkData(vifs: readonly NetworkVif[]): NetworkData {
  const links: NetworkLink[] = [];
  const networks: NetworkEntry[] = [];
  const services: NetworkService[] = [];
  let linkNum = 0;
  for (const vif of vifs) {
    const ips = vif.ips ?? [];
    if (ips.length === 0) continue;
    const link: NetworkLink = {
      id: `interface${linkNum++}`,
      vif_id: vif.id,
      type: UNMATCHED_LINK_TYPE,
      mtu: vif.mtu ?? null,
      ethernet_mac_address: vif.address ?? null,
    };
    links.push(link);
    for (const version of [4, 6] as const) {
      const ip = ips.find((i) => i.version === version);
      if (ip === undefined) continue;
      networks.push(networkEntry(vif, ip, `network${networks.length}`, link.id));
    }
    for (const address of vif.dns ?? []) {
      if (!services.some((s) => s.address === address)) services.push({ type: 'dns', address });
    }
  }
  return { links, networks, services };
}

function networkEntry(vif: NetworkVif, ip: VifIp, id: string, link: string): NetworkEntry {
  const networkId = vif.networkId === undefined ? {} : { network_id: vif.networkId };
  if (vif.dhcp === true) {
    return { id, type: ip.version === 4 ? 'ipv4_dhcp' : 'ipv6_dhcp', link, ...networkId };
  }
  const routes: NetworkRoute[] =
    ip.gateway === undefined
      ? []
      : [
          ip.version === 4
            ? { network: '0.0.0.0', netmask: '0.0.0.0', gateway: ip.gateway }
            : { network: '::', netmask: '::', gateway: ip.gateway },
        ];
  return {
    id,
    type: ip.version === 4 ? 'ipv4' : 'ipv6',
    link,
    ip_address: ip.address,
    ...(ip.netmask === undefined ? {} : { netmask: ip.netmask }),
    routes,
    ...networkId,
  };
}
