// The PATCH that tells Ironic what to deploy (seed: _add_instance_info_to_node over
// Nova's patcher.get_deploy_patch). Sizes travel as strings, as Nova sends them: Ironic
// stores instance_info verbatim and its deploy code parses the numbers itself.
import type { FlavorInfo, ImageInfo, Json, Node, PatchOp, Uuid } from './types.js';
import { assertUuid } from './validate.js';
import { IronicInvalidInputError } from './errors.js';

const CAPABILITY_PREFIX = 'capabilities:';

export function buildDeployPatch(args: {
  node: Node;
  instance: Uuid;
  image: ImageInfo;
  flavor: FlavorInfo;
  /** Rebuild only: keep the ephemeral partition (seed: rebuild). */
  preserveEphemeral?: boolean;
  /** Shown by Ironic as instance_info/display_name. */
  hostname?: string;
  /** Filesystem for a new ephemeral partition; Ironic's own default when absent. */
  ephemeralFormat?: string;
}): PatchOp[] {
  const { node, instance, image, flavor } = args;
  assertUuid(instance, 'instance');
  if (typeof image.source !== 'string' || image.source.length === 0) {
    throw new IronicInvalidInputError('image.source must name the image to deploy');
  }
  for (const key of ['vcpus', 'memoryMb', 'rootGb', 'ephemeralGb', 'swapMb'] as const) {
    const value = flavor[key];
    if (!Number.isInteger(value) || value < 0) {
      throw new IronicInvalidInputError(`flavor.${key} must be an integer >= 0, got ${String(value)}`);
    }
  }
  const info: Array<[string, Json]> = [
    ['image_source', image.source],
    ['root_gb', String(flavor.rootGb)],
    ['swap_mb', String(flavor.swapMb)],
  ];
  if (args.hostname !== undefined) info.push(['display_name', args.hostname]);
  info.push(
    ['vcpus', String(flavor.vcpus)],
    ['memory_mb', String(flavor.memoryMb)],
    // The node's disk, not the flavor's: what the resource tracker counts as used.
    ['local_gb', String(localGbOf(node))],
  );
  // Needed for http(s) images, which Glance does not describe for Ironic.
  if (image.checksum !== undefined) info.push(['image_checksum', image.checksum]);
  if (image.osHashAlgo !== undefined) info.push(['image_os_hash_algo', image.osHashAlgo]);
  if (image.osHashValue !== undefined) info.push(['image_os_hash_value', image.osHashValue]);
  // Partition images boot with their own kernel and ramdisk.
  if (image.kernel !== undefined) info.push(['kernel', image.kernel]);
  if (image.ramdisk !== undefined) info.push(['ramdisk', image.ramdisk]);
  if (flavor.ephemeralGb > 0) {
    info.push(['ephemeral_gb', String(flavor.ephemeralGb)]);
    if (args.ephemeralFormat !== undefined) info.push(['ephemeral_format', args.ephemeralFormat]);
  }
  if (args.preserveEphemeral !== undefined) {
    // Ironic reads it with bool_from_string; Nova sent Python's str(bool).
    info.push(['preserve_ephemeral', args.preserveEphemeral ? 'True' : 'False']);
  }
  const capabilities = capabilitiesOf(flavor.extraSpecs ?? {});
  if (Object.keys(capabilities).length > 0) {
    // Ironic expects capabilities as a JSON string in instance_info.
    info.push(['capabilities', JSON.stringify(capabilities)]);
  }
  const patch: PatchOp[] = info.map(([key, value]) => ({ op: 'add', path: `/instance_info/${key}`, value }));
  // Claims the node for the instance; with retryOnConflict false a node another instance
  // holds fails at once (seed bug 1341420). Ironic applies the whole PATCH or none of it.
  patch.push({ op: 'add', path: '/instance_uuid', value: instance });
  return patch;
}

/** Flavor extra specs `capabilities:<key>` become instance_info capabilities `<key>`. */
export function capabilitiesOf(extraSpecs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(extraSpecs)) {
    if (!key.startsWith(CAPABILITY_PREFIX)) continue;
    const name = key.slice(CAPABILITY_PREFIX.length);
    if (name.length > 0) out[name] = value;
  }
  return out;
}

function localGbOf(node: Node): Json {
  const value = node.properties?.['local_gb'];
  return value === undefined || value === null ? 0 : value;
}
