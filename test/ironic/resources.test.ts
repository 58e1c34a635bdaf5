import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  canonicalArchitecture,
  mapPowerState,
  nodeResources,
  parseCapabilities,
  parseNodeProperties,
  type WarningFacts,
} from '../../src/ironic/resources.js';
import type { Json, JsonObject, Node } from '../../src/ironic/types.js';
import type { PowerStateValue, ProvisionStateValue } from '../../src/ironic/states.js';

const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const INSTANCE = '6f2a4c1d-8b7e-4e3a-9c5d-0a1b2c3d4e5f';

function makeNode(overrides: Partial<Node> = {}): Node {
  return {
    uuid: NODE,
    power_state: 'power off',
    target_power_state: null,
    provision_state: 'available',
    target_provision_state: null,
    last_error: null,
    maintenance: false,
    instance_uuid: null,
    instance_info: {},
    properties: { cpus: 8, memory_mb: 16384, local_gb: 100, cpu_arch: 'x86_64' },
    resource_class: 'baremetal',
    ...overrides,
  };
}

function collect(): { warn: (message: string, facts?: WarningFacts) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (message) => messages.push(message), messages };
}

describe('parseNodeProperties (seed: _parse_node_properties)', () => {
  const cases: Array<{ name: string; value: Json | undefined; expected: number; warns: boolean }> = [
    { name: 'an integer', value: 8, expected: 8, warns: false },
    { name: 'an integral string', value: '8', expected: 8, warns: false },
    { name: 'a padded integral string', value: ' 8 ', expected: 8, warns: false },
    { name: 'a float (truncated, as int() does)', value: 8.9, expected: 8, warns: false },
    { name: 'a missing value', value: undefined, expected: 0, warns: false },
    { name: 'a word', value: 'eight', expected: 0, warns: true },
    { name: 'a decimal string', value: '8.5', expected: 0, warns: true },
    { name: 'null', value: null, expected: 0, warns: true },
    { name: 'a negative number', value: -2, expected: 0, warns: true },
    { name: 'a boolean', value: true, expected: 0, warns: true },
    { name: 'an object', value: { n: 8 }, expected: 0, warns: true },
  ];
  for (const key of ['cpus', 'memory_mb', 'local_gb'] as const) {
    for (const c of cases) {
      it(`reads ${key} given ${c.name} as ${c.expected}${c.warns ? ' with a warning' : ''}`, () => {
        const properties: JsonObject = { cpu_arch: 'x86_64' };
        if (c.value !== undefined) properties[key] = c.value;
        const { warn, messages } = collect();
        const parsed = parseNodeProperties(makeNode({ properties }), warn);
        const field = { cpus: 'cpus', memory_mb: 'memoryMb', local_gb: 'localGb' } as const;
        expect(parsed[field[key]]).toBe(c.expected);
        expect(messages.filter((m) => m.includes(key))).toHaveLength(c.warns ? 1 : 0);
      });
    }
  }

  it('treats a node without properties as all zeros, architecture unknown', () => {
    const { warn, messages } = collect();
    const parsed = parseNodeProperties(makeNode({ properties: undefined }), warn);
    expect(parsed).toEqual({
      cpus: 0,
      memoryMb: 0,
      localGb: 0,
      cpuArch: null,
      rawCpuArch: null,
      capabilities: null,
    });
    expect(messages).toEqual([expect.stringContaining('no properties.cpu_arch')]);
  });
});

describe('canonicalArchitecture (seed: Architecture.canonicalize)', () => {
  const table: Array<[string, string | null]> = [
    ['x86_64', 'x86_64'],
    ['X86_64', 'x86_64'],
    ['amd64', 'x86_64'],
    ['i386', 'i686'],
    ['i486', 'i686'],
    ['i586', 'i686'],
    ['i686', 'i686'],
    ['x86_32', 'i686'],
    ['aarch64', 'aarch64'],
    ['arm64', 'aarch64'],
    ['ppc64le', 'ppc64le'],
    ['PPC64', 'ppc64'],
    ['s390x', 's390x'],
    ['', null],
    ['pentium', null],
    ['x86-64', null],
  ];
  for (const [raw, canonical] of table) {
    it(`maps "${raw}" to ${canonical === null ? 'nothing' : `"${canonical}"`}`, () => {
      expect(canonicalArchitecture(raw)).toBe(canonical);
    });
  }

  it('warns and supports no instances for an unknown cpu_arch, keeping the raw value in stats', () => {
    const { warn, messages } = collect();
    const r = nodeResources(makeNode({ properties: { cpus: 2, cpu_arch: 'pentium' } }), { warn });
    expect(r.cpuArch).toBeNull();
    expect(r.supportedInstances).toEqual([]);
    expect(r.stats['cpu_arch']).toBe('pentium');
    expect(messages).toEqual([expect.stringContaining('unknown properties.cpu_arch "pentium"')]);
  });

  it('supports baremetal/hvm instances of the canonical architecture while stats keep the alias', () => {
    const r = nodeResources(makeNode({ properties: { cpus: 2, cpu_arch: 'amd64' } }));
    expect(r.supportedInstances).toEqual([['x86_64', 'baremetal', 'hvm']]);
    expect(r.stats['cpu_arch']).toBe('amd64');
  });
});

