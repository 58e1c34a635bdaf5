// The differential suite (simulator issue): every scenario runs against the real Ironic and the
// simulator at the same time; the transcripts must agree apart from the listed known differences.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { diffTranscripts, expectedFor, knownDifferences } from '../differential/differences.js';
import { runScenario, scenarios } from '../differential/scenarios.js';
import { startDifferentialSim, SIM_POLL, type RunningSim } from '../differential/sim-server.js';
import { REAL_POLL } from './helpers.js';

const url = inject('ironicUrl');

describe.skipIf(url === null).concurrent('differential: real Ironic vs simulator', () => {
  let sim: RunningSim;
  beforeAll(async () => {
    sim = await startDifferentialSim();
  });
  afterAll(async () => {
    await sim?.close();
  });

  for (const scenario of scenarios) {
    it(`agrees on: ${scenario.name}`, async () => {
      const [real, simulated] = await Promise.all([
        runScenario(scenario, url!, { ...REAL_POLL, intervalMs: 150 }),
        runScenario(scenario, sim.url, SIM_POLL),
      ]);

      expect(real.entries, 'the real Ironic changed its answers').toEqual(expectedFor('real', scenario.name));
      const listed = knownDifferences.filter((d) => d.scenario === scenario.name);
      expect(
        diffTranscripts(real.entries, simulated.entries).map((d) => ({ step: d.step, sim: d.sim })),
        'differences not listed in test/differential/differences.ts (and docs/sim-differences.md)',
      ).toEqual(listed.map((d) => ({ step: d.step, sim: d.sim })));
    });
  }
});
