// The Ironic API simulator's public API. Re-exports only.
export { startSimulator } from './simulator.js';
export type { Simulator, SimNodeView, SimulatorStats } from './simulator.js';
export type { SimOptions } from './options.js';
export { SimKeystone } from './keystone.js';
export type { SimKeystoneOptions, SimKeystoneUser, SimAppCredential, SimKeystoneStats } from './keystone.js';
export type {
  SimNodeInit,
  SimPortInit,
  SimPortgroupInit,
  SimNetworkInterface,
  SimConsoleInterface,
  SimInterfaceName,
} from './node-record.js';
export { FaultInjector } from './faults.js';
export type { FaultKind, FaultRule, FaultStep } from './faults.js';
export type { RequestLogEntry } from './request-log.js';
export { CONDUCTOR_HOST } from './conductor.js';
