// Reading a database in a directory the reader may not write: a file kept for an incident, on a
// read-only mount, or owned by the service account that ran the engine. SQLite cannot create the
// WAL index beside it there; the reader must still list, show and replay its runs.
import { openConnection } from '../../src/store/sqlite.js';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o755);
    rmSync(d, { recursive: true, force: true });
  }
});

/** A database with one run and two events, closed cleanly (no -wal left), in a directory of its own. */
function keptDatabase(): { dir: string; db: string; runId: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ironledger-ro-'));
  dirs.push(dir);
  const db = join(dir, 'kept.db');
  const store = EventStore.open(db);
  const runId = store.createRun({ op: 'destroy', machine: 'teardown', machineVersion: 2, input: {} }).run.id;
  store.append(runId, 1, [{ kind: 'note', data: { level: 'info', message: 'kept for the incident' } }]);
  store.close();
  expect(existsSync(`${db}-wal`)).toBe(false);
  chmodSync(db, 0o644);
  chmodSync(dir, 0o555);
  return { dir, db, runId };
}

// What a reader sees, printed as JSON by a process of the reader's own uid.
const READ = `
const { EventStore } = await import(process.argv[1]);
let store;
try {
  store = EventStore.open(process.argv[2], { mode: 'reader' });
} catch (err) {
  console.log(JSON.stringify({ error: err.code }));
  process.exit(0);
}
const runs = store.listRuns({ limit: 10 }).map((r) => r.id);
const kinds = store.readStream(runs[0]).map((e) => e.kind);
store.close();
console.log(JSON.stringify({ runs, kinds }));
`;

/** Reads `db` as a reader that may not write its directory: as nobody when root, else as is. */
function readAsOther(db: string): unknown {
  const storeModule = resolve('dist/store/event-store.js');
  // Root writes anywhere, so as root the reader runs as nobody; any other user is bound by 0555.
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'setpriv' : process.execPath;
  const args = [
    ...(asRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath] : []),
    '--input-type=module',
    '-e',
    READ,
    storeModule,
    db,
  ];
  return JSON.parse(execFileSync(command, args, { encoding: 'utf8' })) as unknown;
}

const copies = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('ironledger-read-'));

describe('a reader of a database in a directory it may not write', () => {
  it('reads the runs and streams, and leaves the directory as it was', () => {
    const { dir, db, runId } = keptDatabase();
    const before = copies();
    expect(readAsOther(db)).toEqual({ runs: [runId], kinds: ['run.started', 'note'] });
    expect(readdirSync(dir)).toEqual(['kept.db']);
    expect(copies()).toEqual(before); // its private copy is gone
  });

  it('refuses a database it cannot read the same way, and leaves no copy behind', () => {
    const { dir, db } = keptDatabase();
    chmodSync(dir, 0o755);
    const raw = openConnection(db);
    raw.pragma('user_version = 999'); // written by a newer ironledger
    raw.close();
    chmodSync(dir, 0o555);
    const before = copies();
    expect(readAsOther(db)).toEqual({ error: 'STORE_SCHEMA_TOO_NEW' });
    expect(copies()).toEqual(before);
  });

  it('still names a missing file as missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironledger-ro-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'sub'));
    expect(() => EventStore.open(join(dir, 'sub', 'none.db'), { mode: 'reader' })).toThrow(
      expect.objectContaining({ code: 'STORE_FILE_NOT_FOUND' }),
    );
  });
});
