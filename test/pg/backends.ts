// The two store backends for suites that run on both: a fresh SQLite file, or a fresh schema in
// the PostgreSQL server PG_URL names (npm run test:pg starts one). Without PG_URL the PostgreSQL
// half is skipped locally, with the reason printed, and FAILS when CI=true: a real test skipped
// never counts as a pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { it } from 'vitest';
import { openRunStore, type RunStore, type RunStoreOptions } from '../../src/store/run-store.js';
import { openConnection } from '../../src/store/sqlite.js';

export const PG_URL = process.env['PG_URL'];

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A new, empty store location (file path or URL with its own schema). */
  fresh(): string;
  open(db: string, opts?: RunStoreOptions): Promise<RunStore>;
  /** Runs SQL on the store behind the store's back (damage for the integrity check to find). */
  tamper(db: string, sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

function sqlite(): Backend {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'ironledger-behaviour-'));
      dirs.push(dir);
      return join(dir, 'store.db');
    },
    open: (db, opts) => openRunStore(db, opts),
    async tamper(db, sql) {
      const conn = openConnection(db);
      try {
        conn.exec(sql);
      } finally {
        conn.close();
      }
    },
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** A URL naming a schema of its own in the PG_URL server: tests never see each other's rows. */
export function freshPgUrl(base = PG_URL as string): string {
  const u = new URL(base);
  u.searchParams.set('schema', `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`);
  return u.toString();
}

function postgres(): Backend {
  const schemas: string[] = [];
  return {
    name: 'postgres',
    fresh() {
      const url = freshPgUrl();
      schemas.push(new URL(url).searchParams.get('schema') as string);
      return url;
    },
    open: (db, opts) => openRunStore(db, opts),
    async tamper(db, sql) {
      const u = new URL(db);
      const schema = u.searchParams.get('schema') as string;
      u.searchParams.delete('schema');
      const client = new pg.Client({ connectionString: u.toString(), options: `-c search_path="${schema}"` });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      const drop = schemas.splice(0);
      if (drop.length === 0) return;
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        for (const s of drop) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The backends to run on; PostgreSQL only when PG_URL is set (see pgMissing). */
export function backends(): Backend[] {
  return PG_URL ? [sqlite(), postgres()] : [sqlite()];
}

/** Registers the visible skip (locally) or the failure (CI=true) of the PostgreSQL half. */
export function pgMissing(): void {
  if (PG_URL) return;
  if (process.env['CI'] === 'true') {
    it('PostgreSQL half: PG_URL is set (CI=true)', () => {
      throw new Error('PG_URL is not set: run the PostgreSQL suites with npm run test:pg');
    });
  } else {
    it.skip('PostgreSQL half skipped: PG_URL is not set (npm run test:pg starts a server and sets it)', () =>
      undefined);
  }
}
