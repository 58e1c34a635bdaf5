import { describe, it, expect } from 'vitest';
import { HashRing } from '../../src/inventory/hash-ring.js';
import { HashRingEmptyError } from '../../src/inventory/errors.js';
import { uuidFrom } from './fake-ironic.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => uuidFrom(`key-${i}`));
const hostsOf = (n: number): string[] => Array.from({ length: n }, (_, i) => `scheduler-${i}.example.org`);
const placement = (ring: HashRing): string[] => KEYS.map((k) => ring.getHost(k));

describe('HashRing (seed: _refresh_hash_ring)', () => {
  it('maps keys the same way whatever the order or repetition of host names', () => {
    const a = new HashRing(['c', 'a', 'b']);
    const b = new HashRing(['b', 'c', 'a', 'a']);
    expect(b.hosts).toEqual(['a', 'b', 'c']);
    expect(KEYS.slice(0, 500).map((k) => b.getHost(k))).toEqual(KEYS.slice(0, 500).map((k) => a.getHost(k)));
  });

  it('sends every key to the only host of a one-host ring', () => {
    const ring = new HashRing(['solo']);
    expect(new Set(KEYS.slice(0, 1000).map((k) => ring.getHost(k)))).toEqual(new Set(['solo']));
  });

  it('refuses an empty host list with HASH_RING_EMPTY', () => {
    expect(() => new HashRing([])).toThrow(HashRingEmptyError);
  });

  // With 256 points per host the measured worst host is within 13 % of its fair share for
  // 3..10 hosts; 20 % leaves room without hiding a broken spread (64 points reach 28 %).
  for (let n = 3; n <= 10; n++) {
    it(`spreads 10,000 node UUIDs over ${n} hosts with every host within 20 % of 1/${n}`, () => {
      const counts = new Map<string, number>();
      for (const host of placement(new HashRing(hostsOf(n)))) counts.set(host, (counts.get(host) ?? 0) + 1);
      const fair = KEYS.length / n;
      expect([...counts.keys()].sort()).toEqual(hostsOf(n).sort());
      for (const count of counts.values()) {
        expect(Math.abs(count - fair) / fair).toBeLessThan(0.2);
      }
    });
  }

  for (let n = 3; n <= 10; n++) {
    it(`moves about 1/${n + 1} of the keys, all to the new host, when a host joins ${n}`, () => {
      const before = placement(new HashRing(hostsOf(n)));
      const after = placement(new HashRing([...hostsOf(n), 'newcomer']));
      const moved = KEYS.filter((_, i) => before[i] !== after[i]);
      const fraction = moved.length / KEYS.length;
      expect(fraction).toBeGreaterThan(0.5 / (n + 1));
      expect(fraction).toBeLessThan(1.5 / (n + 1));
      expect(new Set(after.filter((_, i) => before[i] !== after[i]))).toEqual(new Set(['newcomer']));
    });

    it(`moves about 1/${n} of the keys, only the leaver's, when a host leaves ${n}`, () => {
      const hosts = hostsOf(n);
      const leaver = hosts[n - 1] as string;
      const before = placement(new HashRing(hosts));
      const after = placement(new HashRing(hosts.slice(0, -1)));
      const movedFrom = before.filter((_, i) => before[i] !== after[i]);
      const fraction = movedFrom.length / KEYS.length;
      expect(fraction).toBeGreaterThan(0.5 / n);
      expect(fraction).toBeLessThan(1.5 / n);
      expect(new Set(movedFrom)).toEqual(new Set([leaver]));
      expect(movedFrom.length).toBe(before.filter((h) => h === leaver).length);
    });
  }
});