describe('parseCapabilities (seed: _node_resource capabilities)', () => {
  const table: Array<{ raw: Json | null; pairs: Record<string, string>; warnings: number }> = [
    { raw: 'boot_mode:uefi,raid:true', pairs: { boot_mode: 'uefi', raid: 'true' }, warnings: 0 },
    { raw: ' boot_mode : uefi , raid:true', pairs: { boot_mode: 'uefi', raid: 'true' }, warnings: 0 },
    { raw: 'boot_mode:uefi,broken,raid:true', pairs: { boot_mode: 'uefi', raid: 'true' }, warnings: 1 },
    { raw: 'a:b:c,d:e', pairs: { d: 'e' }, warnings: 1 },
    { raw: ':x,y:,z:1', pairs: { z: '1' }, warnings: 2 },
    { raw: 'k:v,', pairs: { k: 'v' }, warnings: 1 },
    { raw: '', pairs: {}, warnings: 0 },
    { raw: null, pairs: {}, warnings: 0 },
    { raw: { boot_mode: 'uefi' }, pairs: {}, warnings: 1 },
  ];
  for (const c of table) {
    it(`parses ${JSON.stringify(c.raw)} into ${Object.keys(c.pairs).length} pair(s), ${c.warnings} warning(s)`, () => {
      const { warn, messages } = collect();
      expect(parseCapabilities(makeNode(), c.raw, warn)).toEqual(c.pairs);
      expect(messages).toHaveLength(c.warnings);
    });
  }

  it('puts capabilities and the raw cpu_arch into stats', () => {
    const r = nodeResources(
      makeNode({ properties: { cpus: 1, cpu_arch: 'x86_64', capabilities: 'boot_mode:bios,profile:gold' } }),
    );
    expect(r.stats).toEqual({ cpu_arch: 'x86_64', boot_mode: 'bios', profile: 'gold' });
  });
});

describe('nodeResources capacity by state (seed: _node_resources_unavailable, _node_resources_used)', () => {
  const powers: PowerStateValue[] = ['power on', 'power off', 'error', null, 'rebooting'];
  const provisions: ProvisionStateValue[] = [
    null,
    'available',
    'active',
    'deploying',
    'cleaning',
    'manageable',
  ];
  const props = { cpus: 8, memory_mb: 16384, local_gb: 100, cpu_arch: 'x86_64' };
  const deployed = { vcpus: 4, memory_mb: 8192, local_gb: 40 };

  for (const maintenance of [false, true]) {
    for (const power of powers) {
      for (const provision of provisions) {
        for (const withInstance of [false, true]) {
          const usable =
            !maintenance &&
            power !== 'error' &&
            power !== null &&
            (provision === 'available' || provision === null) &&
            !withInstance;
          const name = `maintenance=${maintenance} power=${power} provision=${provision} instance=${withInstance}`;
          it(`${name}: ${usable ? 'offers its properties' : 'offers nothing'}${withInstance ? ', instance_info used' : ''}`, () => {
            const node = makeNode({
              maintenance,
              power_state: power,
              provision_state: provision,
              instance_uuid: withInstance ? INSTANCE : null,
              instance_info: withInstance ? deployed : {},
              properties: props,
            });
            const r = nodeResources(node);
            const used = withInstance ? deployed : { vcpus: 0, memory_mb: 0, local_gb: 0 };
            expect({
              vcpusUsed: r.vcpusUsed,
              memoryMbUsed: r.memoryMbUsed,
              localGbUsed: r.localGbUsed,
            }).toEqual({
              vcpusUsed: used.vcpus,
              memoryMbUsed: used.memory_mb,
              localGbUsed: used.local_gb,
            });
            const total = usable
              ? { vcpus: 8, memoryMb: 16384, localGb: 100 }
              : { vcpus: 0, memoryMb: 0, localGb: 0 };
            expect({ vcpus: r.vcpus, memoryMb: r.memoryMb, localGb: r.localGb }).toEqual(total);
            expect(r.diskAvailableLeast).toBe(total.localGb - used.local_gb);
          });
        }
      }
    }
  }
});

