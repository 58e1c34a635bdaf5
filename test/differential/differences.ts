// Where the simulator knowingly answers differently from the real Ironic in the differential
// scenarios. Every entry is also explained in docs/sim-differences.md; the differential tests
// fail on any difference NOT listed here, and on any listed one that has gone away.
import { expectedTranscripts } from './expected.js';
import type { Entry } from './transcript.js';

export interface KnownDifference {
  scenario: string;
  step: string;
  /** What the simulator records at this step instead of the real Ironic's entry. */
  sim: Entry;
  reason: string;
}

export const knownDifferences: readonly KnownDifference[] = [];

export interface StepDifference {
  index: number;
  step: string;
  real: Entry | undefined;
  sim: Entry | undefined;
}

/** Entry-by-entry comparison: both servers ran the same scenario code, so steps line up by index. */
export function diffTranscripts(real: readonly Entry[], sim: readonly Entry[]): StepDifference[] {
  const out: StepDifference[] = [];
  for (let i = 0; i < Math.max(real.length, sim.length); i++) {
    if (JSON.stringify(real[i]) !== JSON.stringify(sim[i])) {
      out.push({ index: i, step: real[i]?.step ?? sim[i]?.step ?? '?', real: real[i], sim: sim[i] });
    }
  }
  return out;
}

/** The transcript a server should produce for a scenario: Ironic's, with the listed sim differences. */
export function expectedFor(server: 'real' | 'sim', scenario: string): Entry[] {
  const real = expectedTranscripts[scenario];
  if (!real) throw new Error(`no expected transcript for scenario '${scenario}'`);
  if (server === 'real') return [...real];
  return real.map(
    (e) => knownDifferences.find((d) => d.scenario === scenario && d.step === e.step)?.sim ?? e,
  );
}
