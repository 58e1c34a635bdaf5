// The replica scenarios (test/replicas/scenarios.ts: 3 replica processes and a simulator process,
// SIGKILL takeover, SIGSTOP fencing) on a PostgreSQL store: each scenario in a schema of its own
// in the PG_URL server. Without PG_URL: skipped visibly, failing under CI=true.
import pg from 'pg';
import { describe } from 'vitest';
import { replicaScenarios } from '../replicas/scenarios.js';
import { freshPgUrl, PG_URL, pgMissing } from './backends.js';

if (!PG_URL) describe('replica scenarios on postgres', () => pgMissing());
else {
  const schemas: string[] = [];
  replicaScenarios({
    name: 'PostgreSQL',
    fresh() {
      const url = freshPgUrl();
      schemas.push(new URL(url).searchParams.get('schema') as string);
      return url;
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
  });
}
