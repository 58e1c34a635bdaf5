// Properties of the simulator's pre-enrolled nodes: what an enrolled fake-hardware node carries
// after inspection (cpus, memory_mb, local_gb, cpu_arch, capabilities), so consumers that size
// instances from them (the inventory, `ironledger nodes`) see real servers, not zeros.
import type { JsonObject } from '../ironic/types.js';
import type { Prng } from './prng.js';

/**
 * Server models a rack is built from. local_gb is the root disk in GiB minus the 1 GiB inspection
 * leaves for the partition table, as inspected nodes report it.
 */
const MODELS: readonly { cpus: number; memory_mb: number; local_gb: number }[] = [
  { cpus: 32, memory_mb: 131072, local_gb: 893 },
  { cpus: 48, memory_mb: 196608, local_gb: 893 },
  { cpus: 64, memory_mb: 262144, local_gb: 1787 },
];

/** The CPU flags inspection turns into capabilities, and the boot mode the node was found in. */
const CAPABILITIES = 'boot_mode:uefi,cpu_vt:true,cpu_aes:true,cpu_hugepages:true,cpu_hugepages_1g:true';

/** Properties of one inspected node; which model it is comes from `prng`, so a seed repeats them. */
export function inspectedProperties(prng: Prng): JsonObject {
  const model = MODELS[Math.floor(prng.next() * MODELS.length)]!;
  return { ...model, cpu_arch: 'x86_64', capabilities: CAPABILITIES };
}
