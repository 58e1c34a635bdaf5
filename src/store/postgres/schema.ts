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
  // 3: one round trip per group commit (issue 18). ironledger_write(group) does a whole write()
  // (creations and appends of many runs) server-side, in the one statement's transaction:
  //  - creations: serialised by an advisory lock; an id taken, or a live holder of the node or
  //    instance (live: renewed within the owner's own lease_ms, or the writer's lease `leaseMs`;
  //    owners in `exclude` are not live: the client found their pid dead on its host) refuses;
  //  - appends (one entry per run, `expected` its head before, `epoch` null or the claim it was
  //    made under): the rows are locked in `no` order, checked in the order given (missing, not
  //    owned at that epoch, head moved), their events (`events`, numbered by the client) go in as
  //    written (data is text, byte for byte), and the `moving` runs with events move, fenced by
  //    owner and epoch.
  // A refusal raises SQLSTATE IL00x with its facts as JSON in DETAIL; the client maps it back to
  // the typed store error. Nothing of a refused write is kept.
  `
  CREATE FUNCTION ironledger_write(g jsonb) RETURNS void LANGUAGE plpgsql AS $fn$
  DECLARE
    me integer := (g->>'owner')::integer;
    lease double precision := (g->>'leaseMs')::double precision;
    excluded integer[] := ARRAY(SELECT jsonb_array_elements_text(g->'exclude')::integer);
    bad record;
    moved integer;
    wanted integer := (g->>'moving')::integer;
  BEGIN
    IF jsonb_array_length(g->'creates') > 0 THEN
      PERFORM pg_advisory_xact_lock(1769107311);
      SELECT r.id INTO bad FROM runs r
       WHERE r.id IN (SELECT c.id FROM jsonb_to_recordset(g->'creates') AS c(id text)) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'run exists' USING ERRCODE = 'IL001', DETAIL = json_build_object('runId', bad.id)::text;
      END IF;
      -- Each creation's candidates by plain equality, one indexed lookup per column and creation
      -- (OFFSET 0 keeps each a per-creation index scan whatever the table's statistics say),
      -- then the first creation, in order, with a live holder, and its oldest.
      WITH c AS (
        SELECT x.instance_uuid, coalesce(x.node_uuid, x.node_name) AS node, x.ord
          FROM ROWS FROM (jsonb_to_recordset(g->'creates') AS (instance_uuid text, node_uuid text, node_name text))
               WITH ORDINALITY AS x(instance_uuid, node_uuid, node_name, ord)
      ), m AS (
        SELECT c.ord, h.no FROM c CROSS JOIN LATERAL
          (SELECT no FROM runs WHERE instance_uuid = c.instance_uuid OFFSET 0) h
        UNION ALL
        SELECT c.ord, h.no FROM c CROSS JOIN LATERAL (SELECT no FROM runs WHERE node_uuid = c.node OFFSET 0) h
        UNION ALL
        SELECT c.ord, h.no FROM c CROSS JOIN LATERAL (SELECT no FROM runs WHERE node_name = c.node OFFSET 0) h
      )
      SELECT m.ord, h.id AS holder, h.instance_uuid, o.id AS owner, o.pid, o.host, o.since, o.boot_id,
             o.pid_start, o.lease_ms
        INTO bad
        FROM m JOIN runs h ON h.no = m.no JOIN owners o ON o.id = h.owner
       WHERE h.status = 'running' AND h.owner <> me AND NOT (h.owner = ANY (excluded))
         AND now() - o.renewed_at < coalesce(o.lease_ms, lease) * interval '1 millisecond'
       ORDER BY m.ord, h.created_at, h.no LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'run held' USING ERRCODE = 'IL002', DETAIL = row_to_json(bad)::text;
      END IF;
      INSERT INTO runs (owner, id, op, instance_uuid, node_uuid, node_name, machine, machine_version, status,
                        created_at, updated_at)
      SELECT me, c.id, c.op, c.instance_uuid, c.node_uuid, c.node_name, c.machine, c.machine_version, 'running',
             c.at, c.at
        FROM ROWS FROM (jsonb_to_recordset(g->'creates') AS (id text, op text, instance_uuid text, node_uuid text, node_name text, machine text,
                    machine_version integer, at text)) WITH ORDINALITY
               AS c(id, op, instance_uuid, node_uuid, node_name, machine, machine_version, at, ord)
       ORDER BY c.ord;
    END IF;
    IF jsonb_array_length(g->'appends') > 0 THEN
      PERFORM 1 FROM runs WHERE id IN (SELECT a.id FROM jsonb_to_recordset(g->'appends') AS a(id text))
        ORDER BY no FOR UPDATE;
      SELECT a.id, a.expected, r.no, r.last_seq, r.owner, r.epoch, a.epoch AS want
        INTO bad
        FROM ROWS FROM (jsonb_to_recordset(g->'appends') AS (id text, expected integer, epoch integer)) WITH ORDINALITY
               AS a(id, expected, epoch, ord)
        LEFT JOIN runs r ON r.id = a.id
       WHERE r.no IS NULL OR r.owner IS DISTINCT FROM me OR r.epoch <> coalesce(a.epoch, r.epoch)
          OR r.last_seq <> a.expected
       ORDER BY a.ord LIMIT 1;
      IF FOUND THEN
        IF bad.no IS NULL THEN
          RAISE EXCEPTION 'run not found' USING ERRCODE = 'IL003', DETAIL = json_build_object('runId', bad.id)::text;
        ELSIF bad.owner IS DISTINCT FROM me OR bad.epoch <> coalesce(bad.want, bad.epoch) THEN
          RAISE EXCEPTION 'run not owned' USING ERRCODE = 'IL005', DETAIL = json_build_object('runId', bad.id)::text;
        ELSE
          RAISE EXCEPTION 'sequence conflict' USING ERRCODE = 'IL004',
            DETAIL = json_build_object('runId', bad.id, 'expected', bad.expected, 'actual', bad.last_seq)::text;
        END IF;
      END IF;
      INSERT INTO events (run_no, seq, at, kind, type, from_state, to_state, data, v)
      SELECT r.no, e.seq, e.at, e.kind, e.type, e.from_state, e.to_state, e.data, (g->>'v')::integer
        FROM jsonb_to_recordset(g->'events')
               AS e(id text, seq integer, at text, kind text, type text, from_state text, to_state text, data text)
        JOIN runs r ON r.id = e.id;
      UPDATE runs r
         SET state = coalesce(a.state, r.state),
             status = CASE WHEN a.finished THEN a.status ELSE r.status END,
             error = CASE WHEN a.finished THEN a.error ELSE r.error END,
             node_uuid = coalesce(r.node_uuid, a.node_uuid),
             node_name = coalesce(r.node_name, a.node_name),
             last_seq = a.last, updated_at = a.updated_at
        FROM jsonb_to_recordset(g->'appends')
               AS a(id text, epoch integer, state text, finished boolean, status text, error text,
                    node_uuid text, node_name text, last integer, updated_at text)
       WHERE r.id = a.id AND a.updated_at IS NOT NULL
         AND r.owner = me AND r.epoch = coalesce(a.epoch, r.epoch);
      GET DIAGNOSTICS moved = ROW_COUNT;
      IF moved <> wanted THEN
        RAISE EXCEPTION 'run not owned' USING ERRCODE = 'IL005', DETAIL = json_build_object('runId', null)::text;
      END IF;
    END IF;
  END
  $fn$;
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
