// The database file as an operator meets it: permissions, schema versions, secrets at rest,
// and every way opening or writing can fail without damaging what is already stored.
import { openConnection } from '../../src/store/sqlite.js';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { StoreError } from '../../src/store/errors.js';
import { SCHEMA_VERSION } from '../../src/store/schema.js';
import type { NewEvent } from '../../src/store/types.js';
import { driveRun, teardownResponder } from './fixtures/drive.js';
import { tempDb } from './fixtures/temp-db.js';
import { testMachine } from './fixtures/test-machine.js';

let tmp: ReturnType<typeof tempDb>;
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => tmp.cleanup());

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return (err as StoreError).code;
  }
  return undefined;
}

const note = (message: string): NewEvent => ({ kind: 'note', data: { level: 'info', message } });
const newRun = (store: EventStore) =>
  store.createRun({ op: 'teardown', machine: 'teardown', machineVersion: 1, input: {} }).run.id;

describe('the database file', () => {
  it('is created readable and writable by its owner only, WAL and shared-memory files too', () => {
    const store = EventStore.open(tmp.path);
    try {
      store.append(newRun(store), 1, [note('x')]);
      for (const file of [tmp.path, `${tmp.path}-wal`, `${tmp.path}-shm`]) {
        expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
      }
    } finally {
      store.close();
    }
  });

  it('holds no secret from run inputs or event payloads anywhere in its bytes, WAL included', () => {
    const secrets = {
      token: 'gAAAAABtoken-5f2e91',
      admin: 'admin-pw-Qx7!9z',
      userData: 'I2Nsb3VkLWNvbmZpZwp1c2VyZGF0YS1zZWNyZXQ=',
      configDrive: 'H4sICONFIGDRIVE-c0ffee',
      nested: 'ipmi-pw-calvin-42',
    };
    const store = EventStore.open(tmp.path);
    const input = {
      nodeUuid: 'n1',
      vifs: ['v1'],
      maxPolls: 5,
      adminPass: secrets.admin,
      userData: secrets.userData,
      configdrive: secrets.configDrive,
    };
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2));
    store.append(runId, lastSeq, [
      {
        kind: 'http',
        type: 'PATCH /v1/nodes/n1',
        data: {
          method: 'PATCH',
          path: '/v1/nodes/n1',
          status: 200,
          ms: 3,
          attempt: 1,
          willRetry: false,
          headers: { 'X-Auth-Token': secrets.token },
          body: [{ op: 'add', path: '/instance_info/configdrive', value: secrets.configDrive }],
        },
      },
      {
        kind: 'note',
        data: { level: 'info', message: 'driver', driver_info: { ipmi_password: secrets.nested } },
      },
    ]);
    const scan = () => {
      const bytes = Buffer.concat(
        [tmp.path, `${tmp.path}-wal`].map((f) => {
          try {
            return readFileSync(f);
          } catch {
            return Buffer.alloc(0);
          }
        }),
      );
      for (const s of Object.values(secrets)) expect(bytes.includes(Buffer.from(s)), s).toBe(false);
      expect(bytes.includes(Buffer.from('[REDACTED]'))).toBe(true);
    };
    scan();
    store.close(); // checkpoints the WAL into the main file
    scan();
  });

  it('migrates a fresh file to the current version and refuses one written by a newer ironledger, untouched', () => {
    EventStore.open(tmp.path).close();
    const raw = openConnection(tmp.path);
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const before = readFileSync(tmp.path);
    let err: unknown;
    try {
      EventStore.open(tmp.path);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'STORE_SCHEMA_TOO_NEW',
      found: SCHEMA_VERSION + 1,
      supported: SCHEMA_VERSION,
    });
    expect(codeOf(() => EventStore.open(tmp.path, { mode: 'reader' }))).toBe('STORE_SCHEMA_TOO_NEW');
    expect(readFileSync(tmp.path).equals(before)).toBe(true);
  });

  it('lets a reader refuse a file that still needs migrating, and never create one', () => {
    expect(codeOf(() => EventStore.open(tmp.path, { mode: 'reader' }))).toBe('STORE_FILE_NOT_FOUND');
    openConnection(tmp.path).close();
    expect(codeOf(() => EventStore.open(tmp.path, { mode: 'reader' }))).toBe('STORE_SCHEMA_OUTDATED');
  });
});

