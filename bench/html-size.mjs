// Size of the `show --html` page (issue 19): how many bytes a run with many node observations
// makes, and that collapsing repeats keeps it flat.
//   npm run build && node bench/html-size.mjs [--observations 1000] [--poll-ms 5]
//
// 1. A real teardown on the simulator through the CLI: the node cleans long enough for the
//    engine's watcher to observe it about --observations times at --poll-ms; the number it
//    really recorded is printed with the page's size (`show RUN --html FILE`).
// 2. The renderer alone on a recorded-shape teardown of exactly 1,000 / 10,000 / 100,000
//    `clean wait` observations (no simulator): the page's bytes against the count.
// Numbers only; no assertions.
import { execFile } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';

const USAGE = 'usage: npm run build && node bench/html-size.mjs [--observations 1000] [--poll-ms 5]';
const args = benchArgs(USAGE, {
  observations: { kind: 'int', default: 1000, min: 1 },
  'poll-ms': { kind: 'int', default: 5, min: 1 },
});
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const { startSimulator } = await import('../dist/sim/index.js');
const { renderTimelineHtml } = await import('../dist/report/html.js');
const { observedProvisionStates } = await import('../dist/report/observations.js');
const { buildTimeline } = await import('../dist/runlog/timeline.js');

const dir = mkdtempSync(join(tmpdir(), 'ironledger-html-size-'));
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
try {
  // 1. A real run. How many polls fit in a cleaning depends on this machine's load: the first
  // try sizes the cleaning at one poll per observation, later ones scale it by what was seen.
  const poll = args['poll-ms'];
  const target = args.observations;
  const instance = 'c0ffee00-0000-4000-8000-000000000001';
  let cleanMs = target * poll;
  let db, shown, observations, base, cli;
  for (let attempt = 1; ; attempt++) {
    const sim = await startSimulator({ deleteMs: 50, cleanMs, powerMs: 20, seed: 7 });
    sim.addNode({ provisionState: 'active', instanceUuid: instance });
    db = join(dir, `run-${attempt}.db`);
    base = ['--ironic-url', sim.url, '--db', db, '--poll-interval', String(poll)];
    // Asynchronous: the simulator answers from this process while the CLI runs.
    cli = async (...rest) =>
      (await promisify(execFile)(process.execPath, [CLI, ...base, ...rest], { maxBuffer: 1 << 28 })).stdout;
    const done = JSON.parse(
      await cli(
        '--json',
        'destroy',
        '--instance',
        instance,
        '--vif',
        'none',
        '--wait-for-available',
        '--timeout',
        '0',
      ),
    );
    await sim.close();
    shown = JSON.parse(await cli('--json', 'show', done.runId));
    observations = shown.states.flatMap((s) => s.effects).reduce((n, e) => n + e.observations, 0);
    if (observations >= target * 0.9 || attempt === 4) break;
    cleanMs = Math.ceil((cleanMs * target * 1.05) / Math.max(1, observations));
  }
  const runId = shown.run.id;
  const file = join(dir, 'run.html');
  await cli('show', runId, '--html', file);
  const text = (await cli('show', runId)).length;
  console.log(
    `real teardown: ${observations} node observations, ${shown.events} events, ${shown.requests} Ironic requests -> ` +
      `HTML ${statSync(file).size} bytes (${kb(statSync(file).size)}); the text timeline is ${text} bytes`,
  );

  // 2. The renderer on exact counts.
  const t0 = Date.parse('2026-12-07T12:00:00.000Z');
  const at = (ms) => new Date(t0 + ms).toISOString();
  for (const n of [1000, 10_000, 100_000]) {
    const events = [];
    const ev = (kind, extra) =>
      events.push({
        runId: 'r',
        seq: events.length + 1,
        at: extra.at,
        kind,
        type: null,
        from: null,
        to: null,
        data: {},
        v: 1,
        ...extra,
      });
    ev('transition', { at: at(0), to: 'unprovision.watching.waiting' });
    ev('effect.started', { at: at(0), data: { actorId: 'observeNode', src: 'observeNode' } });
    for (let i = 0; i < n; i++) {
      const state = i === 0 ? 'deleting' : i === 1 ? 'cleaning' : 'clean wait';
      ev('machine.event', {
        at: at(1000 * (i + 1)),
        type: 'node.observed',
        data: {
          actorId: 'observeNode',
          event: {
            type: 'node.observed',
            at: at(1000 * (i + 1)),
            node: {
              uuid: 'n',
              provision_state: state,
              target_provision_state: 'available',
              power_state: 'power off',
              last_error: null,
              maintenance: false,
            },
          },
        },
      });
      ev('transition', {
        at: at(1000 * (i + 1)),
        to: i === 0 ? 'unprovision.watching.deleting' : 'unprovision.watching.cleaning',
      });
    }
    const end = at(1000 * (n + 1));
    ev('transition', { at: end, to: 'succeeded' });
    ev('run.finished', { at: end, data: { status: 'succeeded' } });
    const run = {
      id: 'r',
      op: 'destroy',
      instanceUuid: 'i',
      nodeUuid: 'n',
      nodeName: null,
      machine: 'teardown',
      machineVersion: 3,
      status: 'succeeded',
      state: 'succeeded',
      lastSeq: events.length,
      createdAt: at(0),
      updatedAt: end,
      error: null,
      owner: null,
    };
    const started = performance.now();
    const html = renderTimelineHtml({
      timeline: buildTimeline(run, events),
      observed: observedProvisionStates(events),
    });
    const ms = performance.now() - started;
    console.log(
      `renderer: ${n} observations (${events.length} events) -> HTML ${Buffer.byteLength(html)} bytes (${kb(Buffer.byteLength(html))}), built in ${ms.toFixed(0)} ms`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
