// Simulator options and their defaults.
import type { SimHttpBasic } from './http-basic.js';
import { resolveNetworkInterfaces, type NetworkInterfaces } from './network-interfaces.js';
import type { SimKeystoneOptions } from './keystone.js';
import type { SimNetworkInterface } from './node-record.js';

export interface SimOptions {
  /** Interface to bind; default 127.0.0.1 (loopback only). */
  host?: string;
  /** TCP port; default 0 (any free port). */
  port?: number;
  /**
   * Pre-enrolled `available`, powered-off fake-hardware nodes named node-0001, node-0002, ...,
   * each with one port and the properties inspection would have set (cpus, memory_mb, local_gb,
   * cpu_arch x86_64, capabilities), drawn from a few server models under `seed` (default 0).
   */
  nodes?: number;
  /** Time in `deploying` with the node locked (default 1000 ms). */
  deployMs?: number;
  /** Time in `wait call-back`, unlocked (default 0: deploying goes straight to active). */
  deployWaitMs?: number;
  /** Time in `deleting`, locked (default 200 ms). */
  deleteMs?: number;
  /** Time in `cleaning`, locked (default 1000 ms). */
  cleanMs?: number;
  /** Time in `clean wait`, unlocked (default 0). */
  cleanWaitMs?: number;
  /** Power change duration with target_power_state set, locked; also verifying/inspecting (default 200 ms). */
  powerMs?: number;
  /** Console enable/disable duration, locked (default 100 ms). */
  consoleMs?: number;
  /** [conductor] automated_clean (default true). */
  automatedClean?: boolean;
  /**
   * How long a request that needs the node's lock waits for it before
   * answering 409 NodeLocked. Ironic's conductor tries node_locked_retry_attempts
   * (3) times, node_locked_retry_interval (1 s) apart, so it answers after about
   * 2 s (measured 2.0 s on Ironic 2023.1); 2000 reproduces that. Default 0
   * answers at once.
   */
  lockWaitMs?: number;
  /**
   * [conductor] max_concurrent_deploy (Ironic's default 250): a deploy or rebuild is refused with
   * 500 ConcurrentActionLimit while this many nodes are in `deploying` or `wait call-back`.
   */
  maxConcurrentDeploy?: number;
  /**
   * [conductor] max_concurrent_clean (Ironic's default 50): a teardown (deleted/undeploy) or a
   * manual clean is refused with 500 ConcurrentActionLimit while this many nodes are in
   * `deleting`, `cleaning` or `clean wait`.
   */
  maxConcurrentClean?: number;
  /** PRNG seed for faults and generated UUIDs (default 1). */
  seed?: number;
  /** Highest microversion announced (default '1.82'); the lowest is always '1.1'. */
  maxVersion?: string;
  /** Keep a request log (default true). */
  log?: boolean;
  /** Request log ring-buffer capacity (default 100,000 entries). */
  logCapacity?: number;
  /**
   * Ironic's auth_strategy = http_basic: every route but `/`, `/v1`, lookup and heartbeat needs
   * one of these users (401 / 400 with ironic-lib's bodies otherwise). Default: noauth.
   */
  httpBasic?: SimHttpBasic;
  /**
   * Ironic's [DEFAULT] default_network_interface: what pre-enrolled nodes and nodes POSTed without
   * one get. Default 'noop', as scripts/ironic-standalone.sh configures (VIF attach and detach are
   * accepted and forgotten); 'flat' and 'neutron' track VIFs on ports and portgroups. null: not
   * set, so Ironic's rule picks the first enabled of flat, neutron, noop.
   */
  networkInterface?: SimNetworkInterface | null;
  /**
   * Ironic's [DEFAULT] enabled_network_interfaces: the ones a POST or PATCH may name. Default
   * noop and flat (as scripts/ironic-standalone.sh), plus `networkInterface` if it is neither.
   */
  enabledNetworkInterfaces?: readonly SimNetworkInterface[];
  /** Console interface of pre-enrolled and POSTed nodes (default 'fake'). */
  consoleInterface?: 'fake' | 'ipmitool-socat' | 'no-console';
  /** Put a Keystone in front (same port, /v3): Ironic then needs a token, as auth_strategy = keystone. */
  keystone?: SimKeystoneOptions;
}

export interface SimTimings {
  deployMs: number;
  deployWaitMs: number;
  deleteMs: number;
  cleanMs: number;
  cleanWaitMs: number;
  powerMs: number;
  consoleMs: number;
  automatedClean: boolean;
  maxConcurrentDeploy: number;
  maxConcurrentClean: number;
}

export interface ResolvedOptions extends SimTimings {
  host: string;
  port: number;
  nodes: number;
  lockWaitMs: number;
  seed: number;
  maxMinor: number;
  log: boolean;
  logCapacity: number;
  httpBasic: SimHttpBasic | undefined;
  networkInterfaces: NetworkInterfaces;
  consoleInterface: 'fake' | 'ipmitool-socat' | 'no-console';
}

export const MIN_MINOR = 1;

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

/** oslo.config IntOpt(min=1). */
function atLeastOne(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  return value;
}

export function resolveOptions(opts: SimOptions = {}): ResolvedOptions {
  const max = opts.maxVersion ?? '1.82';
  const m = /^1\.(\d+)$/.exec(max);
  if (!m) throw new RangeError(`maxVersion must look like 1.N, got ${max}`);
  const maxMinor = Number(m[1]);
  if (maxMinor < MIN_MINOR) throw new RangeError(`maxVersion must be at least 1.${MIN_MINOR}`);
  return {
    host: opts.host ?? '127.0.0.1',
    port: nonNegative('port', opts.port, 0),
    nodes: Math.floor(nonNegative('nodes', opts.nodes, 0)),
    deployMs: nonNegative('deployMs', opts.deployMs, 1000),
    deployWaitMs: nonNegative('deployWaitMs', opts.deployWaitMs, 0),
    deleteMs: nonNegative('deleteMs', opts.deleteMs, 200),
    cleanMs: nonNegative('cleanMs', opts.cleanMs, 1000),
    cleanWaitMs: nonNegative('cleanWaitMs', opts.cleanWaitMs, 0),
    powerMs: nonNegative('powerMs', opts.powerMs, 200),
    consoleMs: nonNegative('consoleMs', opts.consoleMs, 100),
    automatedClean: opts.automatedClean ?? true,
    maxConcurrentDeploy: atLeastOne('maxConcurrentDeploy', opts.maxConcurrentDeploy, 250),
    maxConcurrentClean: atLeastOne('maxConcurrentClean', opts.maxConcurrentClean, 50),
    lockWaitMs: nonNegative('lockWaitMs', opts.lockWaitMs, 0),
    seed: opts.seed ?? 1,
    maxMinor,
    log: opts.log ?? true,
    logCapacity: Math.max(1, Math.floor(nonNegative('logCapacity', opts.logCapacity, 100_000))),
    httpBasic: opts.httpBasic === undefined ? undefined : { users: { ...opts.httpBasic.users } },
    networkInterfaces: resolveNetworkInterfaces(opts.networkInterface, opts.enabledNetworkInterfaces),
    consoleInterface: opts.consoleInterface ?? 'fake',
  };
}
