// A PostgreSQL store written by an older ironledger is brought forward when a writer opens it:
// the rows it holds keep their values and gain the new columns' defaults.
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openRunStore, type RunStore } from '../../src/store/run-store.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/store/postgres/schema.js';
import { freshPgUrl, PG_URL, pgMissing } from './backends.js';

if (!PG_URL) describe('postgres schema migrations', () => pgMissing());

describe.runIf(PG_URL)('postgres schema migrations', () => {
  const schemas: string[] = [];
  const stores: RunStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      for (const s of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  async function onSchema<T>(schema: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  it('moves a version 1 store (before replicas) to the current version; its runs get epoch 1', async () => {
    const url = freshPgUrl();
    const schema = new URL(url).searchParams.get('schema') as string;
    schemas.push(schema);
    await onSchema(schema, async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(PG_MIGRATIONS[0] as string);
      await c.query('CREATE TABLE schema_version (version integer NOT NULL)');
      await c.query('INSERT INTO schema_version (version) VALUES (1)');
      await c.query(
        `INSERT INTO runs (id, op, machine, machine_version, status, created_at, updated_at)
         VALUES ('old-run', 'destroy', 'teardown', 1, 'succeeded', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
      );
    });
    expect(PG_SCHEMA_VERSION).toBeGreaterThan(1);
    const store = await openRunStore(url);
    stores.push(store);
    expect((await store.getRun('old-run'))?.status).toBe('succeeded');
    const after = await onSchema(schema, async (c) => ({
      version: (await c.query<{ version: number }>('SELECT version FROM schema_version')).rows[0]?.version,
      epoch: (await c.query<{ epoch: number }>("SELECT epoch FROM runs WHERE id = 'old-run'")).rows[0]?.epoch,
      owners: (
        await c.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'owners'",
          [schema],
        )
      ).rows.map((r) => r.column_name),
    }));
    expect(after).toMatchObject({ version: PG_SCHEMA_VERSION, epoch: 1 });
    expect(after.owners).toEqual(expect.arrayContaining(['replica', 'lease_ms']));
  });
});
