// scripts/keystone-standalone.sh: argument checks, stop's care for processes it did not start,
// and a whole start/stop of a second pair that must leave no process behind. The pair of the
// global setup is stopped by its teardown, which fails if stop leaves a process or DIR behind.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  appCredentialToken,
  createAppCredential,
  ironicGet,
  keystonePair,
  keystoneTime,
  passwordToken,
  restartKeystone,
  startOwnPair,
} from './helpers.js';
import { runKeystoneScript } from './script.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of every process whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('scripts/keystone-standalone.sh arguments', () => {
  it.each([
    [['start', '--token-expiration', '0'], '--token-expiration expects whole seconds >= 1'],
    [['start', '--token-expiration', '1.5'], '--token-expiration expects whole seconds >= 1'],
    [['start', '--token-cache-time', '-2'], '--token-cache-time expects whole seconds or -1'],
    [['start', '--deploy-delay', '0.5'], '--deploy-delay expects whole seconds'],
    [['start', '--basic-port', '70000'], '--basic-port expects a TCP port from 1 to 65535'],
    [['start', '--what'], "start: unknown argument '--what'"],
    [['appcred'], 'appcred: give the DIR printed by start'],
  ])('%j is refused in one line: %s', async (args, message) => {
    const res = await runKeystoneScript(args);
    expect(res.code).toBe(1);
    expect(res.stderr.startsWith(`keystone-standalone: ${message}`), res.stderr).toBe(true);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stdout).toBe('');
  });

  it('stop, appcred and start-keystone refuse a directory start did not make, and leave it alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keystone-stop-'));
    try {
      for (const cmd of ['stop', 'appcred', 'start-keystone', 'stop-keystone']) {
        const res = await runKeystoneScript([cmd, dir]);
        expect(res.code, cmd).toBe(1);
        expect(res.stderr, cmd).toContain('state.env not found');
        expect(existsSync(dir)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('stop never signals a process that is not one it started with that directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keystone-stop-'));
    // Pid files naming live processes that are not that Keystone or that Ironic.
    const keystoneBystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    const ironicBystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'state.env'), `KEYSTONE_DIR=${dir}\n`);
    writeFileSync(join(dir, 'keystone.pid'), String(keystoneBystander.pid));
    mkdirSync(join(dir, 'ironic'));
    writeFileSync(join(dir, 'ironic', 'ironic.pid'), String(ironicBystander.pid));
    try {
      const res = await runKeystoneScript(['stop', dir]);
      expect(res.code, res.stderr).toBe(0);
      // Give a (wrongly) delivered signal time to be reported as the child's exit.
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const child of [keystoneBystander, ironicBystander]) {
        expect(child.exitCode).toBeNull();
        expect(child.signalCode).toBeNull();
      }
      expect(existsSync(dir)).toBe(false);
    } finally {
      keystoneBystander.kill();
      ironicBystander.kill();
    }
  });
});

const shared = keystonePair();

describe.skipIf(shared === null)('scripts/keystone-standalone.sh start and stop', () => {
  it('start-keystone --token-expiration S: new tokens live S seconds, older ones keep their lifetime', async () => {
    const pair = shared!;
    const before = await passwordToken(pair, 'admin');
    expect(before.status).toBe(201);
    await restartKeystone(pair, { tokenExpirationS: 30 });
    try {
      const short = await passwordToken(pair, 'admin');
      expect((keystoneTime(short.body!.expires_at) - keystoneTime(short.body!.issued_at)) / 1000).toBe(30);
      expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': short.token })).status).toBe(
        200,
      );
      expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': before.token })).status).toBe(
        200,
      );
    } finally {
      await restartKeystone(pair, { tokenExpirationS: pair.tokenExpiration });
    }
    const restored = await passwordToken(pair, 'admin');
    expect((keystoneTime(restored.body!.expires_at) - keystoneTime(restored.body!.issued_at)) / 1000).toBe(
      pair.tokenExpiration,
    );
  });

  it('appcred --user demo makes a credential on project demo', async () => {
    const pair = shared!;
    const cred = await createAppCredential(pair, { user: 'demo', name: 'demo-cred' });
    expect(cred.name).toBe('demo-cred');
    const t = await appCredentialToken(pair, cred);
    expect(t.status).toBe(201);
    expect(t.body?.project?.id).toBe(pair.demo.projectId);
    expect(t.body?.user.id).toBe(pair.demo.userId);
  });

  it('start --dir D --token-expiration 20 --basic serves a pair there, and stop ends every process it started', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'keystone-own-'));
    const dir = join(parent, 'pair');
    let own: Awaited<ReturnType<typeof startOwnPair>> | undefined;
    try {
      own = await startOwnPair({ dir, tokenExpirationS: 20, tokenCacheTimeS: 0 });
      const { pair } = own;
      expect(pair.dir).toBe(dir);
      expect(pair.tokenCacheTime).toBe(0);
      const pids = [pair.keystonePid, pair.ironicPid, pair.ironicBasicPid];
      for (const pid of pids) expect(isAlive(pid)).toBe(true);
      // Another pair than the suite's, on other ports.
      expect(pair.keystoneUrl).not.toBe(shared!.keystoneUrl);
      expect(pair.ironicUrl).not.toBe(shared!.ironicUrl);
      expect(readFileSync(join(dir, 'ironic', 'ironic.conf'), 'utf8')).toMatch(/^token_cache_time = 0$/m);

      const t = await passwordToken(pair, 'admin');
      expect(t.status).toBe(201);
      expect((keystoneTime(t.body!.expires_at) - keystoneTime(t.body!.issued_at)) / 1000).toBe(20);
      expect((await ironicGet(pair.ironicUrl, '/v1/nodes', { 'x-auth-token': t.token })).status).toBe(200);
      // Exactly the three servers run with that directory: nothing else was left running.
      expect(processesMentioning(dir).sort()).toEqual([...pids].sort());
    } finally {
      if (own) await own.stop();
      else await runKeystoneScript(['stop', dir]);
    }
    expect(processesMentioning(dir)).toEqual([]);
    for (const pid of [own.pair.keystonePid, own.pair.ironicPid, own.pair.ironicBasicPid]) {
      expect(isAlive(pid)).toBe(false);
    }
    expect(existsSync(dir)).toBe(false);
    rmSync(parent, { recursive: true });
    // 20-40 s alone; over 2 min on this 2-core machine when others' builds and tests share it.
  }, 420_000);
});
