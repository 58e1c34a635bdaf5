// Where a teardown's engine CPU goes, part by part (issue 20):
//   npm run build && node bench/teardown-parts.mjs [--runs 1000] [--rounds 3] [--dist dist,OTHER/dist]
//
// bench/teardown.mjs measures the whole engine against the simulator. This one takes the Ironic
// client out to see what is left, in this one process, rounds alternating:
//   xstate  the teardown machine alone: the steps of one teardown (initial state, lookupNode,
//           unplugVifs, stopFiltering, requestDeleted done, two node.observed: cleaning then
//           available) through the engine's stepper (src/runlog/stepper.ts), nothing recorded.
//   engine  N concurrent teardowns through the real Engine (store, recorder, runs, telemetry
//           defaults) whose Ironic effects answer at once with the same results (no HTTP, no
//           watcher): lookupNode, unplugVifs, requestDeleted, and observeNode reporting cleaning
//           then available. Every event is recorded in a fresh SQLite file.
// Printed: CPU per teardown of each (user + system), events and commits per teardown. The
// engine's CPU in bench/teardown.mjs minus `engine` here is what the HTTP client and the
// watcher cost it. Numbers only; no assertions.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchArgs } from './args.mjs';

const USAGE =
  'usage: npm run build && node bench/teardown-parts.mjs [--runs 1000] [--rounds 3] [--dist dist]';
const args = benchArgs(USAGE, {
  runs: { kind: 'int', default: 1000, min: 1 },
  rounds: { kind: 'int', default: 3, min: 1 },
  dist: { kind: 'list', default: ['dist'] },
});
const repo = fileURLToPath(new URL('..', import.meta.url));
const load = (d, file) => import(pathToFileURL(resolve(repo, d, file)).href);
const { startSimulator } = await load('dist', 'sim/index.js');

const instanceOf = (i) => `11111111-2222-4333-8444-${String(i).padStart(12, '0')}`;
const nodeOf = (i) => `22222222-2222-4333-8444-${String(i).padStart(12, '0')}`;
const view = (i, provision_state, target_provision_state) => ({
  uuid: nodeOf(i),
  provision_state,
  target_provision_state,
  power_state: 'power on',
  target_power_state: null,
  last_error: null,
  instance_uuid: provision_state === 'available' ? null : instanceOf(i),
  maintenance: false,
});
const cpuMs = (c) => (c.user + c.system) / 1000;
const fmt = (n, d = 2) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function xstatePart(d, n) {
  const { machineStepper } = await load(d, 'runlog/stepper.js');
  const { decodeActions } = await load(d, 'runlog/actions.js');
  const { lifecycles } = await load(d, 'machines/index.js');
  const { NODE_OBSERVED } = await load(d, 'machines/node-view.js');
  const machine = lifecycles.destroy.machine;
  const outputs = {
    lookupNode: (i) => view(i, 'active', null),
    unplugVifs: () => ({ detached: ['vif'], notAttached: [] }),
    stopFiltering: () => ({ done: true }),
    requestDeleted: () => ({ alreadyUnprovisioning: false, state: null }),
  };
  let steps = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const stepper = machineStepper(machine);
    let [snap, actions] = stepper.initialTransition({
      instance: instanceOf(i),
      vifs: ['vif'],
      waitForAvailable: true,
    });
    steps++;
    for (;;) {
      const spawn = decodeActions(actions).spawns[0];
      if (!spawn || spawn.src === 'observeNode') break;
      [snap, actions] = stepper.transition(snap, {
        type: `xstate.done.actor.${spawn.actorId}`,
        output: outputs[spawn.src](i),
      });
      steps++;
    }
    for (const state of ['cleaning', 'available']) {
      const at = new Date().toISOString();
      [snap, actions] = stepper.transition(snap, {
        type: NODE_OBSERVED,
        node: view(i, state, state === 'available' ? null : 'available'),
        at,
      });
      steps++;
    }
    if (snap.status !== 'done')
      throw new Error(`xstate part: run ${i} ended in ${JSON.stringify(snap.value)}`);
  }
  return { cpuMs: cpuMs(process.cpuUsage(cpu0)) / n, steps: steps / n };
}

async function enginePart(d, n, url) {
  const { Engine } = await load(d, 'engine/engine.js');
  const { NODE_OBSERVED } = await load(d, 'machines/node-view.js');
  const index = (instance) => Number(instance.slice(-12));
  const dir = mkdtempSync(join(tmpdir(), 'ironledger-parts-'));
  const engine = await Engine.open({
    db: join(dir, 'runs.db'),
    ironic: { url },
    concurrency: Math.max(n, 1000),
    effects: {
      lookupNode: async (input) => view(index(input.instance), 'active', null),
      unplugVifs: async (input) => ({ detached: input.vifs, notAttached: [] }),
      requestDeleted: async () => ({ alreadyUnprovisioning: false, state: null }),
      observeNode: async (input, ctx) => {
        const i = Number(input.node.slice(-12));
        await ctx.emit({
          type: NODE_OBSERVED,
          node: view(i, 'cleaning', 'available'),
          at: new Date().toISOString(),
        });
        await ctx.emit({
          type: NODE_OBSERVED,
          node: view(i, 'available', null),
          at: new Date().toISOString(),
        });
        return new Promise(() => {});
      },
    },
  });
  let commits = 0;
  engine.on('store.commit', () => void commits++);
  const cpu0 = process.cpuUsage();
  const handles = [];
  for (let i = 0; i < n; i++)
    handles.push(engine.destroy({ instance: instanceOf(i), vifs: [`vif-${i}`], waitForAvailable: true }));
  const results = await Promise.all(handles.map((h) => h.done));
  const cpu = cpuMs(process.cpuUsage(cpu0)) / n;
  const failed = results.filter((r) => r.status !== 'succeeded');
  if (failed.length > 0)
    throw new Error(`engine part: ${failed.length} runs did not succeed: ${JSON.stringify(failed[0])}`);
  const events = engine.stats().eventsAppended / n;
  await engine.close({ deadlineMs: 2000 });
  rmSync(dir, { recursive: true, force: true });
  return { cpuMs: cpu, events, commits: commits / n };
}

const sim = await startSimulator({ log: false });
console.log(
  `machine: ${cpus().length} cores, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}; ${args.runs} teardowns per pass`,
);
const rows = [];
for (let round = 1; round <= args.rounds; round++) {
  for (const d of args.dist) {
    const x = await xstatePart(d, args.runs);
    const e = await enginePart(d, args.runs, sim.url);
    rows.push({ d, x, e });
    console.log(
      `round ${round}, ${d}: xstate alone ${fmt(x.cpuMs, 3)} ms/teardown (${fmt(x.steps, 0)} steps, ${fmt((x.cpuMs * 1000) / x.steps, 1)} us/step); engine without HTTP ${fmt(e.cpuMs, 3)} ms/teardown, ${fmt(e.events, 1)} events, ${fmt(e.commits, 2)} commits per teardown`,
    );
  }
}
await sim.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const d of args.dist) {
  const mine = rows.filter((r) => r.d === d);
  console.log(
    `${d}: median of ${mine.length} rounds: xstate alone ${fmt(median(mine.map((r) => r.x.cpuMs)), 3)} ms, engine without HTTP ${fmt(median(mine.map((r) => r.e.cpuMs)), 3)} ms per teardown`,
  );
}
console.log(
  `load now: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
