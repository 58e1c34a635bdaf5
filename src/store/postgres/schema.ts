// PostgreSQL schema and its forward migrations. `schema_version` holds the number of migrations
// applied; a writer's open runs the missing ones in order in ONE transaction holding an advisory
// lock, so two writers opening a fresh database at once cannot both migrate, and a failure
// mid-upgrade leaves it at its old version.
//
// Events keep their JSON payload as text (not jsonb): a stream reads back byte for byte what was
// written, key order included, exactly as from SQLite.

import type { PoolClient } from 'pg';
import { StoreError, StoreSchemaOutdatedError, StoreSchemaTooNewError } from '../errors.js';

/** Advisory lock key taken by migrations (any constant; "ironledger" in ASCII, truncated). */
export const MIGRATION_LOCK = 0x69726f6e;

export const PG_MIGRATIONS: readonly string[] = [
  // 1: owners (one per open writer), runs with their summary columns (head seq and time kept on
  // the row, updated in the append's transaction), and gap-free streams keyed by (run, seq).
  `
  CREATE TABLE owners (
    id         serial PRIMARY KEY,
    pid        integer NOT NULL,
    host       text NOT NULL,
    boot_id    text,
    pid_start  text,
    since      text NOT NULL,
    renewed_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE runs (
    no              serial PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    owner           integer,
    op              text NOT NULL,
    instance_uuid   text,
    node_uuid       text,
    node_name       text,
    machine         text NOT NULL,
    machine_version integer NOT NULL,
    status          text NOT NULL CHECK (status IN ('running','succeeded','failed','cancelled')),
    state           text,
    last_seq        integer NOT NULL DEFAULT 0,
    created_at      text NOT NULL,
    updated_at      text NOT NULL,
    error           text
  );
  CREATE INDEX runs_by_created   ON runs (created_at);
  CREATE INDEX runs_by_status    ON runs (status, created_at);
  CREATE INDEX runs_by_op        ON runs (op, created_at);
  CREATE INDEX runs_by_node      ON runs (node_uuid, created_at);
  CREATE INDEX runs_by_node_name ON runs (node_name, created_at);
  CREATE INDEX runs_by_instance  ON runs (instance_uuid, created_at);
  CREATE INDEX runs_running_by_owner ON runs (owner) WHERE status = 'running';
  CREATE TABLE events (
    run_no     integer NOT NULL REFERENCES runs (no),
    seq        integer NOT NULL CHECK (seq >= 1),
    at         text NOT NULL,
    kind       text NOT NULL,
    type       text,
    from_state text,
    to_state   text,
    data       text NOT NULL,
    v          integer NOT NULL,
    PRIMARY KEY (run_no, seq)
  );
  `,
  // 2: replicas (issue 18), as SQLite's version 7. A run's `epoch` counts the claims of it (every
  // claim or takeover adds one) so an append can be fenced by (owner, epoch); an owner row of a
  // replica names it (`replica`) and carries its heartbeat lease (`lease_ms`).
  `
  ALTER TABLE runs ADD COLUMN epoch integer NOT NULL DEFAULT 1;
  ALTER TABLE owners ADD COLUMN replica text;
  ALTER TABLE owners ADD COLUMN lease_ms integer;
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function currentVersion(client: PoolClient): Promise<number | null> {
  const t = await client.query<{ present: boolean }>(
    "SELECT to_regclass('schema_version') IS NOT NULL AS present",
  );
  if (!t.rows[0]?.present) return null;
  const v = await client.query<{ version: number }>('SELECT version FROM schema_version');
  return v.rows[0]?.version ?? 0;
}

/** Brings the schema up to PG_SCHEMA_VERSION; refuses one written by a newer ironledger. */
export async function migrate(client: PoolClient, where: string, schema: string | null): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    let found = await currentVersion(client);
    if (found === null) {
      await client.query('CREATE TABLE schema_version (version integer NOT NULL)');
      await client.query('INSERT INTO schema_version (version) VALUES (0)');
      found = 0;
    }
    if (found > PG_SCHEMA_VERSION) throw new StoreSchemaTooNewError(where, found, PG_SCHEMA_VERSION);
    for (let v = found; v < PG_SCHEMA_VERSION; v++) await client.query(PG_MIGRATIONS[v] as string);
    if (found !== PG_SCHEMA_VERSION) {
      await client.query('UPDATE schema_version SET version = $1', [PG_SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A reader never changes the schema: it accepts exactly the version it understands. */
export async function checkReadable(client: PoolClient, where: string): Promise<void> {
  const found = await currentVersion(client);
  if (found === null) {
    throw new StoreError(
      'STORE_FILE_NOT_FOUND',
      `${where} holds no ironledger store (no schema_version table)`,
      {
        path: where,
      },
    );
  }
  if (found > PG_SCHEMA_VERSION) throw new StoreSchemaTooNewError(where, found, PG_SCHEMA_VERSION);
  if (found < PG_SCHEMA_VERSION) throw new StoreSchemaOutdatedError(where, found, PG_SCHEMA_VERSION);
}

export { quoteIdent };
