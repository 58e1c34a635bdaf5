// --metrics-port: a real `ironledger destroy` child serves Prometheus text at GET /metrics while
// its teardown waits in cleaning; a real HTTP GET reads the run in flight. A port that cannot be
// listened on is refused in one line before any run starts.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, expectUsageError, runRows, start, until } from './helpers.js';

const INSTANCE = (i: number): string => `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`;

let sim: Simulator;
let dir: string;
let db: string;

function args(...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

/** A port free a moment ago (listened on, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  sim = await startSimulator({ deployMs: 40, deleteMs: 30, cleanMs: 1500, seed: 3 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-cli-metrics-'));
  db = join(dir, 'metrics.db');
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('--metrics-port', () => {
  it('serves the running command’s metrics in Prometheus text format on 127.0.0.1', async () => {
    const node = sim.addNode({
      provisionState: 'active',
      instanceUuid: INSTANCE(1),
      ports: [{ address: '52:54:00:00:09:01', vifId: 'vif-metrics-1' }],
    }).uuid;
    // A slow VIF detach (as under load): the teardown's cleanup states (`cleanup.*`) last long
    // enough to be seen, and must not pass for the wait in cleaning, when the provision
    // request's 202 is not counted yet.
    sim.faults.add({
      node,
      method: 'DELETE',
      path: '/v1/nodes/*/vifs/*',
      rate: 1,
      kind: 'latency',
      latencyMs: 600,
    });
    const port = await freePort();
    const running = start(
      args(
        '--metrics-port',
        String(port),
        'destroy',
        '--instance',
        INSTANCE(1),
        '--vif',
        'vif-metrics-1',
        '--wait-for-available',
      ),
    );
    await until('the teardown to wait in cleaning', () =>
      runRows(db).find((r) => r.instanceUuid === INSTANCE(1) && /watching\.cleaning/.test(r.state ?? '')),
    );
    const res = await request(`http://127.0.0.1:${port}/metrics`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const during = await res.body.text();
    expect(during).toContain('# TYPE ironledger_runs_started_total counter');
    expect(during).toContain('ironledger_runs_started_total{op="destroy",resumed="false"} 1');
    expect(during).toMatch(/^ironledger_runs_in_flight 1$/m);
    expect(during).toMatch(
      /^ironledger_ironic_requests_total\{method="PUT",route="\/v1\/nodes\/\{node\}\/states\/provision",status="202"\} 1$/m,
    );
    expect(during).not.toContain(node);
    expect(during).not.toContain(INSTANCE(1));
    const missing = await request(`http://127.0.0.1:${port}/other`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();

    const r = await running.result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`metrics: http://127.0.0.1:${port}/metrics`);
  });

  it('a port already taken is refused in one line, before any run starts', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(2) });
      const r = await cli(args('--metrics-port', String(port), 'destroy', '--instance', INSTANCE(2)));
      expectUsageError(
        r,
        new RegExp(`--metrics-port ${port}: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`),
      );
      expect(runRows(db).some((row) => row.instanceUuid === INSTANCE(2))).toBe(false);
      const bad = await cli(args('--metrics-port', 'http', 'destroy', '--instance', INSTANCE(2)));
      expectUsageError(bad, /--metrics-port must be a whole number from 0 to 65535/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
