// Wire types of the Ironic API subset we use, and the contract of the client.
// Validated once where JSON enters (client.ts); trusted everywhere else.
import type { PowerStateValue, PowerTarget, ProvisionStateValue, ProvisionVerbName } from './states.js';

export type Uuid = string;

/** A JSON value as Ironic stores it in instance_info, properties, extra, ... */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Node {
  uuid: Uuid;
  name?: string | null;
  driver?: string;
  power_state: PowerStateValue;
  target_power_state: PowerStateValue;
  provision_state: ProvisionStateValue;
  target_provision_state: ProvisionStateValue;
  last_error: string | null;
  maintenance: boolean;
  reservation?: string | null;
  instance_uuid: Uuid | null;
  instance_info?: JsonObject;
  properties?: JsonObject;
  driver_info?: JsonObject;
  extra?: JsonObject;
  resource_class?: string | null;
  console_enabled?: boolean;
  updated_at?: string | null;
  /** When the provision state last changed (Ironic's own clock). */
  provision_updated_at?: string | null;
}

/** The fields the seed asks for on every node GET (_NODE_FIELDS). */
export const NODE_FIELDS = [
  'uuid',
  'power_state',
  'target_power_state',
  'provision_state',
  'target_provision_state',
  'last_error',
  'maintenance',
  'properties',
  'instance_uuid',
] as const;
export type NodeField = keyof Node;

export interface Port {
  uuid: Uuid;
  address: string;
  node_uuid: Uuid;
  portgroup_uuid?: Uuid | null;
  internal_info: JsonObject;
  extra: JsonObject;
}

export interface Portgroup {
  uuid: Uuid;
  address: string | null;
  node_uuid: Uuid;
  mode: string | null;
  properties: JsonObject;
  internal_info: JsonObject;
  extra: JsonObject;
}

export interface InterfaceValidation {
  result: boolean | null;
  reason?: string | null;
}
/** `GET /v1/nodes/{node}/validate`: one entry per hardware interface. */
export type NodeValidation = Record<string, InterfaceValidation>;

export interface ConsoleInfo {
  console_enabled: boolean;
  /** What the console driver reports; the fake console reports `{}` (no type, no URL). */
  console_info: { type?: string; url?: string } | null;
}

export interface Vif {
  id: string;
}

/** One JSON-patch operation as Ironic's PATCH /v1/nodes/{node} takes it. */
export type PatchOp = { op: 'add' | 'replace'; path: string; value: Json } | { op: 'remove'; path: string };

/** Ironic's Nova-era config drive as JSON (API >= 1.56): Ironic builds the ISO itself. */
export interface ConfigDrive {
  meta_data: JsonObject;
  network_data?: JsonObject;
  user_data?: string | JsonObject;
  vendor_data?: JsonObject;
}

export interface NodeListFilters {
  associated?: boolean;
  provision_state?: ProvisionStateValue;
  instance_uuid?: Uuid;
  maintenance?: boolean;
  /** Return full node bodies (GET /v1/nodes/detail). Cannot be combined with `fields`. */
  detail?: boolean;
  fields?: readonly NodeField[];
  /** Page size. 0 follows every `next` link to the end (as the seed's limit=0). */
  limit?: number;
  marker?: Uuid;
}

/** Per-call options: every operation takes these. */
export interface CallOptions {
  signal?: AbortSignal;
  /** false: a 409 fails at once instead of being retried (seed: deploy PATCH, VIF attach). */
  retryOnConflict?: boolean;
  /** Overrides the client's per-request timeout (ms). */
  timeoutMs?: number;
  /** Overrides the client's total deadline of a request across its attempts (ms; 0: none). */
  deadlineMs?: number;
  /** Called for every HTTP attempt of this call, in addition to the client's observer. */
  observer?: HttpObserver;
  /**
   * 'urgent': takes the next free connection ahead of queued ordinary calls. For the polls that
   * every waiting caller depends on; queued behind thousands of requests they would lag by seconds.
   */
  priority?: 'normal' | 'urgent';
  /**
   * Awaited before a resend of this call once an answer was lost (a timeout or a reset after the
   * request may have reached Ironic): may throw to stop, e.g. when Ironic already took it or the
   * node no longer holds the caller's instance. A request that must not reach Ironic twice
   * (provision, power) is resent after a lost answer only when this is given.
   */
  beforeResend?: (err: Error) => Promise<void>;
}

/** One HTTP attempt, reported to the observer so the engine can record it. */
export interface HttpAttempt {
  method: string;
  /** Path with query, no host. Never carries credentials. */
  path: string;
  /** HTTP status, or null when no response came (network error, timeout). */
  status: number | null;
  ms: number;
  /** 1-based. */
  attempt: number;
  /** The error code when the attempt failed, e.g. IRONIC_NODE_LOCKED. */
  errorCode?: string;
  /** True when another attempt will follow after retryIntervalMs. */
  willRetry: boolean;
  /**
   * When willRetry: the wait before it (retryIntervalMs with jitter; after a concurrent action limit
   * refusal, doubled per refusal up to maxRetryIntervalMs). errorCode says why it is retried.
   */
  retryInMs?: number;
  node?: Uuid;
  at: string;
  /** Set for a Keystone token request (path /v3/auth/tokens): this call waited for it. */
  service?: 'keystone';
  /** Why the token was asked for: first use, about to expire, or after Ironic's 401. */
  authReason?: 'initial' | 'expiring' | 'unauthorized';
}
export type HttpObserver = (attempt: HttpAttempt) => void;

