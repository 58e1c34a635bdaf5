#!/usr/bin/env node
// The `ironledger` command. Exit codes: 0 success, 1 the run failed (its id printed),
// 2 bad usage or bad input (one line, no stack trace).
import { Command, CommanderError, Option } from 'commander';
import type { GlobalOptions } from './context.js';
import { CliError, describeError, EXIT_USAGE, oneLine, printError } from './output.js';
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
  .option('--max-retries <n>', 'retries of a 409/503/connection failure', '60')
  .option('--retry-interval <ms>', 'wait between retries', '2000')
  .option('--ca-file <path>', 'CA bundle for a TLS endpoint')
  .option('--insecure', 'do not verify the TLS certificate')
  // A usage error prints one line (and a hint where the help is), not the whole help; the
  // catch below prints it, so commander's own error output is silenced.
  .configureOutput({ outputError: () => undefined })
  .exitOverride();

/** --json, also when commander stopped before it could parse it. */
function wantsJson(): boolean {
  if (program.opts<GlobalOptions>().json === true) return true;
  const args = process.argv.slice(2);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** A commander usage error and the command whose help explains it. */
class UsageError extends Error {
  constructor(
    readonly commanderError: CommanderError,
    readonly command: string,
  ) {
    super(commanderError.message);
    this.name = 'UsageError';
  }
}

async function run(fn: (g: GlobalOptions) => Promise<number>): Promise<void> {
  const globals = program.opts<GlobalOptions>();
  try {
    process.exitCode = await fn(globals);
  } catch (err) {
    const { code, message } = describeError(err);
    printError(globals.json, code, message);
    process.exitCode = err instanceof CliError ? err.exitCode : EXIT_USAGE;
  }
}

registerLifecycleCommands(program, run);
registerHistoryCommands(program, run);
registerSimCommand(program, run);
registerDemoCommand(program, run);
registerInventoryCommands(program, run);

// Each subcommand names itself in the hint of its usage errors.
for (const cmd of program.commands) {
  cmd.exitOverride((err) => {
    throw new UsageError(err, `${program.name()} ${cmd.name()}`);
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const usage =
    err instanceof UsageError
      ? err
      : err instanceof CommanderError
        ? new UsageError(err, program.name())
        : null;
  if (usage && usage.commanderError.exitCode === 0) {
    process.exitCode = 0; // --help
  } else if (usage) {
    // commander.help: no command given; commander has printed the help on stderr.
    const reason =
      usage.commanderError.code === 'commander.help'
        ? 'no command given'
        : oneLine(usage.commanderError.message.replace(/^error: /, ''));
    printError(wantsJson(), 'CLI_USAGE', `${reason} (see '${usage.command} --help')`);
    process.exitCode = EXIT_USAGE;
  } else {
    const { code, message } = describeError(err);
    printError(wantsJson(), code, message);
    process.exitCode = EXIT_USAGE;
  }
}
