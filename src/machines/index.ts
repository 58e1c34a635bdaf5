// The registry the engine runs from: one machine per operation, with the version recorded in
// every run (bump it on any behaviour change so replay can tell old runs from new ones).
import type { AnyStateMachine } from 'xstate';
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

export type OpName = 'deploy' | 'destroy' | 'rebuild' | 'reboot' | 'powerOff' | 'powerOn' | 'console';

export interface OpInputs {
  deploy: DeployInput;
  destroy: DestroyInput;
  rebuild: RebuildInput;
  reboot: RebootInput;
  powerOff: PowerOffInput;
  powerOn: PowerOnInput;
  console: ConsoleInput;
}

export interface Lifecycle<I> {
  op: OpName;
  machine: AnyStateMachine;
  /** Bump on any behaviour change: recorded with each run, checked by replay. */
  version: number;
  /** Type-level only, never set: lets callers infer the input `machine` takes. */
  readonly input?: I;
}

export const lifecycles: { [K in OpName]: Lifecycle<OpInputs[K]> } = {
  deploy: { op: 'deploy', machine: deployMachine, version: 6 },
  destroy: { op: 'destroy', machine: teardownMachine, version: 3 },
  rebuild: { op: 'rebuild', machine: rebuildMachine, version: 5 },
  reboot: { op: 'reboot', machine: rebootMachine, version: 3 },
  powerOff: { op: 'powerOff', machine: powerOffMachine, version: 2 },
  powerOn: { op: 'powerOn', machine: powerOnMachine, version: 2 },
  console: { op: 'console', machine: consoleMachine, version: 1 },
};