export interface SetPowerStateOptions extends CallOptions {
  /** Seconds Ironic waits for the change (API >= 1.27). */
  timeoutSeconds?: number;
}

export interface SetProvisionStateOptions extends CallOptions {
  configdrive?: ConfigDrive | string;
}

/**
 * Everything the machines' effects and the engine need from Ironic.
 * `IronicClient` (client.ts) implements it over undici; tests may fake it at this boundary.
 */
export interface IronicApi {
  /** The negotiated microversion, e.g. "1.82". */
  readonly microversion: string;
  getNode(node: Uuid | string, opts?: CallOptions & { fields?: readonly NodeField[] }): Promise<Node>;
  /** Throws IronicNotFoundError when no node holds that instance. */
  getNodeByInstance(instance: Uuid, opts?: CallOptions & { fields?: readonly NodeField[] }): Promise<Node>;
  listNodes(filters?: NodeListFilters, opts?: CallOptions): Promise<Node[]>;
  updateNode(node: Uuid | string, patch: readonly PatchOp[], opts?: CallOptions): Promise<Node>;
  validateNode(node: Uuid | string, opts?: CallOptions): Promise<NodeValidation>;
  setProvisionState(
    node: Uuid | string,
    target: ProvisionVerbName,
    opts?: SetProvisionStateOptions,
  ): Promise<void>;
  setPowerState(
    node: Uuid | string,
    target: 'on' | 'off' | 'reboot',
    opts?: SetPowerStateOptions & { soft?: boolean },
  ): Promise<void>;
  attachVif(node: Uuid | string, vifId: string, opts?: CallOptions): Promise<void>;
  detachVif(node: Uuid | string, vifId: string, opts?: CallOptions): Promise<void>;
  listVifs(node: Uuid | string, opts?: CallOptions): Promise<Vif[]>;
  getConsole(node: Uuid | string, opts?: CallOptions): Promise<ConsoleInfo>;
  setConsoleMode(node: Uuid | string, enabled: boolean, opts?: CallOptions): Promise<void>;
  listPorts(node: Uuid | string, opts?: CallOptions): Promise<Port[]>;
  listPortgroups(node: Uuid | string, opts?: CallOptions): Promise<Portgroup[]>;
  /** Test and demo helpers, not used by the lifecycle machines. */
  createNode(body: JsonObject, opts?: CallOptions): Promise<Node>;
  deleteNode(node: Uuid | string, opts?: CallOptions): Promise<void>;
}

/** The image to deploy, as the deploy patch needs it (seed: patcher.get_deploy_patch). */
export interface ImageInfo {
  /** Glance UUID or an http(s) URL of the image. */
  source: string;
  checksum?: string;
  osHashAlgo?: string;
  osHashValue?: string;
  kernel?: string;
  ramdisk?: string;
}

/** The flavor's sizes (Nova flavor), as the deploy patch and resources need them. */
export interface FlavorInfo {
  name?: string;
  vcpus: number;
  memoryMb: number;
  rootGb: number;
  ephemeralGb: number;
  swapMb: number;
  extraSpecs?: Record<string, string>;
}

/** One fixed IP of a VIF, as Neutron hands it to Nova. */
export interface VifIp {
  address: string;
  /** IPv4 netmask or IPv6 prefix length as a string, e.g. "255.255.255.0" or "64". */
  netmask?: string;
  gateway?: string;
  version: 4 | 6;
}

/** One VIF of the instance's network info (the Neutron port). */
export interface NetworkVif {
  /** The Neutron port id: what is attached to the Ironic node. */
  id: string;
  address?: string;
  mtu?: number;
  networkId?: string;
  ips?: VifIp[];
  dns?: string[];
  dhcp?: boolean;
}

/** Map of power target words to Ironic's power state strings. */
export type PowerWord = 'on' | 'off' | 'reboot';
export type { PowerTarget };

/**
 * One link of network_data.json: a VIF, a physical NIC (`phy`) or a bond. Bond options
 * from the portgroup's properties appear as extra `bond_*` keys, hence the index signature.
 */
export type NetworkLink = {
  id: string;
  type: string;
  vif_id?: string;
  mtu?: number | null;
  ethernet_mac_address?: string | null;
  bond_mode?: string | null;
  bond_links?: string[];
  [key: string]: Json | undefined;
};

export type NetworkRoute = { network: string; netmask: string; gateway: string };

/** One L3 network of network_data.json (static `ipv4`/`ipv6`, or `ipv4_dhcp`/`ipv6_dhcp`). */
export type NetworkEntry = {
  id: string;
  type: 'ipv4' | 'ipv6' | 'ipv4_dhcp' | 'ipv6_dhcp';
  link: string;
  network_id?: string;
  ip_address?: string;
  netmask?: string;
  routes?: NetworkRoute[];
};

export type NetworkService = { type: 'dns'; address: string };

/** network_data.json as cloud-init reads it from the config drive. */
export type NetworkData = {
  links: NetworkLink[];
  networks: NetworkEntry[];
  services: NetworkService[];
};
