// deploy, destroy, rebuild, reboot, power-off, power-on, console: each opens the engine,
// starts one run, shows progress while it waits, and prints the result.
import type { Command } from 'commander';
import { Engine, type RunHandle, type RunResult } from '../../engine/engine.js';
import type { NetworkVif } from '../../ironic/types.js';
import type { RunSecrets } from '../../machines/effect-context.js';
import {
  intOption,
  ironicOptions,
  makeContext,
  readSecretFile,
  type CliContext,
  type GlobalOptions,
} from '../context.js';
import { CliError, EXIT_OK, EXIT_RUN_FAILED, Progress } from '../output.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function openEngine(ctx: CliContext, extra: { resume?: boolean } = {}): Promise<Engine> {
  return Engine.open({
    db: ctx.opts.db,
    ironic: ironicOptions(ctx),
    logger: ctx.log,
    pollIntervalMs: intOption('--poll-interval', ctx.opts.pollInterval, 1),
    maxPolls: intOption('--max-polls', ctx.opts.maxPolls, 1),
    resume: extra.resume ?? false,
  });
}

export function resultDoc(r: RunResult): Record<string, unknown> {
  return {
    runId: r.runId,
    status: r.status,
    op: r.op,
    node: r.node,
    instance: r.instance,
    error: r.error,
    warnings: r.warnings,
    output: r.output,
    requests: r.requests,
  };
}

