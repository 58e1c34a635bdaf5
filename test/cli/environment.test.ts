// What the CLI does when its environment fails rather than its caller: Ironic unreachable or
// refusing the credentials, the event store shared with another process, corrupt, deleted,
// truncated or out of space. Exit 3 when no run was started (2 stays for usage and bad input);
// a run that was started and then stopped by the store ends as interrupted, exit 1, with one
// JSON document and the store's reason.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { zeroMiddleEventsPage } from '../store/fixtures/damage.js';
import {
  childEnv,
  CLEAN_ENV,
  CLI,
  cli,
  expectUsageError,
  json,
  runRows,
  start,
  until,
  type CliResult,
  type Running,
} from './helpers.js';

const INSTANCE = (i: number): string => `ffffffff-0000-4000-8000-${String(i).padStart(12, '0')}`;

let sim: Simulator;
let dir: string;

function args(db: string, ...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', ...rest];
}

beforeAll(async () => {
  // A deploy waits a minute for `active`: long enough to break the store under it.
  sim = await startSimulator({ deployMs: 60_000, deleteMs: 20, cleanMs: 40, powerMs: 20, seed: 15 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-cli-environment-'));
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI contract for an environment failure: exit 3, one line naming the code, no stack trace. */
function expectEnvironmentError(r: CliResult, code: string, message: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(3);
  const lines = r.stderr.trim().split('\n');
  expect(lines[lines.length - 1]).toMatch(message);
  expect(lines[lines.length - 1]).toMatch(new RegExp(`\\[${code}\\]$`));
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

/** Starts `--json deploy` of a new node and resolves once its run waits for `active`. */
async function deployWaiting(
  db: string,
  i: number,
  spawnIt: (argv: string[]) => Running = (argv) => start(argv),
): Promise<{ running: Running; runId: string }> {
  const node = sim.addNode({ provisionState: 'available' }).uuid;
  const running = spawnIt(
    args(db, '--json', 'deploy', '--node', node, '--instance', INSTANCE(i), '--image-source', 'http://img/x'),
  );
  const row = await until('the deploy to wait for active', () =>
    runRows(db).find((r) => r.instanceUuid === INSTANCE(i) && /wait/i.test(r.state ?? '')),
  );
  return { running, runId: row.id };
}

describe('exit 3: the environment, not the command, failed', () => {
  it('Ironic unreachable', async () => {
    const r = await cli([
      '--db',
      join(dir, 'unreachable.db'),
      '--ironic-url',
      'http://127.0.0.1:1',
      '--max-retries',
      '0',
      'power-on',
      '--instance',
      INSTANCE(1),
    ]);
    expectEnvironmentError(r, 'IRONIC_NETWORK', /connection to Ironic failed/);
  });

  it('Ironic refusing the credentials (401)', async () => {
    const refusing: Server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            code: 401,
            title: 'Unauthorized',
            message: 'The request you have made requires authentication.',
          },
        }),
      );
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
      const r = await cli([
        '--db',
        join(dir, 'unauthorized.db'),
        '--ironic-url',
        url,
        '--token',
        'wrong',
        'power-on',
        '--instance',
        INSTANCE(1),
      ]);
      // A 401 has its own code since Keystone auth (issue 16): it stops runs resumable, not failed.
      expectEnvironmentError(r, 'IRONIC_UNAUTHORIZED', /401/);
      expect(r.stderr).not.toContain('wrong');
    } finally {
      await new Promise((resolve) => refusing.close(resolve));
    }
  });

  // Was 'the store locked by another process' (STORE_LOCKED, exit 3): writers share the file now
  // (issue 15 #22). A second command for another instance runs beside the first; the held run is
  // what is refused (test/cli/shared-db.test.ts), and only a live old-version writer still locks.
  it('another process writing the store: a command for another instance runs beside it, which goes on undisturbed', async () => {
    const db = join(dir, 'locked.db');
    const { running, runId } = await deployWaiting(db, 2);
    sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(3), powerState: 'power off' });
    const r = await cli(args(db, '--json', 'power-on', '--instance', INSTANCE(3)));
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ status: 'succeeded', instance: INSTANCE(3) });
    running.child.kill('SIGTERM');
    const first = await running.result;
    expect(first.code).toBe(143);
    expect(json(first)).toMatchObject({ runId, status: 'interrupted' });
  });

  it('runs, show and resume of a corrupt store; resume says so even where its runs table looks fine', async () => {
    const db = join(dir, 'corrupt.db');
    const runIds: string[] = [];
    for (let k = 0; k < 6; k++) {
      sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(100 + k), powerState: 'power on' });
      const r = await cli(args(db, '--json', 'power-off', '--instance', INSTANCE(100 + k)));
      expect(r.code, r.stderr).toBe(0);
      runIds.push(json<{ runId: string }>(r).runId);
    }
    zeroMiddleEventsPage(db);
    const corrupt = new RegExp(`${db.replace(/[.\\/]/g, '\\$&')} is corrupt`);
    const resume = await cli(args(db, 'resume'));
    expectEnvironmentError(resume, 'STORE_CORRUPT', corrupt);
    expect(resume.stdout).not.toMatch(/nothing to resume/);
    const asJson = await cli(args(db, '--json', 'resume'));
    expect(asJson.code, `stdout: ${asJson.stdout}\nstderr: ${asJson.stderr}`).toBe(3);
    expect(json(asJson)).toMatchObject({ error: { code: 'STORE_CORRUPT' } });
    expectEnvironmentError(await cli(args(db, 'runs')), 'STORE_CORRUPT', corrupt);
    // Some run's stream crosses the damaged page; the others still show.
    const shows = await Promise.all(runIds.map((id) => cli(args(db, 'show', id))));
    const damaged = shows.filter((r) => r.code !== 0);
    expect(damaged.length).toBeGreaterThan(0);
    expect(damaged.length).toBeLessThan(runIds.length);
    for (const r of damaged) expectEnvironmentError(r, 'STORE_CORRUPT', corrupt);
  }, 120_000);
});

