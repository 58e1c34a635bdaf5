// Issue 15, finding 12: a secret Ironic echoes back inside a 200 body (last_error, a faultstring,
// instance_info...) must never reach the record. The real `ironledger` CLI deploys with an admin
// password, user data and an auth token against the simulator, which echoes all of them in the
// node's last_error; then the raw bytes of the SQLite file and of its WAL, and everything the CLI
// printed (the deploy with debug logging, `show`, `show --json`, `runs --json`), are searched for
// every secret and the obvious encodings a server could echo (as-is, JSON-escaped, base64).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openConnection } from '../../src/store/sqlite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { EventStore } from '../../src/store/event-store.js';
import { cli, json, type CliResult } from './cli.js';

const PASSWORD = 'Adm1n-Pw-echoed-7Qx!';
const USER_DATA = '#cloud-config\nruncmd: [echo UD-secret-4f9k2m]\n';
const TOKEN = 'gAAAAA-token-echoed-8c1e5b7d';
const B64_USER_DATA = Buffer.from(USER_DATA, 'utf8').toString('base64');

/** Every form of a secret a reader of the bytes could recognise. */
const NEEDLES: Array<[string, string]> = [
  ['admin password', PASSWORD],
  ['user data', USER_DATA],
  ['user data, JSON-escaped', JSON.stringify(USER_DATA).slice(1, -1)],
  ['user data, base64', B64_USER_DATA],
  ['a line of the user data', 'UD-secret-4f9k2m'],
  ['auth token', TOKEN],
];

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ deployMs: 40, deleteMs: 20, cleanMs: 40, powerMs: 20, seed: 12 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-secret-echo-'));
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const INSTANCE = (i: number): string => `5ec7e7e7-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** What Ironic says when it repeats everything it was given (a deploy step quoting its input). */
const ECHO = `Deploy step failed: meta_data {"admin_pass": "${PASSWORD}"}; user_data ${JSON.stringify(USER_DATA)} (raw: ${USER_DATA}) base64 ${B64_USER_DATA}; X-Auth-Token ${TOKEN}`;

interface Fixture {
  db: string;
  /** Held open for the whole test, so the CLI's close leaves its WAL file on disk to be read. */
  reader: Database.Database;
  args: (...rest: string[]) => string[];
}

function fixture(name: string): Fixture {
  const db = join(dir, `${name}.db`);
  EventStore.open(db, { mode: 'writer' }).close();
  const reader = openConnection(db, { readonly: true, fileMustExist: true });
  reader.prepare('SELECT count(*) FROM runs').get();
  return {
    db,
    reader,
    args: (...rest) => [
      '--ironic-url',
      sim.url,
      '--db',
      db,
      '--poll-interval',
      '20',
      '--retry-interval',
      '10',
      ...rest,
    ],
  };
}

function secretFiles(name: string): { password: string; userData: string } {
  const password = join(dir, `${name}.pw`);
  const userData = join(dir, `${name}.ud`);
  writeFileSync(password, `${PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(userData, USER_DATA, { mode: 0o600 });
  return { password, userData };
}

function deploy(f: Fixture, node: string, i: number, files: { password: string; userData: string }) {
  return cli(
    f.args(
      '--json',
      '--log-level',
      'debug',
      'deploy',
      '--node',
      node,
      '--instance',
      INSTANCE(i),
      '--image-source',
      'http://img/a.qcow2',
      '--admin-password-file',
      files.password,
      '--user-data',
      files.userData,
    ),
    { OS_TOKEN: TOKEN },
  );
}

/** The raw bytes of the database file and its WAL (the WAL must be there: the reader holds it). */
function rawBytes(f: Fixture): { db: Buffer; wal: Buffer } {
  expect(existsSync(`${f.db}-wal`), 'the WAL file is kept by the open reader').toBe(true);
  return { db: readFileSync(f.db), wal: readFileSync(`${f.db}-wal`) };
}

function leaks(where: string, bytes: Buffer | string): string[] {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return NEEDLES.filter(([, needle]) => buf.includes(Buffer.from(needle, 'utf8'))).map(
    ([what]) => `${what} in ${where}`,
  );
}

/** Everything a reader of this run can see, searched for every secret. */
async function expectNoSecret(f: Fixture, runId: string, outputs: Record<string, CliResult>): Promise<void> {
  const show = await cli(f.args('show', runId));
  const showJson = await cli(f.args('--json', 'show', runId));
  const runs = await cli(f.args('--json', 'runs'));
  for (const r of [show, showJson, runs]) expect(r.code, r.stderr).toBe(0);
  const all = { ...outputs, show, 'show --json': showJson, 'runs --json': runs };
  const { db, wal } = rawBytes(f);
  // The search is real: the record and the output hold the run, and Ironic's words around the secrets.
  const timeline = JSON.parse(showJson.stdout) as { run?: { id?: string } };
  expect(timeline.run?.id).toBe(runId);
  expect(Buffer.concat([db, wal]).includes(Buffer.from(runId))).toBe(true);
  const found = [...leaks('the database file', db), ...leaks('the WAL file', wal)];
  for (const [name, r] of Object.entries(all)) {
    found.push(...leaks(`${name} stdout`, r.stdout), ...leaks(`${name} stderr`, r.stderr));
  }
  expect(found).toEqual([]);
}

describe('secrets echoed by Ironic never reach the record or the output', () => {
  it('a deploy whose last_error quotes the admin password, user data and token (deploy failed)', async () => {
    const f = fixture('failed');
    try {
      const node = sim.addNode({ provisionState: 'available' }).uuid;
      sim.failNextDeploy(node, ECHO);
      const r = await deploy(f, node, 1, secretFiles('failed'));
      expect(r.code, r.stderr + r.stdout).toBe(1);
      const doc = json<{ runId: string; status: string; ironicLastError: string | null }>(r);
      expect(doc.status).toBe('failed');
      // Ironic's words around the secrets are kept: only the secrets are replaced.
      expect(doc.ironicLastError).toContain('Deploy step failed: meta_data');
      await expectNoSecret(f, doc.runId, { deploy: r });
    } finally {
      f.reader.close();
    }
  });

  it('a deploy that succeeds while every answer carries the secrets in last_error (200 bodies)', async () => {
    const f = fixture('succeeded');
    try {
      const node = sim.addNode({ provisionState: 'available', lastError: ECHO }).uuid;
      const r = await deploy(f, node, 2, secretFiles('succeeded'));
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const doc = json<{ runId: string; status: string }>(r);
      expect(doc.status).toBe('succeeded');
      // The echo was observed and recorded (scrubbed): the test reads a record that held it.
      const events = f.reader
        .prepare("SELECT data FROM events WHERE data LIKE '%Deploy step failed: meta_data%'")
        .all();
      expect(events.length).toBeGreaterThan(0);
      await expectNoSecret(f, doc.runId, { deploy: r });
    } finally {
      f.reader.close();
    }
  });
});
