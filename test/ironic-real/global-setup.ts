// Starts one real Ironic (scripts/ironic-standalone.sh) for the whole real-Ironic suite and
// stops exactly that process afterwards.
//
// Fake delays: deploy_delay = 2 s makes both `deploying` and `deleting` last about 4 s (the fake
// deploy interface sleeps in prepare+deploy and in tear_down+clean_up) while the conductor holds
// the node's lock. Ironic retries taking a busy lock for about 2 s before answering 409, so a
// request sent right after `deleted` is refused while tear down still runs, with 2 s to spare.
// power_delay = 1 s makes `target_power_state` observable during a power change.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startFakeNeutron } from './fake-neutron.js';
import './provided-context.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/ironic-standalone.sh', import.meta.url));
export const DEPLOY_DELAY_S = 2;
export const POWER_DELAY_S = 1;

function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // The script's own progress lines (installing, up in N s) are worth seeing live in CI.
      for (const line of d.toString().split('\n')) {
        if (line.startsWith('ironic-standalone:')) console.log(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(IRONIC_[A-Z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // A developer may point the suite at a throw-away Ironic already running, started by the script
  // by hand (the flat-VIF scenario then needs it started with --neutron-url of a fake Neutron).
  // Deliberately not IRONIC_URL: the suite enrolls nodes and must never meet a real deployment.
  const reuseUrl = process.env.IRONLEDGER_TEST_IRONIC_URL;
  const reuseLog = process.env.IRONLEDGER_TEST_IRONIC_LOG;
  if (reuseUrl && reuseLog) {
    project.provide('ironicUrl', reuseUrl);
    project.provide('ironicLog', reuseLog);
    return undefined;
  }

  const inCi = Boolean(process.env.CI);
  if (!inCi && (await runScript(['check'])).code !== 0) {
    console.warn(
      '\n*** SKIPPED: real-Ironic suite: python3-ironic is not installed. ' +
        'Install it with: sudo bash scripts/ironic-standalone.sh install ***\n',
    );
    project.provide('ironicUrl', null);
    project.provide('ironicLog', null);
    return undefined;
  }

  const started = Date.now();
  const neutron = await startFakeNeutron();
  const res = await runScript([
    'start',
    '--deploy-delay',
    String(DEPLOY_DELAY_S),
    '--power-delay',
    String(POWER_DELAY_S),
    '--neutron-url',
    neutron.url,
  ]);
  const kv = parseKeyValues(res.stdout);
  const url = kv.get('IRONIC_URL');
  const dir = kv.get('IRONIC_DIR');
  const log = kv.get('IRONIC_LOG');
  const pid = Number(kv.get('IRONIC_PID'));
  if (res.code !== 0 || !url || !dir || !log || !Number.isInteger(pid)) {
    await neutron.close();
    // Installed (or in CI) but not starting is a failure, never a skip.
    throw new Error(`the real Ironic did not start (exit ${res.code}):\n${res.stderr}`);
  }
  console.log(`real Ironic at ${url} (started in ${Date.now() - started} ms, log ${log})`);
  project.provide('ironicUrl', url);
  project.provide('ironicLog', log);

  // If vitest exits without running the teardown (Ctrl-C, a crash), still end that Ironic.
  const stopOnExit = (): void => {
    spawnSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
  };
  process.once('exit', stopOnExit);

  return async () => {
    process.off('exit', stopOnExit);
    const stopped = await runScript(['stop', dir]);
    await neutron.close();
    if (stopped.code !== 0) throw new Error(`stopping the real Ironic failed:\n${stopped.stderr}`);
    // The script's promise: exactly that process ended, and its directory is gone.
    if (isAlive(pid)) throw new Error(`the real Ironic (pid ${pid}) is still running after stop`);
    if (existsSync(dir)) throw new Error(`stop left ${dir} behind`);
  };
}
