// Commands that only read the event store open it read-only (this works while another
// process writes to it) and always close it again.
import { existsSync } from 'node:fs';
import { EventStore } from '../store/event-store.js';
import { CliError, EXIT_USAGE } from './output.js';

/**
 * Commands that read or resume need a database that is there: a mistyped --db would otherwise
 * show nothing (or, for resume, create an empty database) instead of saying so.
 */
export function assertDatabase(db: string): void {
  if (db !== ':memory:' && !existsSync(db)) {
    throw new CliError(`no database at ${db}`, EXIT_USAGE, 'STORE_FILE_NOT_FOUND');
  }
}

export function withReader<T>(db: string, fn: (store: EventStore) => T): T {
  assertDatabase(db);
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}
