#!/usr/bin/env node
// The `ironledger` command. Exit codes: 0 success, 1 the run failed (its id printed),
// 2 bad usage or bad input (one line, no stack trace).
import { Command, CommanderError, Option } from 'commander';
import type { GlobalOptions } from './context.js';
import { CliError, describeError, EXIT_USAGE } from './output.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerHistoryCommands } from './commands/history.js';
import { registerLifecycleCommands } from './commands/lifecycle.js';
import { registerSimCommand } from './commands/sim.js';
import { registerInventoryCommands } from './commands/inventory.js';

const program = new Command();
program
  .name('ironledger')
  .description(
    'Drive Ironic bare-metal nodes through instance lifecycles; every step recorded, replayable, resumable.',
  )
  .addOption(new Option('--ironic-url <url>', 'Ironic API endpoint').env('IRONIC_URL'))
  .addOption(new Option('--token <token>', 'auth token (X-Auth-Token)').env('OS_TOKEN'))
  .addOption(
    new Option('--db <path>', 'event store (SQLite)').env('IRONLEDGER_DB').default('./ironledger.db'),
  )
  .option('--json', 'print one JSON document', false)
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace, silent', 'warn')
  .option('--poll-interval <ms>', 'node watcher interval', '2000')
  .option('--max-polls <n>', 'node observations a wait may take before it fails', '60')
  .option('--max-retries <n>', 'retries of a 409/503/connection failure', '60')
  .option('--retry-interval <ms>', 'wait between retries', '2000')
  .option('--ca-file <path>', 'CA bundle for a TLS endpoint')
  .option('--insecure', 'do not verify the TLS certificate')
  .showHelpAfterError()
  .exitOverride();

async function run(fn: (g: GlobalOptions) => Promise<number>): Promise<void> {
  const globals = program.opts<GlobalOptions>();
  try {
    process.exitCode = await fn(globals);
  } catch (err) {
    const { code, message } = describeError(err);
    const exit = err instanceof CliError ? err.exitCode : EXIT_USAGE;
    if (globals.json) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    process.stderr.write(`ironledger: ${message} [${code}]\n`);
    process.exitCode = exit;
  }
}

registerLifecycleCommands(program, run);
registerHistoryCommands(program, run);
registerSimCommand(program, run);
registerDemoCommand(program, run);
registerInventoryCommands(program, run);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    process.stderr.write(`ironledger: ${describeError(err).message}\n`);
    process.exitCode = EXIT_USAGE;
  }
}
