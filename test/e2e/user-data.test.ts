// `deploy --user-data FILE` end to end on the simulator: what reaches Ironic is the file's
// bytes, exactly (text in the JSON config drive, anything else in an ISO image read back by
// isoinfo and pycdlib), and a file over Nova's limit is refused before it is read whole.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { EngineError } from '../../src/engine/errors.js';
import type { DeployInput } from '../../src/machines/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { runRows } from '../cli/helpers.js';
import { isoOf, itWithIsoReaders, readIso } from '../ironic/iso-reader.js';
import { cli, json, type CliResult } from './cli.js';

const INSTANCE = (i: number): string => `eeeeeeee-0000-4000-8000-${String(i).padStart(12, '0')}`;
const LIMIT = 49149;

let sim: Simulator;
let dir: string;
let db: string;

function args(...rest: string[]): string[] {
  return ['--ironic-url', sim.url, '--db', db, '--poll-interval', '20', '--retry-interval', '10', ...rest];
}

function deploy(i: number, node: string, userData: string, timeoutMs?: number): Promise<CliResult> {
  return cli(
    args(
      '--json',
      'deploy',
      '--node',
      node,
      '--instance',
      INSTANCE(i),
      '--image-source',
      'http://img/a.qcow2',
      '--user-data',
      userData,
    ),
    {},
    timeoutMs,
  );
}

/** The config drive as the simulator holds it in the node's instance_info (unmasked). */
function configdriveOf(node: string): unknown {
  return sim.node(node)?.instance_info['configdrive'];
}

function expectTooLarge(r: CliResult, file: string): void {
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr + r.stdout).toBe(2);
  const doc = json<{ error: { code: string; message: string } }>(r);
  expect(doc.error.code).toBe('USER_DATA_TOO_LARGE');
  expect(doc.error.message).toContain(file);
  expect(doc.error.message).toMatch(/65535 bytes once base64-encoded/);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

