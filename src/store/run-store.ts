// The store as the engine and the CLI use it: one asynchronous interface, two backends. SQLite
// (EventStore, one file, the default) and PostgreSQL (PgRunStore, a server shared by hosts).
// `openRunStore` picks one by the `db` string: a postgres:// or postgresql:// URL is a server,
// anything else a SQLite file.

import { EventStore, type CommitObserver, type StoreOptions, type WriteResult } from './event-store.js';
import type { StoreError } from './errors.js';
import type { AppendRequest, NewEvent, NewRun, RunFilters, RunOwner, RunRow, StoredEvent } from './types.js';
import type { HolderClaim, RunStore, RunStoreOptions } from './run-store-types.js';
import { isPostgresUrl } from './db-url.js';

export type { WriteResult, CommitObserver };
export type { HolderClaim, RunStore, RunStoreOptions } from './run-store-types.js';
export { isPostgresUrl, maskDbUrl } from './db-url.js';

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
  async heartbeat(): Promise<{ at: number; rejoined: boolean }> {
    return this.local.heartbeat();
  }
  async liveReplicas(): Promise<string[]> {
    return this.local.liveReplicas();
  }
  async takeOverRuns(select: (run: RunRow) => boolean): Promise<RunRow[]> {
    return this.local.takeOverRuns(select);
  }
  async stillOwned(runIds: readonly string[]): Promise<Set<string>> {
    return this.local.stillOwned(runIds);
  }
  async close(): Promise<void> {
    this.local.close();
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
