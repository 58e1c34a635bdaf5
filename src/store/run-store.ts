// The store as the engine and the CLI use it: one asynchronous interface, two backends. SQLite
// (EventStore, one file, the default) and PostgreSQL (PgRunStore, a server shared by hosts).
// `openRunStore` picks one by the `db` string: a postgres:// or postgresql:// URL is a server,
// anything else a SQLite file.

import { EventStore, type CommitObserver, type StoreOptions, type WriteResult } from './event-store.js';
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
  /** Gives back the runs this writer owns and closes. Idempotent, never fails. */
  close(): Promise<void>;
}

export interface RunStoreOptions extends StoreOptions {
  /** PostgreSQL: the schema to use (created when missing); default `public`. */
  schema?: string;
}

/** Today's EventStore behind the asynchronous interface: each call runs at once, synchronously. */
export class SqliteRunStore implements RunStore {
  readonly backend = 'sqlite' as const;
  constructor(readonly local: EventStore) {}

  static open(path: string, opts: StoreOptions = {}): SqliteRunStore {
    return new SqliteRunStore(EventStore.open(path, opts));
  }

  get path(): string {
    return this.local.path;
  }
  get mode(): 'writer' | 'reader' {
    return this.local.mode;
  }
  get failure(): StoreError | null {
    return this.local.failure;
  }
  async write(creates: ReadonlyArray<NewRun>, appends: ReadonlyArray<AppendRequest>): Promise<WriteResult> {
    return this.local.write(creates, appends);
  }
  async createRun(run: NewRun): Promise<{ run: RunRow; seq: number }> {
    return this.local.createRun(run);
  }
  async append(runId: string, expectedSeq: number, events: readonly NewEvent[]): Promise<number> {
    return this.local.append(runId, expectedSeq, events);
  }
  async appendBatch(batch: ReadonlyArray<AppendRequest>): Promise<number[]> {
    return this.local.appendBatch(batch);
  }
  async readStream(runId: string, fromSeq = 1): Promise<StoredEvent[]> {
    return this.local.readStream(runId, fromSeq);
  }
  async getRun(id: string): Promise<RunRow | undefined> {
    return this.local.getRun(id);
  }
  async resolveRunId(idOrPrefix: string): Promise<string> {
    return this.local.resolveRunId(idOrPrefix);
  }
  async listRuns(filters: RunFilters = {}): Promise<RunRow[]> {
    return this.local.listRuns(filters);
  }
  async unfinishedRuns(): Promise<RunRow[]> {
    return this.local.unfinishedRuns();
  }
  async claimUnfinishedRuns(): Promise<RunRow[]> {
    return this.local.claimUnfinishedRuns();
  }
  async claimRun(idOrPrefix: string): Promise<RunRow> {
    return this.local.claimRun(idOrPrefix);
  }
  async releaseRun(runId: string): Promise<void> {
    this.local.releaseRun(runId);
  }
  async heldBy(claim: HolderClaim): Promise<RunRow | undefined> {
    return this.local.heldBy(claim);
  }
  async liveOwners(): Promise<RunOwner[]> {
    return this.local.liveOwners();
  }
  async integrityCheck(): Promise<string[]> {
    return this.local.integrityCheck();
  }
  async verify(): Promise<void> {
    this.local.verify();
  }
  async close(): Promise<void> {
    this.local.close();
  }
}

/** Whether `db` names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL with its password (if any) replaced by `***`: what messages and logs may show. */
export function maskDbUrl(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const u = new URL(db);
    if (u.password !== '') u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|token/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    // Not parseable: show the scheme and nothing that could hold a password.
    return db.replace(/\/\/.*@/, '//***@');
  }
}

/**
 * Opens the store `db` names: a PostgreSQL URL (postgres:// or postgresql://) or a SQLite file
 * path. SQLite-only options (synchronous, maxPageCount, checkpoints) are ignored by PostgreSQL.
 */
export async function openRunStore(db: string, opts: RunStoreOptions = {}): Promise<RunStore> {
  if (isPostgresUrl(db)) {
    const { PgRunStore } = await import('./postgres/pg-store.js');
    return PgRunStore.open(db, opts);
  }
  return SqliteRunStore.open(db, opts);
}
