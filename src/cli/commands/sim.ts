// `ironledger sim`: the Ironic simulator as a standalone server, for trying the CLI
// (or a scheduler) without a real Ironic.
import type { Command } from 'commander';
import { startSimulator } from '../../sim/index.js';
import { intOption, makeContext, MAX_SECONDS, type GlobalOptions } from '../context.js';
import { CliError, EXIT_OK } from '../output.js';

export function registerSimCommand(
  program: Command,
  run: (fn: (g: GlobalOptions) => Promise<number>) => Promise<void>,
): void {
  program
    .command('sim')
    .description('run the Ironic API simulator on loopback until interrupted')
    .option('--port <p>', 'TCP port (0 = any free port)', '6385')
    .option('--nodes <n>', 'pre-enrolled available fake-hardware nodes', '10')
    .option('--deploy-seconds <s>', 'time a deploy holds the node', '2')
    .option('--clean-seconds <s>', 'time cleaning holds the node', '5')
    .option('--automated-clean <on|off>', 'clean after tear down', 'on')
    .option(
      '--network-interface <name>',
      'network interface of the nodes: noop accepts and forgets VIFs (as scripts/ironic-standalone.sh); flat and neutron track them on ports',
      'noop',
    )
    .option(
      '--max-concurrent-deploy <n>',
      "Ironic's [conductor] max_concurrent_deploy: deploys past this many deploying nodes answer 500",
      '250',
    )
    .option(
      '--max-concurrent-clean <n>',
      "Ironic's [conductor] max_concurrent_clean: teardowns past this many deleting/cleaning nodes answer 500",
      '50',
    )
    .option('--seed <n>', 'seed for generated ids and faults', '1')
    .action(async (o: Record<string, string>) =>
      run(async (g) => {
        const ctx = makeContext(g);
        const auto = o.automatedClean;
        if (auto !== 'on' && auto !== 'off')
          throw new CliError(`--automated-clean must be on or off, got ${JSON.stringify(auto)}.`);
        const network = o.networkInterface;
        if (network !== 'noop' && network !== 'flat' && network !== 'neutron')
          throw new CliError(
            `--network-interface must be noop, flat or neutron, got ${JSON.stringify(network)}.`,
          );
        const seconds = (name: string, v: string | undefined): number => {
          // Decimal seconds only (no 0x2, no 1e1), at most what a timer can wait.
          const n = /^\d+(\.\d+)?$/.test(String(v).trim()) ? Number(v) : Number.NaN;
          if (!(n >= 0 && n <= MAX_SECONDS))
            throw new CliError(
              `${name} must be a number of seconds from 0 to ${MAX_SECONDS}, got ${JSON.stringify(v)}.`,
            );
          return Math.round(n * 1000);
        };
        const sim = await startSimulator({
          port: intOption('--port', String(o.port), 0, 65_535),
          nodes: intOption('--nodes', String(o.nodes), 0, 100_000),
          deployMs: seconds('--deploy-seconds', o.deploySeconds),
          cleanMs: seconds('--clean-seconds', o.cleanSeconds),
          automatedClean: auto === 'on',
          networkInterface: network,
          maxConcurrentDeploy: intOption('--max-concurrent-deploy', String(o.maxConcurrentDeploy), 1),
          maxConcurrentClean: intOption('--max-concurrent-clean', String(o.maxConcurrentClean), 1),
          seed: intOption('--seed', String(o.seed), 0, 4_294_967_295),
        });
        ctx.out.result(
          `Ironic simulator listening on ${sim.url} (${o.nodes} nodes, network interface ${network}); Ctrl-C to stop`,
          { url: sim.url, networkInterface: network },
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await sim.close();
        return EXIT_OK;
      }),
    );
}
