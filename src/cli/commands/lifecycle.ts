// deploy, destroy, rebuild, reboot, power-off, power-on, console: each opens the engine,
// starts one run, shows progress while it waits, and prints the result.
import type { Command } from 'commander';
import { closeSync, openSync, readSync } from 'node:fs';
import { Engine, type RunHandle, type RunResult } from '../../engine/engine.js';
import { MAX_USER_DATA_BYTES, userDataTooLargeMessage } from '../../ironic/configdrive.js';
import type { NetworkVif } from '../../ironic/types.js';
import { isNodeIdent } from '../../ironic/validate.js';
import type { RunSecrets } from '../../machines/effect-context.js';
import type {
  DeployInput,
  DestroyInput,
  PowerOffInput,
  PowerOnInput,
  RebootInput,
  RebuildInput,
} from '../../machines/index.js';
import {
  durationOption,
  intOption,
  MAX_MS,
  MAX_SECONDS,
  ironicOptions,
  makeContext,
  readSecretFile,
  type CliContext,
  type GlobalOptions,
} from '../context.js';
import { CliError, EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, printError, Progress } from '../output.js';
import { withReader } from '../reader.js';
import { ironicWords } from '../render.js';
import { buildTimeline } from '../../runlog/timeline.js';
import { metricsListen, serveMetrics } from '../metrics-server.js';

/** Bounds of flavor numbers: vCPUs, and sizes in MiB or GiB (2^31-1 keeps them plain integers everywhere). */
const MAX_VCPUS = 65_536;
const MAX_SIZE = 2_147_483_647;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function openEngine(ctx: CliContext, extra: { resume?: boolean } = {}): Promise<Engine> {
  const metrics = metricsListen(ctx);
  const engine = await Engine.open({
    db: ctx.opts.db,
    ironic: ironicOptions(ctx),
    logger: ctx.log,
    pollIntervalMs: intOption('--poll-interval', ctx.opts.pollInterval, 1, MAX_MS),
    resume: extra.resume ?? false,
    metrics: metrics !== null,
  });
  if (metrics !== null) await serveMetricsOrClose(ctx, engine, metrics);
  return engine;
}

/** --metrics-port for an engine just opened; closes it when the port cannot be listened on. */
export async function serveMetricsOrClose(
  ctx: CliContext,
  engine: Engine,
  at: { port: number; host: string },
): Promise<void> {
  try {
    await serveMetrics(ctx, engine, at);
  } catch (err) {
    await engine.close();
    throw err;
  }
}

/** `ironicLastError`: Ironic's last_error when a failed run ended (ironicLastError()). */
export function resultDoc(r: RunResult, ironicLastError: string | null = null): Record<string, unknown> {
  return {
    runId: r.runId,
    status: r.status,
    op: r.op,
    node: r.node,
    instance: r.instance,
    error: r.error,
    failedIn: r.failedIn,
    ironicLastError,
    warnings: r.warnings,
    output: r.output,
    requests: r.requests,
  };
}

/**
 * Ironic's last_error in the last node a failed run saw, read from its record: the words Ironic
 * gave for what went wrong, which the run's own error may not quote. Null for a run that did not
 * fail, or when the record cannot be read (the result is shown without it).
 */
export async function ironicLastError(db: string, r: RunResult): Promise<string | null> {
  if (r.status !== 'failed' || db === ':memory:') return null;
  try {
    return await withReader(db, async (store) => {
      const row = await store.getRun(r.runId);
      return row
        ? (buildTimeline(row, await store.readStream(row.id)).failure?.ironicLastError ?? null)
        : null;
    });
  } catch {
    return null;
  }
}