beforeAll(async () => {
  sim = await startSimulator({ deployMs: 40, deleteMs: 20, cleanMs: 40, powerMs: 20, seed: 11 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-user-data-'));
  db = join(dir, 'ud.db');
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('deploy --user-data: the bytes reach Ironic unaltered', () => {
  itWithIsoReaders(
    'gzip user data arrives as a config-2 ISO whose user_data is the file, byte for byte',
    async () => {
      const node = sim.addNode({ provisionState: 'available' }).uuid;
      const bytes = gzipSync(Buffer.from('#cloud-config\npackages: [htop]\n'));
      const file = join(dir, 'user-data.gz');
      writeFileSync(file, bytes);
      const r = await deploy(1, node, file);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(json(r).status).toBe('succeeded');
      expect(sim.node(node)?.provision_state).toBe('active');
      const drive = configdriveOf(node);
      expect(typeof drive, JSON.stringify(drive)?.slice(0, 200)).toBe('string');
      readIso(isoOf(drive as string), (iso) => {
        expect(iso.describe).toMatch(/^Volume id:\s+config-2$/m);
        expect(iso.joliet('/openstack/latest/user_data').equals(bytes)).toBe(true);
        expect(iso.pycdlib('/openstack/latest/user_data').equals(bytes)).toBe(true);
        expect(JSON.parse(iso.joliet('/openstack/latest/meta_data.json').toString('utf8'))).toMatchObject({
          uuid: INSTANCE(1),
        });
      });
    },
  );

  it('text user data keeps the JSON config drive, its string the file’s UTF-8 bytes', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    const bytes = Buffer.from('\uFEFF#cloud-config\r\nwrite_files: [{path: /x, content: "é✓"}]\n', 'utf8');
    const file = join(dir, 'user-data.txt');
    writeFileSync(file, bytes);
    const r = await deploy(2, node, file);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const drive = configdriveOf(node) as { user_data?: unknown };
    expect(typeof drive.user_data).toBe('string');
    expect(Buffer.from(drive.user_data as string, 'utf8').equals(bytes)).toBe(true);
  });
});

describe("deploy --user-data over Nova's limit (65535 bytes once base64-encoded)", () => {
  it('refuses /dev/zero quickly, exit 2, naming the limit and the file; no run starts', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    const t0 = Date.now();
    const r = await deploy(3, node, '/dev/zero', 15_000);
    const ms = Date.now() - t0;
    expectTooLarge(r, '/dev/zero');
    expect(ms).toBeLessThan(10_000);
    expect(runRows(db).filter((row) => row.instanceUuid === INSTANCE(3))).toEqual([]);
    expect(sim.node(node)?.provision_state).toBe('available');
  });

  it('refuses a 100 MB sparse file quickly', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    const file = join(dir, 'sparse-100m');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 100 * 1024 * 1024);
    closeSync(fd);
    const t0 = Date.now();
    const r = await deploy(4, node, file, 15_000);
    expectTooLarge(r, file);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('refuses an endless FIFO', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // A writer that never ends; it dies of SIGPIPE once the CLI closes the FIFO.
    const writer = spawn('sh', ['-c', `exec cat /dev/zero > '${fifo}'`], { stdio: 'ignore' });
    try {
      const r = await deploy(5, node, fifo, 15_000);
      expectTooLarge(r, fifo);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  itWithIsoReaders('accepts a file of exactly 49149 bytes, and refuses one byte more', async () => {
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    const bytes = randomBytes(LIMIT);
    const file = join(dir, 'at-limit');
    writeFileSync(file, bytes);
    const r = await deploy(6, node, file);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    readIso(isoOf(configdriveOf(node) as string), (iso) => {
      expect(iso.joliet('/openstack/latest/user_data').equals(bytes)).toBe(true);
    });

    const over = join(dir, 'over-limit');
    writeFileSync(over, Buffer.concat([bytes, Buffer.from([0x0a])]));
    const other = sim.addNode({ provisionState: 'available' }).uuid;
    expectTooLarge(await deploy(7, other, over), over);
  });
});

describe('Engine.deploy: user data for library callers', () => {
  const input = (i: number, node: string): DeployInput => ({
    instance: INSTANCE(i),
    node,
    vifs: [],
    image: { source: 'http://img/a.qcow2' },
    flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
    configDrivePlan: { required: true, hasAdminPassword: false, hasUserData: true, injectedFiles: 0 },
  });
  const open = (): Promise<Engine> =>
    Engine.open({
      db: join(dir, 'lib.db'),
      ironic: { url: sim.url, retryIntervalMs: 10 },
      pollIntervalMs: 20,
    });

  itWithIsoReaders('sends bytes as given, even when the caller changes its buffer after deploy', async () => {
    const engine = await open();
    try {
      const node = sim.addNode({ provisionState: 'available' }).uuid;
      const bytes = gzipSync(Buffer.from('#!/bin/sh\necho library\n'));
      const given = Uint8Array.from(bytes);
      const handle = engine.deploy(input(20, node), { userData: given });
      given.fill(0);
      expect((await handle.done).status).toBe('succeeded');
      readIso(isoOf(configdriveOf(node) as string), (iso) => {
        expect(iso.joliet('/openstack/latest/user_data').equals(bytes)).toBe(true);
      });
    } finally {
      await engine.close();
    }
  });

  it('a string means its UTF-8 bytes: text goes in the JSON form, and its byte length counts', async () => {
    const engine = await open();
    try {
      const node = sim.addNode({ provisionState: 'available' }).uuid;
      expect((await engine.deploy(input(21, node), { userData: 'héllo ✓' }).done).status).toBe('succeeded');
      expect(configdriveOf(node)).toMatchObject({ user_data: 'héllo ✓' });

      // 24575 characters, 49150 bytes once UTF-8: one byte over.
      const other = sim.addNode({ provisionState: 'available' }).uuid;
      let err: unknown;
      try {
        engine.deploy(input(22, other), { userData: 'é'.repeat(24575) });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EngineError);
      expect(err).toMatchObject({
        code: 'USER_DATA_TOO_LARGE',
        facts: { bytes: 49150, limitEncoded: 65535 },
      });
      expect((err as Error).message).toMatch(/65535 bytes once base64-encoded/);
    } finally {
      await engine.close();
    }
  });

  it('refuses bytes over the limit before any run exists, and accepts exactly the limit', async () => {
    const engine = await open();
    try {
      const node = sim.addNode({ provisionState: 'available' }).uuid;
      expect(() => engine.deploy(input(23, node), { userData: new Uint8Array(LIMIT + 1) })).toThrow(
        expect.objectContaining({ code: 'USER_DATA_TOO_LARGE' }),
      );
      expect(runRows(join(dir, 'lib.db')).filter((r) => r.instanceUuid === INSTANCE(23))).toEqual([]);
      expect(() => engine.deploy(input(23, node), { userData: 42 as unknown as string })).toThrow(
        expect.objectContaining({ code: 'ENGINE_INVALID_INPUT' }),
      );
      const done = await engine.deploy(input(24, node), { userData: new Uint8Array(LIMIT) }).done;
      expect(done.status).toBe('succeeded');
    } finally {
      await engine.close();
    }
  });
});
