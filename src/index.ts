// The public API of ironledger. Re-exports only.
export * from './ironic/states.js';
export * from './ironic/types.js';
export * from './ironic/errors.js';
export * from './ironic/client.js';
export { DEFAULT_MAX_RESPONSE_BYTES } from './ironic/transport.js';
export * from './ironic/microversion.js';
export * from './ironic/deploy-patch.js';
export * from './ironic/configdrive.js';
export * from './ironic/network-metadata.js';
export * from './ironic/resources.js';
export {
  CloudConfigError,
  cloudSettingsFromConfig,
  resolveCloudSettings,
  searchDirs,
} from './ironic/cloud-config.js';
export type {
  CloudConfigAuth,
  CloudConfigErrorCode,
  CloudConfigErrorFacts,
  CloudConfigObject,
  CloudFlags,
  CloudSources,
  ResolveCloudOptions,
} from './ironic/cloud-config.js';
export type {
  CloudSettings,
  CloudTls,
  EndpointInterface,
  KeystoneProject,
  KeystoneUser,
} from './ironic/cloud-settings.js';
export { KeystoneSession } from './ironic/keystone.js';
export type { KeystoneAuth, KeystoneSessionOptions, KeystoneStats } from './ironic/keystone.js';
export { isNodeIdent, isUuid } from './ironic/validate.js';
export * from './inventory/inventory.js';
export * from './inventory/hash-ring.js';
export * from './inventory/ownership.js';
export * from './inventory/errors.js';
export { Engine } from './engine/engine.js';
export type {
  CloudIronicOptions,
  EngineOptions,
  EngineStats,
  RunHandle,
  RunResult,
  RunProgress,
} from './engine/engine.js';
export type { DeploySecrets } from './engine/input.js';
export { DEFAULT_REPLICA_LEASE_MS } from './engine/replica.js';
export type { ReplicaOptions } from './engine/replica.js';
export type * from './engine/events.js';
export type { EngineMetrics, MetricsOptions } from './engine/metrics.js';
export type { TelemetryOptions } from './engine/telemetry.js';
export type { TracingOptions, RecordedSpan } from './engine/tracing.js';
export { routeOf } from './ironic/route.js';
export { EngineError } from './engine/errors.js';
export type { EngineErrorCode } from './engine/errors.js';
export {
  lifecycles,
  machines,
  MachineRegistry,
  checkMachineContract,
  MachineContractError,
  machineDigest,
} from './machines/index.js';
export type { Lifecycle, MachineContractCode, MachineContractFacts } from './machines/index.js';
export { isRunFailureCode, RUN_FAILURE_CODES } from './engine/failure.js';
export type { RunFailure, RunFailureCode, MachineFailureCode } from './engine/failure.js';
export type {
  OpName,
  DestroyInput,
  DeployInput,
  RebuildInput,
  RebootInput,
  PowerOffInput,
  PowerOnInput,
  ConsoleInput,
  LifecycleOutput,
  MachineError,
} from './machines/index.js';
export type { FilteringHooks, RunSecrets } from './machines/effect-context.js';
export type { ConfigDrivePlan } from './machines/effect-types.js';
export { EventStore } from './store/event-store.js';
// The store the engine and CLI use: SQLite (a file) or PostgreSQL (a postgres:// URL).
export { openRunStore, SqliteRunStore, isPostgresUrl, maskDbUrl } from './store/run-store.js';
export type { RunStore, RunStoreOptions } from './store/run-store.js';
// The run log: what a run's stream holds (typed by kind), reading it as a timeline, replaying it.
export { buildTimeline } from './runlog/timeline.js';
export type { Timeline } from './runlog/timeline.js';
export { replayRun } from './runlog/replay.js';
export { decodeEvent } from './runlog/events.js';
export type { RunEvent, RunEventData, RunEventKind } from './runlog/events.js';
export { stateToString } from './runlog/state.js';
export type { StoredEvent, RunRow, RunOwner, RunFilters, RunStatus } from './store/types.js';
export { startSimulator } from './sim/index.js';
export type { Simulator, SimOptions } from './sim/index.js';