describe('nodeResources usage of a node holding an instance (seed: _parse_node_instance_info)', () => {
  const props = { cpus: 8, memory_mb: 16384, local_gb: 100, cpu_arch: 'x86_64' };
  const table: Array<{ name: string; info: JsonObject; used: [number, number, number]; warnings: number }> = [
    {
      name: 'sizes from instance_info',
      info: { vcpus: 2, memory_mb: 2048, local_gb: 20 },
      used: [2, 2048, 20],
      warnings: 0,
    },
    {
      name: 'string sizes in instance_info',
      info: { vcpus: '2', memory_mb: '2048', local_gb: '20' },
      used: [2, 2048, 20],
      warnings: 0,
    },
    { name: 'missing sizes fall back to properties silently', info: {}, used: [8, 16384, 100], warnings: 0 },
    {
      name: 'malformed sizes fall back to properties with a warning',
      info: { vcpus: 'two', memory_mb: null, local_gb: 20 },
      used: [8, 16384, 20],
      warnings: 2,
    },
  ];
  for (const c of table) {
    it(`${c.name}`, () => {
      const { warn, messages } = collect();
      const r = nodeResources(
        makeNode({
          provision_state: 'active',
          power_state: 'power on',
          instance_uuid: INSTANCE,
          instance_info: c.info,
          properties: props,
        }),
        { warn },
      );
      expect([r.vcpusUsed, r.memoryMbUsed, r.localGbUsed]).toEqual(c.used);
      expect(messages).toHaveLength(c.warnings);
    });
  }

  it('falls back to properties already reduced to 0 when both are malformed', () => {
    const { warn, messages } = collect();
    const r = nodeResources(
      makeNode({
        instance_uuid: INSTANCE,
        instance_info: { vcpus: 'x' },
        properties: { cpus: 'y', cpu_arch: 'x86_64' },
      }),
      { warn },
    );
    expect(r.vcpusUsed).toBe(0);
    expect(messages).toHaveLength(2);
  });
});

describe('nodeResources identity fields', () => {
  it('reports the node as an ironic hypervisor named by its UUID, with resource class and version', () => {
    const r = nodeResources(makeNode({ resource_class: 'gold' }), { hypervisorVersion: 2 });
    expect(r).toMatchObject({
      hypervisorHostname: NODE,
      hypervisorType: 'ironic',
      hypervisorVersion: 2,
      resourceClass: 'gold',
      cpuArch: 'x86_64',
    });
  });

  it('defaults the hypervisor version to 1 and a missing resource class to null', () => {
    const r = nodeResources(makeNode({ resource_class: undefined }));
    expect([r.hypervisorVersion, r.resourceClass]).toEqual([1, null]);
  });
});

describe('mapPowerState (seed: map_power_state)', () => {
  const table: Array<[string | null, string, number]> = [
    ['power on', 'running', 0],
    ['power off', 'shutdown', 0],
    [null, 'nostate', 0],
    ['rebooting', 'nostate', 1],
    ['error', 'nostate', 1],
    ['soft power off', 'nostate', 1],
  ];
  for (const [ironic, instance, warnings] of table) {
    it(`maps ${JSON.stringify(ironic)} to ${instance}${warnings ? ' with a warning' : ''}`, () => {
      const { warn, messages } = collect();
      expect(mapPowerState(ironic, warn)).toBe(instance);
      expect(messages).toHaveLength(warnings);
    });
  }
});

describe('nodeResources of a deployed node (seed: _node_resource)', () => {
  it('reports all of the instance as used, no capacity, and a negative disk_available_least', () => {
    const r = nodeResources(
      makeNode({
        provision_state: 'active',
        power_state: 'power on',
        instance_uuid: INSTANCE,
        instance_info: { vcpus: 4, memory_mb: 8192, local_gb: 40 },
      }),
    );
    expect(r).toMatchObject({
      vcpus: 0,
      vcpusUsed: 4,
      memoryMb: 0,
      memoryMbUsed: 8192,
      localGb: 0,
      localGbUsed: 40,
      diskAvailableLeast: -40,
    });
  });
});

describe('nodeResources on arbitrary node data (property)', () => {
  const json = fc.jsonValue() as fc.Arbitrary<Json>;
  const sizes = fc.dictionary(
    fc.constantFrom('cpus', 'memory_mb', 'local_gb', 'cpu_arch', 'capabilities', 'vcpus'),
    fc.oneof(
      json,
      fc.integer({ min: -5, max: 1 << 20 }).map(String),
      fc.constantFrom('x86_64', 'amd64', 'a:b,c'),
    ),
  );
  const node = fc.record({
    maintenance: fc.boolean(),
    power_state: fc.constantFrom<PowerStateValue>('power on', 'power off', 'error', null, 'rebooting'),
    provision_state: fc.constantFrom<ProvisionStateValue>(
      'available',
      'active',
      null,
      'cleaning',
      'deploy failed',
    ),
    instance_uuid: fc.option(fc.constant(INSTANCE)),
    properties: sizes,
    instance_info: sizes,
  });

  it('never throws and reports whole, non-negative sizes with capacity either all or nothing', () => {
    fc.assert(
      fc.property(node, (fields) => {
        const r = nodeResources(makeNode(fields));
        const numbers = [r.vcpus, r.vcpusUsed, r.memoryMb, r.memoryMbUsed, r.localGb, r.localGbUsed];
        expect(numbers.every((n) => Number.isInteger(n) && n >= 0)).toBe(true);
        if (fields.instance_uuid === null)
          expect([r.vcpusUsed, r.memoryMbUsed, r.localGbUsed]).toEqual([0, 0, 0]);
        if (fields.instance_uuid !== null || fields.maintenance) {
          expect([r.vcpus, r.memoryMb, r.localGb]).toEqual([0, 0, 0]);
        }
        expect(r.supportedInstances.length).toBe(r.cpuArch === null ? 0 : 1);
        expect('cpu_arch' in r.stats).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
