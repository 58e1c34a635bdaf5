// scripts/ironic-standalone.sh: argument checks, port choice and restart. Its start and stop are
// exercised by every run of this suite: global-setup.ts starts one Ironic and its teardown fails if
// stop leaves the process or its directory behind.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/ironic-standalone.sh', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A port nothing listens on right now (the kernel's choice, released again). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('scripts/ironic-standalone.sh', () => {
  it('stop never signals a process that is not the Ironic started with that directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironic-stop-'));
    // A pid file naming a live process that is not that Ironic.
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'ironic.pid'), String(bystander.pid));

    await run('bash', [SCRIPT, 'stop', dir]);
    // Give a (wrongly) delivered signal time to be reported as the child's exit.
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(bystander.exitCode).toBeNull();
    expect(bystander.signalCode).toBeNull();
    expect(existsSync(dir)).toBe(false);
    bystander.kill();
  });

  it('stop refuses a directory without a pid file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironic-stop-'));
    await expect(run('bash', [SCRIPT, 'stop', dir])).rejects.toMatchObject({ code: 1 });
    expect(existsSync(dir)).toBe(true);
    rmSync(dir, { recursive: true });
  });

  it('refuses a fractional delay, since the fake drivers only take whole seconds', async () => {
    await expect(run('bash', [SCRIPT, 'start', '--deploy-delay', '0.5'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('whole seconds'),
    });
  });

  it("refuses a concurrent action limit below 1 or not a whole number, as Ironic's IntOpt(min=1)", async () => {
    for (const [opt, value] of [
      ['--max-concurrent-clean', '0'],
      ['--max-concurrent-deploy', '2.5'],
      ['--max-concurrent-clean', ''],
    ] as const) {
      await expect(run('bash', [SCRIPT, 'start', opt, value])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining(`${opt} expects a whole number >= 1`),
      });
    }
  });

  it('start --port P serves Ironic on that port, and stop ends it', async () => {
    const port = await freePort();
    const { stdout } = await run('bash', [SCRIPT, 'start', '--port', String(port)]);
    const dir = /^IRONIC_DIR=(.*)$/m.exec(stdout)?.[1] ?? '';
    try {
      expect(stdout).toMatch(new RegExp(`^IRONIC_URL=http://127\\.0\\.0\\.1:${port}$`, 'm'));
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { name?: string }).name).toBe('OpenStack Ironic API');
    } finally {
      await run('bash', [SCRIPT, 'stop', dir]);
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('restart brings Ironic back on the same port with the same database (SIGTERM, and SIGKILL with --kill)', async () => {
    const { stdout } = await run('bash', [SCRIPT, 'start']);
    const dir = /^IRONIC_DIR=(.*)$/m.exec(stdout)?.[1] ?? '';
    const url = /^IRONIC_URL=(.*)$/m.exec(stdout)?.[1] ?? '';
    const pids = [Number(/^IRONIC_PID=(.*)$/m.exec(stdout)?.[1])];
    try {
      // A row only the database holds: a restarted Ironic that still lists it kept the database.
      const created = await fetch(`${url}/v1/nodes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-openstack-ironic-api-version': '1.78' },
        body: JSON.stringify({ driver: 'fake-hardware', name: 'kept-across-restarts' }),
      });
      expect(created.status).toBe(201);
      const { uuid } = (await created.json()) as { uuid: string };

      for (const args of [[], ['--kill']]) {
        const restarted = await run('bash', [SCRIPT, 'restart', dir, ...args]);
        expect(restarted.stdout).toContain(`IRONIC_URL=${url}\n`);
        expect(restarted.stdout).toContain(`IRONIC_DIR=${dir}\n`);
        const pid = Number(/^IRONIC_PID=(.*)$/m.exec(restarted.stdout)?.[1]);
        expect(pids).not.toContain(pid);
        // The process before is gone: exactly one Ironic for this directory.
        expect(() => process.kill(pids[pids.length - 1]!, 0)).toThrow();
        pids.push(pid);
        const node = await fetch(`${url}/v1/nodes/${uuid}`, {
          headers: { 'x-openstack-ironic-api-version': '1.78' },
        });
        expect(node.status).toBe(200);
        expect(((await node.json()) as { name: string }).name).toBe('kept-across-restarts');
      }
      // One log across the restarts.
      expect(readFileSync(join(dir, 'ironic.log'), 'utf8')).toMatch(
        /restarting \(SIGTERM\)[^]*restarting \(SIGKILL\)/,
      );
    } finally {
      await run('bash', [SCRIPT, 'stop', dir]);
    }
    expect(existsSync(dir)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 300_000);

  it('restart refuses a directory that holds no Ironic started by the script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironic-restart-'));
    try {
      await expect(run('bash', [SCRIPT, 'restart', dir])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('holds no Ironic started by this script'),
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('start refuses a --port that is not a port number, or one already in use', async () => {
    for (const bad of ['abc', '0', '65536', '']) {
      await expect(run('bash', [SCRIPT, 'start', '--port', bad])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('--port expects a TCP port from 1 to 65535'),
      });
    }
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      await expect(run('bash', [SCRIPT, 'start', '--port', String(port)])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining(`port ${port} on 127.0.0.1 is in use`),
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('refuses an --auth-keystone or --auth-basic file that is not there, and both at once', async () => {
    const missing = join(tmpdir(), 'ironic-auth-missing.conf');
    for (const flag of ['--auth-keystone', '--auth-basic']) {
      await expect(run('bash', [SCRIPT, 'start', flag, missing])).rejects.toMatchObject({
        code: 1,
        stderr: `ironic-standalone: ${flag}: ${missing} is not a readable file\n`,
      });
    }
    const dir = mkdtempSync(join(tmpdir(), 'ironic-auth-'));
    try {
      writeFileSync(join(dir, 'authtoken.conf'), '[keystone_authtoken]\n');
      writeFileSync(join(dir, 'htpasswd'), '');
      const both = ['--auth-keystone', join(dir, 'authtoken.conf'), '--auth-basic', join(dir, 'htpasswd')];
      await expect(run('bash', [SCRIPT, 'start', ...both])).rejects.toMatchObject({
        code: 1,
        stderr: 'ironic-standalone: --auth-keystone and --auth-basic exclude each other\n',
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('names only files that are in this repository in its header', () => {
    const header = readFileSync(SCRIPT, 'utf8').split('\nset -euo pipefail')[0] ?? '';
    const named = [...header.matchAll(/[\w./-]+\.(?:md|ts|sh|mjs)\b/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(0);
    // A bare name is the script's own (its usage lines); a path is from the repository root.
    for (const file of named) {
      expect(existsSync(join(REPO, file)) || existsSync(join(REPO, 'scripts', file)), file).toBe(true);
    }
  });
});
