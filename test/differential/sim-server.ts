// The simulator as the differential suite runs it: configured like the real Ironic in
// scripts/ironic-standalone.sh (automated cleaning; the network interfaces are the simulator's
// defaults, which are the script's, so the suite checks them), with transitions short enough for
// the default suite but long enough for a 20 ms poll to see them even on a loaded machine.
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { PollOptions } from './http.js';

export type RunningSim = Simulator;

export const SIM_POLL: PollOptions = { timeoutMs: 10_000, intervalMs: 20 };

export function startDifferentialSim(): Promise<RunningSim> {
  return startSimulator({
    deployMs: 500,
    // Long enough that the requests the locked-teardown scenario sends right after `deleted` all
    // arrive while the node is still `deleting`, even on a loaded machine.
    deleteMs: 800,
    cleanMs: 30,
    powerMs: 300,
    automatedClean: true,
  });
}
