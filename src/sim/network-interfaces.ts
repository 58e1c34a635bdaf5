// Which network interfaces a node may have, and which one it gets when nobody names one, by
// Ironic 2023.1's rule (driver_factory.default_interface): [DEFAULT] default_network_interface if
// set, else the first of the hardware type's supported interfaces that is enabled. Ironic's old
// fallback on the DHCP provider (flat with neutron DHCP, else noop) applied only to classic drivers,
// which 2023.1 no longer has; fake-hardware is a hardware type.
import { pyRepr } from './python-json.js';
import type { SimNetworkInterface } from './node-record.js';

/**
 * fake-hardware's supported network interfaces (GenericHardware's list), in the order the default
 * is picked in. It is also the order of the ironic.hardware.interfaces.network entry points in
 * Ironic's setup.cfg, in which a refusal lists the enabled ones.
 */
export const SUPPORTED_NETWORK_INTERFACES: readonly SimNetworkInterface[] = ['flat', 'neutron', 'noop'];

/** What scripts/ironic-standalone.sh configures: enabled_network_interfaces = noop, flat. */
export const STANDALONE_ENABLED: readonly SimNetworkInterface[] = ['noop', 'flat'];
/** ... and default_network_interface = noop. */
export const STANDALONE_DEFAULT: SimNetworkInterface = 'noop';

export interface NetworkInterfaces {
  /** Enabled interfaces in entry point order. */
  enabled: readonly SimNetworkInterface[];
  /** What a node gets when it names none, or has its network_interface removed. */
  default: SimNetworkInterface;
}

function known(name: string): name is SimNetworkInterface {
  return (SUPPORTED_NETWORK_INTERFACES as readonly string[]).includes(name);
}

/**
 * `configured` is default_network_interface (undefined: the standalone script's noop; null: not
 * set). `enabled` is enabled_network_interfaces; when not given it is the script's list, plus the
 * configured default if that is not on it (an operator choosing a default enables it too).
 * Throws RangeError where Ironic's conductor would refuse to start.
 */
export function resolveNetworkInterfaces(
  configured: SimNetworkInterface | null | undefined,
  enabled: readonly string[] | undefined,
): NetworkInterfaces {
  const wanted = configured === undefined ? STANDALONE_DEFAULT : configured;
  if (wanted !== null && !known(wanted)) {
    throw new RangeError(
      `networkInterface must be one of ${SUPPORTED_NETWORK_INTERFACES.join(', ')} or null, got ${String(wanted)}`,
    );
  }
  let names: readonly string[];
  if (enabled !== undefined) names = enabled;
  else
    names =
      wanted === null || STANDALONE_ENABLED.includes(wanted)
        ? STANDALONE_ENABLED
        : [...STANDALONE_ENABLED, wanted];
  const unknown = names.find((n) => !known(n));
  if (unknown !== undefined) {
    throw new RangeError(
      `enabledNetworkInterfaces: unknown network interface ${unknown} (known: ${SUPPORTED_NETWORK_INTERFACES.join(', ')})`,
    );
  }
  const on = SUPPORTED_NETWORK_INTERFACES.filter((n) => names.includes(n));
  if (on.length === 0)
    throw new RangeError('enabledNetworkInterfaces must name at least one network interface');
  if (wanted !== null && !on.includes(wanted)) {
    throw new RangeError(
      `the default network interface ${wanted} is not enabled (enabled: ${on.join(', ')}); ` +
        'enable it, or pick an enabled one (null lets Ironic choose)',
    );
  }
  // `on` is non-empty and in supported order, so its first entry is Ironic's choice.
  return { enabled: on, default: wanted ?? on[0]! };
}

/** InterfaceNotFoundInEntrypoint's faultstring (400), as Ironic answers a POST or PATCH naming one not enabled. */
export function notEnabledMessage(name: string, ifaces: NetworkInterfaces): string {
  return (
    `Could not find the following interface in the 'ironic.hardware.interfaces.network' entrypoint: ` +
    `${name}. Valid interfaces are ${pyRepr(ifaces.enabled)}.`
  );
}
