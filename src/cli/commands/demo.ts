// `ironledger demo`, the README's main command: starts the embedded simulator, deploys
// and tears down a few nodes while cleaning holds the node lock, shows that Ironic
// refuses a VIF detach during cleaning, then prints the timeline of one teardown.
import type { Command } from 'commander';
import { Engine } from '../../engine/engine.js';
import { buildTimeline } from '../../runlog/timeline.js';
import { IronicClient } from '../../ironic/client.js';
import { isIronicError } from '../../ironic/errors.js';
import { startSimulator } from '../../sim/index.js';
import { withReader } from '../reader.js';
import { intOption, makeContext, MAX_SECONDS, type GlobalOptions } from '../context.js';
import { EXIT_OK, EXIT_RUN_FAILED } from '../output.js';
import { renderTimeline } from '../render.js';
import { metricsListen } from '../metrics-server.js';
import { serveMetricsOrClose } from './lifecycle.js';

function uuidFor(prefix: string, i: number): string {
  return `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`;
}

export function registerDemoCommand(
  program: Command,
  run: (fn: (g: GlobalOptions) => Promise<number>) => Promise<void>,
): void {
  program
    .command('demo')
    .description('deploy and tear down nodes on the embedded simulator, then show a teardown timeline')
    .option('--nodes <n>', 'how many nodes', '3')
    .option('--clean-seconds <s>', 'how long cleaning holds each node', '3')
    .action(async (o: { nodes: string; cleanSeconds: string }) =>
      run(async (g) => {
        const ctx = makeContext(g);
        const count = intOption('--nodes', o.nodes, 1, 1000);
        const cleanMs = intOption('--clean-seconds', o.cleanSeconds, 1, MAX_SECONDS) * 1000;
        const metrics = metricsListen(ctx);
        const sim = await startSimulator({ nodes: count, deployMs: 1000, deleteMs: 300, cleanMs, seed: 7 });
        ctx.out.info(
          `simulated Ironic on ${sim.url}: ${count} available nodes, cleaning takes ${cleanMs / 1000}s`,
        );
        const engine = await Engine.open({
          db: ctx.opts.db,
          ironic: { url: sim.url, retryIntervalMs: 200 },
          logger: ctx.log,
          pollIntervalMs: 250,
          metrics: metrics !== null,
        });
        if (metrics !== null) await serveMetricsOrClose(ctx, engine, metrics).catch(closing(sim));
        const probe = await IronicClient.connect({ url: sim.url, maxRetries: 0 });
        try {
          const nodes = (await probe.listNodes({ limit: 0 })).slice(0, count);
          // Two NICs per node, one per VIF (each node comes with one port).
          nodes.forEach((n, i) =>
            sim.addPort(n.uuid, { address: `52:54:00:00:${String(i).padStart(2, '0')}:02` }),
          );
          const deploys = nodes.map((n, i) =>
            engine.deploy(
              {
                instance: uuidFor('00000000', i + 1),
                node: n.uuid,
                vifs: [{ id: `port-${i + 1}-a` }, { id: `port-${i + 1}-b` }],
                image: { source: 'http://images.example/ubuntu-24.04.qcow2' },
                flavor: { vcpus: 4, memoryMb: 8192, rootGb: 40, ephemeralGb: 0, swapMb: 0 },
                hostname: `demo-${i + 1}`,
                configDrivePlan: {
                  required: true,
                  hasAdminPassword: true,
                  hasUserData: true,
                  injectedFiles: 0,
                },
              },
              { adminPassword: 'demo-admin-password', userData: '#cloud-config\n' },
            ),
          );
          ctx.out.info(`deploying ${deploys.length} instances ...`);
          const deployed = await Promise.all(deploys.map((d) => d.done));
          for (const r of deployed)
            ctx.out.info(`  deploy ${r.runId.slice(0, 8)} node ${r.node}: ${r.status}`);

          ctx.out.info('tearing them down (VIFs detached and filtering stopped before unprovision) ...');
          let lockShown: string | null = null;
          const teardowns = deployed.map((r, i) => {
            // The first teardown waits for `available`, so its timeline shows cleaning as it happens.
            const h = engine.destroy({
              instance: r.instance ?? uuidFor('00000000', i + 1),
              vifs: [`port-${i + 1}-a`, `port-${i + 1}-b`],
              waitForAvailable: i === 0,
            });
            if (i === 0) {
              const off = h.subscribe((p) => {
                if (lockShown === null && p.state.includes('cleaning') && r.node) {
                  lockShown = 'pending';
                  off();
                  probe.detachVif(r.node, `port-${i + 1}-a`, { retryOnConflict: false }).then(
                    () => (lockShown = 'Ironic accepted a VIF detach during cleaning (unexpected)'),
                    (err: unknown) =>
                      (lockShown = isIronicError(err)
                        ? `during cleaning Ironic answers ${err.status} to a VIF detach: "${err.faultstring ?? err.message}" — why ironledger detaches first`
                        : `probe failed: ${String(err)}`),
                  );
                }
              });
            }
            return h;
          });
          const results = await Promise.all(teardowns.map((t) => t.done));
          for (const r of results)
            ctx.out.info(`  destroy ${r.runId.slice(0, 8)} node ${r.node}: ${r.status}`);
          if (lockShown && lockShown !== 'pending') ctx.out.info(lockShown);
          const first = results[0]!;
          await engine.close();
          const timeline = await withReader(ctx.opts.db, async (store) => {
            const row = (await store.getRun(first.runId))!;
            return buildTimeline(row, await store.readStream(row.id));
          });
          ctx.out.result(
            `\nTimeline of teardown ${first.runId} (ironledger show ${first.runId}):\n\n${renderTimeline(timeline)}`,
            { deploys: deployed, teardowns: results, timeline },
          );
          return [...deployed, ...results].every((r) => r.status === 'succeeded') ? EXIT_OK : EXIT_RUN_FAILED;
        } finally {
          await engine.close();
          await probe.close();
          await sim.close();
        }
      }),
    );
}

/** Closes the demo's simulator, then rethrows what stopped the demo. */
function closing(sim: { close(): Promise<void> }): (err: unknown) => Promise<never> {
  return async (err) => {
    await sim.close();
    throw err;
  };
}
