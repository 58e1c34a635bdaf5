// Issue 15, findings 1-3 on the real Ironic: the scenarios of test/e2e/wrong-instance.ts, with
// fake-hardware nodes (network `noop`: VIFs attach without ports).
import { afterAll, describe, inject } from 'vitest';
import { wrongInstanceScenarios } from '../e2e/wrong-instance.js';
import { availableNode, tempDir } from './engine-helpers.js';
import { REAL_POLL } from './helpers.js';

const url = inject('ironicUrl');
const tmp = tempDir('ironledger-real-wrong-instance-');
afterAll(() => tmp.cleanup());

describe.skipIf(url === null)(
  'resumed and retried effects never act on the wrong instance (real Ironic)',
  () => {
    wrongInstanceScenarios({
      url: () => url!,
      availableNode: () => availableNode(url!),
      poll: REAL_POLL,
      dir: () => tmp.dir,
    });
  },
);
