// Input and output of every effect the machines invoke, by effect name. The machines declare
// stand-ins with these types (actors.ts); effects.ts implements them against IronicApi. Both
// sides are plain JSON: inputs and outputs are recorded in the event log, so nothing secret
// (admin password, user data, injected files, the config drive) may appear here.
import type { FlavorInfo, ImageInfo, Json, NetworkVif, Node } from '../ironic/types.js';
import type { NodeView } from './node-view.js';

export interface LookupNodeInput {
  instance: string;
  /** Read the whole node, for its `updated_at` (a reboot's baseline). */
  stamps?: boolean;
}
export interface GetNodeInput {
  node: string;
}
export interface ObserveNodeInput {
  node: string;
}
export interface VifsInput {
  node: string;
  vifs: string[];
}
export interface UnplugVifsOutput {
  detached: string[];
  /** Ironic answered 400 "not attached": already the state we want (seed: _unplug_vifs). */
  notAttached: string[];
}
export interface PlugVifsOutput {
  attached: string[];
  /** Ironic answered 409 "already attached" (seed: _plug_vifs). */
  alreadyAttached: string[];
}
export interface FilteringInput {
  instance: string;
  node: string;
  vifs: string[];
}
export interface FilteringOutput {
  done: true;
}
export interface AddInstanceInfoInput {
  node: Node;
  instance: string;
  image: ImageInfo;
  flavor: FlavorInfo;
  preserveEphemeral?: boolean;
  hostname?: string;
}
export interface AddInstanceInfoOutput {
  /** The JSON-patch paths sent, for the log (values stay out: they may be large). */
  paths: string[];
}
export interface InterfaceCheck {
  result: boolean | null;
  reason: string | null;
}
export interface ValidateNodeOutput {
  deploy: InterfaceCheck;
  power: InterfaceCheck;
}
export interface CollectNetworkMetadataInput {
  node: string;
  vifs: NetworkVif[];
}
/** NetworkData from network-metadata.ts, kept as JSON in context. */
export type CollectNetworkMetadataOutput = Json;

export interface ConfigDrivePlan {
  required: boolean;
  hasAdminPassword: boolean;
  hasUserData: boolean;
  injectedFiles: number;
  metadata?: Record<string, string>;
}
export interface RequestActiveInput {
  node: string;
  instance: string;
  hostname?: string;
  configDrivePlan: ConfigDrivePlan;
  /** Only when the config drive is required. */
  networkData?: Json;
}
export interface RequestActiveOutput {
  configDriveSent: boolean;
  /** Ironic already had the node deploying (a resumed run re-sent the request). */
  alreadyRequested: boolean;
}
export interface NodeInput {
  node: string;
}
export interface RequestDeletedOutput {
  /** Ironic answered "can not be performed ... while it is in state X" with X already past `deleted`. */
  alreadyUnprovisioning: boolean;
  state: string | null;
}
export interface RemoveInstanceInfoOutput {
  removed: boolean;
  /** Ironic's 400 reason when it refused (seed: _remove_instance_info_from_node logs it). */
  reason: string | null;
}
export interface RequestRebuildInput {
  node: string;
  /** The node's provision_updated_at read before the request: a later one means Ironic took it. */
  since?: string | null;
}
export interface RequestRebuildOutput {
  alreadyRequested: boolean;
}
export interface SetPowerStateInput {
  node: string;
  target: 'on' | 'off' | 'reboot';
  soft: boolean;
  timeoutSeconds?: number;
  /** For a reboot: the node's updated_at read before the request; a later one means Ironic took it. */
  since?: string | null;
}
export interface SetPowerStateOutput {
  target: 'on' | 'off' | 'reboot';
  soft: boolean;
  /** Ironic had already taken the change (read after a restart or a lost answer). */
  alreadyRequested?: boolean;
}
export interface ConsoleView {
  enabled: boolean;
  type: string | null;
  url: string | null;
}
export interface SetConsoleModeInput {
  node: string;
  enabled: boolean;
}
export interface SetConsoleModeOutput {
  enabled: boolean;
}
export interface SleepInput {
  ms: number;
}
export interface SleepOutput {
  sleptMs: number;
}

/** Every effect by name: what the machines invoke and effects.ts implements. */
export interface EffectSignatures {
  lookupNode: { input: LookupNodeInput; output: NodeView };
  getNode: { input: GetNodeInput; output: Node };
  /** Long-lived: sends `node.observed` at every tick until its state is left; never returns. */
  observeNode: { input: ObserveNodeInput; output: never };
  unplugVifs: { input: VifsInput; output: UnplugVifsOutput };
  plugVifs: { input: VifsInput; output: PlugVifsOutput };
  startFiltering: { input: FilteringInput; output: FilteringOutput };
  stopFiltering: { input: FilteringInput; output: FilteringOutput };
  addInstanceInfo: { input: AddInstanceInfoInput; output: AddInstanceInfoOutput };
  validateNode: { input: NodeInput; output: ValidateNodeOutput };
  collectNetworkMetadata: { input: CollectNetworkMetadataInput; output: CollectNetworkMetadataOutput };
  requestActive: { input: RequestActiveInput; output: RequestActiveOutput };
  requestDeleted: { input: NodeInput; output: RequestDeletedOutput };
  removeInstanceInfo: { input: NodeInput; output: RemoveInstanceInfoOutput };
  requestRebuild: { input: RequestRebuildInput; output: RequestRebuildOutput };
  setPowerState: { input: SetPowerStateInput; output: SetPowerStateOutput };
  getConsole: { input: NodeInput; output: ConsoleView };
  setConsoleMode: { input: SetConsoleModeInput; output: SetConsoleModeOutput };
  sleep: { input: SleepInput; output: SleepOutput };
}
export type EffectName = keyof EffectSignatures;

/** Effects that run for as long as their state and report through events instead of returning. */
export const LONG_LIVED_EFFECTS: ReadonlySet<string> = new Set<EffectName>(['observeNode']);
