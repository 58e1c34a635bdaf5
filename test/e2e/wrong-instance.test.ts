// Issue 15, findings 1-3 on the simulator (the same scenarios run on the real Ironic in
// test/ironic-real/wrong-instance.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { wrongInstanceScenarios } from './wrong-instance.js';

let sim: Simulator;
let dir: string;
let nodes = 0;

beforeAll(async () => {
  sim = await startSimulator({ deployMs: 300, deleteMs: 300, cleanMs: 300, powerMs: 300, seed: 15 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-wrong-instance-'));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('resumed and retried effects never act on the wrong instance (simulator)', () => {
  wrongInstanceScenarios({
    url: () => sim.url,
    availableNode: (vifs) => {
      nodes++;
      const ports = Array.from({ length: vifs }, (_, i) => ({
        address: `52:54:00:15:${String(nodes).padStart(2, '0')}:${String(i).padStart(2, '0')}`,
      }));
      return Promise.resolve(sim.addNode({ provisionState: 'available', ports }).uuid);
    },
    poll: { timeoutMs: 20_000, intervalMs: 50 },
    dir: () => dir,
  });
});
