// What a `db` string names, and how it may be shown (never with its password).

/** Whether `db` names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL with its password (if any) replaced by `***`: what messages and logs may show. */
export function maskDbUrl(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const u = new URL(db);
    if (u.password !== '') u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|token/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    // Not parseable: show the scheme and nothing that could hold a password.
    return db.replace(/\/\/.*@/, '//***@');
  }
}
