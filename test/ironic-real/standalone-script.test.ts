// scripts/ironic-standalone.sh argument checks. Its start and stop are exercised by every run of
// this suite: global-setup.ts starts one Ironic and its teardown fails if stop leaves the process
// or its directory behind.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/ironic-standalone.sh', import.meta.url));

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
});
