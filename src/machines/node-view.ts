// The slice of an Ironic node the machines decide on. Kept small and JSON so it can sit in
// machine context and in effect outputs recorded in the event log.
import type { Node } from '../ironic/types.js';
import type { PowerStateValue, ProvisionStateValue } from '../ironic/states.js';

export interface NodeView {
  uuid: string;
  provision_state: ProvisionStateValue;
  target_provision_state: ProvisionStateValue;
  power_state: PowerStateValue;
  target_power_state: PowerStateValue;
  last_error: string | null;
  instance_uuid: string | null;
  maintenance: boolean;
  /**
   * Only when the read asked for them (a lookup, not a watcher tick): the baselines a resumed
   * rebuild or reboot compares with to tell whether Ironic already took its request.
   */
  updated_at?: string | null;
  provision_updated_at?: string | null;
}

export function toNodeView(node: Node): NodeView {
  return {
    uuid: node.uuid,
    provision_state: node.provision_state ?? null,
    target_provision_state: node.target_provision_state ?? null,
    power_state: node.power_state ?? null,
    target_power_state: node.target_power_state ?? null,
    last_error: node.last_error ?? null,
    instance_uuid: node.instance_uuid ?? null,
    maintenance: node.maintenance ?? false,
    ...(node.updated_at === undefined ? {} : { updated_at: node.updated_at }),
    ...(node.provision_updated_at === undefined ? {} : { provision_updated_at: node.provision_updated_at }),
  };
}

/**
 * What the observeNode effect sends its machine at every watcher tick. A wait is one long-lived
 * effect that reports observations, not one effect per poll: the state (and its effect) stays,
 * so a poll costs one machine event instead of an effect start, a result and a re-entry.
 */
export const NODE_OBSERVED = 'node.observed';

export interface NodeObservedEvent {
  type: typeof NODE_OBSERVED;
  node: NodeView;
  /** When the watcher read it (ISO 8601): waits are budgeted in time (wait-budget.ts). */
  at?: string;
}

/** The node carried by a `node.observed` event (named guards see the machine's generic event). */
export function observedNode(event: unknown): NodeView {
  return (event as NodeObservedEvent).node;
}
