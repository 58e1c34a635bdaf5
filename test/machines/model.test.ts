// Model-based proof: every path of every machine, with every effect answering every way Ironic
// (or a hook) can answer, within small poll budgets. The invariants hold on each path.
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { effectActors } from '../../src/machines/actors.js';
import { lifecycles } from '../../src/machines/index.js';
import type { OpName } from '../../src/machines/index.js';
import { INPUTS, INVARIANTS, spaceFor } from './model.js';
import { INSTANCE, NODE } from './fixtures.js';
import { walk } from './walker.js';

describe('every path of every machine', () => {
  const counts: Partial<Record<OpName, number>> = {};
  for (const op of Object.keys(INPUTS) as OpName[]) {
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
    expect(Object.keys(counts)).toHaveLength(7);
  });
});

describe('the invariants themselves', () => {
  it('catch a teardown that requests deleted before detaching VIFs (seed: destroy, bug 1659836)', () => {
    const wrongOrder = setup({ actors: effectActors }).createMachine({
      id: 'wrongTeardown',
      initial: 'lookup',
      states: {
        lookup: {
          invoke: {
            id: 'lookupNode',
            src: 'lookupNode',
            input: { instance: INSTANCE },
            onDone: 'requestDeleted',
            onError: 'failed',
          },
        },
        requestDeleted: {
          invoke: {
            id: 'requestDeleted',
            src: 'requestDeleted',
            input: { node: NODE },
            onDone: 'unplugVifs',
            onError: 'failed',
          },
        },
        unplugVifs: {
          invoke: {
            id: 'unplugVifs',
            src: 'unplugVifs',
            input: { node: NODE, vifs: [] },
            onDone: 'stopFiltering',
            onError: 'failed',
          },
        },
        stopFiltering: {
          invoke: {
            id: 'stopFiltering',
            src: 'stopFiltering',
            input: { instance: INSTANCE, node: NODE, vifs: [] },
            onDone: 'succeeded',
            onError: 'failed',
          },
        },
        succeeded: { type: 'final' },
        failed: { type: 'final' },
      },
      output: () => ({ status: 'succeeded', warnings: [] }),
    });
    const violations: string[] = [];
    walk(wrongOrder, {}, spaceFor('destroy'), (path) => {
      for (const check of INVARIANTS.destroy) {
        const broken = check(path);
        if (broken !== null) violations.push(broken);
      }
    });
    expect(violations).toContain('deleted requested before the cleanup finished');
  });
});
