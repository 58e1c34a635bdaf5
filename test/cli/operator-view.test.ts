// What an operator sees (issue 15): runs found by node UUID or name, Ironic's last_error in the
// failure line and in `show`, the console address in text mode, failedIn in --json, node names
// checked before a run starts, a certificate hint, a short retry budget for read-only commands,
// a destroy without VIFs that says so, labelled columns, and help that says what a command does.
import { createServer, type Server } from 'node:https';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { RunRow } from '../../src/store/types.js';
import { cli, expectUsageError, json, runRows } from './helpers.js';

const INSTANCE = (i: number): string => `eeeeeeee-0000-4000-8000-${String(i).padStart(12, '0')}`;
const IMAGE = 'http://images.example/ubuntu.qcow2';
/** Nothing listens there: every connection is refused at once. */
const UNREACHABLE = 'http://127.0.0.1:1';

let sim: Simulator;
let dir: string;
let db: string;

function args(...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

beforeAll(async () => {
  sim = await startSimulator({
    deployMs: 40,
    deleteMs: 20,
    cleanMs: 40,
    powerMs: 20,
    consoleMs: 20,
    seed: 15,
  });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-operator-'));
  db = join(dir, 'operator.db');
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runs --node (finding 18)', () => {
  it('records the node UUID of a deploy given a node name, and finds its runs by UUID or by name', async () => {
    const node = sim.addNode({ name: 'rack1-n07', provisionState: 'available' }).uuid;
    const deploy = await cli(
      args('--json', 'deploy', '--node', 'rack1-n07', '--instance', INSTANCE(1), '--image-source', IMAGE),
    );
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(json(deploy).node).toBe(node);
    const destroy = await cli(args('--json', 'destroy', '--instance', INSTANCE(1), '--vif', 'none'));
    expect(destroy.code, destroy.stderr).toBe(0);
    const ids = [json(destroy).runId, json(deploy).runId];

    for (const given of [node, 'rack1-n07']) {
      const r = await cli(args('--json', 'runs', '--node', given));
      expect(r.code, r.stderr).toBe(0);
      const rows = json<RunRow[]>(r);
      expect(
        rows.map((x) => x.id),
        given,
      ).toEqual(ids);
      expect(rows.every((x) => x.nodeUuid === node)).toBe(true);
    }
    const [deployRow] = runRows(db).filter((r) => r.id === ids[1]);
    expect(deployRow).toMatchObject({ nodeUuid: node, nodeName: 'rack1-n07' });

    const text = await cli(args('runs', '--node', 'rack1-n07'));
    expect(text.stdout).toMatch(new RegExp(`${ids[1]}\\s+deploy\\s+succeeded.*${node}\\s+rack1-n07`));
  });
});

describe("Ironic's last_error (finding 19)", () => {
  it("a run that fails while Ironic reports an error says Ironic's words: failure line, show, show --json", async () => {
    const words = 'Failed to deploy: IPMI power on timed out after 3 retries';
    // A deploy that failed earlier left its last_error; the teardown gives up while deleting.
    const slow = await startSimulator({ deployMs: 40, deleteMs: 5000, cleanMs: 40, powerMs: 20, seed: 16 });
    try {
      const failedNode = (i: number): string =>
        slow.addNode({ provisionState: 'deploy failed', instanceUuid: INSTANCE(i), lastError: words }).uuid;
      const node = failedNode(2);
      failedNode(9);
      const base = ['--ironic-url', slow.url, '--db', db, '--poll-interval', '20'];
      const destroy = ['destroy', '--timeout', '1s', '--vif', 'v'];
      const r = await cli([...base, ...destroy, '--instance', INSTANCE(2), '--node', node]);
      expect(r.code, r.stderr).toBe(1);
      // Said once: by the error when it quotes Ironic, else on a line of its own.
      expect(r.stdout.split(words)).toHaveLength(2);
      expect(r.stdout).toMatch(new RegExp(`^ {2}(UNPROVISION_TIMEOUT: .*|Ironic last_error: )${words}`, 'm'));
      const id = /run ([0-9a-f-]{36})/.exec(r.stdout)?.[1] ?? '';

      const failedJson = await cli([...base, '--json', ...destroy, '--instance', INSTANCE(9)]);
      expect(failedJson.code, failedJson.stderr).toBe(1);
      expect(json(failedJson)).toMatchObject({ status: 'failed', ironicLastError: words });

      const shown = await cli(['--db', db, 'show', id]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`^FAILED in .*${words}`, 'm'));
      expect(shown.stdout).toMatch(new RegExp(`effect observeNode .*last_error: ${words}`));
      const doc = json<{ failure: { ironicLastError: string | null } }>(
        await cli(['--db', db, '--json', 'show', id]),
      );
      expect(doc.failure.ironicLastError).toBe(words);
    } finally {
      await slow.close();
    }
  });
});

