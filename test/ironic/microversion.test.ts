import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IronicVersionError } from '../../src/ironic/errors.js';
import {
  compareMicroversions,
  MAX_MICROVERSION,
  MIN_MICROVERSION,
  negotiateMicroversion,
  parseMicroversion,
} from '../../src/ironic/microversion.js';

const v = (s: string) => parseMicroversion(s)!;

describe('negotiateMicroversion', () => {
  it('picks our maximum from a newer server and the server maximum from an older one', () => {
    expect(negotiateMicroversion({ min: '1.1', max: '1.90' })).toBe(MAX_MICROVERSION);
    expect(negotiateMicroversion({ min: '1.1', max: '1.58' })).toBe('1.58');
  });

  it('compares numerically, not as text (1.9 < 1.56 < 1.100)', () => {
    expect(compareMicroversions(v('1.9'), v('1.56'))).toBeLessThan(0);
    expect(compareMicroversions(v('1.100'), v('1.82'))).toBeGreaterThan(0);
    expect(() => negotiateMicroversion({ min: '1.1', max: '1.9' })).toThrow(IronicVersionError);
  });

  it('refuses a cap below 1.56, a server whose minimum is above what we speak, and garbage', () => {
    expect(() => negotiateMicroversion({ min: '1.1', max: '1.82' }, '1.50')).toThrow(IronicVersionError);
    expect(() => negotiateMicroversion({ min: '1.90', max: '1.95' })).toThrow(IronicVersionError);
    expect(() => negotiateMicroversion({ min: 'one', max: '1.82' })).toThrow(IronicVersionError);
    expect(() => negotiateMicroversion({ min: '1.1', max: '1.82' }, 'latest')).toThrow(IronicVersionError);
  });

  it('chooses a version both sides support, or refuses (property)', () => {
    const ver = fc.record({ major: fc.constant(1), minor: fc.integer({ min: 0, max: 120 }) });
    fc.assert(
      fc.property(ver, ver, fc.option(ver, { nil: undefined }), (a, b, cap) => {
        const [lo, hi] = compareMicroversions(a, b) <= 0 ? [a, b] : [b, a];
        const fmt = (x: { major: number; minor: number }) => `${x.major}.${x.minor}`;
        let chosen: string | null = null;
        try {
          chosen = negotiateMicroversion(
            { min: fmt(lo), max: fmt(hi) },
            cap === undefined ? undefined : fmt(cap),
          );
        } catch (err) {
          expect(err).toBeInstanceOf(IronicVersionError);
        }
        const best = [hi, v(MAX_MICROVERSION), ...(cap ? [cap] : [])].reduce((m, x) =>
          compareMicroversions(x, m) < 0 ? x : m,
        );
        const feasible =
          compareMicroversions(best, v(MIN_MICROVERSION)) >= 0 && compareMicroversions(best, lo) >= 0;
        expect(chosen).toBe(feasible ? fmt(best) : null);
      }),
    );
  });
});
