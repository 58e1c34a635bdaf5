// The differential scenarios against the simulator alone, in the default suite: each transcript
// must equal what the real Ironic answered (test/differential/expected.ts), apart from the
// differences listed in differences.ts. test/ironic-real/differential.test.ts re-checks the
// expectation against a live Ironic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedFor } from './differences.js';
import { runScenario, scenarios } from './scenarios.js';
import { SIM_POLL, startDifferentialSim, type RunningSim } from './sim-server.js';

describe.concurrent('simulator answers like the real Ironic', () => {
  let sim: RunningSim;
  beforeAll(async () => {
    sim = await startDifferentialSim();
  });
  afterAll(async () => {
    await sim?.close();
  });

  for (const scenario of scenarios) {
    it(`answers like Ironic: ${scenario.name}`, async () => {
      const transcript = await runScenario(scenario, sim.url, SIM_POLL);
      expect(transcript.entries).toEqual(expectedFor('sim', scenario.name));
    });
  }
});
