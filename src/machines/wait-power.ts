// Waiting for a power change to finish (seed: _wait_for_power_state): Ironic clears
// `target_power_state` when the change is done, whichever way it went.
import type { PowerStateValue } from '../ironic/states.js';
import type { MachineError } from './lifecycle-output.js';
import { doneOutput } from './lifecycle-output.js';
import type { NodeView } from './node-view.js';

export interface WaitPowerContext {
  instance: string;
  node: string | null;
  polls: number;
  maxPolls: number;
  lastPowerState: PowerStateValue;
  lastTargetPowerState: PowerStateValue;
}

type GuardArgs = { context: WaitPowerContext; event: unknown };

export const waitPowerGuards = {
  powerSettled: ({ event }: { event: unknown }): boolean =>
    doneOutput<NodeView>(event).target_power_state === null,
  powerPollBudgetSpent: ({ context }: GuardArgs): boolean => context.polls + 1 >= context.maxPolls,
};

export function powerObservation(context: WaitPowerContext, node: NodeView) {
  return {
    polls: context.polls + 1,
    lastPowerState: node.power_state,
    lastTargetPowerState: node.target_power_state,
  };
}

export function powerTimeoutError(context: WaitPowerContext, node: NodeView, what: string): MachineError {
  return {
    code: 'POWER_TIMEOUT',
    message: `node ${node.uuid} did not finish ${what} after ${context.polls + 1} observations (power state "${node.power_state ?? 'null'}", target "${node.target_power_state ?? 'null'}")`,
    state: node.power_state,
    node: node.uuid,
  };
}
