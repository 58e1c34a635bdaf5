import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDeployPatch, capabilitiesOf } from '../../src/ironic/deploy-patch.js';
import { IronicInvalidInputError } from '../../src/ironic/errors.js';
import type { FlavorInfo, ImageInfo, Node, PatchOp } from '../../src/ironic/types.js';
import { assertPatch } from '../../src/ironic/validate.js';

const INSTANCE = '8f7e2b1c-5a4d-4e3f-9b2a-1c0d9e8f7a6b';
const node: Node = {
  uuid: 'f5406de8-b343-4afd-9ab9-01364d1a1cca',
  power_state: 'power off',
  target_power_state: null,
  provision_state: 'available',
  target_provision_state: null,
  last_error: null,
  maintenance: false,
  instance_uuid: null,
  properties: { local_gb: 40, cpus: 8, memory_mb: 16384 },
};
const image: ImageInfo = { source: 'a7c1e0b2-0d9e-4a8b-9c3d-2e1f0a9b8c7d' };
const flavor: FlavorInfo = { vcpus: 4, memoryMb: 8192, rootGb: 20, ephemeralGb: 0, swapMb: 512 };

function valueAt(patch: PatchOp[], path: string): unknown {
  const op = patch.find((o) => o.path === path);
  return op && op.op !== 'remove' ? op.value : undefined;
}

describe('buildDeployPatch (seed: _add_instance_info_to_node / patcher.get_deploy_patch)', () => {
  it('adds image, sizes as strings, the node’s disk, then associates the instance', () => {
    const patch = buildDeployPatch({ node, instance: INSTANCE, image, flavor, hostname: 'web-1' });
    expect(patch).toEqual([
      { op: 'add', path: '/instance_info/image_source', value: image.source },
      { op: 'add', path: '/instance_info/root_gb', value: '20' },
      { op: 'add', path: '/instance_info/swap_mb', value: '512' },
      { op: 'add', path: '/instance_info/display_name', value: 'web-1' },
      { op: 'add', path: '/instance_info/vcpus', value: '4' },
      { op: 'add', path: '/instance_info/memory_mb', value: '8192' },
      { op: 'add', path: '/instance_info/local_gb', value: '40' },
      { op: 'add', path: '/instance_uuid', value: INSTANCE },
    ]);
  });

  it('reports local_gb 0 for a node without local_gb, as the seed does', () => {
    const bare = { ...node, properties: {} };
    expect(
      valueAt(buildDeployPatch({ node: bare, instance: INSTANCE, image, flavor }), '/instance_info/local_gb'),
    ).toBe('0');
  });

  it('adds the ephemeral size and format only when the flavor has an ephemeral disk', () => {
    const withEph = buildDeployPatch({
      node,
      instance: INSTANCE,
      image,
      flavor: { ...flavor, ephemeralGb: 10 },
      ephemeralFormat: 'ext4',
    });
    expect(valueAt(withEph, '/instance_info/ephemeral_gb')).toBe('10');
    expect(valueAt(withEph, '/instance_info/ephemeral_format')).toBe('ext4');
    const without = buildDeployPatch({ node, instance: INSTANCE, image, flavor, ephemeralFormat: 'ext4' });
    expect(without.some((o) => o.path.startsWith('/instance_info/ephemeral'))).toBe(false);
  });

  it('passes preserve_ephemeral on rebuild as Ironic’s boolean string, and omits it otherwise (seed: rebuild)', () => {
    expect(
      valueAt(
        buildDeployPatch({ node, instance: INSTANCE, image, flavor, preserveEphemeral: true }),
        '/instance_info/preserve_ephemeral',
      ),
    ).toBe('True');
    expect(
      valueAt(
        buildDeployPatch({ node, instance: INSTANCE, image, flavor, preserveEphemeral: false }),
        '/instance_info/preserve_ephemeral',
      ),
    ).toBe('False');
    expect(
      valueAt(
        buildDeployPatch({ node, instance: INSTANCE, image, flavor }),
        '/instance_info/preserve_ephemeral',
      ),
    ).toBeUndefined();
  });

  it('turns capabilities:* extra specs into a JSON capabilities string and ignores other specs', () => {
    const patch = buildDeployPatch({
      node,
      instance: INSTANCE,
      image,
      flavor: {
        ...flavor,
        extraSpecs: {
          'capabilities:boot_mode': 'uefi',
          'capabilities:': 'nameless',
          'hw:cpu_policy': 'dedicated',
          'capabilities:disk_label': 'gpt',
        },
      },
    });
    expect(JSON.parse(valueAt(patch, '/instance_info/capabilities') as string)).toEqual({
      boot_mode: 'uefi',
      disk_label: 'gpt',
    });
    const none = buildDeployPatch({
      node,
      instance: INSTANCE,
      image,
      flavor: { ...flavor, extraSpecs: { 'hw:x': 'y' } },
    });
    expect(valueAt(none, '/instance_info/capabilities')).toBeUndefined();
  });

  it('carries checksums, kernel and ramdisk of an http image when given', () => {
    const patch = buildDeployPatch({
      node,
      instance: INSTANCE,
      flavor,
      image: {
        source: 'https://img.example/os.qcow2',
        checksum: 'abc',
        osHashAlgo: 'sha256',
        osHashValue: 'def',
        kernel: 'https://img.example/k',
        ramdisk: 'https://img.example/r',
      },
    });
    expect(valueAt(patch, '/instance_info/image_checksum')).toBe('abc');
    expect(valueAt(patch, '/instance_info/image_os_hash_algo')).toBe('sha256');
    expect(valueAt(patch, '/instance_info/image_os_hash_value')).toBe('def');
    expect(valueAt(patch, '/instance_info/kernel')).toBe('https://img.example/k');
    expect(valueAt(patch, '/instance_info/ramdisk')).toBe('https://img.example/r');
  });

  it('refuses an instance that is not a UUID and negative sizes', () => {
    expect(() => buildDeployPatch({ node, instance: 'x', image, flavor })).toThrow(IronicInvalidInputError);
    expect(() =>
      buildDeployPatch({ node, instance: INSTANCE, image, flavor: { ...flavor, rootGb: -1 } }),
    ).toThrow(IronicInvalidInputError);
    expect(() => buildDeployPatch({ node, instance: INSTANCE, image: { source: '' }, flavor })).toThrow(
      IronicInvalidInputError,
    );
  });

  it('always yields a valid patch of unique adds ending with the instance association (property)', () => {
    const size = fc.integer({ min: 0, max: 100_000 });
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.record({ vcpus: size, memoryMb: size, rootGb: size, ephemeralGb: size, swapMb: size }),
        fc.option(fc.boolean(), { nil: undefined }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 8 })),
        (instance, sizes, preserveEphemeral, specs) => {
          const patch = buildDeployPatch({
            node,
            instance,
            image,
            flavor: { ...sizes, extraSpecs: specs },
            preserveEphemeral,
          });
          assertPatch(patch);
          expect(patch.at(-1)).toEqual({ op: 'add', path: '/instance_uuid', value: instance });
          expect(new Set(patch.map((o) => o.path)).size).toBe(patch.length);
          expect(patch.every((o) => o.op === 'add')).toBe(true);
          expect(valueAt(patch, '/instance_info/root_gb')).toBe(String(sizes.rootGb));
          expect(valueAt(patch, '/instance_info/ephemeral_gb') !== undefined).toBe(sizes.ephemeralGb > 0);
          const caps = valueAt(patch, '/instance_info/capabilities');
          expect(caps === undefined ? {} : JSON.parse(caps as string)).toEqual(capabilitiesOf(specs));
        },
      ),
    );
  });
});
