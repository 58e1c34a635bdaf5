// The event store: one SQLite file, WAL, append-only gap-free streams (one per run) plus a `runs`
// summary row kept in step with its events in the same transaction. Several processes may write
// one file; each run is owned by one of them and only its owner may append to it (owners.ts).
//
// Durability: WAL with synchronous=NORMAL (default) makes every returned append survive a killed
// process; synchronous=FULL also survives power loss at the cost of an fsync per commit.

import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  StoreAmbiguousRunIdError,
  StoreClosedError,
  StoreCorruptError,
  StoreError,
  StoreFileGoneError,
  StoreFileNotFoundError,
  StoreInvalidEventError,
  StoreRunExistsError,
  StoreRunHeldError,
  StoreRunNotFoundError,
  StoreRunNotOwnedError,
  StoreRunOwnedError,
  StoreSequenceConflictError,
  toStoreError,
} from './errors.js';
import { BackgroundCheckpointer, type FileIdentity, type FileProblem } from './checkpointer.js';
import { redact } from './redact.js';
import { runRowOf, storedEventOf, type EventColumns, type RunColumns } from './rows.js';
import { cachedStatement, openConnection } from './sqlite.js';
import { checkReadable, migrate } from './schema.js';
import {
  EVENT_KINDS,
  EVENT_PAYLOAD_VERSION,
  RUN_STATUSES,
  type AppendRequest,
  type JsonObject,
  type NewEvent,
  type NewRun,
  type ReplicaIdentity,
  type RunFilters,
  type RunOwner,
  type RunRow,
  type RunStatus,
  type StoredEvent,
} from './types.js';
import {
  DEFAULT_OWNER_LEASE_MS,
  heartbeatOwner,
  ownersById,
  registerOwner,
  releaseOwner,
  renewOwner,
  toOwner,
  type OwnerRow,
} from './owners.js';

export interface StoreOptions {
  /**
   * 'writer' (default) migrates, registers this process as an owner of runs and may append to
   * the runs it owns; several writers may share a file. 'reader' opens read-only.
   */
  mode?: 'writer' | 'reader';
  /**
   * Lease of a writer on another host (default 30 s): its runs count as ownerless once it has
   * not renewed for this long. Owners on this host are judged by their pid instead (owners.ts).
   */
  ownerLeaseMs?: number;
  /**
   * This writer is a replica (issue 18): its owner row names it and is live only while its
   * heartbeat lease holds, renewed by heartbeat() (no timer of the store's own). Other writers
   * then take its unfinished runs once the lease has run out, even though its process lives.
   */
  replica?: ReplicaIdentity;
  /** NORMAL (default): survives a killed process. FULL: also survives power loss. */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a statement waits for another connection's lock before STORE_BUSY. Default 5000. */
  busyTimeoutMs?: number;
  /** Caps the file at this many pages (4 KiB each); a write beyond it fails with STORE_DISK_FULL. */
  maxPageCount?: number;
  /**
   * WAL pages before an automatic checkpoint (SQLite's default 1000). Larger values trade WAL size
   * (4 KiB per page) for throughput: each checkpoint copies pages into the main file and fsyncs.
   */
  walAutocheckpointPages?: number;
  /**
   * 'background' (default for a writer on a file): a worker thread checkpoints the WAL every
   * `checkpointIntervalMs`, so appends never wait for a checkpoint's fsync; the writer keeps an
   * auto-checkpoint at BACKSTOP_CHECKPOINT_PAGES in case the worker falls behind. 'inline':
   * SQLite's auto-checkpoint on the writer's thread (walAutocheckpointPages).
   */
  checkpoint?: 'background' | 'inline';
  /** Default 100 ms. */
  checkpointIntervalMs?: number;
  /** Told when a background checkpoint fails (the store stays usable; the backstop bounds the WAL). */
  onCheckpointError?: (message: string) => void;
  /**
   * Told once, by whichever part of the store saw it first, that the store can no longer be
   * trusted: its file is corrupt (STORE_CORRUPT), or was deleted, moved or replaced under this
   * writer (STORE_FILE_GONE). From then on every operation but close() throws that error. It may
   * be called from inside a failing operation or, for the background checkpointer, on its own.
   */
  onFailure?: (err: StoreError) => void;
  /** Told of every committed write(): the events and runs it wrote and how long it took. */
  onCommit?: CommitObserver;
}

/** What one committed transaction wrote (`runs`: runs created or appended to) and its duration. */
export type CommitObserver = (commit: { events: number; runs: number; ms: number }) => void;

/** The writer's own auto-checkpoint when a background checkpointer runs: 16,384 pages, 64 MiB. */
export const BACKSTOP_CHECKPOINT_PAGES = 16_384;

export interface WriteResult {
  /** The created runs, in order. */
  runs: RunRow[];
  /** Each append's new last seq, in order. */
  seqs: number[];
}

type RunHead = Pick<
  RunRecord,
  'no' | 'last_seq' | 'last_id' | 'state' | 'status' | 'error' | 'node_uuid' | 'node_name'
>;

const EVENT_COLUMNS = [
  'id',
  'run_no',
  'seq',
  'prev',
  'at',
  'kind',
  'type',
  'from_state',
  'to_state',
  'data',
  'v',
] as const;
/** 32 rows x 11 values stays far below SQLite's limit on bound parameters. */
const MAX_ROWS_PER_INSERT = 32;

/** Beyond this many running runs, appends to the others read their row as before. */
const MAX_CACHED_HEADS = 100_000;

/** Minimum length of a run id prefix accepted by getRun/resolveRunId. */
export const MIN_RUN_ID_PREFIX = 6;

const KINDS = new Set<string>(EVENT_KINDS);
const FINISH_STATUSES = new Set<string>(RUN_STATUSES.filter((s) => s !== 'running'));