describe('bad input and failures', () => {
  it('refuses a file that is not SQLite and leaves its bytes alone', () => {
    const garbage = Buffer.from('this is a config file, not a database\n'.repeat(200));
    writeFileSync(tmp.path, garbage);
    expect(codeOf(() => EventStore.open(tmp.path))).toBe('STORE_NOT_A_DATABASE');
    expect(codeOf(() => EventStore.open(tmp.path, { mode: 'reader' }))).toBe('STORE_NOT_A_DATABASE');
    expect(readFileSync(tmp.path).equals(garbage)).toBe(true);
  });

  it('refuses a directory or a device as the database, with one clear line, and creates nothing beside it', () => {
    const dir = join(tmp.dir, 'a-directory');
    mkdirSync(dir);
    // A link in our own directory, so a journal SQLite might create lands where the test sees it.
    const device = join(tmp.dir, 'null.db');
    symlinkSync('/dev/null', device);
    for (const [path, what] of [
      [dir, 'a directory'],
      [device, 'a character device'],
    ] as const) {
      for (const mode of ['writer', 'reader'] as const) {
        let err: unknown;
        try {
          EventStore.open(path, { mode }).close();
        } catch (e) {
          err = e;
        }
        expect(err, `${mode} ${path}`).toBeInstanceOf(StoreError);
        expect((err as StoreError).code).toBe('STORE_NOT_A_DATABASE');
        expect((err as StoreError).message).toBe(`${path} is ${what}, not a database file`);
      }
    }
    expect(readdirSync(tmp.dir).sort()).toEqual(['a-directory', 'null.db']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a path it cannot write', () => {
    // Root ignores directory permissions; sysfs refuses new files even to root.
    let path = '/sys/ironledger-test.db';
    if (process.getuid?.() !== 0) {
      const ro = join(tmp.dir, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      path = join(ro, 'x.db');
    }
    expect(codeOf(() => EventStore.open(path))).toBe('STORE_READ_ONLY');
  });

  it('fails a write on a full disk with nothing of it stored and everything earlier intact', () => {
    const store = EventStore.open(tmp.path, { maxPageCount: 16 });
    try {
      const runId = newRun(store);
      let seq = store.append(runId, 1, [note('kept-1'), note('kept-2')]);
      const big = 'x'.repeat(8192);
      let code: string | undefined;
      for (let i = 0; i < 100 && code === undefined; i++) {
        code = codeOf(() => {
          seq = store.append(runId, seq, [note(`${big}${i}`)]);
        });
      }
      expect(code).toBe('STORE_DISK_FULL');
      const stream = store.readStream(runId);
      expect(stream.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
      expect(stream.slice(1, 3).map((e) => e.data['message'])).toEqual(['kept-1', 'kept-2']);
      expect(store.getRun(runId)?.lastSeq).toBe(seq);
      expect(store.integrityCheck()).toEqual(['ok']);
      // The store stays usable for smaller writes once space allows.
      expect(store.append(runId, seq, [])).toBe(seq);
    } finally {
      store.close();
    }
  });

  it('reports a database locked by another connection as busy and writes nothing', () => {
    const store = EventStore.open(tmp.path, { busyTimeoutMs: 50 });
    const runId = newRun(store);
    const other = openConnection(tmp.path);
    other.exec('BEGIN IMMEDIATE');
    try {
      expect(codeOf(() => store.append(runId, 1, [note('blocked')]))).toBe('STORE_BUSY');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(store.append(runId, 1, [note('after')])).toBe(2);
    store.close();
  });

  // Was: 'refuses a second writer in the same process' (STORE_LOCKED). Writers share files now;
  // each owns its own runs.
  it('admits a second writer in the same process; each appends only to its own runs', () => {
    const first = EventStore.open(tmp.path);
    const second = EventStore.open(tmp.path);
    try {
      const a = newRun(first);
      const b = newRun(second);
      expect(first.append(a, 1, [note('a')])).toBe(2);
      expect(second.append(b, 1, [note('b')])).toBe(2);
      expect(codeOf(() => first.append(b, 2, [note('not mine')]))).toBe('STORE_RUN_NOT_OWNED');
      expect(first.getRun(b)?.owner).toMatchObject({ pid: process.pid, host: hostname() });
    } finally {
      first.close();
      second.close();
    }
  });

  it('closes without throwing when its runs cannot be given back, and this process may take them', () => {
    const store = EventStore.open(tmp.path, { busyTimeoutMs: 50 });
    const runId = newRun(store);
    // Another connection holds the write lock: the release cannot be written.
    const other = openConnection(tmp.path);
    other.exec('BEGIN IMMEDIATE');
    try {
      expect(() => store.close()).not.toThrow();
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    // The run still names the closed owner (this live process); it was given up, so it is ownerless.
    const reader = EventStore.open(tmp.path, { mode: 'reader' });
    expect(reader.getRun(runId)?.owner).toBeNull();
    expect(reader.listRuns({ status: 'interrupted' }).map((r) => r.id)).toEqual([runId]);
    reader.close();
    const again = EventStore.open(tmp.path);
    try {
      expect(again.claimRun(runId).owner?.pid).toBe(process.pid);
      expect(again.listRuns()).toHaveLength(1);
    } finally {
      again.close();
    }
  });

  it('forgets an owner whose process is gone, or whose lease on another host ran out; its runs are resumable', () => {
    let store = EventStore.open(tmp.path);
    const ids = [newRun(store), newRun(store), newRun(store)];
    store.close();
    const deadPid = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']),
    );
    const raw = openConnection(tmp.path);
    const owner = raw.prepare(
      'INSERT INTO owners (pid, host, boot_id, pid_start, since, renewed_at) VALUES (?, ?, NULL, NULL, ?, ?)',
    );
    const old = '2026-01-01T00:00:00Z';
    const now = new Date().toISOString();
    const owners = [
      owner.run(deadPid, hostname(), old, old).lastInsertRowid, // gone: its pid is dead
      owner.run(1, 'elsewhere', old, old).lastInsertRowid, // another host, lease long expired
      owner.run(1, 'elsewhere', old, now).lastInsertRowid, // another host, lease fresh: live
    ];
    ids.forEach((id, k) => raw.prepare('UPDATE runs SET owner = ? WHERE id = ?').run(owners[k], id));
    raw.close();
    store = EventStore.open(tmp.path);
    try {
      expect(
        store
          .listRuns({ status: 'interrupted' })
          .map((r) => r.id)
          .sort(),
      ).toEqual([ids[0], ids[1]].sort());
      expect(store.getRun(ids[2]!)?.owner).toMatchObject({ pid: 1, host: 'elsewhere' });
      expect(codeOf(() => store.claimRun(ids[2]!))).toBe('STORE_RUN_OWNED');
      expect(
        store
          .claimUnfinishedRuns()
          .map((r) => r.id)
          .sort(),
      ).toEqual([ids[0], ids[1]].sort());
      expect(
        store
          .liveOwners()
          .map((o) => o.host)
          .sort(),
      ).toEqual(['elsewhere', hostname()].sort());
    } finally {
      store.close();
    }
  });

  it("integrityCheck follows every stream's chain and names a broken link or a stale head", () => {
    let store = EventStore.open(tmp.path);
    const a = newRun(store);
    const b = newRun(store);
    store.append(a, 1, [note('a-2'), note('a-3')]);
    store.append(b, 1, [note('b-2')]);
    store.append(a, 3, [note('a-4')]);
    expect(store.integrityCheck()).toEqual(['ok']);
    store.close();
    const raw = openConnection(tmp.path);
    const row = (run: string, seq: number) =>
      (
        raw
          .prepare('SELECT e.id FROM events e JOIN runs r ON r.no = e.run_no WHERE r.id = ? AND e.seq = ?')
          .get(run, seq) as { id: number }
      ).id;
    // Run a's seq 4 now links to run b's seq 2; run b's head goes back to its seq 1.
    raw.prepare('UPDATE events SET prev = ? WHERE id = ?').run(row(b, 2), row(a, 4));
    raw.prepare('UPDATE runs SET last_id = ? WHERE id = ?').run(row(b, 1), b);
    raw.close();
    store = EventStore.open(tmp.path);
    try {
      const report = store.integrityCheck();
      expect(report).toHaveLength(2);
      expect(report[0]).toMatch(
        new RegExp(`^run ${a}: event \\d+ \\(seq 4\\) links to row \\d+ \\(another run, seq 2\\)$`),
      );
      expect(report[1]).toMatch(new RegExp(`^run ${b}: head row \\d+ is not its last event$`));
    } finally {
      store.close();
    }
  });
});
