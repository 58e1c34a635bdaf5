// Every SQLite connection of the store is opened here, because better-sqlite3 objects must never be
// finalized by the garbage collector.
//
// better-sqlite3 12 (the last line that runs on Node 20) derives Database and Statement from
// node::ObjectWrap. Node 24.19 (nodejs/node#63642) made ObjectWrap's destructor remove an
// environment cleanup hook, and that CHECKs the current Environment, which the main thread does
// not have while V8 runs weak callbacks inside a garbage collection. So a Statement or Database
// that became garbage aborts the process at whatever collection finalizes it (SIGABRT,
// `Assertion failed: (env) != nullptr` in RemoveEnvironmentCleanupHook, from
// Statement::~Statement): mid-run or at exit, whichever comes first. Closing the database does not
// help (the wrapper outlives its SQLite handle); better-sqlite3 13 avoids ObjectWrap but needs
// Node >= 22.
//
// Hence: every connection, and every statement prepared on it (db.prepare, db.pragma; the
// transaction statements hang off the connection), stays reachable until the process ends, when
// Node's own cleanup hooks delete them with the Environment in place. close() still finalizes the
// SQLite handles at once; what stays behind is a wrapper of a few hundred bytes per statement.
// To keep that bounded, statements that run more than once per connection are prepared once:
// `cachedStatement`, and db.pragma caches by its text.
import Database from 'better-sqlite3';

/** Kept reachable until exit: see above. */
const kept: object[] = [];
const statementCaches = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** Number of better-sqlite3 objects this process keeps (for the tests' bound on growth). */
export function keptObjectCount(): number {
  return kept.length;
}

/** `new Database(path, options)`, whose objects the collector never finalizes. */
export function openConnection(path: string, options?: Database.Options): Database.Database {
  const db = new Database(path, options);
  kept.push(db);
  const cache = new Map<string, Database.Statement>();
  statementCaches.set(db, cache);
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const stmt = prepare(source);
    kept.push(stmt);
    return stmt;
  }) as Database.Database['prepare'];
  // better-sqlite3's own pragma() prepares past db.prepare, a new statement per call.
  db.pragma = ((source: string, options?: Database.PragmaOptions) => {
    const stmt = cachedStatement(db, `PRAGMA ${source}`);
    if (!stmt.reader) {
      stmt.run();
      return options?.simple === true ? undefined : [];
    }
    return options?.simple === true ? stmt.pluck(true).get() : stmt.pluck(false).all();
  }) as Database.Database['pragma'];
  return db;
}

/**
 * The connection's one statement for `source`, prepared at its first use. Callers must leave its
 * modes (pluck, raw, expand) as they found them and never bind() it.
 */
export function cachedStatement(db: Database.Database, source: string): Database.Statement {
  let cache = statementCaches.get(db);
  if (cache === undefined) {
    cache = new Map();
    statementCaches.set(db, cache);
  }
  let stmt = cache.get(source);
  if (stmt === undefined) {
    stmt = db.prepare(source);
    cache.set(source, stmt);
  }
  return stmt;
}
