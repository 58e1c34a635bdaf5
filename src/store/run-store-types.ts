// The store interface the engine and the CLI use (implemented by SqliteRunStore in
// run-store.ts and PgRunStore in postgres/pg-store.ts); kept apart so neither imports the other.
import type { CommitObserver, EventStore, StoreOptions, WriteResult } from './event-store.js';
import type { StoreError } from './errors.js';
import type { AppendRequest, NewEvent, NewRun, RunFilters, RunOwner, RunRow, StoredEvent } from './types.js';

export type { WriteResult, CommitObserver };

export interface HolderClaim {
  instance?: string | null;
  nodeUuid?: string | null;
  nodeName?: string | null;
}

/** What the engine and the CLI need of a store; every call is asynchronous. */
export interface RunStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Where the store is, fit for messages and logs: a file path, or a URL with no password. */
  readonly path: string;
  readonly mode: 'writer' | 'reader';
  /** The error that made this store unusable, or null. */
  readonly failure: StoreError | null;
  /** The SQLite store underneath, for callers that must read synchronously; null on PostgreSQL. */
  readonly local: EventStore | null;
  write(creates: ReadonlyArray<NewRun>, appends: ReadonlyArray<AppendRequest>): Promise<WriteResult>;
  createRun(run: NewRun): Promise<{ run: RunRow; seq: number }>;
  append(runId: string, expectedSeq: number, events: readonly NewEvent[]): Promise<number>;
  appendBatch(batch: ReadonlyArray<AppendRequest>): Promise<number[]>;
  readStream(runId: string, fromSeq?: number): Promise<StoredEvent[]>;
  getRun(id: string): Promise<RunRow | undefined>;
  resolveRunId(idOrPrefix: string): Promise<string>;
  listRuns(filters?: RunFilters): Promise<RunRow[]>;
  unfinishedRuns(): Promise<RunRow[]>;
  claimUnfinishedRuns(): Promise<RunRow[]>;
  claimRun(idOrPrefix: string): Promise<RunRow>;
  releaseRun(runId: string): Promise<void>;
  heldBy(claim: HolderClaim): Promise<RunRow | undefined>;
  liveOwners(): Promise<RunOwner[]>;
  integrityCheck(): Promise<string[]>;
  /** Throws STORE_CORRUPT when the store cannot be trusted to resume from. */
  verify(): Promise<void>;
  /**
   * Replica mode (issue 18). A replica's heartbeat: renews this writer's lease; `at` is the time
   * (this host's clock, taken before the renewal was sent) the lease holds from at the latest.
   * `rejoined`: its owner row had been forgotten (its lease ran out and a writer that opened
   * meanwhile released its runs); it is live again, owning none of them.
   */
  heartbeat(): Promise<{ at: number; rejoined: boolean }>;
  /** The names of the replicas whose heartbeat lease holds now, sorted. */
  liveReplicas(): Promise<string[]>;
  /**
   * Takes the unfinished runs no live writer owns that `select` picks, in one transaction: each
   * run's epoch goes up by one and a `takeover` note is appended to its stream. Of two replicas
   * taking over at once, each run goes to one. Returns each run as it is now (after the note).
   */
  takeOverRuns(select: (run: RunRow) => boolean): Promise<RunRow[]>;
  /** Which of these runs this writer still holds at the epoch it claimed them with. */
  stillOwned(runIds: readonly string[]): Promise<Set<string>>;
  /** Gives back the runs this writer owns and closes. Idempotent, never fails. */
  close(): Promise<void>;
}

export interface RunStoreOptions extends StoreOptions {
  /** PostgreSQL: the schema to use (created when missing); default `public`. */
  schema?: string;
}
