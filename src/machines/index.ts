// The registry the engine runs from: per operation, the current machine and every earlier
// released version runs may still have been recorded with (src/machines/released/).
//
// THE MACHINE CONTRACT. The engine does not run a machine as a live XState actor: it steps it
// with XState's pure transition functions, records every step, and resumes or replays a run by
// folding its recorded events through the machine again. So a lifecycle machine may use only
// what that stepping drives faithfully:
//   - `invoke` of a named effect (`src` a key of `effectActors`, implemented in effects.ts); the
//     engine runs it, records its start and answer, and feeds the answer back as the event;
//   - named guards and `assign` (pure functions of context and event);
//   - `always` (eventless) transitions, compound and parallel states;
//   - final states, the machine's `output` computed by `outputOf` (lifecycle-output.ts).
// It may NOT use: `after` delays or `raise` with a delay (the engine records no timers: a delayed
// event would be dropped and the run would hang; wait inside an effect, e.g. `sleep` or
// `observeNode`); `spawnChild`/`stopChild`, `sendTo`, `sendParent`, `forwardTo` (the only children
// are invoked effects); `enqueueActions` (the check cannot see what it enqueues); invoking inline
// logic or another machine. `checkMachineContract` (contract.ts) refuses such a machine when it is
// registered, naming the state; embedders registering their own machines get the same check.
//
// VERSIONS. Any change to a machine's behaviour bumps its version (test/machines/versions.test.ts
// compares each definition's digest with test/fixtures/machine-digests.json). Before bumping,
// freeze the old version: copy its file to released/<machine>-v<N>.ts and register it in
// released/index.ts, so that runs recorded with it still resume and replay with it.
import { consoleMachine } from './console.js';
import type { ConsoleInput } from './console.js';
import { deployMachine } from './deploy.js';
import type { DeployInput } from './deploy.js';
import { powerOffMachine, powerOnMachine } from './power.js';
import type { PowerOffInput, PowerOnInput } from './power.js';
import { rebootMachine } from './reboot.js';
import type { RebootInput } from './reboot.js';
import { rebuildMachine } from './rebuild.js';
import type { RebuildInput } from './rebuild.js';
import { teardownMachine } from './teardown.js';
import type { DestroyInput } from './teardown.js';
import { effects } from './effects.js';
import { MachineRegistry, type Lifecycle, type OpName } from './registry.js';
import { released } from './released/index.js';

export type { ConsoleInput } from './console.js';
export type { DeployInput } from './deploy.js';
export type { PowerOffInput, PowerOnInput } from './power.js';
export type { RebootInput } from './reboot.js';
export type { RebuildInput } from './rebuild.js';
export type { DestroyInput } from './teardown.js';
export { ABORT } from './wait-active.js';
export type { AbortEvent } from './wait-active.js';
export type { LifecycleOutput, MachineError } from './lifecycle-output.js';
export type { EffectErrorJson } from './effect-error.js';

export { MachineRegistry } from './registry.js';
export type { Lifecycle, OpName } from './registry.js';
export { checkMachineContract, MachineContractError } from './contract.js';
export type { MachineContractCode, MachineContractFacts } from './contract.js';
export { machineDigest } from './digest.js';

export interface OpInputs {
  deploy: DeployInput;
  destroy: DestroyInput;
  rebuild: RebuildInput;
  reboot: RebootInput;
  powerOff: PowerOffInput;
  powerOn: PowerOnInput;
  console: ConsoleInput;
}

/** The current version of each operation's machine: what new runs use. */
export const lifecycles: { [K in OpName]: Lifecycle<OpInputs[K]> } = {
  deploy: { op: 'deploy', machine: deployMachine, version: 6 },
  destroy: { op: 'destroy', machine: teardownMachine, version: 3 },
  rebuild: { op: 'rebuild', machine: rebuildMachine, version: 5 },
  reboot: { op: 'reboot', machine: rebootMachine, version: 3 },
  powerOff: { op: 'powerOff', machine: powerOffMachine, version: 2 },
  powerOn: { op: 'powerOn', machine: powerOnMachine, version: 2 },
  console: { op: 'console', machine: consoleMachine, version: 1 },
};

/**
 * Every registered version of every machine (the current ones and the frozen released ones),
 * each checked against the contract at load. The engine uses it unless given its own
 * (EngineOptions.machines); `machines.clone().register(...)` adds an embedder's versions.
 */
export const machines = new MachineRegistry(
  [...Object.values(lifecycles), ...released],
  new Set(Object.keys(effects)),
);
