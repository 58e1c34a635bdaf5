// Which scheduler host manages a node (seed: _refresh_cache, get_available_nodes). Three rules,
// in order: a node holding an instance this host manages is ours wherever the ring puts it (so
// an instance never loses its manager when the ring changes); a node holding any other instance
// belongs to whichever scheduler manages that instance, which this host cannot name; a node
// without an instance goes to its host on the ring.
import type { Node, Uuid } from '../ironic/types.js';
import type { HashRing } from './hash-ring.js';

export interface OwnershipView {
  /** This scheduler process's host name. */
  host: string;
  ring: HashRing;
  /** Instances this host manages. */
  managedInstances: ReadonlySet<Uuid>;
}

/** The host that manages `node`, or null when another scheduler's instance holds it. */
export function ownerOf(node: Pick<Node, 'uuid' | 'instance_uuid'>, view: OwnershipView): string | null {
  if (node.instance_uuid !== null) {
    return view.managedInstances.has(node.instance_uuid) ? view.host : null;
  }
  return view.ring.getHost(node.uuid);
}
