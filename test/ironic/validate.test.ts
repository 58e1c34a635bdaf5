import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IronicInvalidInputError } from '../../src/ironic/errors.js';
import type { PatchOp } from '../../src/ironic/types.js';
import { assertNodeIdent, assertPatch, assertTimeoutMs, isUuid } from '../../src/ironic/validate.js';

describe('input checks', () => {
  it('accepts every UUID in either case and rejects near misses', () => {
    fc.assert(fc.property(fc.uuid(), (u) => isUuid(u) && isUuid(u.toUpperCase())));
    for (const bad of [
      '',
      'abc',
      '8f7e2b1c5a4d4e3f9b2a1c0d9e8f7a6b',
      '8f7e2b1c-5a4d-4e3f-9b2a-1c0d9e8f7a6',
      '{8f7e2b1c-5a4d-4e3f-9b2a-1c0d9e8f7a6b}',
    ]) {
      expect(isUuid(bad)).toBe(false);
    }
  });

  it('accepts node names made of URL-safe characters only', () => {
    expect(() => assertNodeIdent('rack-1.node_7~a')).not.toThrow();
    for (const bad of ['', 'a b', 'a/b', 'a?b', '..%2f', 'ü']) {
      expect(() => assertNodeIdent(bad)).toThrow(IronicInvalidInputError);
    }
  });

  it('accepts every well-formed patch and rejects it once any op is broken (property)', () => {
    const path = fc.stringMatching(/^\/[a-z_]{1,10}(\/[a-z_]{1,10})?$/);
    const op: fc.Arbitrary<PatchOp> = fc.oneof(
      fc.record({
        op: fc.constantFrom('add' as const, 'replace' as const),
        path,
        value: fc.jsonValue() as fc.Arbitrary<never>,
      }),
      fc.record({ op: fc.constant('remove' as const), path }),
    );
    const breakers: Array<(o: PatchOp) => unknown> = [
      (o) => ({ ...o, op: 'move' }),
      (o) => ({ ...o, path: o.path.slice(1) }),
      (o) => ({ op: 'add', path: o.path }),
      () => null,
    ];
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 6 }),
        fc.nat(),
        fc.nat({ max: breakers.length - 1 }),
        (patch, at, which) => {
          expect(() => assertPatch(patch)).not.toThrow();
          if (patch.length === 0) return;
          const broken: unknown[] = [...patch];
          const i = at % patch.length;
          broken[i] = breakers[which]!(patch[i]!);
          expect(() => assertPatch(broken)).toThrow(IronicInvalidInputError);
        },
      ),
    );
  });

  it('accepts finite non-negative timeouts only', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        (ms) => assertTimeoutMs(ms, 't') === undefined,
      ),
    );
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(() => assertTimeoutMs(bad, 't')).toThrow(IronicInvalidInputError);
    }
  });
});