/** `tcp://host:port`, with an IPv6 host in brackets. */
function consoleAddress(output: RunResult['output']): string | null {
  const c = output?.console;
  if (!c || typeof c !== 'object' || Array.isArray(c)) return null;
  const { host, port } = c;
  if (typeof host !== 'string' || typeof port !== 'number') return null;
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function describeResult(r: RunResult, ms: number, lastError: string | null = null): string {
  const secs = (ms / 1000).toFixed(1);
  const where = `instance ${r.instance ?? '-'}, node ${r.node ?? '-'}`;
  const lines: string[] = [];
  const e = r.error;
  // Where it happened in the machine, and the Ironic state the error reports, when they differ.
  const ironic = e && typeof e.state === 'string' && e.state !== r.failedIn ? e.state : null;
  const state = `${r.failedIn ? ` in ${r.failedIn}` : ''}${ironic ? ` (Ironic: ${ironic})` : ''}`;
  if (r.status === 'succeeded') {
    lines.push(`run ${r.runId}: ${r.op} succeeded in ${secs}s (${where})`);
    const address = consoleAddress(r.output);
    if (address) lines.push(`  console: ${address}`);
  } else if (r.status === 'interrupted') {
    // Still `running` in the store: resume continues it from its last recorded step.
    lines.push(
      `run ${r.runId}: ${r.op} INTERRUPTED${state} after ${secs}s (${where}); it stays resumable: ironledger resume ${r.runId}`,
    );
    if (e) lines.push(`  ${String(e.code ?? 'ERROR')}: ${String(e.message ?? '')}`);
  } else {
    lines.push(`run ${r.runId}: ${r.op} FAILED${state} after ${secs}s (${where})`);
    if (e) lines.push(`  ${String(e.code ?? 'ERROR')}: ${String(e.message ?? '')}`);
    const words = ironicWords(e, lastError);
    if (words) lines.push(`  Ironic last_error: ${words}`);
    lines.push(`  timeline: ironledger show ${r.runId}`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/** Exit codes of a process ended by a signal, as a shell reports them (128 + signal number). */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };
export type StopSignal = keyof typeof SIGNAL_EXIT;

/**
 * 0 succeeded; 130/143 interrupted by SIGINT/SIGTERM; 1 failed, cancelled, or interrupted for
 * another reason (the engine could not record the run's progress).
 */
export function exitCodeFor(r: RunResult, signal: StopSignal | null): number {
  if (r.status === 'succeeded') return EXIT_OK;
  if (r.status === 'interrupted' && signal) return SIGNAL_EXIT[signal];
  return EXIT_RUN_FAILED;
}

/**
 * SIGINT/SIGTERM while an engine drives runs: closes the engine, which settles every unfinished
 * run's `done` as `interrupted` (they stay resumable), so the command reports what `done` says.
 * A second signal while closing is not caught: it ends the process at once.
 */
export class Interruption {
  signal: StopSignal | null = null;
  private closed: Promise<void> | null = null;
  private readonly handler = (signal: NodeJS.Signals): void => this.interrupt(signal as StopSignal);

  constructor(
    private readonly engine: Engine,
    private readonly announce: (signal: StopSignal) => void,
  ) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  /** Waits for the close a signal started, if any, and stops listening for signals. */
  async dispose(): Promise<void> {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
    await this.closed;
  }

  /** What a caught signal does: stop listening, announce, close the engine. */
  interrupt(signal: StopSignal): void {
    if (this.signal) return;
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
    this.signal = signal;
    this.announce(signal);
    // A close that fails changes nothing for the command: its runs stay resumable either way.
    this.closed = this.engine.close({ deadlineMs: 2000 }).catch(() => undefined);
  }
}

/**
 * Waits for a run with a progress line; returns the exit code. `warnings`: the command's own,
 * added to the run's in what it prints.
 */
export async function follow(
  ctx: CliContext,
  engine: Engine,
  handle: RunHandle,
  warnings: string[] = [],
): Promise<number> {
  const progress = new Progress(`${handle.op} ${handle.id.slice(0, 8)}`, ctx.opts.json);
  const stop = handle.subscribe((p) => progress.set(p.state));
  const started = Date.now();
  const interruption = new Interruption(engine, () => {
    progress.stop();
    ctx.out.info(`\ninterrupted: run ${handle.id} stays resumable (ironledger resume ${handle.id})`);
  });
  let result: RunResult;
  try {
    result = await handle.done; // a signal closes the engine, which settles it as interrupted
  } finally {
    stop();
    progress.stop();
    await interruption.dispose();
  }
  const signal = interruption.signal;
  if (warnings.length > 0) result = { ...result, warnings: [...result.warnings, ...warnings] };
  // Interrupted by a signal: the stderr line said it all; --json still gets its document.
  if (!(signal && result.status === 'interrupted' && !ctx.opts.json)) {
    const lastError = await ironicLastError(ctx.opts.db, result);
    ctx.out.result(describeResult(result, Date.now() - started, lastError), resultDoc(result, lastError));
  }
  return exitCodeFor(result, signal);
}

/**
 * Until the engine is open (connecting to Ironic may take its retries), a signal has no run
 * to leave resumable: it ends the command with its exit code and, with --json, an error document.
 */
async function openInterruptibly(ctx: CliContext, open: () => Promise<Engine>): Promise<Engine> {
  const onSignal = (signal: NodeJS.Signals): void => {
    printError(ctx.opts.json, 'INTERRUPTED', `interrupted by ${signal} before any run started`);
    process.exit(SIGNAL_EXIT[signal as StopSignal] ?? EXIT_RUN_FAILED);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await open();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function openEngineInterruptibly(
  ctx: CliContext,
  extra: { resume?: boolean } = {},
): Promise<Engine> {
  return openInterruptibly(ctx, () => openEngine(ctx, extra));
}

async function runOne(
  globals: GlobalOptions,
  start: (engine: Engine) => RunHandle,
  warnings: string[] = [],
): Promise<number> {
  const ctx = makeContext(globals);
  const engine = await openEngineInterruptibly(ctx);
  try {
    const handle = start(engine);
    ctx.out.info(`run ${handle.id}: ${handle.op} started`);
    return await follow(ctx, engine, handle, warnings);
  } finally {
    await engine.close();
  }
}

/**
 * The user data file's bytes, unaltered. At most one byte past Nova's limit is read, so
 * /dev/zero, a FIFO or a huge file is refused at once instead of read whole.
 */
function readUserData(path: string): Uint8Array {
  const buf = Buffer.alloc(MAX_USER_DATA_BYTES + 1);
  let length = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
  } catch (err) {
    throw new CliError(`cannot read user data file ${path}: ${(err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (length > MAX_USER_DATA_BYTES) {
    throw new CliError(`${userDataTooLargeMessage(length, path)}.`, EXIT_USAGE, 'USER_DATA_TOO_LARGE');
  }
  return buf.subarray(0, length);
}

/** A required text option that must not be empty or blank. */
export function textOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new CliError(`${name} must not be empty.`);
  return value;
}

/** `--node`: a node UUID or a name Ironic accepts, checked before any run starts. */
export function nodeOption(value: string): string {
  if (isNodeIdent(value)) return value;
  const shown = value.length > 64 ? `${value.slice(0, 64)}...` : value;
  throw new CliError(
    `--node must be a node UUID or an Ironic node name (letters, digits and - . _ ~, at most 255), got ${JSON.stringify(shown)}.`,
  );
}

/** A command's --timeout as the machine input's timeoutS (absent: the operation's default). */
function waitTimeout(value: string | undefined): { timeoutS?: number } {
  return value === undefined ? {} : { timeoutS: durationOption('--timeout', value) };
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
    .description(
      'deploy an instance on a node: set its image, attach its VIFs, start filtering, then wait for active',
    )
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
    .option(
      '--timeout <duration>',
      'how long the wait may take, e.g. 90s, 30m, 2h; 0: no limit (default: no limit)',
    )
    .action(async (o: Record<string, string | string[] | undefined>) =>
      run(async (g) => {
        const secrets: RunSecrets = {};
        if (typeof o.userData === 'string') secrets.userData = readUserData(o.userData);
        if (typeof o.adminPasswordFile === 'string') {
          secrets.adminPassword = readSecretFile(o.adminPasswordFile, 'admin password').replace(/\r?\n$/, '');
        }
        const vifs = parseVifs((o.vif as string[]) ?? []);
        // Everything is checked before the engine opens: bad input never starts a run.
        const input: DeployInput = {
          instance: String(o.instance),
          node: nodeOption(String(o.node)),
          vifs,
          image: { source: textOption('--image-source', o.imageSource) },
          flavor: {
            vcpus: intOption('--vcpus', String(o.vcpus), 1, MAX_VCPUS),
            memoryMb: intOption('--memory-mb', String(o.memoryMb), 1, MAX_SIZE),
            rootGb: intOption('--root-gb', String(o.rootGb), 1, MAX_SIZE),
            ephemeralGb: intOption('--ephemeral-gb', String(o.ephemeralGb), 0, MAX_SIZE),
            swapMb: 0,
          },
          ...(typeof o.hostname === 'string' ? { hostname: o.hostname } : {}),
          configDrivePlan: {
            required: secrets.userData !== undefined || secrets.adminPassword !== undefined,
            hasAdminPassword: secrets.adminPassword !== undefined,
            hasUserData: secrets.userData !== undefined,
            injectedFiles: 0,
          },
          ...waitTimeout(typeof o.timeout === 'string' ? o.timeout : undefined),
        };
        return runOne(g, (engine) => engine.deploy(input, secrets));
      }),
    );

  program
    .command('destroy')
    .description('tear an instance down: detach its VIFs and stop filtering before unprovisioning the node')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--node <node>', 'node UUID (looked up by instance otherwise)')
    .option('--vif <id>', 'Neutron port to detach (repeatable)', collect, [])
    .option('--wait-for-available', 'wait until cleaning ends and the node is available')
    .option(
      '--timeout <duration>',
      'how long the wait may take, e.g. 90s, 30m, 2h; 0: no limit (default: 120s)',
    )
    .action(
      async (o: {
        instance: string;
        node?: string;
        vif: string[];
        waitForAvailable?: boolean;
        timeout?: string;
      }) =>
        run((g) => {
          const input: DestroyInput = {
            instance: o.instance,
            ...(o.node !== undefined ? { node: nodeOption(o.node) } : {}),
            vifs: o.vif,
            waitForAvailable: o.waitForAvailable === true,
            ...waitTimeout(o.timeout),
          };
          // Ironic's VIFs are detached only as named: without any, teardown leaves them attached.
          const warnings =
            o.vif.length === 0
              ? ['no --vif given, so no VIFs were detached (name each port of the instance with --vif)']
              : [];
          return runOne(g, (engine) => engine.destroy(input), warnings);
        }),
    );

  program
    .command('rebuild')
    .description('redeploy an instance on its node with a new image, and wait for active')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .requiredOption('--image-source <url>', 'image URL or Glance UUID')
    .option('--node <node>', 'node UUID')
    .option('--preserve-ephemeral', 'keep the ephemeral partition')
    .option('--root-gb <n>', 'root disk size in GiB', '10')
    .option(
      '--timeout <duration>',
      'how long the wait may take, e.g. 90s, 30m, 2h; 0: no limit (default: no limit)',
    )
    .action(
      async (o: {
        instance: string;
        imageSource: string;
        node?: string;
        preserveEphemeral?: boolean;
        rootGb: string;
        timeout?: string;
      }) =>
        run((g) => {
          const input: RebuildInput = {
            instance: o.instance,
            ...(o.node !== undefined ? { node: nodeOption(o.node) } : {}),
            image: { source: textOption('--image-source', o.imageSource) },
            flavor: {
              vcpus: 1,
              memoryMb: 1024,
              rootGb: intOption('--root-gb', o.rootGb, 1, MAX_SIZE),
              ephemeralGb: 0,
              swapMb: 0,
            },
            preserveEphemeral: o.preserveEphemeral === true,
            ...waitTimeout(o.timeout),
          };
          return runOne(g, (engine) => engine.rebuild(input));
        }),
    );

  program
    .command('reboot')
    .description('reboot an instance; --soft falls back to hard when Ironic refuses soft')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--soft', 'soft reboot first')
    .option(
      '--timeout <duration>',
      'how long the wait may take, e.g. 90s, 30m, 2h; 0: no limit (default: no limit)',
    )
    .action(async (o: { instance: string; soft?: boolean; timeout?: string }) =>
      run((g) => {
        const input: RebootInput = { instance: o.instance, soft: o.soft === true, ...waitTimeout(o.timeout) };
        return runOne(g, (engine) => engine.reboot(input));
      }),
    );

  program
    .command('power-off')
    .description('power an instance off; with --soft-timeout, soft first then hard')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--soft-timeout <s>', 'seconds to wait for a soft power off before a hard one')
    .option(
      '--timeout <duration>',
      'how long the wait may take, e.g. 90s, 30m, 2h; 0: no limit (default: no limit)',
    )
    .action(async (o: { instance: string; softTimeout?: string; timeout?: string }) =>
      run((g) => {
        const input: PowerOffInput = {
          instance: o.instance,
          ...waitTimeout(o.timeout),
          ...(o.softTimeout !== undefined
            ? { softTimeoutSeconds: intOption('--soft-timeout', o.softTimeout, 1, MAX_SECONDS) }
            : {}),
        };
        return runOne(g, (engine) => engine.powerOff(input));
      }),
    );

  program
    .command('power-on')
    .description('power an instance on and wait until it is on')
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option(
      '--timeout <duration>',
      'how long the wait may take, e.g. 90s, 30m, 2h; 0: no limit (default: no limit)',
    )
    .action(async (o: { instance: string; timeout?: string }) =>
      run((g) => {
        const input: PowerOnInput = { instance: o.instance, ...waitTimeout(o.timeout) };
        return runOne(g, (engine) => engine.powerOn(input));
      }),
    );

  program
    .command('console')
    .description(
      "print the address (tcp://host:port) of an instance's serial console; an enabled console is reset first to free a held session",
    )
    .requiredOption('--instance <uuid>', 'instance UUID')
    .option('--timeout <s>', 'seconds to wait for the console mode to change', '10')
    .action(async (o: { instance: string; timeout: string }) =>
      run((g) => {
        const timeoutMs = intOption('--timeout', o.timeout, 1, MAX_SECONDS) * 1000;
        return runOne(g, (engine) => engine.console({ instance: o.instance, timeoutMs }));
      }),
    );
}