describe('exit 2: a --db that is not a database file', () => {
  it('a directory or a device, with one clear line, and nothing created beside it', async () => {
    const place = join(dir, 'not-files');
    mkdirSync(place);
    const directory = join(place, 'a-directory');
    mkdirSync(directory);
    const device = join(place, 'null.db');
    symlinkSync('/dev/null', device);
    for (const [db, what] of [
      [directory, 'a directory'],
      [device, 'a character device'],
    ] as const) {
      for (const argv of [['runs'], ['resume'], ['power-on', '--instance', INSTANCE(4)]]) {
        const r = await cli(args(db, ...argv));
        expectUsageError(
          r,
          new RegExp(
            `${db.replace(/[.\\/]/g, '\\$&')} is ${what}, not a database file \\[STORE_NOT_A_DATABASE\\]`,
          ),
        );
      }
    }
    expect(readdirSync(place).sort()).toEqual(['a-directory', 'null.db']);
  });
});

describe('a store that fails under a running command', () => {
  it('deleted: the run stops at once as interrupted (STORE_FILE_GONE), exit 1, one JSON document', async () => {
    const db = join(dir, 'deleted.db');
    const { running, runId } = await deployWaiting(db, 5);
    const deletedAt = Date.now();
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    const r = await running.result;
    expect(Date.now() - deletedAt).toBeLessThan(3000);
    expect(r.code, r.stderr).toBe(1);
    const doc = json<{ runId: string; status: string; error: Record<string, unknown> }>(r);
    expect(doc).toMatchObject({
      runId,
      status: 'interrupted',
      error: { code: 'RUN_INTERRUPTED', cause: 'STORE_FILE_GONE' },
    });
    expect(String(doc.error.message)).toContain(
      `${db} was deleted or moved while this process was writing it`,
    );
  }, 90_000);

  it('truncated: the run stops as interrupted (STORE_CORRUPT) instead of reporting success', async () => {
    const db = join(dir, 'truncated.db');
    const { running, runId } = await deployWaiting(db, 6);
    // Once the background checkpoints have folded the run's first steps into the file, cut it.
    await until('a checkpoint to grow the file', () => statSync(db).size > 16_384);
    truncateSync(db, 4096);
    const r = await running.result;
    expect(r.code, r.stderr).toBe(1);
    expect(json(r)).toMatchObject({
      runId,
      status: 'interrupted',
      error: { code: 'RUN_INTERRUPTED', cause: 'STORE_CORRUPT' },
    });
  }, 90_000);

  it('out of space: one JSON document for the interrupted run, exit 1; resume finishes it later', async () => {
    // Its own simulator: the deploy must outlast the filling of the store, then end for resume.
    const slow = await startSimulator({ deployMs: 8000, seed: 16 });
    try {
      const db = join(dir, 'full.db');
      const node = slow.addNode({ provisionState: 'available' }).uuid;
      const argv = ['--ironic-url', slow.url, '--db', db, '--poll-interval', '5'];
      // RLIMIT_FSIZE with SIGXFSZ ignored stands in for a full disk: no file grows past 128 KiB (room
      // for the schema, its owner row and the run's start, since the owners table: not for its waits).
      const r = await new Promise<CliResult>((resolve, reject) => {
        const child = spawn(
          'bash',
          [
            '-c',
            `trap '' XFSZ; ulimit -f 128; exec "$0" "$@"`,
            process.execPath,
            CLI,
            ...argv,
            '--json',
            'deploy',
            '--node',
            node,
            '--instance',
            INSTANCE(7),
            '--image-source',
            'http://img/x',
          ],
          { env: childEnv(CLEAN_ENV), stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
      expect(r.code, r.stderr).toBe(1);
      const doc = json<{ runId: string; status: string; error: Record<string, unknown> }>(r);
      expect(doc).toMatchObject({ status: 'interrupted', error: { code: 'RUN_INTERRUPTED' } });
      // SQLite reports a write refused by the limit as an I/O error; on a full disk it is STORE_DISK_FULL.
      expect(doc.error.cause).toMatch(/^STORE_(IO|DISK_FULL)$/);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);

      const resumed = await cli([...argv, '--json', 'resume', doc.runId]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(json(resumed)).toMatchObject({ runId: doc.runId, status: 'succeeded' });
      expect(slow.node(node)?.provision_state).toBe('active');
    } finally {
      await slow.close();
    }
  }, 60_000);
});
