// Model-based proof: every path of every machine, with every effect answering every way Ironic
// (or a hook) can answer, within small poll budgets. The console machine is walked in
// model-console.test.ts.
import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { effectActors } from '../../src/machines/actors.js';
import { INSTANCE, NODE } from './fixtures.js';
import { INVARIANTS, spaceFor } from './model.js';
import { describeEveryPath } from './model-walk.js';
import { walk } from './walker.js';

describeEveryPath(['destroy', 'deploy', 'rebuild', 'reboot', 'powerOff', 'powerOn']);

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
