import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildNetworkMetadata, UNMATCHED_LINK_TYPE } from '../../src/ironic/network-metadata.js';
import type { NetworkVif, Port, Portgroup } from '../../src/ironic/types.js';

const NODE = 'f5406de8-b343-4afd-9ab9-01364d1a1cca';
const PG = '7b2d8f0f-5d54-4b1f-8e9c-4a3a2b8f6b02';

function port(uuid: string, address: string, more: Partial<Port> = {}): Port {
  return { uuid, address, node_uuid: NODE, portgroup_uuid: null, internal_info: {}, extra: {}, ...more };
}

const vifBond: NetworkVif = {
  id: 'vif-bond',
  address: 'fa:16:3e:00:00:01',
  mtu: 9000,
  networkId: 'net-a',
  ips: [{ address: '10.0.0.5', netmask: '255.255.255.0', gateway: '10.0.0.1', version: 4 }],
  dns: ['10.0.0.2'],
};
const vifPort: NetworkVif = {
  id: 'vif-port',
  address: 'fa:16:3e:00:00:02',
  networkId: 'net-b',
  ips: [
    { address: '2001:db8::5', netmask: 'ffff:ffff:ffff:ffff::', gateway: '2001:db8::1', version: 6 },
    { address: '192.168.1.5', netmask: '255.255.255.0', version: 4 },
  ],
  dns: ['10.0.0.2', '2001:db8::53'],
};