interface RunRecord extends RunColumns {
  /** The run's number: what its events refer to. */
  no: number;
  /** owners.id of the process driving the run; null when nobody does. */
  owner: number | null;
  /** Claims of the run so far (1 when created, one more per claim or takeover); read only by a take. */
  epoch?: number;
  /** The head of the run's stream: its last event's row (null only mid-creation). */
  last_id: number | null;
}

interface EventRecord extends EventColumns {
  run_id: string;
}

/** A run's last seq and update time are those of its head event (one row-id lookup). */
const RUN_COLUMNS = `no, owner, id, op, instance_uuid, node_uuid, node_name, machine, machine_version, status, state, created_at, error, last_id,
  (SELECT seq FROM events WHERE id = runs.last_id) AS last_seq, (SELECT at FROM events WHERE id = runs.last_id) AS updated_at`;

/**
 * A run's events from `from` on, in seq order: the chain walked back from the run's head, each
 * step one row-id lookup, stopping at the first event before `from`.
 */
const STREAM = `
  WITH RECURSIVE chain(id, prev, seq, at, kind, type, from_state, to_state, data, v) AS (
    SELECT e.id, e.prev, e.seq, e.at, e.kind, e.type, e.from_state, e.to_state, e.data, e.v
      FROM runs r JOIN events e ON e.id = r.last_id
      WHERE r.id = @run AND e.seq >= @from
    UNION ALL
    SELECT e.id, e.prev, e.seq, e.at, e.kind, e.type, e.from_state, e.to_state, e.data, e.v
      FROM chain c JOIN events e ON e.id = c.prev
      WHERE e.seq >= @from
  )
  SELECT @run AS run_id, seq, at, kind, type, from_state, to_state, data, v FROM chain ORDER BY seq`;

function toRun(r: RunRecord, owner: RunOwner | null): RunRow {
  return runRowOf(r, owner);
}

function toEvent(r: EventRecord): StoredEvent {
  return storedEventOf(r.run_id, r);
}

