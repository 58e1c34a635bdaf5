// Starts one real Keystone with a real Ironic behind it (auth_strategy = keystone) and an Ironic
// with http_basic (scripts/keystone-standalone.sh) for the whole real-Keystone suite, hands their
// URLs and credentials to the test files (provided-context.ts), and stops exactly those processes
// afterwards.
//
// Keystone's token lifetime stays at 3600 s here: below 120 s Ironic's own service token is
// renewed on every request it validates (KEYSTONE.md). Tests of expiry use an application
// credential that expires soon (helpers.ts createAppCredential), or restart Keystone alone with a
// short lifetime (restartKeystone).
//
// Fake delays as in the real-Ironic suite: deploying and deleting last about 4 s each.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import './provided-context.js';
import { KEYSTONE_SCRIPT, pairFromKeyValues, parseKeyValues, runKeystoneScript } from './script.js';

export const DEPLOY_DELAY_S = 2;
export const POWER_DELAY_S = 1;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // A developer may point the suite at a throw-away pair already running, started by the script
  // by hand: the directory it printed (KEYSTONE_DIR). The suite enrolls nodes and stops Keystone.
  const reuseDir = process.env.IRONLEDGER_TEST_KEYSTONE_DIR;
  if (reuseDir) {
    const state = readFileSync(join(reuseDir, 'state.env'), 'utf8');
    project.provide('keystone', pairFromKeyValues(parseKeyValues(state)));
    return undefined;
  }

  const inCi = Boolean(process.env.CI);
  if (!inCi && (await runKeystoneScript(['check'])).code !== 0) {
    console.warn(
      '\n*** SKIPPED: real-Keystone suite: python3-keystone or python3-ironic is not installed. ' +
        'Install them with: sudo bash scripts/keystone-standalone.sh install ***\n',
    );
    project.provide('keystone', null);
    return undefined;
  }

  const started = Date.now();
  const res = await runKeystoneScript(
    ['start', '--basic', '--deploy-delay', String(DEPLOY_DELAY_S), '--power-delay', String(POWER_DELAY_S)],
    true,
  );
  const kv = parseKeyValues(res.stdout);
  const dir = kv.get('KEYSTONE_DIR');
  if (res.code !== 0 || !dir) {
    // Installed (or in CI) but not starting is a failure, never a skip.
    throw new Error(`the real Keystone + Ironic did not start (exit ${res.code}):\n${res.stderr}`);
  }
  // If vitest exits without running the teardown (Ctrl-C, a crash), still end those processes.
  const stopOnExit = (): void => {
    spawnSync('bash', [KEYSTONE_SCRIPT, 'stop', dir], { stdio: 'ignore' });
  };
  process.once('exit', stopOnExit);
  const pair = pairFromKeyValues(kv);
  console.log(
    `real Keystone at ${pair.keystoneUrl}, Ironic at ${pair.ironicUrl}, basic Ironic at ` +
      `${pair.ironicBasicUrl} (started in ${Date.now() - started} ms, in ${dir})`,
  );
  project.provide('keystone', pair);

  return async () => {
    process.off('exit', stopOnExit);
    // start-keystone in a test makes a new Keystone pid: the one running now is in state.env.
    const state = existsSync(join(dir, 'state.env'))
      ? parseKeyValues(readFileSync(join(dir, 'state.env'), 'utf8'))
      : new Map<string, string>();
    const pids = [pair.keystonePid, pair.ironicPid, pair.ironicBasicPid, Number(state.get('KEYSTONE_PID'))];
    const stopped = await runKeystoneScript(['stop', dir]);
    if (stopped.code !== 0) throw new Error(`stopping the real Keystone + Ironic failed:\n${stopped.stderr}`);
    // The script's promise: exactly those processes ended, and their directory is gone.
    for (const pid of pids) {
      if (Number.isInteger(pid) && isAlive(pid)) throw new Error(`pid ${pid} is still running after stop`);
    }
    if (existsSync(dir)) throw new Error(`stop left ${dir} behind`);
  };
}
