// Types at the store's boundary: what callers append and what they read back.
// Payloads are plain JSON so that a live run and its offline replay see identical values.
import type { Scrubber } from './scrub.js';

export type EventKind =
  | 'run.started'
  | 'run.finished'
  | 'machine.event'
  | 'transition'
  | 'effect.started'
  | 'effect.succeeded'
  | 'effect.failed'
  | 'http'
  | 'note';

export const EVENT_KINDS: readonly EventKind[] = [
  'run.started',
  'run.finished',
  'machine.event',
  'transition',
  'effect.started',
  'effect.succeeded',
  'effect.failed',
  'http',
  'note',
];

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export const RUN_STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'cancelled'];

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export type JsonObject = { [k: string]: JsonValue };

/** Version of the `data` payload layout, stored per event as `v`. Bump when a kind's payload changes shape. */
export const EVENT_PAYLOAD_VERSION = 1;

export interface NewEvent {
  kind: EventKind;
  type?: string | null;
  from?: string | null;
  to?: string | null;
  data: JsonObject;
  /** ISO 8601; defaults to the time of the append. */
  at?: string;
}

export interface StoredEvent {
  runId: string;
  seq: number;
  at: string;
  kind: EventKind;
  type: string | null;
  from: string | null;
  to: string | null;
  data: JsonObject;
  /** Payload schema version (EVENT_PAYLOAD_VERSION when written). */
  v: number;
}

/** A writer that runs as a replica: its name and heartbeat lease. */
export interface ReplicaIdentity {
  id: string;
  leaseMs: number;
}

/** The live process driving a run. */
export interface RunOwner {
  pid: number;
  host: string;
  /** When that process opened the store as a writer (ISO 8601). */
  since: string;
}

export interface RunRow {
  id: string;
  op: string;
  instanceUuid: string | null;
  /** The node's UUID, as Ironic reports it. */
  nodeUuid: string | null;
  /** The node's name, when the run was given one. */
  nodeName: string | null;
  machine: string;
  machineVersion: number;
  status: RunStatus;
  /** `to` of the last recorded 'transition'; null before the first one. */
  state: string | null;
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
  /** `data.error` of 'run.finished' (redacted), null otherwise. */
  error: JsonObject | null;
  /**
   * The live process driving the run (started or resumed it, and has not closed); null when the
   * run has ended or nobody drives it (its process is gone: `resume` takes it).
   */
  owner: RunOwner | null;
}

export interface NewRun {
  /** Defaults to a random UUID. */
  id?: string;
  op: string;
  instanceUuid?: string | null;
  nodeUuid?: string | null;
  nodeName?: string | null;
  machine: string;
  machineVersion: number;
  input: JsonObject;
  at?: string;
}

export interface RunFilters {
  /**
   * A stored status, or 'interrupted': runs still 'running' that no live process owns (their
   * owner closed or is gone) - what a run result calls interrupted, and what `resume` takes.
   */
  status?: RunStatus | 'interrupted';
  op?: string;
  /** node UUID or name */
  node?: string;
  /** instance UUID */
  instance?: string;
  /** created_at >= since (ISO 8601) */
  since?: string;
  /** created_at < until (ISO 8601) */
  until?: string;
  /** Newest first; no limit when absent. */
  limit?: number;
}

export interface AppendRequest {
  runId: string;
  /** The run's current last sequence (optimistic concurrency). */
  expectedSeq: number;
  events: readonly NewEvent[];
  /**
   * The run's live secrets by value: every string of every event's data is scrubbed of them
   * (after key redaction) before it is written, also where no key names a secret.
   */
  scrub?: Scrubber | null;
}
