// Commands that only read the event store open it read-only (this works while another
// process writes to it) and always close it again.
import { EventStore } from '../store/event-store.js';

export function withReader<T>(db: string, fn: (store: EventStore) => T): T {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}