export function describeResult(r: RunResult, ms: number): string {
  const secs = (ms / 1000).toFixed(1);
  const where = `instance ${r.instance ?? '-'}, node ${r.node ?? '-'}`;
  const lines: string[] = [];
  if (r.status === 'succeeded') lines.push(`run ${r.runId}: ${r.op} succeeded in ${secs}s (${where})`);
  else {
    const e = r.error;
    const state = e && typeof e.state === 'string' ? ` in state ${e.state}` : '';
    lines.push(`run ${r.runId}: ${r.op} FAILED${state} after ${secs}s (${where})`);
    if (e) lines.push(`  ${String(e.code ?? 'ERROR')}: ${String(e.message ?? '')}`);
    lines.push(`  timeline: ironledger show ${r.runId}`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/** Waits for a run with a progress line; returns the exit code. */
export async function follow(ctx: CliContext, engine: Engine, handle: RunHandle): Promise<number> {
  const progress = new Progress(`${handle.op} ${handle.id.slice(0, 8)}`, ctx.opts.json);
  const stop = handle.subscribe((p) => progress.set(p.state));
  const started = Date.now();
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    progress.stop();
    process.stderr.write(
      `\ninterrupted: run ${handle.id} stays resumable (ironledger resume ${handle.id})\n`,
    );
    void engine.close({ deadlineMs: 2000 }).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await handle.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  stop();
  progress.stop();
  if (interrupted) return 130;
  ctx.out.result(describeResult(result, Date.now() - started), resultDoc(result));
  return result.status === 'succeeded' ? EXIT_OK : EXIT_RUN_FAILED;
}

async function runOne(globals: GlobalOptions, start: (engine: Engine) => RunHandle): Promise<number> {
  const ctx = makeContext(globals);
  const engine = await openEngine(ctx);
  try {
    const handle = start(engine);
    ctx.out.info(`run ${handle.id}: ${handle.op} started`);
    return await follow(ctx, engine, handle);
  } finally {
    await engine.close();
  }
}

function parseVifs(ids: string[]): NetworkVif[] {
  return ids.map((id) => {
    if (!id.trim()) throw new CliError('--vif needs a port id.');
    return { id };
  });
}

export function registerLifecycleCommands(
  program: Command,
  run: (fn: (g: GlobalOptions) => Promise<number>) => Promise<void>,
): void {
  program
    .command('deploy')
    .description('deploy an instance on a node (seed: spawn)')
    .requiredOption('--node <node>', 'Ironic node UUID or name')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .requiredOption('--image-source <url>', 'image URL or Glance UUID')
    .option('--vif <id>', 'Neutron port to attach (repeatable)', collect, [])
    .option('--root-gb <n>', 'root disk size in GiB', '10')
    .option('--vcpus <n>', 'flavor vCPUs', '1')
    .option('--memory-mb <n>', 'flavor memory', '1024')
    .option('--ephemeral-gb <n>', 'ephemeral disk in GiB', '0')
    .option('--user-data <file>', 'user data file (goes into the config drive, never into the log)')
    .option('--admin-password-file <file>', 'file holding the admin password (never logged)')
    .option('--hostname <name>', 'instance hostname for the config drive')
    .action(async (o: Record<string, string | string[] | undefined>) =>
      run(async (g) => {
        const secrets: RunSecrets = {};
        if (typeof o.userData === 'string') secrets.userData = readSecretFile(o.userData, 'user data');
        if (typeof o.adminPasswordFile === 'string') {
          secrets.adminPassword = readSecretFile(o.adminPasswordFile, 'admin password').replace(/\r?\n$/, '');
        }
        const vifs = parseVifs((o.vif as string[]) ?? []);
        return runOne(g, (engine) =>
          engine.deploy(
            {
              instance: String(o.instance),
              node: String(o.node),
              vifs,
              image: { source: String(o.imageSource) },
              flavor: {
                vcpus: intOption('--vcpus', String(o.vcpus), 1),
                memoryMb: intOption('--memory-mb', String(o.memoryMb), 1),
                rootGb: intOption('--root-gb', String(o.rootGb), 1),
                ephemeralGb: intOption('--ephemeral-gb', String(o.ephemeralGb)),
                swapMb: 0,
              },
              ...(typeof o.hostname === 'string' ? { hostname: o.hostname } : {}),
              configDrivePlan: {
                required: secrets.userData !== undefined || secrets.adminPassword !== undefined,
                hasAdminPassword: secrets.adminPassword !== undefined,
                hasUserData: secrets.userData !== undefined,
                injectedFiles: 0,
              },
            },
            secrets,
          ),
        );
      }),
    );

  program
    .command('destroy')
    .description('tear an instance down: detach VIFs, stop filtering, then unprovision (seed: destroy)')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--node <node>', 'node UUID (looked up by instance otherwise)')
    .option('--vif <id>', 'Neutron port to detach (repeatable)', collect, [])
    .option('--wait-for-available', 'wait until cleaning ends and the node is available')
    .action(async (o: { instance: string; node?: string; vif: string[]; waitForAvailable?: boolean }) =>
      run((g) =>
        runOne(g, (engine) =>
          engine.destroy({
            instance: o.instance,
            ...(o.node ? { node: o.node } : {}),
            vifs: o.vif,
            waitForAvailable: o.waitForAvailable === true,
          }),
        ),
      ),
    );

  program
    .command('rebuild')
    .description('redeploy an instance with a new image (seed: rebuild)')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .requiredOption('--image-source <url>', 'image URL or Glance UUID')
    .option('--node <node>', 'node UUID')
    .option('--preserve-ephemeral', 'keep the ephemeral partition')
    .option('--root-gb <n>', 'root disk size in GiB', '10')
    .action(
      async (o: {
        instance: string;
        imageSource: string;
        node?: string;
        preserveEphemeral?: boolean;
        rootGb: string;
      }) =>
        run((g) =>
          runOne(g, (engine) =>
            engine.rebuild({
              instance: o.instance,
              ...(o.node ? { node: o.node } : {}),
              image: { source: o.imageSource },
              flavor: {
                vcpus: 1,
                memoryMb: 1024,
                rootGb: intOption('--root-gb', o.rootGb, 1),
                ephemeralGb: 0,
                swapMb: 0,
              },
              preserveEphemeral: o.preserveEphemeral === true,
            }),
          ),
        ),
    );

  program
    .command('reboot')
    .description('reboot an instance; --soft falls back to hard when Ironic refuses soft (seed: reboot)')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--soft', 'soft reboot first')
    .action(async (o: { instance: string; soft?: boolean }) =>
      run((g) => runOne(g, (engine) => engine.reboot({ instance: o.instance, soft: o.soft === true }))),
    );

  program
    .command('power-off')
    .description('power an instance off; with --soft-timeout, soft first then hard (seed: power_off)')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--soft-timeout <s>', 'seconds to wait for a soft power off before a hard one')
    .action(async (o: { instance: string; softTimeout?: string }) =>
      run((g) =>
        runOne(g, (engine) =>
          engine.powerOff({
            instance: o.instance,
            ...(o.softTimeout !== undefined
              ? { softTimeoutSeconds: intOption('--soft-timeout', o.softTimeout, 1) }
              : {}),
          }),
        ),
      ),
    );

  program
    .command('power-on')
    .description('power an instance on (seed: power_on)')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .action(async (o: { instance: string }) =>
      run((g) => runOne(g, (engine) => engine.powerOn({ instance: o.instance }))),
    );

  program
    .command('console')
    .description('get the serial console of an instance, resetting it if enabled (seed: get_serial_console)')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--timeout <s>', 'seconds to wait for the console mode to change', '10')
    .action(async (o: { instance: string; timeout: string }) =>
      run((g) =>
        runOne(g, (engine) =>
          engine.console({ instance: o.instance, timeoutMs: intOption('--timeout', o.timeout, 1) * 1000 }),
        ),
      ),
    );
}
