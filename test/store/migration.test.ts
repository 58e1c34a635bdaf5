// A database written by an older ironledger opens in this one: its runs and streams survive the
// upgrade unchanged (through every migration since), and the run summary reports each stream's
// last seq and time.
import { openConnection } from '../../src/store/sqlite.js';
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { SCHEMA_VERSION } from '../../src/store/schema.js';
import { tempDb } from './fixtures/temp-db.js';

let tmp: ReturnType<typeof tempDb>;
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => tmp.cleanup());

const RUN = '3f1e6a52-1111-4222-8333-444455556666';
const OTHER = '3f1e6a52-1111-4222-8333-777788889999';

/** The schema as version 1 wrote it (run rows carried their own last_seq and updated_at). */
function writeVersion1(path: string): void {
  const db = openConnection(path);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE runs (
      id TEXT PRIMARY KEY, op TEXT NOT NULL, instance_uuid TEXT, node_uuid TEXT, machine TEXT NOT NULL,
      machine_version INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running','succeeded','failed','cancelled')),
      state TEXT, last_seq INTEGER NOT NULL CHECK (last_seq >= 1), created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL, error TEXT
    );
    CREATE INDEX runs_by_created  ON runs (created_at);
    CREATE INDEX runs_by_status   ON runs (status, created_at);
    CREATE INDEX runs_by_op       ON runs (op, created_at);
    CREATE INDEX runs_by_node     ON runs (node_uuid, created_at);
    CREATE INDEX runs_by_instance ON runs (instance_uuid, created_at);
    CREATE TABLE events (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL CHECK (seq >= 1), at TEXT NOT NULL, kind TEXT NOT NULL,
      type TEXT, from_state TEXT, to_state TEXT, data TEXT NOT NULL, v INTEGER NOT NULL,
      PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE writer (
      id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL,
      pid_start TEXT, token TEXT NOT NULL
    );
  `);
  db.prepare(
    `INSERT INTO runs VALUES (?, 'destroy', NULL, 'node-1', 'teardown', 1, 'running', 'unprovision.waiting', 3,
      '2026-11-20T10:00:00.000Z', '2026-11-20T10:00:02.000Z', NULL)`,
  ).run(RUN);
  const ev = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, 1)');
  ev.run(RUN, 1, '2026-11-20T10:00:00.000Z', 'run.started', null, '{"input":{}}');
  ev.run(RUN, 2, '2026-11-20T10:00:01.000Z', 'transition', 'lookup', '{}');
  ev.run(RUN, 3, '2026-11-20T10:00:02.000Z', 'transition', 'unprovision.waiting', '{}');
  // A second run whose events were written between the first run's.
  db.prepare(
    `INSERT INTO runs VALUES (?, 'reboot', NULL, 'node-2', 'reboot', 1, 'succeeded', 'done', 2,
      '2026-11-20T09:59:59.000Z', '2026-11-20T10:00:01.500Z', NULL)`,
  ).run(OTHER);
  ev.run(OTHER, 1, '2026-11-20T09:59:59.000Z', 'run.started', null, '{"input":{}}');
  ev.run(OTHER, 2, '2026-11-20T10:00:01.500Z', 'transition', 'done', '{}');
  db.pragma('user_version = 1');
  db.close();
}

describe('schema migration', () => {
  it('upgrades a version 1 file: runs and streams intact, each stream chained, its head on the run row', () => {
    writeVersion1(tmp.path);
    const store = EventStore.open(tmp.path);
    try {
      const run = store.getRun(RUN);
      expect(run).toMatchObject({
        status: 'running',
        state: 'unprovision.waiting',
        // Not a UUID: version 5 keeps it as the node's name.
        nodeUuid: null,
        nodeName: 'node-1',
        lastSeq: 3,
        updatedAt: '2026-11-20T10:00:02.000Z',
      });
      expect(store.readStream(RUN).map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(store.readStream(RUN, 2).map((e) => e.to)).toEqual(['lookup', 'unprovision.waiting']);
      expect(store.readStream(OTHER).map((e) => [e.seq, e.kind])).toEqual([
        [1, 'run.started'],
        [2, 'transition'],
      ]);
      expect(store.getRun(OTHER)).toMatchObject({ lastSeq: 2, updatedAt: '2026-11-20T10:00:01.500Z' });
      expect(store.unfinishedRuns().map((r) => r.id)).toEqual([RUN]);
      // A run from before owners existed is ownerless: what resume takes, and must take to append.
      expect(store.getRun(RUN)?.owner).toBeNull();
      expect(store.claimUnfinishedRuns().map((r) => r.id)).toEqual([RUN]);
      const last = store.append(RUN, 3, [
        { kind: 'note', data: { level: 'info', message: 'after upgrade' } },
      ]);
      expect(last).toBe(4);
      expect(store.getRun(RUN)?.lastSeq).toBe(4);
      expect(store.readStream(RUN).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(store.readStream(OTHER).map((e) => e.seq)).toEqual([1, 2]);
      expect(store.integrityCheck()).toEqual(['ok']);
    } finally {
      store.close();
    }
    const raw = openConnection(tmp.path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    // Each event names the row of its run's previous event; the run row names its last one.
    const rows = raw
      .prepare(
        'SELECT r.id AS run, e.id, e.seq, e.prev FROM events e JOIN runs r ON r.no = e.run_no ORDER BY r.id, e.seq',
      )
      .all() as Array<{ run: string; id: number; seq: number; prev: number | null }>;
    for (const [i, row] of rows.entries()) {
      const before = rows[i - 1];
      expect(row.prev).toBe(row.seq === 1 ? null : before?.run === row.run ? before.id : 'broken chain');
    }
    const heads = raw
      .prepare(
        'SELECT r.id, e.seq AS last_seq, r.last_id FROM runs r JOIN events e ON e.id = r.last_id ORDER BY r.id',
      )
      .all();
    expect(heads).toEqual([
      { id: RUN, last_seq: 4, last_id: rows.find((r) => r.run === RUN && r.seq === 4)?.id },
      { id: OTHER, last_seq: 2, last_id: rows.find((r) => r.run === OTHER && r.seq === 2)?.id },
    ]);
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'events_by_run'").get()).toBeUndefined();
    raw.close();
  });

  it('upgrades a version 4 file: a node name stored as the node UUID becomes the name, and runs --node finds it', () => {
    const NODE = 'a087eaf3-00b3-49c9-8706-c4ebfb2627fd';
    const store = EventStore.open(tmp.path);
    const base = { machine: 'deploy', machineVersion: 1, input: {} };
    const byName = store.createRun({ ...base, op: 'deploy', nodeUuid: 'rack1-n07' }).run.id;
    const byUuid = store.createRun({ ...base, op: 'destroy', nodeUuid: NODE.toUpperCase() }).run.id;
    const none = store.createRun({ ...base, op: 'reboot' }).run.id;
    store.close();
    // Version 4 had no node_name: the name sat in node_uuid. (Nor owners: version 6 undone first.)
    const raw = openConnection(tmp.path);
    raw.exec(`DROP INDEX runs_running_by_owner; ALTER TABLE runs DROP COLUMN owner; DROP TABLE owners;
      CREATE TABLE writer (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL,
        since TEXT NOT NULL, pid_start TEXT, token TEXT NOT NULL);`);
    raw.exec('DROP INDEX runs_by_node_name; ALTER TABLE runs DROP COLUMN node_name;');
    raw.pragma('user_version = 4');
    raw.close();

    const upgraded = EventStore.open(tmp.path);
    try {
      expect(upgraded.getRun(byName)).toMatchObject({ nodeUuid: null, nodeName: 'rack1-n07' });
      expect(upgraded.getRun(byUuid)).toMatchObject({ nodeUuid: NODE.toUpperCase(), nodeName: null });
      expect(upgraded.getRun(none)).toMatchObject({ nodeUuid: null, nodeName: null });
      expect(upgraded.listRuns({ node: 'rack1-n07' }).map((r) => r.id)).toEqual([byName]);
      expect(upgraded.integrityCheck()).toEqual(['ok']);
    } finally {
      upgraded.close();
    }
  });

  it('leaves a version 5 file alone while an old writer holds it (STORE_LOCKED); upgrades it once that one is gone', () => {
    const store = EventStore.open(tmp.path);
    const run = store.createRun({ op: 'destroy', machine: 'teardown', machineVersion: 1, input: {} }).run.id;
    store.close();
    const raw = openConnection(tmp.path);
    raw.exec(`DROP INDEX runs_running_by_owner; ALTER TABLE runs DROP COLUMN owner; DROP TABLE owners;
      CREATE TABLE writer (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL,
        since TEXT NOT NULL, pid_start TEXT, token TEXT NOT NULL);`);
    raw.pragma('user_version = 5');
    const hold = raw.prepare(
      "INSERT OR REPLACE INTO writer (id, pid, host, since, pid_start, token) VALUES (1, ?, ?, '2026-01-01T00:00:00Z', NULL, 't')",
    );
    hold.run(process.pid, hostname()); // a live writer of the old version
    let code: string | undefined;
    try {
      EventStore.open(tmp.path).close();
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    expect(code).toBe('STORE_LOCKED');
    expect(raw.pragma('user_version', { simple: true })).toBe(5);
    const deadPid = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']),
    );
    hold.run(deadPid, hostname());
    raw.close();
    const upgraded = EventStore.open(tmp.path);
    try {
      expect(upgraded.getRun(run)?.owner).toBeNull();
      expect(upgraded.claimUnfinishedRuns().map((r) => r.id)).toEqual([run]);
    } finally {
      upgraded.close();
    }
  });
});
