// PostgreSQL failures as the store's typed errors (the same STORE_* codes as SQLite's), plus
// the two only a server has: unreachable, and refusing our credentials. Messages name the store
// by its URL without password, never by the URL given.
import { StoreError, StoreSequenceConflictError, type StoreErrorFacts } from '../errors.js';

interface PgLikeError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

export function toPgStoreError(err: unknown, facts: StoreErrorFacts & { path: string }): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as PgLikeError;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const withCause = { ...facts, cause: err };
  const where = facts.runId ? `${facts.path} (run ${facts.runId})` : facts.path;
  if (UNREACHABLE.has(code) || /timeout expired|Connection terminated|connection timeout/i.test(message)) {
    return new StoreError(
      'STORE_UNREACHABLE',
      `${where}: the PostgreSQL server cannot be reached (${code || 'connection failed'}); nothing of this operation was stored`,
      withCause,
    );
  }
  // 28P01 invalid_password, 28000 invalid_authorization_specification.
  if (code === '28P01' || code === '28000') {
    return new StoreError(
      'STORE_AUTH_FAILED',
      `${where}: the PostgreSQL server refused the credentials (${code})`,
      withCause,
    );
  }
  // 3D000 invalid_catalog_name: no such database.
  if (code === '3D000') {
    return new StoreError(
      'STORE_FILE_NOT_FOUND',
      `${where}: the database does not exist (${code})`,
      withCause,
    );
  }
  // 57P01-57P03: the server is shutting down or not accepting connections.
  if (code.startsWith('57P') || code.startsWith('08')) {
    return new StoreError(
      'STORE_UNREACHABLE',
      `${where}: the PostgreSQL server went away (${code})`,
      withCause,
    );
  }
  if (code === '23505' && e.constraint === 'events_pkey' && facts.runId) {
    // Another writer appended to the same run first (the key is (run, seq)).
    return new StoreSequenceConflictError(facts.path, facts.runId, -1, -1);
  }
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '57014') {
    return new StoreError(
      'STORE_BUSY',
      `${where}: locked by another transaction (${code}); nothing of this write was stored`,
      withCause,
    );
  }
  if (code === '53100' || code === '53200') {
    return new StoreError(
      'STORE_DISK_FULL',
      `${where}: the server is out of space (${code}); nothing of this write was stored`,
      withCause,
    );
  }
  if (code === '25006' || code === '42501') {
    return new StoreError('STORE_READ_ONLY', `${where} cannot be written (${code})`, withCause);
  }
  if (code === 'XX001' || code === 'XX002') {
    return new StoreError('STORE_CORRUPT', `${where} is corrupt: ${message}`, withCause);
  }
  return new StoreError('STORE_IO', `${where}: ${code || 'unexpected error'}`, withCause);
}
