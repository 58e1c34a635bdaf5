// The database schema and its forward migrations. `PRAGMA user_version` holds the number of
// migrations applied; a writer's open runs the missing ones in order inside ONE immediate
// transaction (version read inside it), so two processes opening a fresh file at once cannot
// both migrate, and a crash mid-upgrade leaves the file at its old version.

import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { StoreLockedError, StoreSchemaOutdatedError, StoreSchemaTooNewError } from './errors.js';
import { isAlive } from './owners.js';

type Migration = (db: Database.Database, path: string) => void;

const HEX = '[0-9a-f]';
/** A canonical UUID, lower case: 8-4-4-4-12 hex digits. */
const UUID_GLOB = [8, 4, 4, 4, 12].map((n) => HEX.repeat(n)).join('-');

const MIGRATIONS: readonly Migration[] = [
  // 1: runs with their summary columns, gap-free event streams, and the writer lock row.
  (db) => {
    db.exec(`
      CREATE TABLE runs (
        id              TEXT PRIMARY KEY,
        op              TEXT NOT NULL,
        instance_uuid   TEXT,
        node_uuid       TEXT,
        machine         TEXT NOT NULL,
        machine_version INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('running','succeeded','failed','cancelled')),
        state           TEXT,
        last_seq        INTEGER NOT NULL CHECK (last_seq >= 1),
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        error           TEXT
      );
      CREATE INDEX runs_by_created  ON runs (created_at);
      CREATE INDEX runs_by_status   ON runs (status, created_at);
      CREATE INDEX runs_by_op       ON runs (op, created_at);
      CREATE INDEX runs_by_node     ON runs (node_uuid, created_at);
      CREATE INDEX runs_by_instance ON runs (instance_uuid, created_at);

      CREATE TABLE events (
        run_id     TEXT NOT NULL,
        seq        INTEGER NOT NULL CHECK (seq >= 1),
        at         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        type       TEXT,
        from_state TEXT,
        to_state   TEXT,
        data       TEXT NOT NULL,
        v          INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE writer (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        pid        INTEGER NOT NULL,
        host       TEXT NOT NULL,
        since      TEXT NOT NULL,
        pid_start  TEXT,
        token      TEXT NOT NULL
      );
    `);
  },
  // 2: the run row no longer repeats its last seq and update time. Both are the stream's last
  // event, read from there; keeping copies meant rewriting the runs page on every append (two
  // WAL pages per one-event commit instead of one). The row changes only when what it
  // summarises does: state, status, error, node.
  (db) => {
    db.exec(`
      CREATE TABLE runs_v2 (
        id              TEXT PRIMARY KEY,
        op              TEXT NOT NULL,
        instance_uuid   TEXT,
        node_uuid       TEXT,
        machine         TEXT NOT NULL,
        machine_version INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('running','succeeded','failed','cancelled')),
        state           TEXT,
        created_at      TEXT NOT NULL,
        error           TEXT
      );
      INSERT INTO runs_v2 (id, op, instance_uuid, node_uuid, machine, machine_version, status, state, created_at, error)
        SELECT id, op, instance_uuid, node_uuid, machine, machine_version, status, state, created_at, error FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_v2 RENAME TO runs;
      CREATE INDEX runs_by_created  ON runs (created_at);
      CREATE INDEX runs_by_status   ON runs (status, created_at);
      CREATE INDEX runs_by_op       ON runs (op, created_at);
      CREATE INDEX runs_by_node     ON runs (node_uuid, created_at);
      CREATE INDEX runs_by_instance ON runs (instance_uuid, created_at);
    `);
  },
  // 3: events go to the end of one append-only table (rowid order) and are found by run through
  // a small (run number, seq) index. Clustering the table itself by (run id, seq) made every
  // commit rewrite one page per run it touched: a group commit of 100 runs wrote ~100 pages for
  // ~70 pages of new data. A run's number (an integer, not its 36-character id) keeps the index
  // entries small, and runs started together sit next to each other in it.
  (db) => {
    db.exec(`
      CREATE TABLE runs_v3 (
        no              INTEGER PRIMARY KEY,
        id              TEXT NOT NULL UNIQUE,
        op              TEXT NOT NULL,
        instance_uuid   TEXT,
        node_uuid       TEXT,
        machine         TEXT NOT NULL,
        machine_version INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('running','succeeded','failed','cancelled')),
        state           TEXT,
        created_at      TEXT NOT NULL,
        error           TEXT
      );
      INSERT INTO runs_v3 (id, op, instance_uuid, node_uuid, machine, machine_version, status, state, created_at, error)
        SELECT id, op, instance_uuid, node_uuid, machine, machine_version, status, state, created_at, error
        FROM runs ORDER BY created_at, id;
      CREATE TABLE events_v3 (
        id         INTEGER PRIMARY KEY,
        run_no     INTEGER NOT NULL,
        seq        INTEGER NOT NULL CHECK (seq >= 1),
        at         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        type       TEXT,
        from_state TEXT,
        to_state   TEXT,
        data       TEXT NOT NULL,
        v          INTEGER NOT NULL
      );
      INSERT INTO events_v3 (run_no, seq, at, kind, type, from_state, to_state, data, v)
        SELECT r.no, e.seq, e.at, e.kind, e.type, e.from_state, e.to_state, e.data, e.v
        FROM events e JOIN runs_v3 r ON r.id = e.run_id ORDER BY r.no, e.seq;
      DROP TABLE events;
      DROP TABLE runs;
      ALTER TABLE runs_v3 RENAME TO runs;
      ALTER TABLE events_v3 RENAME TO events;
      CREATE UNIQUE INDEX events_by_run ON events (run_no, seq);
      CREATE INDEX runs_by_created  ON runs (created_at);
      CREATE INDEX runs_by_status   ON runs (status, created_at);
      CREATE INDEX runs_by_op       ON runs (op, created_at);
      CREATE INDEX runs_by_node     ON runs (node_uuid, created_at);
      CREATE INDEX runs_by_instance ON runs (instance_uuid, created_at);
    `);
  },
  // 4: a run's events are chained, each naming the row of the one before it (`prev`), and the
  // run row names the last one (`last_id`, the stream's head; its seq and time are read from that
  // row). The (run number, seq) index cost one index page per run per commit: a group commit of
  // 100 runs wrote ~100 index pages beside ~60 pages of events. Now it writes the events and the
  // few run-row pages of the runs it touched. A stream is read by walking the chain back.
  (db) => {
    db.exec(`
      ALTER TABLE events ADD COLUMN prev INTEGER;
      UPDATE events SET prev = (SELECT p.id FROM events p WHERE p.run_no = events.run_no AND p.seq = events.seq - 1)
        WHERE seq > 1;
      ALTER TABLE runs ADD COLUMN last_id INTEGER;
      UPDATE runs SET last_id = (SELECT id FROM events WHERE run_no = runs.no ORDER BY seq DESC LIMIT 1);
      DROP INDEX events_by_run;
    `);
  },
  // 5: a run names its node by UUID and, when it was given one, by name: a deploy given a name
  // stored the name as its node_uuid, so `runs --node UUID` missed it. Names stored that way move
  // to node_name (an Ironic node name is never UUID-like).
  (db) => {
    db.exec(`
      ALTER TABLE runs ADD COLUMN node_name TEXT;
      UPDATE runs SET node_name = node_uuid, node_uuid = NULL
        WHERE node_uuid IS NOT NULL AND lower(node_uuid) NOT GLOB '${UUID_GLOB}';
      CREATE INDEX runs_by_node_name ON runs (node_name, created_at);
    `);
  },
  // 6: runs are owned one by one instead of the file by one writer. Each writer process has an
  // `owners` row; a run names the owner driving it (`owner`, NULL when nobody does: resumable).
  // Appends are fenced by that column. The `writer` row goes; a live writer of the old version
  // (which holds it) keeps the file at version 5 until it exits.
  (db, path) => {
    const hasWriter = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'writer'")
      .get();
    const old = (
      hasWriter ? db.prepare('SELECT pid, host, since, pid_start FROM writer WHERE id = 1').get() : undefined
    ) as { pid: number; host: string; since: string; pid_start: string | null } | undefined;
    if (old && (old.host !== hostname() || isAlive(old.pid, old.pid_start))) {
      throw new StoreLockedError(path, { pid: old.pid, host: old.host, since: old.since });
    }
    db.exec(`
      CREATE TABLE owners (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        pid        INTEGER NOT NULL,
        host       TEXT NOT NULL,
        boot_id    TEXT,
        pid_start  TEXT,
        since      TEXT NOT NULL,
        renewed_at TEXT NOT NULL
      );
      ALTER TABLE runs ADD COLUMN owner INTEGER;
      CREATE INDEX runs_running_by_owner ON runs (owner) WHERE status = 'running';
      DROP TABLE IF EXISTS writer;
    `);
  },
  // 7: replicas (issue 18). A run's `epoch` counts the claims of it: every claim or takeover
  // adds one, and an append is fenced by (owner, epoch), so a writer acts only on the claim it
  // made. An owner row of a replica names it (`replica`) and carries its heartbeat lease
  // (`lease_ms`): such an owner is live only while `renewed_at` is younger than that lease,
  // whatever its pid says (a stopped process loses its runs).
  // Each column is added only where missing: a file rebuilt to an older version by hand (tests
  // do) may keep it.
  (db) => {
    const add = (table: string, column: string, type: string): void => {
      const columns = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
      if (!columns.some((c) => c.name === column))
        db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    };
    add('runs', 'epoch', 'INTEGER NOT NULL DEFAULT 1');
    add('owners', 'replica', 'TEXT');
    add('owners', 'lease_ms', 'INTEGER');
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings a writer's database up to SCHEMA_VERSION; refuses files written by a newer ironledger. */
export function migrate(db: Database.Database, path: string): void {
  if (schemaVersion(db) === SCHEMA_VERSION) return;
  db.transaction(() => {
    const found = schemaVersion(db);
    if (found > SCHEMA_VERSION) throw new StoreSchemaTooNewError(path, found, SCHEMA_VERSION);
    for (let v = found; v < SCHEMA_VERSION; v++) (MIGRATIONS[v] as Migration)(db, path);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * The oldest version a reader reads as it is: 7 only added columns that takes and fences use
 * (runs.epoch, owners.replica/lease_ms), which a reader never reads.
 */
const OLDEST_READABLE_VERSION = 6;

/** A reader never changes the file: it accepts the versions it understands. */
export function checkReadable(db: Database.Database, path: string): void {
  const found = schemaVersion(db);
  if (found > SCHEMA_VERSION) throw new StoreSchemaTooNewError(path, found, SCHEMA_VERSION);
  if (found < OLDEST_READABLE_VERSION) throw new StoreSchemaOutdatedError(path, found, SCHEMA_VERSION);
}