/** Creates the file owner-only before SQLite sees it; SQLite gives -wal/-shm the same mode. */
function createOwnerOnly(path: string): boolean {
  if (path === ':memory:' || existsSync(path)) return false;
  try {
    closeSync(openSync(path, 'wx', 0o600));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function restrictSidecars(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/** What a path names when it is not a regular file: SQLite would fail on it obscurely, or write beside it. */
function notAFile(stats: Stats): string | null {
  if (stats.isFile()) return null;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function assertRegularFile(path: string): void {
  if (path === ':memory:') return;
  const stats = statSync(path, { throwIfNoEntry: false });
  const what = stats === undefined ? null : notAFile(stats);
  if (what !== null) {
    throw new StoreError('STORE_NOT_A_DATABASE', `${path} is ${what}, not a database file`, { path });
  }
}

/** The file at `path` now, null when nothing is there, undefined when that cannot be told (EACCES). */
function statFile(path: string): Stats | null | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? null : undefined;
  }
}

export class EventStore {
  readonly path: string;
  readonly mode: 'writer' | 'reader';
  private readonly db: Database.Database;
  private checkpointer: BackgroundCheckpointer | null = null;
  /** A reader of a file it may read but whose directory it may not write: the private copy it reads. */
  private tempCopy: string | null = null;
  /**
   * The file a writer opened, and the largest size it has seen it at. SQLite writes to the inode
   * it opened, so a file deleted, moved or replaced at the path would swallow every append.
   */
  private file: FileIdentity | null = null;
  private failed: StoreError | null = null;
  private onFailure: ((err: StoreError) => void) | undefined;
  private onCommit: CommitObserver | undefined;
  /**
   * The summary row of each running run as this writer last committed it, so an append need not
   * read it back first. Sound because only a run's owner appends to it, and entries change only
   * once their transaction has committed; should the run have been taken meanwhile, the fencing
   * UPDATE finds another owner and the whole transaction rolls back.
   */
  private readonly heads = new Map<string, RunHead>();
  /** The owners as the transaction in progress first read them (for the rows it creates). */
  private txOwners: Map<number, { row: OwnerRow; live: boolean }> | null = null;
  /** Rows written by the transaction in progress; merged into `heads` only if it commits. */
  private txHeads = new Map<string, RunHead>();
  /**
   * Row id of the next event: the writer numbers events itself so each can name the one before
   * it in the same multi-row INSERT. Read at the start of each write transaction (other
   * processes append too), an index seek; a stale number could only collide with an existing
   * row, which SQLite refuses.
   */
  private txNextEventId = 1;
  /** Multi-row INSERT statements by row count. */
  private readonly insertCache = new Map<number, Database.Statement>();
  /** owners.id of this writer: the runs it creates or claims are its own. */
  private readonly ownerId: number | null;
  private readonly leaseMs: number;
  /** The replica this writer runs as, null for a plain writer. */
  private replica: ReplicaIdentity | null = null;
  private since = '';
  /**
   * The epoch of each running run as this writer claimed (or created) it: its appends are
   * fenced by it, so an append made for an earlier claim never lands after a later one.
   */
  private readonly epochs = new Map<string, number>();
  private readonly nextEventId: Database.Statement;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly listCache = new Map<string, Database.Statement>();
  private readonly writeTx: (
    creates: ReadonlyArray<NewRun>,
    appends: ReadonlyArray<AppendRequest>,
  ) => WriteResult;

  private constructor(
    path: string,
    mode: 'writer' | 'reader',
    db: Database.Database,
    ownerId: number | null,
    leaseMs: number,
  ) {
    this.path = path;
    this.mode = mode;
    this.db = db;
    this.ownerId = ownerId;
    this.leaseMs = leaseMs;
    this.stmt = prepareStatements(db);
    const nextEventId = cachedStatement(db, 'SELECT coalesce(max(id), 0) + 1 FROM events').pluck();
    this.nextEventId = nextEventId;
    this.writeTx = db.transaction((creates: ReadonlyArray<NewRun>, appends: ReadonlyArray<AppendRequest>) => {
      this.txNextEventId = nextEventId.get() as number;
      return {
        runs: creates.map((r) => this.createOne(r)),
        seqs: appends.map((r) => this.appendOne(r)),
      };
    }).immediate;
  }

  static open(path: string, opts: StoreOptions = {}): EventStore {
    const mode = opts.mode ?? 'writer';
    let db: Database.Database | undefined;
    try {
      assertRegularFile(path);
      if (mode === 'reader') {
        if (path !== ':memory:' && !existsSync(path)) throw new StoreFileNotFoundError(path);
        let copy: string | null = null;
        try {
          db = openConnection(path, { readonly: true, fileMustExist: true });
          db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
          checkReadable(db, path);
        } catch (err) {
          db?.close();
          db = undefined;
          copy = readableCopy(path, err);
          if (copy === null) throw err;
          try {
            db = openConnection(join(copy, 'copy.db'), { readonly: true, fileMustExist: true });
            checkReadable(db, path);
          } catch (copyErr) {
            db?.close();
            db = undefined;
            rmSync(copy, { recursive: true, force: true });
            throw copyErr;
          }
        }
        const store = new EventStore(path, mode, db, null, opts.ownerLeaseMs ?? DEFAULT_OWNER_LEASE_MS);
        store.tempCopy = copy;
        store.onFailure = opts.onFailure;
        return store;
      }
      const created = createOwnerOnly(path);
      db = openConnection(path);
      db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      // Read page 1 before anything may write: a foreign file fails here, untouched.
      db.pragma('user_version');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
      const background = (opts.checkpoint ?? 'background') === 'background' && path !== ':memory:';
      if (background) {
        db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
        // After a checkpoint lets the WAL restart, trim a file grown by a burst back to this size.
        db.pragma(`journal_size_limit = ${BACKSTOP_CHECKPOINT_PAGES * 4096}`);
      } else if (opts.walAutocheckpointPages !== undefined) {
        db.pragma(`wal_autocheckpoint = ${Math.floor(opts.walAutocheckpointPages)}`);
      }
      if (opts.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.floor(opts.maxPageCount)}`);
      migrate(db, path);
      const leaseMs = opts.ownerLeaseMs ?? DEFAULT_OWNER_LEASE_MS;
      const since = new Date().toISOString();
      const ownerId = registerOwner(db, path, leaseMs, since, opts.replica ?? null);
      if (created) restrictSidecars(path);
      const store = new EventStore(path, mode, db, ownerId, leaseMs);
      store.onFailure = opts.onFailure;
      store.onCommit = opts.onCommit;
      store.since = since;
      store.replica = opts.replica ?? null;
      if (store.replica === null) {
        const renew = db;
        store.renewTimer = setInterval(() => renewOwner(renew, ownerId), Math.max(1000, leaseMs / 3));
        store.renewTimer.unref();
      }
      const stats = path === ':memory:' ? null : statFile(path);
      if (stats) store.file = { dev: stats.dev, ino: stats.ino, size: stats.size };
      if (background && store.file !== null) {
        store.checkpointer = new BackgroundCheckpointer({
          path,
          file: store.file,
          intervalMs: opts.checkpointIntervalMs ?? 100,
          onError: (message, code) => {
            if (code !== null && (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB'))) {
              store.markFailed(StoreCorruptError.found(path, `a background checkpoint found: ${message}`));
            } else opts.onCheckpointError?.(message);
          },
          onFileProblem: (problem) => store.markFailed(store.fileError(problem)),
        });
      }
      return store;
    } catch (err) {
      db?.close();
      throw toStoreError(err, { path });
    }
  }

  /** Starts a run: the runs row and its 'run.started' event (seq 1) in one transaction. */
  createRun(run: NewRun): { run: RunRow; seq: number } {
    const created = this.write([run], []).runs[0] as RunRow;
    return { run: created, seq: 1 };
  }

  /**
   * Appends events to one run. `expectedSeq` is the caller's view of the last seq; if the stream
   * moved on, StoreSequenceConflictError and nothing is written. Returns the new last seq.
   */
  append(runId: string, expectedSeq: number, events: readonly NewEvent[]): number {
    return this.appendBatch([{ runId, expectedSeq, events }])[0] as number;
  }

  /** Appends to many runs in ONE transaction: all or nothing. Returns each request's new last seq. */
  appendBatch(batch: ReadonlyArray<AppendRequest>): number[] {
    return this.write([], batch).seqs;
  }

  /**
   * Creates runs, then appends to runs (new ones included), all in ONE transaction: all or
   * nothing. A busy writer starting many runs at once pays one commit for all of them.
   */
  write(creates: ReadonlyArray<NewRun>, appends: ReadonlyArray<AppendRequest>): WriteResult {
    this.live();
    let result: WriteResult;
    const started = this.onCommit === undefined ? 0 : performance.now();
    try {
      this.txHeads = new Map();
      this.txOwners = null;
      result = this.writeTx(creates, appends);
    } catch (err) {
      // Taken by another process: what this writer remembered of the run is no longer its own.
      if (err instanceof StoreRunNotOwnedError && err.runId !== null) {
        this.heads.delete(err.runId);
        this.epochs.delete(err.runId);
      }
      // A file cut short or swapped under the writer shows up as SQLite's "malformed": name the cause.
      this.checkFile();
      const one = creates.length + appends.length === 1;
      throw this.toError(err, one ? (creates[0]?.id ?? appends[0]?.runId ?? null) : null);
    }
    // Committed, but only to the file this writer opened: acknowledged only if it is still the one at the path.
    this.checkFile();
    for (const [id, head] of this.txHeads) this.remember(id, head);
    if (this.onCommit !== undefined) {
      let events = creates.length;
      for (const a of appends) events += a.events.length;
      this.onCommit({ events, runs: creates.length + appends.length, ms: performance.now() - started });
    }
    return result;
  }

  readStream(runId: string, fromSeq = 1): StoredEvent[] {
    this.live();
    try {
      return (this.stmt.events.all({ run: runId, from: fromSeq }) as EventRecord[]).map(toEvent);
    } catch (err) {
      throw this.toError(err, runId);
    }
  }

  /** By exact id, or by a unique prefix of at least MIN_RUN_ID_PREFIX characters. */
  getRun(id: string): RunRow | undefined {
    this.live();
    try {
      return this.findRun(id);
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  private findRun(id: string): RunRow | undefined {
    const exact = this.stmt.run.get(id) as RunRecord | undefined;
    if (exact) return this.toRows([exact])[0];
    if (id.length < MIN_RUN_ID_PREFIX) return undefined;
    const found = this.stmt.runsByPrefix.all(id, `${id}\uffff`) as RunRecord[];
    if (found.length > 1) {
      throw new StoreAmbiguousRunIdError(
        this.path,
        id,
        found.map((r) => r.id),
      );
    }
    return found[0] ? this.toRows([found[0]])[0] : undefined;
  }

  /** The full id of a run given its id or unique prefix; StoreRunNotFoundError otherwise. */
  resolveRunId(idOrPrefix: string): string {
    const run = this.getRun(idOrPrefix);
    if (!run) throw new StoreRunNotFoundError(this.path, idOrPrefix);
    return run.id;
  }

  /** Newest first. */
  listRuns(filters: RunFilters = {}): RunRow[] {
    this.live();
    try {
      return this.selectRuns(filters);
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  private selectRuns(filters: RunFilters): RunRow[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const add = (sql: string, value: string | undefined): void => {
      if (value === undefined) return;
      where.push(sql);
      args.push(value);
    };
    if (filters.status === 'interrupted') {
      // Still running in the store, and driven by no live process: ownerless, or its owner gone.
      where.push("status = 'running'");
      const live = [...this.owners().entries()].filter(([, o]) => o.live).map(([id]) => id);
      add('(owner IS NULL OR owner NOT IN (SELECT value FROM json_each(?)))', JSON.stringify(live));
    } else add('status = ?', filters.status);
    add('op = ?', filters.op);
    if (filters.node !== undefined) {
      // A node by UUID or by name; a name also finds the runs of its UUID that never saw the name
      // (a teardown by instance), through any run that recorded both.
      where.push(
        '(node_uuid = ? OR node_name = ? OR node_uuid IN (SELECT node_uuid FROM runs WHERE node_name = ? AND node_uuid IS NOT NULL))',
      );
      args.push(filters.node, filters.node, filters.node);
    }
    add('instance_uuid = ?', filters.instance);
    add('created_at >= ?', filters.since);
    add('created_at < ?', filters.until);
    let sql = `SELECT ${RUN_COLUMNS} FROM runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, no DESC`;
    if (filters.limit !== undefined) {
      sql += ' LIMIT ?';
      args.push(Math.max(0, Math.floor(filters.limit)));
    }
    let stmt = this.listCache.get(sql);
    if (!stmt) {
      stmt = cachedStatement(this.db, sql);
      this.listCache.set(sql, stmt);
    }
    return this.toRows(stmt.all(...args) as RunRecord[]);
  }

  /** Runs still 'running', whoever drives them, oldest first. */
  unfinishedRuns(): RunRow[] {
    this.live();
    try {
      return this.toRows(this.stmt.unfinished.all() as RunRecord[]);
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /**
   * Takes every unfinished run no live process owns (its owner closed, was killed, or its lease
   * ran out) for this writer, in one immediate transaction: of two processes claiming at once,
   * each run goes to exactly one. Oldest first. Runs this writer owns already are not included.
   */
  claimUnfinishedRuns(): RunRow[] {
    const me = this.writerOwner();
    try {
      return this.db
        .transaction((): RunRow[] => {
          const owners = this.owners();
          const taken = (this.stmt.unfinished.all() as RunRecord[]).filter(
            (r) => r.owner === null || (r.owner !== me && owners.get(r.owner)?.live !== true),
          );
          for (const r of taken) this.takeRun(r, me);
          return this.toRows(taken);
        })
        .immediate();
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /**
   * Takes one unfinished run for this writer (by id or unique prefix), unless a live process
   * owns it: StoreRunOwnedError naming that process. Returns the run as it is now; a finished
   * run is returned untaken (nothing to drive).
   */
  claimRun(idOrPrefix: string): RunRow {
    const me = this.writerOwner();
    try {
      return this.db
        .transaction((): RunRow => {
          const id = this.resolveRunId(idOrPrefix);
          const r = this.stmt.run.get(id) as RunRecord;
          if (r.status !== 'running' || r.owner === me) return this.toRows([r])[0] as RunRow;
          const owner = r.owner === null ? undefined : this.owners().get(r.owner);
          if (owner?.live) throw new StoreRunOwnedError(this.path, r.id, toOwner(owner.row));
          this.takeRun(r, me);
          return this.toRows([r])[0] as RunRow;
        })
        .immediate();
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /** Gives a run this writer owns back (resumable by anyone at once): it will not drive it. */
  releaseRun(runId: string): void {
    const me = this.writerOwner();
    try {
      cachedStatement(
        this.db,
        "UPDATE runs SET owner = NULL WHERE id = ? AND owner = ? AND status = 'running'",
      ).run(runId, me);
      this.heads.delete(runId);
      this.epochs.delete(runId);
    } catch (err) {
      throw this.toError(err, runId);
    }
  }

  /**
   * A replica's heartbeat (issue 18): renews this writer's lease and returns the time it was
   * renewed as of (ms), which peers judge it by. `rejoined`: its owner row had been forgotten by a
   * writer that found the lease run out (its runs were released then); it is live again, owning
   * none of them. Throws what the write throws (a busy file): the beat is missed.
   */
  heartbeat(): { at: number; rejoined: boolean } {
    const me = this.writerOwner();
    const at = Date.now();
    try {
      if (this.replica === null) {
        renewOwner(this.db, me);
        return { at, rejoined: false };
      }
      const outcome = heartbeatOwner(this.db, me, this.replica, this.since, new Date(at).toISOString());
      return { at, rejoined: outcome === 'rejoined' };
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /** The names of the replicas whose heartbeat lease holds now (this one included when it does), sorted. */
  liveReplicas(): string[] {
    this.live();
    try {
      const names = new Set<string>();
      for (const { row, live } of this.owners().values())
        if (live && row.replica !== null) names.add(row.replica);
      return [...names].sort();
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /**
   * Takes over the unfinished runs no live writer owns (ownerless, or their owner's lease or
   * process is gone) that `select` picks, in one immediate transaction: each run's epoch goes up
   * by one, and a `takeover` note naming the previous owner, this writer and the new epoch is
   * appended to its stream in the same transaction. Of two replicas taking over at once, each run
   * goes to one. Oldest first; returns each run as it is now (its last seq after the note).
   */
  takeOverRuns(select: (run: RunRow) => boolean): RunRow[] {
    const me = this.writerOwner();
    try {
      const taken = this.db
        .transaction((): RunRecord[] => {
          this.txHeads = new Map();
          this.txNextEventId = this.nextEventId.get() as number;
          const owners = this.owners();
          const mine = owners.get(me)?.row;
          const out: RunRecord[] = [];
          // Forgotten (its lease ran out) and not yet back: it takes nothing until it has beaten.
          if (mine === undefined) return out;
          for (const r of this.stmt.unfinished.all() as RunRecord[]) {
            if (r.owner === me) continue;
            const prev = r.owner === null ? undefined : owners.get(r.owner);
            if (prev?.live === true) continue;
            if (!select(toRun(r, null))) continue;
            this.takeRun(r, me);
            const from = prev === undefined ? null : ownerFacts(prev.row);
            const to = ownerFacts(mine);
            const expired =
              prev?.row.lease_ms != null
                ? new Date(Date.parse(prev.row.renewed_at) + prev.row.lease_ms).toISOString()
                : null;
            const message = `taken over by ${describeOwner(to)} at epoch ${String(r.epoch)}: ${
              from === null
                ? 'nobody drove it'
                : `${describeOwner(from)} ${expired === null ? 'is gone' : `missed its heartbeats (lease ran out at ${expired})`}`
            }`;
            r.last_seq = this.appendOne({
              runId: r.id,
              expectedSeq: r.last_seq,
              events: [
                {
                  kind: 'note',
                  type: 'takeover',
                  data: { level: 'warn', message, from, to, epoch: r.epoch ?? null, leaseExpiredAt: expired },
                },
              ],
            });
            out.push(r);
          }
          return out;
        })
        .immediate();
      for (const [id, head] of this.txHeads) this.remember(id, head);
      return this.toRows(taken);
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /**
   * Which of these runs this writer still holds at the epoch it claimed them with: one read.
   * A run taken over by another writer (or released) is missing from the answer.
   */
  stillOwned(runIds: readonly string[]): Set<string> {
    const me = this.writerOwner();
    try {
      const rows = cachedStatement(
        this.db,
        "SELECT id, epoch FROM runs WHERE owner = ? AND status = 'running'",
      ).all(me) as Array<{ id: string; epoch: number }>;
      const held = new Map(rows.map((r) => [r.id, r.epoch]));
      return new Set(
        runIds.filter((id) => held.has(id) && (this.epochs.get(id) ?? held.get(id)) === held.get(id)),
      );
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /**
   * The first unfinished run of another live process that holds `instance` or the node (by
   * UUID or name) - what a new run for them would collide with - or undefined.
   */
  heldBy(claim: {
    instance?: string | null;
    nodeUuid?: string | null;
    nodeName?: string | null;
  }): RunRow | undefined {
    this.live();
    try {
      const record = this.findHolder(claim);
      return record ? this.toRows([record])[0] : undefined;
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  private findHolder(claim: {
    instance?: string | null;
    nodeUuid?: string | null;
    nodeName?: string | null;
  }): RunRecord | undefined {
    const instance = claim.instance ?? null;
    // A node given one way may be recorded the other way by the run holding it (a name is never UUID-like).
    const node = claim.nodeUuid ?? claim.nodeName ?? null;
    if (instance === null && node === null) return undefined;
    const candidates = this.stmt.holders.all({ instance, node, me: this.ownerId ?? -1 }) as RunRecord[];
    if (candidates.length === 0) return undefined;
    const owners = this.owners();
    return candidates.find((r) => r.owner !== null && owners.get(r.owner)?.live === true);
  }

  private takeRun(r: RunRecord, me: number): void {
    r.epoch = this.stmt.takeRun.get(me, r.no) as number;
    r.owner = me;
    this.heads.delete(r.id);
    this.epochs.set(r.id, r.epoch);
  }

  private writerOwner(): number {
    this.live();
    if (this.ownerId === null) {
      throw new StoreError(
        'STORE_READ_ONLY',
        `${this.path} is open for reading; runs are taken by a writer`,
        {
          path: this.path,
        },
      );
    }
    return this.ownerId;
  }

  /** Owners registered in the file, each with whether it is live. */
  private owners(): Map<number, { row: OwnerRow; live: boolean }> {
    return ownersById(this.db, this.path, this.leaseMs);
  }

  /** Rows as callers see them: each running run with its live owner, if any. */
  private toRows(
    records: RunRecord[],
    ownersOf: () => Map<number, { row: OwnerRow; live: boolean }> = () => this.owners(),
  ): RunRow[] {
    let owners: Map<number, { row: OwnerRow; live: boolean }> | null = null;
    return records.map((r) => {
      if (r.status !== 'running' || r.owner === null) return toRun(r, null);
      owners ??= ownersOf();
      const o = owners.get(r.owner);
      return toRun(r, o?.live ? toOwner(o.row) : null);
    });
  }

  /**
   * Reads every page of the file (SQLite's `PRAGMA quick_check`) and throws STORE_CORRUPT naming
   * the first problem. Queries only find damage in the pages they happen to read; resuming from
   * a damaged log would drive nodes from a state that was never recorded. About 0.7 s per
   * million events here.
   */
  verify(): void {
    this.live();
    let report: string[];
    try {
      report = (this.db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check);
    } catch (err) {
      throw this.toError(err, null);
    }
    if (report.length !== 1 || report[0] !== 'ok') {
      throw this.markFailed(StoreCorruptError.found(this.path, report[0] ?? 'quick_check reported nothing'));
    }
  }

  /** The error that made this store unusable (STORE_CORRUPT, STORE_FILE_GONE), or null. */
  get failure(): StoreError | null {
    return this.failed;
  }

  /** The live processes that have this file open as writers (each owns the runs it drives). */
  liveOwners(): RunOwner[] {
    this.live();
    try {
      return [...this.owners().values()].filter((o) => o.live).map((o) => toOwner(o.row));
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  /**
   * ['ok'] when the file is sound: SQLite's `PRAGMA integrity_check`, then every stream's chain
   * (each event links to its run's previous seq; each run's head is its own last event).
   * Otherwise one line per problem found (at most 20 of each kind).
   */
  integrityCheck(): string[] {
    this.live();
    try {
      return this.checkIntegrity();
    } catch (err) {
      throw this.toError(err, null);
    }
  }

  private checkIntegrity(): string[] {
    const sqlite = (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map(
      (r) => r.integrity_check,
    );
    if (sqlite.length !== 1 || sqlite[0] !== 'ok') return sqlite;
    const links = cachedStatement(
      this.db,
      `SELECT r.id AS run, e.id, e.seq, e.prev, p.run_no = e.run_no AS same_run, p.seq AS prev_seq
           FROM events e JOIN runs r ON r.no = e.run_no LEFT JOIN events p ON p.id = e.prev
          WHERE (e.seq = 1 AND e.prev IS NOT NULL)
             OR (e.seq > 1 AND (p.id IS NULL OR p.run_no != e.run_no OR p.seq != e.seq - 1))
          LIMIT 20`,
    ).all() as Array<{
      run: string;
      id: number;
      seq: number;
      prev: number | null;
      same_run: number | null;
      prev_seq: number | null;
    }>;
    const heads = cachedStatement(
      this.db,
      `SELECT r.id AS run, r.last_id, e.run_no = r.no AS own
           FROM runs r LEFT JOIN events e ON e.id = r.last_id
          WHERE e.id IS NULL OR e.run_no != r.no
          LIMIT 20`,
    ).all() as Array<{ run: string; last_id: number | null; own: number | null }>;
    // A head some event links back to is not its run's last event.
    const passed = cachedStatement(
      this.db,
      'SELECT r.id AS run, r.last_id FROM events x JOIN runs r ON r.last_id = x.prev LIMIT 20',
    ).all() as Array<{ run: string; last_id: number }>;
    const problems = [
      ...links.map((l) =>
        l.prev === null || l.prev_seq === null
          ? `run ${l.run}: event ${l.id} (seq ${l.seq}) links to ${l.prev === null ? 'nothing' : `missing row ${l.prev}`}`
          : `run ${l.run}: event ${l.id} (seq ${l.seq}) links to row ${l.prev} (${l.same_run ? '' : 'another run, '}seq ${l.prev_seq})`,
      ),
      ...heads.map((h) =>
        h.own === null
          ? `run ${h.run}: head row ${String(h.last_id)} does not exist`
          : `run ${h.run}: head row ${String(h.last_id)} belongs to another run`,
      ),
      ...passed.map((h) => `run ${h.run}: head row ${h.last_id} is not its last event`),
    ];
    return problems.length > 0 ? problems : ['ok'];
  }

  /**
   * Gives back the runs this writer owns (resumable by anyone at once) and closes the file.
   * Idempotent, and never fails: an ownership that cannot be released (the disk is full) is
   * given up, and its runs count as ownerless (in this process at once, elsewhere once it exits).
   */
  close(): void {
    if (!this.db.open) return;
    this.checkpointer?.stop();
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    try {
      if (this.ownerId !== null) releaseOwner(this.db, this.path, this.ownerId);
    } finally {
      this.db.close();
      if (this.tempCopy !== null) rmSync(this.tempCopy, { recursive: true, force: true });
    }
  }

  private live(): void {
    if (!this.db.open) throw new StoreClosedError(this.path);
    if (this.failed !== null) throw this.failed;
  }

  /** Records the first reason this store cannot go on, tells the owner once, and returns that reason. */
  private markFailed(err: StoreError): StoreError {
    if (this.failed !== null || !this.db.open) return this.failed ?? err;
    this.failed = err;
    this.checkpointer?.stop();
    this.onFailure?.(err);
    return err;
  }

  /** A failed statement's typed error; corruption found by any statement makes the store unusable. */
  private toError(err: unknown, runId: string | null): StoreError {
    let typed = toStoreError(err, { path: this.path, runId });
    // The file opened as a database: a header SQLite no longer recognises is damage, not a wrong file.
    if (typed.code === 'STORE_NOT_A_DATABASE') {
      typed = StoreCorruptError.found(this.path, err instanceof Error ? err.message : String(err), err);
    }
    return typed.code === 'STORE_CORRUPT' ? this.markFailed(typed) : typed;
  }

  /**
   * Throws unless the file at the path is still the one this writer opened and has not shrunk.
   * A stat per commit (~4 us) is what it costs to never acknowledge an append nobody can read.
   */
  private checkFile(): void {
    if (this.file === null) return;
    const now = statFile(this.path);
    if (now === undefined) return;
    let problem: FileProblem | null = null;
    if (now === null) problem = { problem: 'deleted' };
    else if (now.ino !== this.file.ino || now.dev !== this.file.dev) problem = { problem: 'replaced' };
    else if (now.size < this.file.size)
      problem = { problem: 'truncated', from: this.file.size, to: now.size };
    else this.file.size = now.size;
    if (problem !== null) throw this.markFailed(this.fileError(problem));
  }

  private fileError(p: FileProblem): StoreError {
    if (p.problem === 'truncated') return StoreCorruptError.truncated(this.path, p.from, p.to);
    return new StoreFileGoneError(this.path, p.problem);
  }

  /** The run row, then its `run.started` (seq 1) through the same path as every other event. */
  private createOne(run: NewRun): RunRow {
    const id = run.id ?? randomUUID();
    const at = run.at ?? new Date().toISOString();
    if (this.stmt.run.get(id)) throw new StoreRunExistsError(this.path, id);
    // Another live process drives this instance or node: two processes never drive one at once.
    const holder = this.findHolder({
      instance: run.instanceUuid ?? null,
      nodeUuid: run.nodeUuid ?? null,
      nodeName: run.nodeName ?? null,
    });
    if (holder) {
      const what =
        holder.instance_uuid !== null && holder.instance_uuid === (run.instanceUuid ?? null)
          ? `instance ${holder.instance_uuid}`
          : `node ${run.nodeUuid ?? run.nodeName ?? '?'}`;
      const owner = this.owners().get(holder.owner ?? -1)?.row;
      throw new StoreRunHeldError(
        this.path,
        id,
        what,
        holder.id,
        owner ? toOwner(owner) : { pid: 0, host: '?', since: '?' },
      );
    }
    const record: RunRecord = {
      no: 0,
      owner: this.ownerId,
      epoch: 1,
      id,
      op: run.op,
      instance_uuid: run.instanceUuid ?? null,
      node_uuid: run.nodeUuid ?? null,
      node_name: run.nodeName ?? null,
      machine: run.machine,
      machine_version: run.machineVersion,
      status: 'running',
      state: null,
      last_seq: 0,
      last_id: null,
      created_at: at,
      updated_at: at,
      error: null,
    };
    record.no = Number(this.stmt.insertRun.run(record).lastInsertRowid);
    this.epochs.set(id, 1);
    this.txHeads.set(id, record);
    const data = { input: run.input, machine: run.machine, machineVersion: run.machineVersion };
    record.last_seq = this.appendOne({
      runId: id,
      expectedSeq: 0,
      events: [{ kind: 'run.started', at, data }],
    });
    // Read once per transaction, not per run created in it: a flush of 10,000 starts read the
    // owners table and each owner's /proc entry 10,000 times.
    return this.toRows([record], () => (this.txOwners ??= this.owners()))[0] as RunRow;
  }

  private remember(runId: string, head: RunHead): void {
    if (head.status !== 'running') {
      this.heads.delete(runId);
      this.epochs.delete(runId);
    } else if (this.heads.has(runId) || this.heads.size < MAX_CACHED_HEADS) this.heads.set(runId, head);
  }

  /**
   * Inserts rows of EVENT_COLUMNS values with one multi-row INSERT per chunk: a request's events
   * cost one statement step instead of one each (per-call overhead was ~15% of batched appends).
   */
  private insertEvents(values: ReadonlyArray<string | number | null>): void {
    const width = EVENT_COLUMNS.length;
    for (let i = 0; i < values.length; i += width * MAX_ROWS_PER_INSERT) {
      const chunk = values.slice(i, i + width * MAX_ROWS_PER_INSERT);
      const rows = chunk.length / width;
      let stmt = this.insertCache.get(rows);
      if (!stmt) {
        const row = `(${EVENT_COLUMNS.map(() => '?').join(', ')})`;
        stmt = cachedStatement(
          this.db,
          `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')}`,
        );
        this.insertCache.set(rows, stmt);
      }
      stmt.run(chunk);
    }
  }

  private appendOne({ runId, expectedSeq, events, scrub }: AppendRequest): number {
    const cached = this.txHeads.get(runId) ?? this.heads.get(runId);
    const read =
      cached === undefined
        ? (this.stmt.runForAppend.get(runId) as (RunHead & Pick<RunRecord, 'owner' | 'epoch'>) | undefined)
        : undefined;
    const row = cached ?? read;
    if (!row) throw new StoreRunNotFoundError(this.path, runId);
    // Read from the file: a run taken by another writer is refused as such (the fence below would
    // refuse it too), not as a sequence conflict with what its new owner appended.
    if (read !== undefined && events.length > 0 && this.ownerId !== null) {
      const epoch = this.epochs.get(runId);
      if (read.owner !== this.ownerId || (epoch !== undefined && read.epoch !== epoch))
        throw new StoreRunNotOwnedError(this.path, runId);
    }
    if (row.last_seq !== expectedSeq) {
      throw new StoreSequenceConflictError(this.path, runId, expectedSeq, row.last_seq);
    }
    if (events.length === 0) return expectedSeq;
    // The claim this writer made of the run (null: none recorded here, the owner fence alone).
    const epoch = this.epochs.get(runId) ?? null;
    const now = new Date().toISOString();
    let { last_seq: seq, last_id: prev, state, status, error, node_uuid: node, node_name: nodeName } = row;
    let id = this.txNextEventId;
    const values: Array<string | number | null> = [];
    for (const ev of events) {
      seq += 1;
      if (!KINDS.has(ev.kind))
        throw new StoreInvalidEventError(this.path, runId, seq, `unknown kind ${String(ev.kind)}`);
      let data = redact(ev.data);
      let json = JSON.stringify(data);
      // By value: a secret Ironic echoed under a key nobody could know (last_error, a faultstring).
      // The JSON text is searched first; a payload is walked and copied only on a hit.
      if (scrub && scrub.foundInJson(json)) {
        const scrubbed = scrub.value(data);
        if (scrubbed !== data) {
          data = scrubbed;
          json = JSON.stringify(data);
        }
      }
      const at = ev.at ?? now;
      if (ev.kind === 'transition') {
        if (typeof ev.to !== 'string')
          throw new StoreInvalidEventError(this.path, runId, seq, 'transition without `to`');
        state = ev.to;
      } else if (ev.kind === 'run.finished') {
        const s = data['status'];
        if (typeof s !== 'string' || !FINISH_STATUSES.has(s)) {
          throw new StoreInvalidEventError(
            this.path,
            runId,
            seq,
            'run.finished needs status succeeded|failed|cancelled',
          );
        }
        status = s as RunStatus;
        const e = data['error'];
        error = e !== null && typeof e === 'object' && !Array.isArray(e) ? JSON.stringify(e) : null;
      }
      // A run may start before its node is known (teardown by instance); the first event that names
      // a node (data.nodeUuid, data.nodeName, any kind) fills the summary column, and later ones
      // never move it.
      const n = data['nodeUuid'];
      if (node === null && typeof n === 'string' && n !== '') node = n;
      const name = data['nodeName'];
      if (nodeName === null && typeof name === 'string' && name !== '') nodeName = name;
      values.push(
        id,
        row.no,
        seq,
        prev,
        at,
        ev.kind,
        ev.type ?? null,
        ev.from ?? null,
        ev.to ?? null,
        json,
        EVENT_PAYLOAD_VERSION,
      );
      prev = id;
      id += 1;
    }
    this.insertEvents(values);
    this.txNextEventId = id;
    // The head moves with every append; the indexed status and node columns are written only
    // when they change, sparing their index pages.
    // Fencing: the row moves only while this writer owns the run; otherwise nothing of this
    // transaction is kept.
    const moved =
      status !== row.status || node !== row.node_uuid || nodeName !== row.node_name || error !== row.error
        ? this.stmt.updateRun.run(state, status, error, node, nodeName, prev, row.no, this.ownerId, epoch)
        : this.stmt.advanceRun.run(state, prev, row.no, this.ownerId, epoch);
    if (moved.changes !== 1) throw new StoreRunNotOwnedError(this.path, runId);
    this.txHeads.set(runId, {
      no: row.no,
      last_seq: seq,
      last_id: prev,
      state,
      status,
      error,
      node_uuid: node,
      node_name: nodeName,
    });
    return seq;
  }
}

