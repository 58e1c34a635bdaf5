// One writer per database. SQLite alone would serialise transactions but let two engines
// interleave appends to the same runs; the `writer` row makes the second engine fail fast with
// the holder's identity instead. A holder whose process is gone (kill -9, power loss) is stale
// and taken over, so a crashed engine never needs manual cleanup before resume.

import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StoreLockedError, type WriterHolder } from './errors.js';

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

/**
 * Claims the writer row inside an immediate transaction (so two openers cannot both see it free).
 * Returns the token that proves ownership when releasing.
 */
export function acquireWriterLock(db: Database.Database, path: string, now: string): string {
  const host = hostname();
  const token = randomUUID();
  db.transaction(() => {
    const row = db.prepare('SELECT pid, host, since, pid_start, token FROM writer WHERE id = 1').get() as
      WriterRow | undefined;
    if (row) {
      // Another host's pid cannot be probed from here: assume it is alive rather than interleave.
      const live = row.host !== host || isAlive(row.pid, row.pid_start);
      if (live) {
        const holder: WriterHolder = { pid: row.pid, host: row.host, since: row.since };
        throw new StoreLockedError(path, holder);
      }
    }
    db.prepare(
      'INSERT OR REPLACE INTO writer (id, pid, host, since, pid_start, token) VALUES (1, ?, ?, ?, ?, ?)',
    ).run(process.pid, host, now, processStartTime(process.pid), token);
  }).immediate();
  return token;
}

export function releaseWriterLock(db: Database.Database, token: string): void {
  db.prepare('DELETE FROM writer WHERE id = 1 AND token = ?').run(token);
}

export function currentWriter(db: Database.Database): WriterHolder | null {
  const row = db.prepare('SELECT pid, host, since FROM writer WHERE id = 1').get() as
    WriterHolder | undefined;
  return row ?? null;
}