describe('lifecycle results', () => {
  it('console prints the address to connect to in text mode (finding 20)', async () => {
    sim.addNode({
      provisionState: 'active',
      instanceUuid: INSTANCE(3),
      consoleInterface: 'ipmitool-socat',
      consoleEnabled: true,
      consolePort: 4321,
    });
    const r = await cli(args('console', '--instance', INSTANCE(3)));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}console: tcp:\/\/127\.0\.0\.1:4321$/m);
  });

  it('--json names the state a failed run failed in (finding 14)', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    sim.failNextDeploy(node, 'Failed to deploy: disk not found');
    const r = await cli(
      args('--json', 'deploy', '--node', node, '--instance', INSTANCE(4), '--image-source', IMAGE),
    );
    expect(r.code, r.stderr).toBe(1);
    // The wait saw `deploy failed` in waiting or deploying, as the watcher's ticks fell.
    const doc = json(r);
    expect(doc).toMatchObject({ status: 'failed', failedIn: expect.stringMatching(/^waitActive\./) });
    const shown = json<{ failure: { state: string } }>(
      await cli(['--db', db, '--json', 'show', String(doc.runId)]),
    );
    expect(doc.failedIn).toBe(shown.failure.state);
  });

  it('refuses a node name Ironic would not accept before any run starts, with exit 2 (finding 14)', async () => {
    sim.clearRequests();
    const before = runRows(db).length;
    for (const [cmd, extra] of [
      ['deploy', ['--image-source', IMAGE]],
      ['destroy', []],
      ['rebuild', ['--image-source', IMAGE]],
    ] as const) {
      for (const bad of ['nœud-1', 'rack 1', 'a'.repeat(256)]) {
        const r = await cli(args(cmd, '--node', bad, '--instance', INSTANCE(5), ...extra));
        expectUsageError(r, /--node must be a node UUID or an Ironic node name/);
      }
    }
    expect(runRows(db).length).toBe(before);
    expect(sim.requests()).toEqual([]);
  });

  it('destroy without --vif says in its result that no VIF was detached (finding 23)', async () => {
    sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(6) });
    const text = await cli(args('destroy', '--instance', INSTANCE(6)));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}warning: no --vif given, so no VIFs were detached/m);

    sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(7) });
    const doc = json<{ warnings: string[] }>(await cli(args('--json', 'destroy', '--instance', INSTANCE(7))));
    expect(doc.warnings).toEqual([expect.stringMatching(/^no --vif given, so no VIFs were detached/)]);

    sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(8) });
    const given = json<{ warnings: string[] }>(
      await cli(args('--json', 'destroy', '--instance', INSTANCE(8), '--vif', 'port-8')),
    );
    expect(given.warnings).toEqual([]);
  });
});

describe('connecting to Ironic (finding 23)', () => {
  let https: Server;
  let httpsUrl: string;
  beforeAll(async () => {
    const tls = new URL('../ironic/fixtures/tls/', import.meta.url);
    https = createServer(
      {
        cert: readFileSync(new URL('self-signed-127.0.0.1.cert.pem', tls)),
        key: readFileSync(new URL('self-signed-127.0.0.1.key.pem', tls)),
      },
      (_req, res) => res.end('{}'),
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => https.close(() => resolve())));

  it('an untrusted certificate names --ca-file and --insecure', async () => {
    const r = await cli(['--db', db, '--ironic-url', httpsUrl, 'nodes']);
    // An Ironic we cannot trust is the environment's failure (exit 3), said in one line.
    expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/certificate.*--ca-file.*--insecure/);
    expect(r.stderr).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('read-only commands give up on an unreachable Ironic after a few retries unless told otherwise', async () => {
    for (const cmd of ['nodes', 'instances']) {
      const started = Date.now();
      const r = await cli(['--db', db, '--ironic-url', UNREACHABLE, '--retry-interval', '200', cmd]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/retrying 1\/3 \(GET \/\)/);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    const told = await cli([
      '--db',
      db,
      '--ironic-url',
      UNREACHABLE,
      '--retry-interval',
      '10',
      '--max-retries',
      '7',
      'nodes',
    ]);
    expect(told.stderr).toMatch(/retrying 1\/7 \(GET \/\)/);
  });
});

describe('tables and help (finding 23)', () => {
  it('nodes labels its resource columns as used/total and explains the owner mark', async () => {
    const r = await cli(args('nodes', '--host', 'sched-a'));
    expect(r.code, r.stderr).toBe(0);
    const [head] = r.stdout.split('\n');
    expect(head).toMatch(/VCPUS USED\/TOTAL\s+RAM MB USED\/TOTAL\s+DISK GB USED\/TOTAL$/);
    expect(r.stdout).toMatch(/^\* owned by this host \(sched-a\)$/m);
  });

  it('runs shows the start time it sorts by', async () => {
    const r = await cli(args('runs', '--limit', '3'));
    const rows = json<RunRow[]>(await cli(args('--json', 'runs', '--limit', '3')));
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/\bSTARTED$/);
    expect(lines[0]).not.toMatch(/UPDATED/);
    rows.forEach((row, i) =>
      expect(lines[i + 1]).toMatch(new RegExp(`${row.createdAt.slice(0, 19).replace('T', ' ')}$`)),
    );
  });

  it('--help says what each command does, not which seed function it mirrors', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).not.toMatch(/seed/);
    for (const cmd of [
      'deploy',
      'destroy',
      'rebuild',
      'reboot',
      'power-off',
      'power-on',
      'console',
      'instances',
    ]) {
      const r = await cli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout, cmd).not.toMatch(/seed/);
    }
  });
});