/**
 * The running runs of other writers that hold an instance or node (findHolder). `+status` keeps
 * SQLite off runs_by_status, which it would walk for the ORDER BY: every running run, twice per
 * new run (O(N^2) over N concurrent starts); the instance and node indexes find the few rows.
 */
export const HOLDERS_SQL = `SELECT ${RUN_COLUMNS} FROM runs WHERE +status = 'running' AND owner IS NOT NULL AND owner != @me
         AND (instance_uuid = @instance OR node_uuid = @node OR node_name = @node) ORDER BY created_at, no LIMIT 20`;

function prepareStatements(db: Database.Database) {
  // Statements of writers only, prepared at first use: a reader may read a version 6 file, which
  // lacks the columns they name (runs.epoch).
  const once = (sql: string, pluck = false): (() => Database.Statement) => {
    let stmt: Database.Statement | undefined;
    return () => (stmt ??= pluck ? cachedStatement(db, sql).pluck() : cachedStatement(db, sql));
  };
  const runForAppend = once(
    'SELECT no, owner, epoch, last_id, (SELECT seq FROM events WHERE id = runs.last_id) AS last_seq, state, status, error, node_uuid, node_name FROM runs WHERE id = ?',
  );
  const advanceRun = once(
    'UPDATE runs SET state = ?, last_id = ? WHERE no = ? AND owner = ? AND epoch = coalesce(?, epoch)',
  );
  const updateRun = once(
    'UPDATE runs SET state = ?, status = ?, error = ?, node_uuid = ?, node_name = ?, last_id = ? WHERE no = ? AND owner = ? AND epoch = coalesce(?, epoch)',
  );
  const takeRun = once('UPDATE runs SET owner = ?, epoch = epoch + 1 WHERE no = ? RETURNING epoch', true);
  return {
    run: cachedStatement(db, `SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
    runsByPrefix: cachedStatement(
      db,
      `SELECT ${RUN_COLUMNS} FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 5`,
    ),
    unfinished: cachedStatement(
      db,
      `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY created_at, no`,
    ),
    events: cachedStatement(db, STREAM),
    get runForAppend(): Database.Statement {
      return runForAppend();
    },
    insertRun: cachedStatement(
      db,
      'INSERT INTO runs (owner, id, op, instance_uuid, node_uuid, node_name, machine, machine_version, status, state, created_at, error, last_id) VALUES (@owner, @id, @op, @instance_uuid, @node_uuid, @node_name, @machine, @machine_version, @status, @state, @created_at, @error, @last_id)',
    ),
    get advanceRun(): Database.Statement {
      return advanceRun();
    },
    get updateRun(): Database.Statement {
      return updateRun();
    },
    get takeRun(): Database.Statement {
      return takeRun();
    },
    holders: cachedStatement(db, HOLDERS_SQL),
  };
}

/** An owner as a takeover note records it. */
function ownerFacts(row: OwnerRow): JsonObject {
  return { replica: row.replica, pid: row.pid, host: row.host };
}

function describeOwner(o: JsonObject): string {
  const where = `pid ${String(o['pid'])}${typeof o['host'] === 'string' ? ` on ${o['host']}` : ''}`;
  return typeof o['replica'] === 'string' ? `replica ${o['replica']} (${where})` : where;
}

/**
 * SQLite reads a WAL-mode file only where it can create the `-shm` index beside it, so a reader
 * of a file in a directory it may not write (a database kept for an incident, on a read-only
 * mount, or owned by the service account) cannot open it in place. Without a `-wal` file no
 * writer is active and the file is complete: a private copy in the temp directory reads the
 * same. Returns that copy's directory, or null when the error is something else.
 */
function readableCopy(path: string, err: unknown): string | null {
  const code = (err as { code?: unknown }).code;
  const cannotCreateSidecar = code === 'SQLITE_READONLY_DIRECTORY' || code === 'SQLITE_CANTOPEN';
  if (!cannotCreateSidecar || path === ':memory:' || existsSync(`${path}-wal`)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'ironledger-read-'));
  try {
    copyFileSync(path, join(dir, 'copy.db'));
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}
