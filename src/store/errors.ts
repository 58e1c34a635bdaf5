// Typed store errors. Callers branch on `code`; every error carries the facts (path, run id,
// sequence numbers, lock holder). Messages never contain payloads, so never a secret.

export type StoreErrorCode =
  | 'STORE_SEQUENCE_CONFLICT'
  | 'STORE_RUN_EXISTS'
  | 'STORE_LOCKED'
  | 'STORE_RUN_OWNED'
  | 'STORE_RUN_NOT_OWNED'
  | 'STORE_RUN_HELD'
  | 'STORE_SCHEMA_TOO_NEW'
  | 'STORE_SCHEMA_OUTDATED'
  | 'STORE_NOT_A_DATABASE'
  | 'STORE_CORRUPT'
  | 'STORE_FILE_GONE'
  | 'STORE_FILE_NOT_FOUND'
  | 'STORE_READ_ONLY'
  | 'STORE_DISK_FULL'
  | 'STORE_BUSY'
  | 'STORE_CLOSED'
  | 'STORE_INVALID_EVENT'
  | 'STORE_INVALID_STREAM'
  | 'STORE_RUN_NOT_FOUND'
  | 'STORE_AMBIGUOUS_RUN_ID'
  | 'STORE_IO'
  | 'STORE_UNREACHABLE'
  | 'STORE_AUTH_FAILED';

export interface StoreErrorFacts {
  path?: string;
  runId?: string | null;
  seq?: number | null;
  cause?: unknown;
}

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly path: string | null;
  readonly runId: string | null;
  readonly seq: number | null;

  constructor(code: StoreErrorCode, message: string, facts: StoreErrorFacts = {}) {
    super(message, facts.cause === undefined ? undefined : { cause: facts.cause });
    this.name = new.target.name;
    this.code = code;
    this.path = facts.path ?? null;
    this.runId = facts.runId ?? null;
    this.seq = facts.seq ?? null;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      path: this.path,
      runId: this.runId,
      seq: this.seq,
    };
  }
}

/** Another append got there first: the caller's view of the run is stale. Nothing was written. */
export class StoreSequenceConflictError extends StoreError {
  readonly expectedSeq: number;
  readonly actualSeq: number;
  constructor(path: string, runId: string, expectedSeq: number, actualSeq: number) {
    super(
      'STORE_SEQUENCE_CONFLICT',
      `run ${runId}: append expected last seq ${expectedSeq} but the stream is at ${actualSeq}`,
      { path, runId, seq: actualSeq },
    );
    this.expectedSeq = expectedSeq;
    this.actualSeq = actualSeq;
  }
}

export class StoreRunExistsError extends StoreError {
  constructor(path: string, runId: string) {
    super('STORE_RUN_EXISTS', `run ${runId} already exists`, { path, runId });
  }
}

export interface WriterHolder {
  pid: number;
  host: string;
  since: string;
}

/** A second process tried to write: one writer per database keeps sequences from interleaving. */
export class StoreLockedError extends StoreError {
  readonly holder: WriterHolder;
  constructor(path: string, holder: WriterHolder) {
    super(
      'STORE_LOCKED',
      `${path} is being written by pid ${holder.pid} on ${holder.host} since ${holder.since}; open it in reader mode or stop that process`,
      { path },
    );
    this.holder = holder;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), holder: this.holder };
  }
}

/** Who drives a run: the process that started or resumed it. */
export interface RunOwnerFacts {
  pid: number;
  host: string;
  since: string;
}

function ownerWords(o: RunOwnerFacts): string {
  return `pid ${o.pid} on ${o.host} (since ${o.since})`;
}

/** A live process drives the run: it cannot be taken (resumed, superseded) from here. */
export class StoreRunOwnedError extends StoreError {
  readonly owner: RunOwnerFacts;
  constructor(path: string, runId: string, owner: RunOwnerFacts) {
    super(
      'STORE_RUN_OWNED',
      `run ${runId} is driven by ${ownerWords(owner)}; it resumes only once that process is gone`,
      { path, runId },
    );
    this.owner = owner;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), owner: this.owner };
  }
}

/**
 * An append to a run this store does not own (any more): another process took it, or it was
 * never this one's. Nothing was written; the caller must stop driving the run.
 */
export class StoreRunNotOwnedError extends StoreError {
  constructor(path: string, runId: string) {
    super(
      'STORE_RUN_NOT_OWNED',
      `run ${runId} is not owned by this process (pid ${process.pid}); nothing was written`,
      {
        path,
        runId,
      },
    );
  }
}

/**
 * A new run for a node or instance that an unfinished run of another live process holds.
 * Nothing was written.
 */
export class StoreRunHeldError extends StoreError {
  readonly holder: string;
  readonly owner: RunOwnerFacts;
  constructor(path: string, runId: string, what: string, holder: string, owner: RunOwnerFacts) {
    super(
      'STORE_RUN_HELD',
      `${what} already has run ${holder} in progress, driven by ${ownerWords(owner)}; run ${runId} not started`,
      { path, runId },
    );
    this.holder = holder;
    this.owner = owner;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), holder: this.holder, owner: this.owner };
  }
}

export class StoreSchemaTooNewError extends StoreError {
  readonly found: number;
  readonly supported: number;
  constructor(path: string, found: number, supported: number) {
    super(
      'STORE_SCHEMA_TOO_NEW',
      `${path} has schema version ${found}; this ironledger knows up to ${supported} (upgrade ironledger)`,
      { path },
    );
    this.found = found;
    this.supported = supported;
  }
}

