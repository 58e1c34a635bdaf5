// Commands that only read the event store open it read-only (this works while another
// process writes to it) and always close it again. The store is a SQLite file or a PostgreSQL
// URL (openRunStore picks).
import { existsSync } from 'node:fs';
import { isPostgresUrl, openRunStore, type RunStore } from '../store/run-store.js';
import { CliError, EXIT_USAGE } from './output.js';

/**
 * Commands that read or resume need a database that is there: a mistyped --db would otherwise
 * show nothing (or, for resume, create an empty database) instead of saying so. A PostgreSQL
 * URL is checked by connecting (STORE_UNREACHABLE, STORE_FILE_NOT_FOUND).
 */
export function assertDatabase(db: string): void {
  if (isPostgresUrl(db)) return;
  if (db !== ':memory:' && !existsSync(db)) {
    throw new CliError(`no database at ${db}`, EXIT_USAGE, 'STORE_FILE_NOT_FOUND');
  }
}

export async function withReader<T>(db: string, fn: (store: RunStore) => T | Promise<T>): Promise<T> {
  assertDatabase(db);
  const store = await openRunStore(db, { mode: 'reader' });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
