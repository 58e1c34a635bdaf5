// The CLI's output conventions (issue 19): `-f table|json|yaml|value` and `-c COLUMN` on runs,
// nodes, instances and show, as `openstack baremetal ... -f json -c uuid`; --json as -f json;
// --version; `completion bash` sourced in a real bash; and `diff` of two real teardowns on the
// simulator, one passing, one failing on injected faults.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { RunRow } from '../../src/store/types.js';
import type { RunDiff } from '../../src/cli/run-diff.js';
import { cli, expectJsonError, expectUsageError, json } from './helpers.js';

const INSTANCE = (i: number): string => `cdcdcdcd-0000-4000-8000-${String(i).padStart(12, '0')}`;

let sim: Simulator;
let dir: string;
let db: string;
let passed: string;
let failed: string;
let failedNode: string;

function args(...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

function activeNode(i: number, name?: string): string {
  return sim.addNode({
    ...(name ? { name } : {}),
    provisionState: 'active',
    powerState: 'power on',
    instanceUuid: INSTANCE(i),
    ports: [{ address: `52:54:00:19:00:${String(i).padStart(2, '0')}`, vifId: `vif-${i}` }],
  }).uuid;
}

beforeAll(async () => {
  sim = await startSimulator({ deleteMs: 30, cleanMs: 60, powerMs: 20, seed: 19 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-output-'));
  db = join(dir, 'runs.db');
  activeNode(1, 'rack2-n01');
  // The failing one: Ironic holds the node locked for two VIF detaches, then cleaning fails.
  failedNode = activeNode(2);
  sim.faults.add({
    node: failedNode,
    method: 'DELETE',
    path: '/v1/nodes/*/vifs/*',
    script: ['409-locked', '409-locked'],
  });
  sim.failNextClean(failedNode, 'Clean step erase_devices failed: disk 0 did not respond');
  const destroy = (i: number) =>
    cli(args('--json', 'destroy', '--instance', INSTANCE(i), '--vif', `vif-${i}`, '--wait-for-available'));
  const a = await destroy(1);
  expect(a.code, a.stderr).toBe(0);
  passed = json<{ runId: string }>(a).runId;
  const b = await destroy(2);
  expect(b.code, b.stderr).toBe(1);
  failed = json<{ runId: string }>(b).runId;
  // Two nodes for nodes/instances: one holding an instance.
  activeNode(3, 'rack2-n03');
}, 60_000);

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('-f and -c', () => {
  it('runs: -f value -c prints the values space-separated, one row per line', async () => {
    const r = await cli(['--db', db, 'runs', '-f', 'value', '-c', 'id', '-c', 'status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${failed} failed\n${passed} succeeded\n`);
    const one = await cli(['--db', db, 'runs', '--status', 'failed', '-f', 'value', '-c', 'id']);
    expect(one.stdout).toBe(`${failed}\n`);
  });

  it('runs: -f json -c / -f yaml -c print objects of those columns; table headers name columns too', async () => {
    const j = await cli(['--db', db, 'runs', '-f', 'json', '-c', 'id', '-c', 'NODE NAME']);
    expect(j.code, j.stderr).toBe(0);
    expect(json(j)).toEqual([
      { id: failed, nodeName: null },
      { id: passed, nodeName: null },
    ]);
    const y = await cli(['--db', db, 'runs', '-f', 'yaml', '-c', 'id', '-c', 'status']);
    expect(y.code, y.stderr).toBe(0);
    expect(parseYaml(y.stdout)).toEqual([
      { id: failed, status: 'failed' },
      { id: passed, status: 'succeeded' },
    ]);
    const t = await cli(['--db', db, 'runs', '-c', 'run', '-c', 'status']);
    expect(t.stdout.split('\n')[0]).toMatch(/^RUN\s+STATUS$/);
    expect(t.stdout).toMatch(new RegExp(`^${failed}\\s+failed$`, 'm'));
  });

  it('--json is -f json: the same document as before, and yaml without -c is that document', async () => {
    const old = await cli(['--db', db, '--json', 'runs']);
    const f = await cli(['--db', db, 'runs', '-f', 'json']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toBe(old.stdout);
    const rows = json<RunRow[]>(f);
    expect(rows.map((r) => r.id)).toEqual([failed, passed]);
    const y = await cli(['--db', db, 'runs', '--format', 'yaml']);
    expect(parseYaml(y.stdout)).toEqual(rows);
    const shown = await cli(['--db', db, '--json', 'show', failed]);
    const shownF = await cli(['--db', db, 'show', failed, '-f', 'json']);
    expect(shownF.stdout).toBe(shown.stdout);
    // And errors are one JSON document with -f json, as with --json.
    expectJsonError(await cli(['--db', db, 'show', 'nosuchrun', '-f', 'json']), /no run "nosuchrun"/);
  });

  it('show: -c picks fields of the run, -f value prints one per line', async () => {
    const v = await cli([
      '--db',
      db,
      'show',
      failed,
      '-f',
      'value',
      '-c',
      'status',
      '-c',
      'errorCode',
      '-c',
      'failedIn',
    ]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toBe('failed\nCLEAN_FAILED\nunprovision.watching.cleaning\n');
    const j = json(
      await cli(['--db', db, 'show', failed, '-f', 'json', '-c', 'id', '-c', 'ironicLastError']),
    );
    expect(j).toEqual({
      id: failed,
      ironicLastError: 'Clean step erase_devices failed: disk 0 did not respond',
    });
    const t = await cli(['--db', db, 'show', passed, '-c', 'status', '-c', 'retries']);
    expect(t.stdout).toMatch(/^FIELD\s+VALUE\nstatus\s+succeeded\nretries\s+0\n$/);
  });

  it('nodes and instances: -f value -c uuid, -f json -c', async () => {
    const base = ['--ironic-url', sim.url, '--db', db];
    const n = await cli([...base, 'nodes', '-f', 'value', '-c', 'uuid', '-c', 'provision_state']);
    expect(n.code, n.stderr).toBe(0);
    const lines = n.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines).toContain(`${failedNode} clean failed`);
    const i = json(await cli([...base, 'instances', '-f', 'json', '-c', 'instance', '-c', 'nodeName']));
    expect(i).toEqual([{ instance: INSTANCE(3), nodeName: 'rack2-n03' }]);
  });

  it('an unknown column or format, or --json with -f yaml: one line, exit 2', async () => {
    expectUsageError(
      await cli(['--db', db, 'runs', '-c', 'colour']),
      /unknown column "colour" for runs; columns: id, op, status/,
    );
    expectUsageError(
      await cli(['--db', db, 'runs', '-f', 'xml']),
      /argument 'xml' is invalid. Allowed choices are table, json, yaml, value/,
    );
    expectUsageError(await cli(['--db', db, 'show', failed, '-c', 'nope']), /unknown column "nope" for show/);
    expectJsonError(await cli(['--db', db, 'runs', '-f', 'json', '-c', 'nope']), /unknown column "nope"/);
    expectJsonError(await cli(['--db', db, '--json', 'runs', '-f', 'yaml']), /--json is -f json/);
    // Refused before Ironic is asked: an unreachable one does not turn it into exit 3.
    expectUsageError(
      await cli(['--ironic-url', 'http://127.0.0.1:1', '--db', db, 'nodes', '-c', 'colour']),
      /unknown column "colour" for nodes/,
    );
  });
});

describe('--version and completion', () => {
  it("--version prints the package's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const r = await cli(['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('completion bash: sourced in a real bash, it completes commands, flags and flag values', async () => {
    const r = await cli(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    const script = join(dir, 'completion.bash');
    writeFileSync(script, r.stdout);
    const complete = (...words: string[]): string[] => {
      const quoted = words.map((w) => `'${w}'`).join(' ');
      const b = spawnSync(
        'bash',
        [
          '--norc',
          '-c',
          `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; ` +
            `complete -p ironledger >/dev/null || exit 9; _ironledger_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(b.status, b.stderr).toBe(0);
      return b.stdout.split('\n').filter(Boolean);
    };
    expect(complete('ironledger', 'di')).toEqual(['diff']);
    expect(complete('ironledger', 're')).toEqual(['rebuild', 'reboot', 'replay', 'resume']);
    expect(complete('ironledger', '--js')).toEqual(['--json']);
    // A flag of the command, after global options that take a value.
    expect(complete('ironledger', '--db', 'x.db', 'runs', '--st')).toEqual(['--status']);
    expect(complete('ironledger', 'destroy', '--wait')).toEqual(['--wait-for-available']);
    expect(complete('ironledger', 'show', 'abc', '-f', '')).toEqual(['table', 'json', 'yaml', 'value']);
    expect(complete('ironledger', 'completion', '')).toEqual(['bash']);
    expectUsageError(await cli(['completion', 'tcsh']), /'tcsh' is invalid .*Allowed choices are bash/);
  });
});

describe('diff', () => {
  it('says where a failed teardown parted from a passed one, then each path, with durations', async () => {
    const r = await cli(['--db', db, 'diff', passed, failed]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^A ${passed}  SUCCEEDED`, 'm'));
    expect(r.stdout).toMatch(
      new RegExp(`^B ${failed}  FAILED .*CLEAN_FAILED in unprovision.watching.cleaning`, 'm'),
    );
    // The same lookup on both, on different nodes: compared by route.
    expect(r.stdout).toMatch(/^ {2}state lookup\s+\d+ms\s+\d+ms$/m);
    expect(r.stdout).toMatch(
      /they part at step \d+: A Ironic DELETE \/v1\/nodes\/\{node\}\/vifs\/\{vif\} -> 204, B Ironic DELETE \/v1\/nodes\/\{node\}\/vifs\/\{vif\} -> 409 x2/,
    );
    expect(r.stdout).toMatch(/saw available .*\| .*/);
    expect(r.stdout).toMatch(/\| saw clean failed/);
    expect(r.stdout).toMatch(/\| ended failed CLEAN_FAILED/);

    const d = json<RunDiff>(await cli(['--db', db, '--json', 'diff', passed, failed]));
    expect(d.op).toBe('destroy');
    expect(d.a).toMatchObject({ runId: passed, status: 'succeeded', error: null });
    expect(d.b).toMatchObject({ runId: failed, status: 'failed', failedIn: 'unprovision.watching.cleaning' });
    expect(d.b.error?.code).toBe('CLEAN_FAILED');
    expect(d.parted).toBe(true);
    expect(d.common.map((c) => `${c.kind} ${c.label}`)).toEqual([
      'state lookup',
      'request GET /v1/nodes -> 200',
      'ironic active',
      'state cleanup.unplugVifs',
    ]);
    expect(d.aPath[0]).toMatchObject({
      kind: 'request',
      label: 'DELETE /v1/nodes/{node}/vifs/{vif} -> 204',
      count: 1,
    });
    expect(d.bPath[0]).toMatchObject({
      kind: 'request',
      label: 'DELETE /v1/nodes/{node}/vifs/{vif} -> 409',
      count: 2,
    });
    expect(d.aPath.map((s) => s.label)).toContain('available');
    expect(d.bPath.map((s) => s.label)).toContain('clean failed');
    expect(d.aPath[d.aPath.length - 1]).toMatchObject({ kind: 'end', label: 'succeeded' });
    expect(d.bPath[d.bPath.length - 1]).toMatchObject({ kind: 'end', label: 'failed CLEAN_FAILED' });
    // Durations are the runs' own: every state step has one, on both sides.
    for (const c of d.common) {
      if (c.kind === 'state') expect(c.a.ms !== null && c.b.ms !== null).toBe(true);
    }
    // -f json is --json.
    expect(json(await cli(['--db', db, 'diff', passed, failed, '-f', 'json']))).toEqual(d);
  });

  it('a run diffed with itself never parts', async () => {
    const d = json<RunDiff>(await cli(['--db', db, '--json', 'diff', failed, failed]));
    expect(d.parted).toBe(false);
    expect(d.aPath).toEqual([]);
    const t = await cli(['--db', db, 'diff', passed, passed]);
    expect(t.stdout).toMatch(/they never part/);
  });

  it('runs of different operations, or an unknown run: one line, exit 2', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    const deploy = await cli(
      args(
        '--json',
        'deploy',
        '--node',
        node,
        '--instance',
        INSTANCE(9),
        '--image-source',
        'http://img/x.qcow2',
      ),
    );
    const deployId = json<{ runId: string }>(deploy).runId;
    expectUsageError(
      await cli(['--db', db, 'diff', passed, deployId]),
      new RegExp(
        `diff compares runs of one operation: ${passed} is a destroy, ${deployId} a deploy.*\\[DIFF_OPS_DIFFER\\]`,
      ),
    );
    expectUsageError(await cli(['--db', db, 'diff', passed, 'nosuchrun']), /no run "nosuchrun"/);
  });
});