/** A reader cannot migrate: the file must first be opened once by a writer of this version. */
export class StoreSchemaOutdatedError extends StoreError {
  readonly found: number;
  readonly supported: number;
  constructor(path: string, found: number, supported: number) {
    super(
      'STORE_SCHEMA_OUTDATED',
      `${path} has schema version ${found}, older than ${supported}; open it once as a writer to migrate`,
      { path },
    );
    this.found = found;
    this.supported = supported;
  }
}

export class StoreRunNotFoundError extends StoreError {
  constructor(path: string, runId: string) {
    super('STORE_RUN_NOT_FOUND', `no run ${runId} in ${path}`, { path, runId });
  }
}

export class StoreAmbiguousRunIdError extends StoreError {
  readonly candidates: string[];
  constructor(path: string, prefix: string, candidates: string[]) {
    super('STORE_AMBIGUOUS_RUN_ID', `run id prefix ${prefix} matches ${candidates.join(', ')}`, {
      path,
      runId: prefix,
    });
    this.candidates = candidates;
  }
}

export class StoreClosedError extends StoreError {
  constructor(path: string) {
    super('STORE_CLOSED', `${path}: the store is closed`, { path });
  }
}

/** A caller bug (unknown kind, transition without `to`, bad finish status): refused before anything is written. */
export class StoreInvalidEventError extends StoreError {
  constructor(path: string, runId: string, seq: number, message: string) {
    super('STORE_INVALID_EVENT', `run ${runId} seq ${seq}: ${message}`, { path, runId, seq });
  }
}

/** replayRun was given something that is not a run's stream (no 'run.started' first, seq out of order). */
export class StoreInvalidStreamError extends StoreError {
  constructor(runId: string | null, seq: number | null, message: string) {
    super('STORE_INVALID_STREAM', runId ? `run ${runId}: ${message}` : message, { runId, seq });
  }
}

export class StoreFileNotFoundError extends StoreError {
  constructor(path: string, cause?: unknown) {
    super('STORE_FILE_NOT_FOUND', `${path} does not exist (a reader never creates a database)`, {
      path,
      cause,
    });
  }
}

/**
 * The file is damaged: SQLite found a malformed page, or the file shrank under the writer (only
 * SQLite grows it; something outside ironledger cut it). Nothing in it can be trusted to resume from.
 */
export class StoreCorruptError extends StoreError {
  constructor(path: string, message: string, cause?: unknown) {
    super('STORE_CORRUPT', message, { path, cause });
  }

  /** SQLite's own finding, e.g. `database disk image is malformed`. */
  static found(path: string, detail: string, cause?: unknown): StoreCorruptError {
    return new StoreCorruptError(path, `${path} is corrupt: ${detail}`, cause);
  }

  static truncated(path: string, from: number, to: number): StoreCorruptError {
    return new StoreCorruptError(
      path,
      `${path} was truncated from ${from} to ${to} bytes while this process was writing it; the events in the cut-off pages are lost (restore the file from a backup)`,
    );
  }
}

/**
 * The writer's file is no longer at its path (deleted, moved, or another file put there).
 * SQLite would go on writing to the inode it opened, which no one can open again: every append
 * since would be acknowledged and lost, and a second writer could start on the new file.
 */
export class StoreFileGoneError extends StoreError {
  readonly how: 'deleted' | 'replaced';
  constructor(path: string, how: 'deleted' | 'replaced') {
    super(
      'STORE_FILE_GONE',
      `${path} was ${how === 'deleted' ? 'deleted or moved' : 'replaced by another file'} while this process was writing it; nothing written since is in the file at that path, so this process stopped writing and its unfinished runs cannot be resumed from there`,
      { path },
    );
    this.how = how;
  }
}

interface CodedError {
  code?: unknown;
}

/**
 * Turns a better-sqlite3 / fs failure into the store's typed error. SQLite's extended codes
 * (SQLITE_READONLY_DBMOVED, SQLITE_BUSY_SNAPSHOT...) are matched on their primary prefix.
 */
export function toStoreError(err: unknown, facts: StoreErrorFacts & { path: string }): StoreError {
  if (err instanceof StoreError) return err;
  const code = typeof (err as CodedError)?.code === 'string' ? ((err as CodedError).code as string) : '';
  const withCause = { ...facts, cause: err };
  const where = facts.runId ? `${facts.path} (run ${facts.runId})` : facts.path;
  if (code.startsWith('SQLITE_CORRUPT')) {
    return StoreCorruptError.found(facts.path, (err as Error).message, err);
  }
  if (code.startsWith('SQLITE_NOTADB')) {
    return new StoreError(
      'STORE_NOT_A_DATABASE',
      `${where} is not an ironledger SQLite database or is corrupt`,
      withCause,
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EROFS' || code === 'EPERM') {
    return new StoreError(
      'STORE_READ_ONLY',
      `${where} cannot be written (read-only file, directory or filesystem)`,
      withCause,
    );
  }
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC') {
    return new StoreError(
      'STORE_DISK_FULL',
      `${where}: disk or database size limit full; nothing of this write was stored`,
      withCause,
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError(
      'STORE_BUSY',
      `${where} is locked by another connection; nothing of this write was stored`,
      withCause,
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'ENOENT' || code === 'ENOTDIR') {
    return new StoreError('STORE_IO', `${where} cannot be opened (missing directory?)`, withCause);
  }
  return new StoreError('STORE_IO', `${where}: ${code || 'unexpected error'}`, withCause);
}
