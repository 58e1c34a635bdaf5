// The CLI contract end to end (built CLI, one child process per command): usage errors are
// one line (one JSON document with --json), numbers and texts are checked before a run
// starts, --op takes the command names, readers need an existing database, retries against
// an unreachable Ironic are visible, and an empty IRONIC_URL does not hide OS_ENDPOINT.
import { openConnection } from '../../src/store/sqlite.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycles } from '../../src/machines/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, expectJsonError, expectUsageError, json, runRows, start, until } from './helpers.js';

const INSTANCE = (i: number): string => `dddddddd-0000-4000-8000-${String(i).padStart(12, '0')}`;
/** Nothing listens there: every connection is refused at once. */
const UNREACHABLE = 'http://127.0.0.1:1';

let sim: Simulator;
let dir: string;
let db: string;

function args(...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

beforeAll(async () => {
  sim = await startSimulator({ deployMs: 40, deleteMs: 20, cleanMs: 40, powerMs: 20, seed: 5 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-cli-contract-'));
  db = join(dir, 'contract.db');
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('usage errors', () => {
  it('with --json print one error document and one line naming the help, not the whole help', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [['--json', 'deploy'], /required option '--node <node>' not specified/, 'ironledger deploy --help'],
      [['--json', 'bogus'], /unknown command 'bogus'/, 'ironledger --help'],
      [['--json', 'replay'], /missing required argument 'run'/, 'ironledger replay --help'],
      [['runs', '--json', '--limit'], /option '--limit <k>' argument missing/, 'ironledger runs --help'],
      [['--json', 'deplyo'], /unknown command 'deplyo'.*Did you mean deploy/, 'ironledger --help'],
    ];
    for (const [argv, message, hint] of cases) {
      const r = await cli(['--db', db, ...argv]);
      const error = expectJsonError(r, message);
      expect(error.code).toBe('CLI_USAGE');
      expect(r.stderr).toContain(hint);
      expect(r.stderr).not.toMatch(/Usage:/);
    }
  });

  it('without --json print one line and nothing on stdout', async () => {
    for (const argv of [['deploy', '--instance', INSTANCE(1)], ['bogus'], ['show']]) {
      const r = await cli(['--db', db, ...argv]);
      expectUsageError(r, /^ironledger: .+ \(see 'ironledger( \w+)? --help'\) \[CLI_USAGE\]$/m);
      expect(r.stdout).toBe('');
    }
  });

  it('--help still prints the help and exits 0', async () => {
    const r = await cli(['deploy', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: ironledger deploy/);
  });
});

describe('input checked before a run starts', () => {
  it('refuses an empty or blank --image-source for deploy and rebuild with exit 2 and no run', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    const before = runRows(db).length;
    for (const source of ['', '   ']) {
      const deploy = await cli(
        args('deploy', '--node', node, '--instance', INSTANCE(2), '--image-source', source),
      );
      expectUsageError(deploy, /--image-source must not be empty/);
      const rebuild = await cli(
        args('--json', 'rebuild', '--instance', INSTANCE(2), '--image-source', source),
      );
      expectJsonError(rebuild, /--image-source must not be empty/);
    }
    expect(runRows(db).length).toBe(before);
    expect(sim.node(node)?.provision_state).toBe('available');
  });

  it('takes decimal integers only, each within its bound, with one line and exit 2 otherwise', async () => {
    const instance = INSTANCE(3);
    const cases: Array<[string[], RegExp]> = [
      [['runs', '--limit', '99999999999999999999'], /--limit must be a whole number from 1 to 1000000/],
      [['runs', '--limit', '1e1'], /--limit/],
      [
        ['--retry-interval', '99999999999', 'power-on', '--instance', instance],
        /--retry-interval .+ 2147483647/,
      ],
      [['--retry-interval', '0x2', 'power-on', '--instance', instance], /--retry-interval/],
      [['power-on', '--instance', instance, '--timeout', '1e1'], /--timeout must be a duration/],
      [['--poll-interval', '1.5', 'power-on', '--instance', instance], /--poll-interval/],
      [['--max-retries', '-1', 'power-on', '--instance', instance], /--max-retries/],
      [['console', '--instance', instance, '--timeout', '9999999999'], /--timeout/],
      [['power-off', '--instance', instance, '--soft-timeout', '0x10'], /--soft-timeout/],
    ];
    for (const [argv, message] of cases) {
      // The flags come after --retry-interval 10 from args(): the last one counts.
      const r = await cli(args(...argv));
      expectUsageError(r, message);
      expect(r.stderr).not.toMatch(/SQLITE|TimeoutOverflowWarning/);
    }
    const asJson = await cli(args('--json', 'runs', '--limit', '99999999999999999999'));
    expectJsonError(asJson, /--limit/);
  });
});

describe('runs --op', () => {
  it('takes the command names and the stored op names, and refuses others', async () => {
    sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(4), powerState: 'power on' });
    const off = await cli(args('--json', 'power-off', '--instance', INSTANCE(4)));
    expect(off.code, off.stderr).toBe(0);
    const runId = String(json(off).runId);
    for (const op of ['power-off', 'powerOff']) {
      const r = await cli(args('--json', 'runs', '--op', op));
      expect(r.code, r.stderr).toBe(0);
      const rows = json<Array<{ id: string; op: string }>>(r);
      expect(rows.map((row) => row.id)).toContain(runId);
      expect(rows.every((row) => row.op === 'powerOff')).toBe(true);
    }
    expectUsageError(await cli(args('runs', '--op', 'bogus')), /--op must be one of deploy, .*power-off/);
    expectJsonError(await cli(args('--json', 'runs', '--op', 'bogus')), /--op/);
  });
});

describe('replay of a run another machine version recorded', () => {
  it('says which versions differ when the record diverges', async () => {
    // A deploy to a node that does not exist fails at getNode; this build ends it there.
    const failed = await cli(
      args(
        '--json',
        'deploy',
        '--node',
        'no-such-node',
        '--instance',
        INSTANCE(9),
        '--image-source',
        'http://img/x',
      ),
    );
    expect(failed.code, failed.stderr).toBe(1);
    const runId = json<{ runId: string }>(failed).runId;
    // As deploy v3 recorded it: from getNode it went on to its cleanup.
    const raw = openConnection(db);
    const no = (raw.prepare('SELECT no FROM runs WHERE id = ?').get(runId) as { no: number }).no;
    raw.prepare('UPDATE runs SET machine_version = 3 WHERE no = ?').run(no);
    const changed = raw
      .prepare(
        "UPDATE events SET to_state = 'cleanup.unplugVifs' WHERE run_no = ? AND kind = 'transition' AND from_state = 'getNode'",
      )
      .run(no).changes;
    raw.close();
    expect(changed).toBe(1);

    const human = await cli(args('replay', runId));
    expect(human.code).toBe(1);
    const current = lifecycles.deploy.version;
    expect(human.stdout).toMatch(
      new RegExp(`DIVERGES at seq \\d+: .*recorded with deploy v3, this build has v${current}`),
    );
    const doc = json<{ matches: boolean; recordedVersion: number; machineVersion: number }>(
      await cli(args('--json', 'replay', runId)),
    );
    expect(doc).toMatchObject({ matches: false, recordedVersion: 3, machineVersion: current });
  });
});

describe('commands that read or resume need the database to be there', () => {
  it('runs, show, replay and resume say "no database at PATH" and create nothing', async () => {
    const missing = join(dir, 'mistyped.db');
    for (const argv of [['runs'], ['show', 'abcdef12'], ['replay', 'abcdef12'], ['resume']]) {
      const r = await cli(['--ironic-url', sim.url, '--db', missing, ...argv]);
      expectUsageError(r, new RegExp(`no database at ${missing.replace(/[.\\/]/g, '\\$&')}`));
      const asJson = await cli(['--ironic-url', sim.url, '--db', missing, '--json', ...argv]);
      expectJsonError(asJson, /no database at/);
    }
    expect(existsSync(missing)).toBe(false);
  });
});

describe('Ironic endpoint', () => {
  it('an empty IRONIC_URL does not hide OS_ENDPOINT', async () => {
    const r = await cli(['--db', db, '--json', 'nodes'], { IRONIC_URL: '', OS_ENDPOINT: sim.url });
    expect(r.code, r.stderr).toBe(0);
    expect(Array.isArray(json(r))).toBe(true);
  });

  it('names the failed request once, and says it retries while it retries', async () => {
    const args = ['--ironic-url', UNREACHABLE, '--max-retries', '3', '--retry-interval', '50'];
    const powerOn = ['power-on', '--instance', INSTANCE(5)];
    const r = await cli(['--db', db, ...args, ...powerOn]);
    // An environment failure, not a usage error.
    expect(r.code).toBe(3);
    const lines = r.stderr.trim().split('\n');
    // One retry line at most every few seconds: the first of three quick retries only.
    expect(lines, r.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(/^Ironic unreachable \(IRONIC_NETWORK\), retrying 1\/3 \(GET \/\)\.\.\.$/);
    expect(lines[1]).toMatch(
      /^ironledger: GET \/: connection to Ironic failed \(ECONNREFUSED\) \[IRONIC_NETWORK\]$/,
    );
    expect(lines[1]!.split('GET /')).toHaveLength(2);

    // With --json: no retry lines, one error document.
    const quiet = await cli(['--db', db, '--json', ...args, ...powerOn]);
    expect(quiet.code).toBe(3);
    expect(JSON.parse(quiet.stdout)).toEqual({
      error: { code: 'IRONIC_NETWORK', message: expect.stringMatching(/connection to Ironic failed/) },
    });
    expect(quiet.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('with the default 60 retries, shows the retrying at once; a signal then ends it with its exit code', async () => {
    const argv = ['--db', db, '--ironic-url', UNREACHABLE, 'power-on', '--instance', INSTANCE(6)];
    const shown = start(argv);
    await until('a retry line', () => /retrying 1\/60/.test(shown.stderr()));
    shown.child.kill('SIGINT');
    const r = await shown.result;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/Ironic unreachable \(IRONIC_NETWORK\), retrying 1\/60/);
    expect(r.stderr).toMatch(/interrupted by SIGINT before any run started/);

    // --json prints nothing while retrying, and a fixed wait loses to a slow start-up on a loaded
    // machine (the signal then kills node before the command handles it). An Ironic that drops
    // every connection: the first one shows the command is connecting, its handler installed.
    let connections = 0;
    const dropping = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    const { port } = dropping.address() as AddressInfo;
    try {
      const quietArgv = argv.map((a) => (a === UNREACHABLE ? `http://127.0.0.1:${port}` : a));
      const quiet = start(['--json', ...quietArgv]);
      await until('a connection to Ironic', () => connections > 0);
      quiet.child.kill('SIGTERM');
      const q = await quiet.result;
      expect(q.code, q.stderr).toBe(143);
      expect(JSON.parse(q.stdout)).toEqual({
        error: { code: 'INTERRUPTED', message: 'interrupted by SIGTERM before any run started' },
      });
    } finally {
      dropping.close();
    }
  });
});
