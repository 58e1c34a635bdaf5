import { describe, it, expect } from 'vitest';
import { HashRing } from '../../src/inventory/hash-ring.js';
import { ownerOf } from '../../src/inventory/ownership.js';
import { uuidFrom } from './fake-ironic.js';

const ring = new HashRing(['alpha', 'beta', 'gamma']);
/** The first generated node UUID the ring places on `host`. */
function nodeOn(host: string): string {
  for (let i = 0; ; i++) {
    const uuid = uuidFrom(`placed-${i}`);
    if (ring.getHost(uuid) === host) return uuid;
  }
}
const OURS = uuidFrom('instance-ours');
const THEIRS = uuidFrom('instance-theirs');
const view = { host: 'alpha', ring, managedInstances: new Set([OURS]) };

describe('ownerOf (seed: _refresh_cache, get_available_nodes)', () => {
  const table: Array<{ name: string; ringHost: string; instance: string | null; owner: string | null }> = [
    {
      name: 'an unassigned node goes to its ring host (us)',
      ringHost: 'alpha',
      instance: null,
      owner: 'alpha',
    },
    {
      name: 'an unassigned node goes to its ring host (another)',
      ringHost: 'beta',
      instance: null,
      owner: 'beta',
    },
    {
      name: 'a node with an instance we manage is ours even if the ring maps it elsewhere',
      ringHost: 'gamma',
      instance: OURS,
      owner: 'alpha',
    },
    {
      name: 'a node with an instance we manage on our ring slot is ours',
      ringHost: 'alpha',
      instance: OURS,
      owner: 'alpha',
    },
    {
      name: "a node with another scheduler's instance is not ours even on our ring slot",
      ringHost: 'alpha',
      instance: THEIRS,
      owner: null,
    },
    {
      name: "a node with another scheduler's instance elsewhere has no owner we can name",
      ringHost: 'beta',
      instance: THEIRS,
      owner: null,
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const uuid = nodeOn(c.ringHost);
      expect(ring.getHost(uuid)).toBe(c.ringHost);
      expect(ownerOf({ uuid, instance_uuid: c.instance }, view)).toBe(c.owner);
    });
  }
});
