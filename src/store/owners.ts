// Run ownership. Several processes may write one database (WAL; SQLite serialises their commits),
// but each run is driven by one of them: the process that started or resumed it. Every writer
// registers an `owners` row on open; a run's `owner` column names the owner driving it, and an
// append is fenced by that column in the same transaction (UPDATE ... WHERE owner = me), so a
// process that no longer owns a run can never add to its stream.
//
// Liveness, which decides whether `resume` may take a run:
//  - same host and same boot: the owner's pid is alive with the same start time (a reused pid
//    has another). Exact and immediate: a kill -9'd process's runs are resumable at once, and a
//    live process (even one stopped or paused) is never taken from.
//  - same host, another boot (the boot id differs): gone.
//  - another host: its pid cannot be probed from here, so a lease: gone once its `renewed_at`
//    is older than the lease. SQLite in WAL mode is only shared between processes of one host,
//    so this is a file moved or copied from another machine; the lease just keeps such runs
//    from being stranded forever, and an owner on another host renews it while it is open.
//  - a replica (issue 18: the writer names itself and its lease; `replica`, `lease_ms`): its
//    heartbeat lease only, on any host. A replica stopped (SIGSTOP, a long GC pause) is gone
//    once its lease runs out although its pid lives: its runs go to the replicas that renew.

import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ReplicaIdentity, RunOwner } from './types.js';
import { cachedStatement } from './sqlite.js';

/** Default lease of an owner on another host: renewed every third of it while its store is open. */
export const DEFAULT_OWNER_LEASE_MS = 30_000;

export interface OwnerRow {
  id: number;
  pid: number;
  host: string;
  boot_id: string | null;
  pid_start: string | null;
  since: string;
  renewed_at: string;
  /** The replica's name when this owner is one (then live by its lease only). */
  replica: string | null;
  /** The replica's heartbeat lease. */
  lease_ms: number | null;
}

// Declared in types.ts: the store's public options name it, and this module's declarations
// carry better-sqlite3's types, which a package user does not install.
export type { ReplicaIdentity } from './types.js';

/**
 * Owner rows (by `path#id`) this process closed without being able to release (a full disk, a
 * busy file): they name this live process, yet drive nothing; counted as gone.
 */
const givenUp = new Set<string>();

/** Start time of a process in clock ticks since boot (Linux); tells a live holder from a reused pid. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; counted after the command name, which is parenthesised and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

let cachedBootId: string | null | undefined;

/** This boot of this machine (Linux); null where it cannot be read. */
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

export function isAlive(pid: number, pidStart: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (pidStart === null) return true;
  const now = processStartTime(pid);
  return now === null || now === pidStart;
}

/** Whether the owner may still be driving its runs (see the header for the rule). */
export function ownerLive(path: string, row: OwnerRow, leaseMs: number, now = Date.now()): boolean {
  if (givenUp.has(`${path}#${row.id}`)) return false;
  // `!= null`: a reader of a version 6 file has no such column.
  if (row.lease_ms != null) return Date.parse(row.renewed_at) + row.lease_ms > now;
  if (row.host === hostname()) {
    const boot = bootId();
    if (row.boot_id !== null && boot !== null && row.boot_id !== boot) return false;
    return isAlive(row.pid, row.pid_start);
  }
  return Date.parse(row.renewed_at) + leaseMs > now;
}

export function toOwner(row: OwnerRow): RunOwner {
  return { pid: row.pid, host: row.host, since: row.since };
}

/**
 * Registers this writer as an owner, and forgets owners that are gone: their unfinished runs
 * lose their owner (resumable by anyone) and their rows are deleted. One immediate transaction.
 */
export function registerOwner(
  db: Database.Database,
  path: string,
  leaseMs: number,
  now: string,
  replica: ReplicaIdentity | null = null,
): number {
  return db
    .transaction((): number => {
      const rows = cachedStatement(db, 'SELECT * FROM owners').all() as OwnerRow[];
      const clearRuns = cachedStatement(
        db,
        "UPDATE runs SET owner = NULL WHERE owner = ? AND status = 'running'",
      );
      const drop = cachedStatement(db, 'DELETE FROM owners WHERE id = ?');
      for (const row of rows) {
        if (ownerLive(path, row, leaseMs)) continue;
        clearRuns.run(row.id);
        drop.run(row.id);
      }
      const id = cachedStatement(
        db,
        'INSERT INTO owners (pid, host, boot_id, pid_start, since, renewed_at, replica, lease_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        process.pid,
        hostname(),
        bootId(),
        processStartTime(process.pid),
        now,
        now,
        replica?.id ?? null,
        replica?.leaseMs ?? null,
      ).lastInsertRowid;
      return Number(id);
    })
    .immediate();
}

/** Renews this owner's lease (only another host's readers look at it). Never throws. */
export function renewOwner(db: Database.Database, id: number): void {
  try {
    cachedStatement(db, 'UPDATE owners SET renewed_at = ? WHERE id = ?').run(new Date().toISOString(), id);
  } catch {
    // A busy or full file: the lease runs on; the next renewal tries again.
  }
}

/**
 * A replica's heartbeat: renews its lease as of `now`. Should its row be gone (a writer that
 * opened meanwhile found the lease run out and forgot it, releasing its runs), the row is written
 * again under the same id: the replica is live again, but owns none of the runs it had. Throws
 * what SQLite throws (a busy file): the caller counts the beat as missed.
 */
export function heartbeatOwner(
  db: Database.Database,
  id: number,
  replica: ReplicaIdentity,
  since: string,
  now: string,
): 'renewed' | 'rejoined' {
  return db
    .transaction((): 'renewed' | 'rejoined' => {
      const renewed = cachedStatement(db, 'UPDATE owners SET renewed_at = ? WHERE id = ?').run(now, id);
      if (renewed.changes === 1) return 'renewed';
      cachedStatement(
        db,
        'INSERT INTO owners (id, pid, host, boot_id, pid_start, since, renewed_at, replica, lease_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        id,
        process.pid,
        hostname(),
        bootId(),
        processStartTime(process.pid),
        since,
        now,
        replica.id,
        replica.leaseMs,
      );
      return 'rejoined';
    })
    .immediate();
}

/**
 * Gives this owner's unfinished runs back (resumable by anyone at once) and deletes its row.
 * When that cannot be written (a full disk, a busy file), the owner is given up instead: never
 * an error on close, and its runs count as ownerless in this process from now on.
 */
export function releaseOwner(db: Database.Database, path: string, id: number): void {
  try {
    db.transaction(() => {
      cachedStatement(db, "UPDATE runs SET owner = NULL WHERE owner = ? AND status = 'running'").run(id);
      cachedStatement(db, 'DELETE FROM owners WHERE id = ?').run(id);
    }).immediate();
  } catch {
    givenUp.add(`${path}#${id}`);
  }
}

/**
 * Owners now, by id, each with whether it is live. Read once per query that needs them: a few
 * rows (one per open writer, plus those gone since the last open).
 */
export function ownersById(
  db: Database.Database,
  path: string,
  leaseMs: number,
): Map<number, { row: OwnerRow; live: boolean }> {
  const rows = cachedStatement(db, 'SELECT * FROM owners').all() as OwnerRow[];
  const now = Date.now();
  return new Map(rows.map((row) => [row.id, { row, live: ownerLive(path, row, leaseMs, now) }]));
}