describe('buildNetworkMetadata (seed: _get_network_metadata)', () => {
  const members = [
    port('a1111111-1111-4111-8111-111111111111', '52:54:00:00:00:0a', { portgroup_uuid: PG }),
    port('b2222222-2222-4222-8222-222222222222', '52:54:00:00:00:0b', { portgroup_uuid: PG }),
  ];
  const plain = port('c3333333-3333-4333-8333-333333333333', '52:54:00:00:00:0c', {
    extra: { vif_port_id: 'vif-port' },
  });
  const group: Portgroup = {
    uuid: PG,
    address: '52:54:00:00:00:aa',
    node_uuid: NODE,
    mode: '802.3ad',
    properties: { miimon: '100', bond_xmit_hash_policy: 'layer3+4' },
    internal_info: { tenant_vif_port_id: 'vif-bond' },
    extra: {},
  };

  it('makes a portgroup VIF a bond of its ports and a plain-port VIF a phy link with Ironic’s MAC', () => {
    const data = buildNetworkMetadata({
      vifs: [vifBond, vifPort],
      ports: [...members, plain],
      portgroups: [group],
    });
    expect(data.links).toEqual([
      {
        id: 'interface0',
        vif_id: 'vif-bond',
        type: 'bond',
        mtu: 9000,
        ethernet_mac_address: '52:54:00:00:00:aa',
        bond_mode: '802.3ad',
        bond_miimon: '100',
        bond_xmit_hash_policy: 'layer3+4',
        bond_links: [members[0]!.uuid, members[1]!.uuid],
      },
      {
        id: 'interface1',
        vif_id: 'vif-port',
        type: 'phy',
        mtu: null,
        ethernet_mac_address: '52:54:00:00:00:0c',
      },
      { id: members[0]!.uuid, type: 'phy', ethernet_mac_address: '52:54:00:00:00:0a' },
      { id: members[1]!.uuid, type: 'phy', ethernet_mac_address: '52:54:00:00:00:0b' },
    ]);
  });

  it('keeps Neutron’s MAC on a bond whose portgroup has no address', () => {
    const data = buildNetworkMetadata({
      vifs: [vifBond],
      ports: members,
      portgroups: [{ ...group, address: null }],
    });
    expect(data.links[0]).toMatchObject({ type: 'bond', ethernet_mac_address: 'fa:16:3e:00:00:01' });
  });

  it('prefers internal_info.tenant_vif_port_id over the older extra.vif_port_id', () => {
    const stale = port('d4444444-4444-4444-8444-444444444444', '52:54:00:00:00:0d', {
      internal_info: { tenant_vif_port_id: 'vif-other' },
      extra: { vif_port_id: 'vif-port' },
    });
    const data = buildNetworkMetadata({ vifs: [vifPort], ports: [stale], portgroups: [] });
    expect(data.links).toEqual([
      {
        id: 'interface0',
        vif_id: 'vif-port',
        type: UNMATCHED_LINK_TYPE,
        mtu: null,
        ethernet_mac_address: 'fa:16:3e:00:00:02',
      },
    ]);
  });

  it('describes static IPv4 and IPv6 networks with default routes, and each DNS server once', () => {
    const data = buildNetworkMetadata({ vifs: [vifBond, vifPort], ports: [], portgroups: [] });
    expect(data.networks).toEqual([
      {
        id: 'network0',
        type: 'ipv4',
        link: 'interface0',
        ip_address: '10.0.0.5',
        netmask: '255.255.255.0',
        routes: [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.0.0.1' }],
        network_id: 'net-a',
      },
      {
        id: 'network1',
        type: 'ipv4',
        link: 'interface1',
        ip_address: '192.168.1.5',
        netmask: '255.255.255.0',
        routes: [],
        network_id: 'net-b',
      },
      {
        id: 'network2',
        type: 'ipv6',
        link: 'interface1',
        ip_address: '2001:db8::5',
        netmask: 'ffff:ffff:ffff:ffff::',
        routes: [{ network: '::', netmask: '::', gateway: '2001:db8::1' }],
        network_id: 'net-b',
      },
    ]);
    expect(data.services).toEqual([
      { type: 'dns', address: '10.0.0.2' },
      { type: 'dns', address: '2001:db8::53' },
    ]);
  });

  it('describes a DHCP network without addresses and skips VIFs that have no IPs', () => {
    const data = buildNetworkMetadata({
      vifs: [{ id: 'vif-none' }, { ...vifBond, dhcp: true }],
      ports: [],
      portgroups: [],
    });
    expect(data.links.map((l) => l.vif_id)).toEqual(['vif-bond']);
    expect(data.networks).toEqual([
      { id: 'network0', type: 'ipv4_dhcp', link: 'interface0', network_id: 'net-a' },
    ]);
  });

  it('always links every network and bond member to a link that exists (property)', () => {
    const mac = fc.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const vifArb = fc.record({
      id: fc.constantFrom('v1', 'v2', 'v3', 'v4'),
      address: mac,
      ips: fc.array(
        fc.record({
          address: fc.ipV4(),
          version: fc.constant(4 as const),
          gateway: fc.option(fc.ipV4(), { nil: undefined }),
        }),
        { maxLength: 2 },
      ),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(vifArb, { selector: (v) => v.id, maxLength: 4 }),
        fc.array(fc.tuple(fc.uuid(), mac, fc.constantFrom('v1', 'v2', 'v3', 'v4', null), fc.boolean()), {
          maxLength: 6,
        }),
        (vifs, rawPorts) => {
          const ports = rawPorts.map(([uuid, address, vif, inGroup]) =>
            port(uuid, address, {
              portgroup_uuid: inGroup ? PG : null,
              internal_info: vif === null ? {} : { tenant_vif_port_id: vif },
            }),
          );
          const data = buildNetworkMetadata({
            vifs,
            ports,
            portgroups: [{ ...group, internal_info: { tenant_vif_port_id: 'v1' } }],
          });
          const ids = new Set(data.links.map((l) => l.id));
          for (const n of data.networks) expect(ids.has(n.link)).toBe(true);
          for (const l of data.links)
            for (const member of l.bond_links ?? []) expect(ids.has(member)).toBe(true);
          const withIps = vifs.filter((v) => v.ips.length > 0);
          expect(data.links.filter((l) => l.vif_id !== undefined)).toHaveLength(withIps.length);
          expect(new Set(data.services.map((s) => s.address)).size).toBe(data.services.length);
        },
      ),
    );
  });
});
