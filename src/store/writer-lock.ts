// One writer per database. SQLite alone would serialise transactions but let two engines
// interleave appends to the same runs; the `writer` row makes the second engine fail fast with
// the holder's identity instead. A holder whose process is gone (kill -9, power loss) is stale
// and taken over, so a crashed engine never needs manual cleanup before resume.

import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StoreLockedError, type WriterHolder } from './errors.js';
import { cachedStatement } from './sqlite.js';

/**
 * Tokens of locks this process gave up without being able to delete their row (the write failed:
 * a full disk, a busy file). The row names this live process, so another process waits until it
 * exits; this process itself may take the lock again at once.
 */
const givenUp = new Set<string>();

interface WriterRow {
  pid: number;
  host: string;
  since: string;
  pid_start: string | null;
  token: string;
}

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

function isAlive(pid: number, pidStart: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (pidStart === null) return true;
  const now = processStartTime(pid);
  return now === null || now === pidStart;
}

/** Another host's pid cannot be probed from here: it counts as alive rather than risk interleaving. */
function isLive(row: Pick<WriterRow, 'pid' | 'host' | 'pid_start'>, host: string): boolean {
  return row.host !== host || isAlive(row.pid, row.pid_start);
}

/**
 * Claims the writer row inside an immediate transaction (so two openers cannot both see it free).
 * Returns the token that proves ownership when releasing.
 */
export function acquireWriterLock(db: Database.Database, path: string, now: string): string {
  const host = hostname();
  const token = randomUUID();
  const taken = db
    .transaction((): string | null => {
      const row = cachedStatement(
        db,
        'SELECT pid, host, since, pid_start, token FROM writer WHERE id = 1',
      ).get() as WriterRow | undefined;
      const ours =
        row !== undefined && row.host === host && row.pid === process.pid && givenUp.has(row.token);
      if (row && !ours && isLive(row, host)) {
        const holder: WriterHolder = { pid: row.pid, host: row.host, since: row.since };
        throw new StoreLockedError(path, holder);
      }
      cachedStatement(
        db,
        'INSERT OR REPLACE INTO writer (id, pid, host, since, pid_start, token) VALUES (1, ?, ?, ?, ?, ?)',
      ).run(process.pid, host, now, processStartTime(process.pid), token);
      return ours ? row.token : null;
    })
    .immediate();
  if (taken !== null) givenUp.delete(taken);
  return token;
}

/**
 * Deletes the writer row. When that cannot be written (a full disk, a busy file) the lock is
 * given up instead: never an error on close, and the row's process may take it again.
 */
export function releaseWriterLock(db: Database.Database, token: string): void {
  try {
    cachedStatement(db, 'DELETE FROM writer WHERE id = 1 AND token = ?').run(token);
  } catch {
    givenUp.add(token);
  }
}

export function currentWriter(db: Database.Database): WriterHolder | null {
  const row = cachedStatement(db, 'SELECT pid, host, since FROM writer WHERE id = 1').get() as
    WriterHolder | undefined;
  return row ?? null;
}

/** The holder of the writer lock if it may still be writing (its process alive or on another host). */
export function liveWriter(db: Database.Database): WriterHolder | null {
  const row = cachedStatement(
    db,
    'SELECT pid, host, since, pid_start, token FROM writer WHERE id = 1',
  ).get() as WriterRow | undefined;
  if (!row || givenUp.has(row.token) || !isLive(row, hostname())) return null;
  return { pid: row.pid, host: row.host, since: row.since };
}
