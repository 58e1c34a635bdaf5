// Records the replay fixtures under test/fixtures/replay/: real runs of the engine (and of the CLI,
// killed with SIGKILL and resumed) against the simulator, one JSON file per run holding its run
// row and its event stream. test/machines/replay-fixtures.test.ts replays every one of them with
// the machine version it was recorded with. Usage (after `npm run build`):
//   node scripts/record-replay-fixtures.mjs          # writes fixtures of the current versions
// A file is named <scenario>-<op>-v<version>.json, so recording after a version bump adds files
// next to the older versions' ones (which stay: they are what keeps a frozen version honest).
// An existing file is not rewritten unless --force is given.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine, EventStore, lifecycles, startSimulator } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'test', 'fixtures', 'replay');
const CLI = join(root, 'dist', 'cli', 'main.js');
const force = process.argv.includes('--force');

const INSTANCE = (i) => `fe000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const deployInput = (i, node, extra = {}) => ({
  instance: INSTANCE(i),
  node,
  vifs: [{ id: `vif-${i}` }],
  image: { source: 'http://img/x.qcow2' },
  flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
  configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
  ...extra,
});

const sim = await startSimulator({
  deployMs: 300,
  deleteMs: 50,
  cleanMs: 900,
  powerMs: 30,
  consoleMs: 20,
  seed: 17,
  networkInterface: 'flat',
});
const dir = mkdtempSync(join(tmpdir(), 'ironledger-fixtures-'));
const db = join(dir, 'runs.db');
const open = () =>
  Engine.open({ db, ironic: { url: sim.url, retryIntervalMs: 10, maxRetries: 20 }, pollIntervalMs: 25 });
const written = [];

function save(scenario, runId, description) {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    const run = store.getRun(runId);
    const events = store.readStream(runId);
    const file = join(outDir, `${scenario}-${run.op}-v${run.machineVersion}.json`);
    if (existsSync(file) && !force) {
      console.log(`kept ${file} (exists; --force rewrites it)`);
      return;
    }
    const doc = { description, recordedBy: 'scripts/record-replay-fixtures.mjs', run, events };
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    written.push(file);
    console.log(`wrote ${file}: ${run.op} v${run.machineVersion} ${run.status}, ${events.length} events`);
  } finally {
    store.close();
  }
}

const activeNode = (i) =>
  sim.addNode({
    provisionState: 'active',
    instanceUuid: INSTANCE(i),
    ports: [{ address: `52:54:00:00:01:${String(i).padStart(2, '0')}`, vifId: `vif-${i}` }],
  }).uuid;

async function main() {
  mkdirSync(outDir, { recursive: true });
  let engine = await open();
  try {
    // Deploy, then every other operation on the deployed instance.
    const node = sim.addNode({
      consoleInterface: 'ipmitool-socat',
      consoleEnabled: true,
      ports: [{ address: '52:54:00:00:00:01' }],
    }).uuid;
    const deploy = await engine.deploy(deployInput(1, node)).done;
    save('ok', deploy.runId, 'deploy to an available node, active at the end');
    for (const [op, input, what] of [
      ['reboot', { instance: INSTANCE(1), soft: false }, 'hard reboot of the deployed instance'],
      ['powerOff', { instance: INSTANCE(1) }, 'power off'],
      ['powerOn', { instance: INSTANCE(1) }, 'power on'],
      ['console', { instance: INSTANCE(1) }, 'serial console enabled and read'],
      [
        'rebuild',
        {
          instance: INSTANCE(1),
          image: { source: 'http://img/y.qcow2' },
          flavor: deployInput(1, node).flavor,
          preserveEphemeral: false,
        },
        'rebuild of the deployed instance',
      ],
    ]) {
      const r = await engine[op](input).done;
      save('ok', r.runId, what);
    }
    const destroy = await engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'], waitForAvailable: true })
      .done;
    save('cleaning', destroy.runId, 'teardown through deleting and cleaning until available');

    // Failure paths.
    const late = sim.addNode({ ports: [{ address: '52:54:00:00:00:02' }] }).uuid;
    const timeout = await engine.deploy(deployInput(2, late, { timeoutS: 0.05 })).done;
    save('timeout', timeout.runId, 'deploy failed with DEPLOY_TIMEOUT, then cleaned up after itself');
    const stuck = activeNode(3);
    const budget = await engine.destroy({
      instance: INSTANCE(3),
      vifs: ['vif-3'],
      waitForAvailable: true,
      timeoutS: 0.2,
    }).done;
    save('timeout', budget.runId, 'teardown failed with UNPROVISION_TIMEOUT while the node cleaned');
    void stuck;
    const dirty = activeNode(4);
    sim.failNextClean(dirty, 'fixture: a clean step failed');
    const cleanFailed = await engine.destroy({
      instance: INSTANCE(4),
      vifs: ['vif-4'],
      waitForAvailable: true,
    }).done;
    save('clean-failed', cleanFailed.runId, 'teardown failed with CLEAN_FAILED waiting for available');
  } finally {
    await engine.close();
  }

  // A CLI process killed with SIGKILL while the teardown waits in cleaning, then resumed.
  activeNode(5);
  const child = spawn(
    process.execPath,
    [
      CLI,
      '--ironic-url',
      sim.url,
      '--db',
      db,
      '--poll-interval',
      '25',
      'destroy',
      '--instance',
      INSTANCE(5),
      '--vif',
      'vif-5',
      '--wait-for-available',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => child.on('close', resolve));
  let runId = null;
  for (let i = 0; i < 2000 && runId === null; i++) {
    await sleep(5);
    const store = EventStore.open(db, { mode: 'reader' });
    try {
      const row = store.listRuns({ instance: INSTANCE(5) })[0];
      if (row?.state === 'unprovision.watching.cleaning') runId = row.id;
    } finally {
      store.close();
    }
  }
  if (runId === null) throw new Error('the CLI teardown never reached cleaning');
  child.kill('SIGKILL');
  await exited;
  engine = await open();
  try {
    const result = await engine.resume(runId).done;
    if (result.status !== 'succeeded') throw new Error(`resume ended ${result.status}`);
  } finally {
    await engine.close();
  }
  save(
    'sigkill-resumed',
    runId,
    'teardown SIGKILLed (CLI) in cleaning, resumed by a new engine to available',
  );
  console.log(
    `versions: ${Object.values(lifecycles)
      .map((l) => `${l.op} v${l.version}`)
      .join(', ')}`,
  );
}

try {
  await main();
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
