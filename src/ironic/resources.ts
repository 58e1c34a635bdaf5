// What an Ironic node offers to a scheduler, computed from the node alone (seed: _node_resource,
// _parse_node_properties, _parse_node_instance_info, _node_resources_used,
// _node_resources_unavailable, map_power_state). Pure: no I/O; problems found in the node's
// data are reported through `warn` and never thrown, because one badly enrolled node must not
// hide the rest of the inventory.
import { PowerState, ProvisionState } from './states.js';
import type { Json, JsonObject, Node, Uuid } from './types.js';

/** Facts attached to a warning, for a structured logger. Never secrets. */
export type WarningFacts = Record<string, string | number | boolean | null>;
export type WarnFn = (message: string, facts?: WarningFacts) => void;

/** The instance's power state as a scheduler sees it (seed: nova.compute.power_state). */
export type InstancePowerState = 'running' | 'shutdown' | 'nostate';

export type SupportedInstance = [arch: string, hypervisorType: 'baremetal', vmMode: 'hvm'];

export interface NodeResources {
  /** The node's UUID: each bare-metal node is its own "hypervisor". */
  hypervisorHostname: Uuid;
  hypervisorType: 'ironic';
  hypervisorVersion: number;
  resourceClass: string | null;
  vcpus: number;
  vcpusUsed: number;
  memoryMb: number;
  memoryMbUsed: number;
  localGb: number;
  localGbUsed: number;
  /** localGb - localGbUsed; negative for a deployed node, whose capacity is reported as zero. */
  diskAvailableLeast: number;
  /** Canonical architecture, or null when unknown or missing. */
  cpuArch: string | null;
  supportedInstances: SupportedInstance[];
  /** Capabilities as key/value pairs plus `cpu_arch` as enrolled (not canonicalised). */
  stats: Record<string, string | null>;
}

export interface NodeResourcesOptions {
  /** Reported as hypervisorVersion; the major version of the Ironic API (seed: 1). */
  hypervisorVersion?: number;
  warn?: WarnFn;
}

/** The sizes and architecture parsed from `properties` (seed: _parse_node_properties). */
export interface NodeProperties {
  cpus: number;
  memoryMb: number;
  localGb: number;
  cpuArch: string | null;
  rawCpuArch: string | null;
  capabilities: Json | null;
}

/**
 * Architectures a scheduler knows, as Nova's Architecture field spells them, and the aliases
 * operators and firmware report instead (the table behind Nova's Architecture.canonicalize).
 */
const CANONICAL_ARCHITECTURES: ReadonlySet<string> = new Set([
  'alpha',
  'armv6',
  'armv7l',
  'armv7b',
  'aarch64',
  'cris',
  'i686',
  'ia64',
  'lm32',
  'm68k',
  'microblaze',
  'microblazeel',
  'mips',
  'mipsel',
  'mips64',
  'mips64el',
  'openrisc',
  'parisc',
  'parisc64',
  'ppc',
  'ppcle',
  'ppc64',
  'ppc64le',
  'ppcemb',
  's390',
  's390x',
  'sh4',
  'sh4eb',
  'sparc',
  'sparc64',
  'unicore32',
  'x86_64',
  'xtensa',
  'xtensaeb',
]);

const ARCHITECTURE_ALIASES: Readonly<Record<string, string>> = {
  i386: 'i686',
  i486: 'i686',
  i586: 'i686',
  // Xen reported these for 32-bit guests before Juno.
  x86_32: 'i686',
  x86_32p: 'i686',
  amd64: 'x86_64',
  // Debian's and Apple's name for aarch64, common in hardware inspection data.
  arm64: 'aarch64',
};

/** The canonical spelling of an architecture name, or null when it is not one we know. */
export function canonicalArchitecture(name: string): string | null {
  const lower = name.trim().toLowerCase();
  const canonical = ARCHITECTURE_ALIASES[lower] ?? lower;
  return CANONICAL_ARCHITECTURES.has(canonical) ? canonical : null;
}

