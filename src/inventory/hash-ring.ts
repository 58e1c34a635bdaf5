// A consistent hash ring over scheduler host names (seed: _refresh_hash_ring, nova.hash_ring).
// Every scheduler process builds the ring from the same set of live hosts and must map each
// node to the same host, so the mapping depends only on the set of names: not on their order,
// the process, or the time. Each host owns many points on a 32-bit circle; a key belongs to the
// first point at or after its own hash. Adding or removing one host of N therefore moves only
// the keys that host gains or loses, about 1/N of them.
import { createHash } from 'node:crypto';
import { HashRingEmptyError } from './errors.js';

export interface HashRingOptions {
  /** Points per host. More points spread keys more evenly; 256 keeps every host within ~20 %. */
  pointsPerHost?: number;
}

const DEFAULT_POINTS_PER_HOST = 256;

/** The first 32 bits of the MD5 of a string: uniform enough for placement, and fast. */
function hash32(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

export class HashRing {
  /** The distinct host names, sorted. */
  readonly hosts: readonly string[];
  private readonly points: Uint32Array;
  private readonly owners: string[];

  constructor(hosts: Iterable<string>, opts: HashRingOptions = {}) {
    const pointsPerHost = opts.pointsPerHost ?? DEFAULT_POINTS_PER_HOST;
    if (!Number.isInteger(pointsPerHost) || pointsPerHost < 1) {
      throw new RangeError(`pointsPerHost must be a positive integer, got ${pointsPerHost}`);
    }
    this.hosts = [...new Set(hosts)].sort();
    if (this.hosts.length === 0) throw new HashRingEmptyError();

    const placed: Array<{ point: number; host: string }> = [];
    for (const host of this.hosts) {
      for (let i = 0; i < pointsPerHost; i++) placed.push({ point: hash32(`${host}-${i}`), host });
    }
    // Two hosts landing on the same point is rare but possible; breaking the tie by name keeps
    // every process's ring identical.
    placed.sort((a, b) => a.point - b.point || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
    this.points = Uint32Array.from(placed, (p) => p.point);
    this.owners = placed.map((p) => p.host);
  }

  /** The host that owns `key` (a node UUID). */
  getHost(key: string): string {
    const h = hash32(key);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    // Past the last point the circle wraps around to the first.
    return this.owners[lo === this.points.length ? 0 : lo] as string;
  }
}
