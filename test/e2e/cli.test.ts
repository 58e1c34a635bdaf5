// The CLI end to end: a child process per command, against the simulator, on a real
// SQLite file. Asserts on exit codes, stdout/--json, and what Ironic saw.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, json, type CliResult } from './cli.js';

const INSTANCE = (i: number): string => `aaaaaaaa-bbbb-4ccc-8ddd-${String(i).padStart(12, '0')}`;

let sim: Simulator;
let dir: string;
let db: string;
const runIds: string[] = [];

function args(...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

function noStack(r: CliResult): void {
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

beforeAll(async () => {
  sim = await startSimulator({
    deployMs: 60,
    deleteMs: 30,
    cleanMs: 120,
    powerMs: 30,
    consoleMs: 20,
    seed: 3,
  });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-cli-'));
  db = join(dir, 'cli.db');
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ironledger CLI on the simulator', () => {
  it('destroy detaches VIFs before unprovisioning and prints the documented JSON (seed: destroy)', async () => {
    const node = sim.addNode({
      provisionState: 'active',
      instanceUuid: INSTANCE(1),
      ports: [{ address: '52:54:00:01:00:01', vifId: 'port-1' }],
    }).uuid;
    sim.clearRequests();
    const r = await cli(args('--json', 'destroy', '--instance', INSTANCE(1), '--vif', 'port-1'));
    expect(r.code, r.stderr).toBe(0);
    const doc = json(r);
    expect(doc).toMatchObject({
      status: 'succeeded',
      op: 'destroy',
      node,
      instance: INSTANCE(1),
      error: null,
    });
    runIds.push(String(doc.runId));
    const order = sim.requests().map((q) => `${q.method} ${q.path.split('?')[0]}`);
    expect(order.indexOf(`DELETE /v1/nodes/${node}/vifs/port-1`)).toBeLessThan(
      order.indexOf(`PUT /v1/nodes/${node}/states/provision`),
    );
  });

  it('deploy, reboot --soft, power-off --soft-timeout, power-on, rebuild and console all run to the end', async () => {
    const node = sim.addNode({
      provisionState: 'available',
      consoleInterface: 'ipmitool-socat',
      // The seed resets an enabled console; a disabled one is "unavailable".
      consoleEnabled: true,
      ports: [{ address: '52:54:00:02:00:01' }, { address: '52:54:00:02:00:02' }],
    }).uuid;
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'hunter2-admin\n');
    const deploy = await cli(
      args(
        '--json',
        'deploy',
        '--node',
        node,
        '--instance',
        INSTANCE(2),
        '--image-source',
        'http://img/a.qcow2',
        '--vif',
        'p-a',
        '--vif',
        'p-b',
        '--admin-password-file',
        pw,
      ),
    );
    expect(deploy.code, deploy.stderr + deploy.stdout).toBe(0);
    expect(sim.node(node)?.provision_state).toBe('active');
    runIds.push(String(json(deploy).runId));

    for (const cmd of [
      ['reboot', '--instance', INSTANCE(2), '--soft'],
      ['power-off', '--instance', INSTANCE(2), '--soft-timeout', '1'],
      ['power-on', '--instance', INSTANCE(2)],
      ['rebuild', '--instance', INSTANCE(2), '--image-source', 'http://img/b.qcow2', '--preserve-ephemeral'],
      ['console', '--instance', INSTANCE(2)],
    ]) {
      const r = await cli(args('--json', ...cmd));
      expect(r.code, `${cmd[0]}: ${r.stderr}${r.stdout}`).toBe(0);
      const doc = json(r);
      expect(doc.status).toBe('succeeded');
      runIds.push(String(doc.runId));
      if (cmd[0] === 'console') expect(doc.output).toMatchObject({ console: { host: '127.0.0.1' } });
    }
    expect(sim.node(node)?.power_state).toBe('power on');
    expect(sim.node(node)?.instance_info).toMatchObject({ image_source: 'http://img/b.qcow2' });
  });

  it('exits 1 and prints the run id when the run fails (seed: spawn validation)', async () => {
    const node = sim.addNode({
      provisionState: 'available',
      validationFailures: { power: 'Missing IPMI address' },
    }).uuid;
    const r = await cli(
      args('deploy', '--node', node, '--instance', INSTANCE(3), '--image-source', 'http://img/a.qcow2'),
    );
    expect(r.code).toBe(1);
    const id = /run ([0-9a-f-]{36})/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    runIds.push(id!);
    expect(r.stdout).toMatch(/FAILED/);
    expect(r.stdout).toMatch(/Missing IPMI address/);
    expect(r.stdout).toContain(`ironledger show ${id}`);
  });

  it('runs, show and replay read the record: the timeline shows each state, effect and request', async () => {
    const runs = await cli(args('--json', 'runs', '--op', 'destroy'));
    expect(runs.code).toBe(0);
    expect(json<Array<{ id: string }>>(runs).map((r) => r.id)).toContain(runIds[0]);

    const show = await cli(args('show', runIds[0]!));
    expect(show.code, show.stderr).toBe(0);
    const text = show.stdout;
    expect(text.indexOf('cleanup.unplugVifs')).toBeGreaterThan(0);
    expect(text.indexOf('cleanup.unplugVifs')).toBeLessThan(text.indexOf('unprovision.requestDeleted'));
    expect(text).toMatch(/DELETE \/v1\/nodes\/\S+\/vifs\/port-1 {2}204/);

    const showJson = json<{ states: Array<{ state: string }> }>(
      await cli(args('--json', 'show', runIds[0]!.slice(0, 8))),
    );
    expect(showJson.states.map((s) => s.state)).toContain('unprovision.requestDeleted');
  });

  it('replay of every run this suite produced matches its record', async () => {
    expect(runIds.length).toBeGreaterThanOrEqual(8);
    for (const id of runIds) {
      const r = await cli(['--db', db, '--json', 'replay', id]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(json(r)).toMatchObject({ runId: id, matches: true, divergence: null });
    }
  });

  it('nodes shows owners on the hash ring and resources; instances shows the deployed instance (seed: _refresh_cache, get_info)', async () => {
    const nodes = await cli(args('--json', 'nodes', '--hosts', 'h1,h2,h3', '--host', 'h2'));
    expect(nodes.code, nodes.stderr).toBe(0);
    const rows =
      json<
        Array<{ node: { uuid: string; instance_uuid: string | null }; owner: string | null; owned: boolean }>
      >(nodes);
    expect(rows.length).toBe(sim.nodeIds().length);
    const unassigned = rows.filter((r) => r.node.instance_uuid === null);
    // Every unassigned node has exactly one owner among the live hosts.
    expect(unassigned.every((r) => ['h1', 'h2', 'h3'].includes(r.owner ?? ''))).toBe(true);
    expect(unassigned.filter((r) => r.owned).every((r) => r.owner === 'h2')).toBe(true);
    // The instance this database deployed (and did not tear down) is managed by this host.
    const deployed = rows.find((r) => r.node.instance_uuid === INSTANCE(2));
    expect(deployed).toMatchObject({ owner: 'h2', owned: true });

    const instances = await cli(args('--json', 'instances', '--host', 'h2'));
    expect(instances.code, instances.stderr).toBe(0);
    const mine = json<Array<{ instance: string; owner: string | null; info: { state: string } }>>(
      instances,
    ).find((r) => r.instance === INSTANCE(2));
    expect(mine).toMatchObject({ owner: 'h2', info: { state: 'running' } });
  });

  it('refuses bad input with exit 2 and one line, no stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [args('destroy', '--instance', 'not-a-uuid'), /instance must be a UUID/],
      [['--db', db, 'destroy', '--instance', INSTANCE(5)], /No Ironic endpoint/],
      [['--db', db, 'show', 'ffffffff-0000-4000-8000-000000000000'], /no run/],
      [args('power-off', '--instance', INSTANCE(2), '--soft-timeout', '-3'), /soft-timeout/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      noStack(r);
    }
  });

  it('exits 3, not 2, when Ironic cannot be reached: the environment failed, not the command', async () => {
    const r = await cli([
      '--db',
      db,
      '--ironic-url',
      'http://127.0.0.1:9',
      '--max-retries',
      '0',
      'destroy',
      '--instance',
      INSTANCE(5),
    ]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/127\.0\.0\.1:9|connect|ECONNREFUSED/i);
    noStack(r);
  });

  it('refuses a file that is not a database with exit 2 and leaves it as it was', async () => {
    const bad = join(dir, 'corrupt.db');
    writeFileSync(bad, 'this is not a database, just text '.repeat(200));
    const r = await cli(['--db', bad, 'runs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a database|corrupt|SQLite/i);
    noStack(r);
  });
});