/** Ironic power state -> instance power state (seed: map_power_state). */
export function mapPowerState(ironicPower: string | null, warn: WarnFn = noWarn): InstancePowerState {
  switch (ironicPower) {
    case PowerState.POWER_ON:
      return 'running';
    case PowerState.POWER_OFF:
      return 'shutdown';
    case PowerState.NOSTATE:
      return 'nostate';
    default:
      // 'rebooting', 'error', 'soft power off', ...: a transient or failed state says nothing
      // reliable about whether the instance runs.
      warn(`Ironic power state "${ironicPower}" has no instance power state; reporting nostate`, {
        powerState: ironicPower,
      });
      return 'nostate';
  }
}

/** Supported instances for an architecture (seed: _get_nodes_supported_instances). */
export function supportedInstances(cpuArch: string | null): SupportedInstance[] {
  return cpuArch ? [[cpuArch, 'baremetal', 'hvm']] : [];
}

/**
 * A whole, non-negative integer from a JSON value, or null when the value is malformed.
 * Integral strings ("8", " 8 ") and numbers (8, 8.0; fractions truncated) are accepted, as the
 * seed's int() does; booleans, negatives and non-numeric strings are not.
 */
function parseCount(value: Json | undefined): number | null {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.trunc(value) : null;
  }
  if (typeof value === 'string' && /^\s*\+?\d+\s*$/.test(value)) {
    return Number.parseInt(value, 10);
  }
  return null;
}

/** A short, printable form of a malformed value for a warning. */
function describe(value: Json | undefined): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

function noWarn(): void {}

/** Parse `properties` (seed: _parse_node_properties). Missing sizes are 0 without a warning. */
export function parseNodeProperties(node: Node, warn: WarnFn = noWarn): NodeProperties {
  const properties: JsonObject = node.properties ?? {};
  const count = (key: 'cpus' | 'memory_mb' | 'local_gb'): number => {
    const value = properties[key];
    if (value === undefined) return 0;
    const parsed = parseCount(value);
    if (parsed === null) {
      warn(`Node ${node.uuid} has a malformed properties.${key} ${describe(value)}; counting it as 0`, {
        node: node.uuid,
        property: key,
        value: describe(value),
      });
      return 0;
    }
    return parsed;
  };

  const raw = properties['cpu_arch'];
  const rawCpuArch = typeof raw === 'string' ? raw : null;
  const cpuArch = rawCpuArch === null ? null : canonicalArchitecture(rawCpuArch);
  if (cpuArch === null) {
    warn(
      raw === undefined || raw === null
        ? `Node ${node.uuid} has no properties.cpu_arch; it supports no instance architecture`
        : `Node ${node.uuid} has an unknown properties.cpu_arch ${describe(raw)}; it supports no instance architecture`,
      { node: node.uuid, property: 'cpu_arch', value: raw === undefined ? null : describe(raw) },
    );
  }

  return {
    cpus: count('cpus'),
    memoryMb: count('memory_mb'),
    localGb: count('local_gb'),
    cpuArch,
    rawCpuArch,
    capabilities: properties['capabilities'] ?? null,
  };
}

/**
 * Capabilities "k1:v1,k2:v2" as key/value pairs for capability-matching filters. A pair that is
 * not exactly one non-empty key and one non-empty value is skipped with a warning.
 */
export function parseCapabilities(
  node: Node,
  capabilities: Json | null,
  warn: WarnFn = noWarn,
): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (capabilities === null || capabilities === '') return pairs;
  if (typeof capabilities !== 'string') {
    warn(`Node ${node.uuid} has properties.capabilities that is not a "key:value,..." string; ignoring it`, {
      node: node.uuid,
      property: 'capabilities',
      value: describe(capabilities),
    });
    return pairs;
  }
  for (const capability of capabilities.split(',')) {
    const parts = capability.split(':').map((part) => part.trim());
    const [key, value] = parts;
    if (parts.length === 2 && key && value) {
      pairs[key] = value;
    } else {
      warn(`Node ${node.uuid}: ignoring malformed capability "${capability}"; expected "key:value"`, {
        node: node.uuid,
        property: 'capabilities',
        value: capability,
      });
    }
  }
  return pairs;
}

