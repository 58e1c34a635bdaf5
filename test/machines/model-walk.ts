// Runs the walker over a list of operations as vitest cases (split across files so each stays fast).
import { describe, expect, it } from 'vitest';
import { lifecycles } from '../../src/machines/index.js';
import type { OpName } from '../../src/machines/index.js';
import { INPUTS, INVARIANTS, spaceFor } from './model.js';
import { walk } from './walker.js';

/** Walks every path of each op in `ops`, checking the invariants on each; prints the counts. */
export function describeEveryPath(ops: readonly OpName[]): void {
  describe(`every path of ${ops.join(', ')}`, () => {
    const counts: Partial<Record<OpName, number>> = {};
    for (const op of ops) {
      it(
        `${op}: every path ends final, starts one effect per event and keeps its order invariants`,
        { timeout: 120_000 },
        () => {
          const violations: string[] = [];
          let total = 0;
          for (const input of INPUTS[op]) {
            total += walk(lifecycles[op].machine, input, spaceFor(op), (path) => {
              for (const check of INVARIANTS[op]) {
                const broken = check(path);
                if (broken !== null && violations.length < 20)
                  violations.push(`${broken}: ${path.labels.join(' > ')}`);
              }
            });
          }
          counts[op] = total;
          expect(violations).toEqual([]);
          expect(total).toBeGreaterThan(10);
        },
      );
    }
    it('reports the number of paths walked', () => {
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      console.log(`model paths walked: ${JSON.stringify(counts)} total ${total}`);
      expect(Object.keys(counts)).toHaveLength(ops.length);
    });
  });
}