/**
 * What a deployed node's instance consumes (seed: _parse_node_instance_info). instance_info
 * holds the flavor's sizes as deployed; properties may have been edited since, so they are only
 * the fallback.
 */
function instanceUsage(
  node: Node,
  properties: NodeProperties,
  warn: WarnFn,
): { vcpus: number; memoryMb: number; localGb: number } {
  const info: JsonObject = node.instance_info ?? {};
  const pick = (key: 'vcpus' | 'memory_mb' | 'local_gb', fallback: number): number => {
    const value = info[key];
    if (value === undefined) return fallback;
    const parsed = parseCount(value);
    if (parsed === null) {
      warn(
        `Node ${node.uuid} has a malformed instance_info.${key} ${describe(value)}; using properties (${fallback})`,
        { node: node.uuid, property: `instance_info.${key}`, value: describe(value) },
      );
      return fallback;
    }
    return parsed;
  };
  return {
    vcpus: pick('vcpus', properties.cpus),
    memoryMb: pick('memory_mb', properties.memoryMb),
    localGb: pick('local_gb', properties.localGb),
  };
}

/**
 * Whether the node must offer no capacity (seed: _node_resources_unavailable): in maintenance,
 * power state `error` or unknown, provision state other than `available` (or the legacy no
 * state), or `available` yet still holding an instance (a teardown not finished).
 */
export function nodeResourcesUnavailable(node: Node): boolean {
  const badPower = node.power_state === PowerState.ERROR || node.power_state === PowerState.NOSTATE;
  const schedulable =
    node.provision_state === ProvisionState.AVAILABLE || node.provision_state === ProvisionState.NOSTATE;
  return node.maintenance || badPower || !schedulable || node.instance_uuid !== null;
}

/** A node's capacity and usage as a scheduler records it (seed: _node_resource). */
export function nodeResources(node: Node, opts: NodeResourcesOptions = {}): NodeResources {
  const warn = opts.warn ?? noWarn;
  const properties = parseNodeProperties(node, warn);

  const stats: Record<string, string | null> = { cpu_arch: properties.rawCpuArch };
  Object.assign(stats, parseCapabilities(node, properties.capabilities, warn));

  let vcpus = properties.cpus;
  let memoryMb = properties.memoryMb;
  let localGb = properties.localGb;
  let vcpusUsed = 0;
  let memoryMbUsed = 0;
  let localGbUsed = 0;

  // Only a node holding an instance reports usage: anything else would be "corrected" by a
  // resource tracker that sees no instance consuming it.
  if (node.instance_uuid !== null) {
    const used = instanceUsage(node, properties, warn);
    vcpus = vcpusUsed = used.vcpus;
    memoryMb = memoryMbUsed = used.memoryMb;
    localGb = localGbUsed = used.localGb;
  }

  // Checked even for nodes with an instance, so a node Ironic cannot use never shows free
  // capacity the scheduler believes in (Nova bug 1503453).
  if (nodeResourcesUnavailable(node)) {
    vcpus = 0;
    memoryMb = 0;
    localGb = 0;
  }

  return {
    hypervisorHostname: node.uuid,
    hypervisorType: 'ironic',
    hypervisorVersion: opts.hypervisorVersion ?? 1,
    resourceClass: node.resource_class ?? null,
    vcpus,
    vcpusUsed,
    memoryMb,
    memoryMbUsed,
    localGb,
    localGbUsed,
    diskAvailableLeast: localGb - localGbUsed,
    cpuArch: properties.cpuArch,
    supportedInstances: supportedInstances(properties.cpuArch),
    stats,
  };
}
