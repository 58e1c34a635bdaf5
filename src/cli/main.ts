#!/usr/bin/env node
// The `ironledger` command. Exit codes: 0 success, 1 the run failed or was stopped (its id
// printed), 2 bad usage or bad input, 3 the environment failed before a run started (Ironic
// unreachable or refusing the credentials, the store locked, corrupt or gone), 130/143 a signal.
// Failures are one line (one JSON document with --json), never a stack trace.
import { Command, CommanderError, Option } from 'commander';
import type { GlobalOptions } from './context.js';
import { describeError, EXIT_USAGE, exitCodeOfError, oneLine, printError } from './output.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerHistoryCommands } from './commands/history.js';
import { registerLifecycleCommands } from './commands/lifecycle.js';
import { registerSimCommand } from './commands/sim.js';
import { registerInventoryCommands } from './commands/inventory.js';
import { registerCompletionCommand } from './completion.js';
import { registerDiffCommand } from './commands/diff.js';
import { readFileSync } from 'node:fs';

/** The installed package's version: package.json sits two levels above dist/cli/main.js. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const program = new Command();
program
  .name('ironledger')
  .description(
    'Drive Ironic bare-metal nodes through instance lifecycles; every step recorded, replayable, resumable.',
  )
  .version(packageVersion(), '--version', 'print the version of ironledger')
  .addOption(
    new Option('--db <path>', 'event store: a SQLite file, or a postgres:// URL')
      .env('IRONLEDGER_DB')
      .default('./ironledger.db'),
  )
  .option('--json', 'print one JSON document', false)
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace, silent', 'warn')
  .option('--poll-interval <ms>', 'node watcher interval', '2000')
  .option('--max-retries <n>', 'retries of a 409/503/connection failure', '60')
  .option('--retry-interval <ms>', 'wait between retries', '2000')
  .option(
    '--metrics-port <port>',
    'serve Prometheus metrics at GET /metrics while a lifecycle command, resume or demo runs',
  )
  .option('--metrics-host <host>', 'address --metrics-port listens on', '127.0.0.1')
  // Cloud options: each overrides the same setting from OS_* variables and clouds.yaml. Their
  // variables are read by cloud-config.ts (flag > environment > file), not by commander.
  .option('--os-cloud <name>', 'cloud of clouds.yaml to use (env OS_CLOUD)')
  .option(
    '--os-auth-type <type>',
    'none, http_basic, token, v3token, admin_token, password, v3password, v3applicationcredential (env OS_AUTH_TYPE)',
  )
  .option('--os-auth-url <url>', 'Keystone URL (env OS_AUTH_URL)')
  .option('--os-username <name>', 'user name, Keystone or http_basic (env OS_USERNAME)')
  .option('--os-user-id <id>', 'Keystone user id (env OS_USER_ID)')
  .option('--os-password <password>', 'password, Keystone or http_basic (env OS_PASSWORD)')
  .option('--os-project-name <name>', 'Keystone project to scope to (env OS_PROJECT_NAME)')
  .option('--os-project-id <id>', 'Keystone project id (env OS_PROJECT_ID)')
  .option('--os-user-domain-name <name>', "the user's domain (env OS_USER_DOMAIN_NAME)")
  .option('--os-user-domain-id <id>', "the user's domain id (env OS_USER_DOMAIN_ID)")
  .option('--os-project-domain-name <name>', "the project's domain (env OS_PROJECT_DOMAIN_NAME)")
  .option('--os-project-domain-id <id>', "the project's domain id (env OS_PROJECT_DOMAIN_ID)")
  .option(
    '--os-default-domain <id>',
    'domain of names given without one (env OS_DEFAULT_DOMAIN; default: default)',
  )
  .option(
    '--os-token <token>',
    'token: sent as it is, or exchanged with Keystone given --os-auth-url (env OS_TOKEN)',
  )
  .option('--token <token>', 'alias of --os-token')
  .option(
    '--os-application-credential-id <id>',
    'Keystone application credential (env OS_APPLICATION_CREDENTIAL_ID)',
  )
  .option('--os-application-credential-name <name>', 'application credential by name, with --os-username')
  .option(
    '--os-application-credential-secret <secret>',
    'application credential secret (env OS_APPLICATION_CREDENTIAL_SECRET)',
  )
  .option('--os-endpoint <url>', 'Ironic endpoint, skipping the catalog (env OS_ENDPOINT)')
  .option('--os-url <url>', 'alias of --os-endpoint (env OS_URL)')
  .option('--ironic-url <url>', 'alias of --os-endpoint (env IRONIC_URL)')
  .option('--os-region-name <region>', 'catalog region (env OS_REGION_NAME)')
  .option('--os-interface <interface>', 'catalog interface: public, internal, admin (env OS_INTERFACE)')
  .option(
    '--os-baremetal-api-version <version>',
    'highest Ironic microversion, e.g. 1.78 (env OS_BAREMETAL_API_VERSION)',
  )
  .option('--os-cacert <path>', 'CA bundle for TLS endpoints (env OS_CACERT)')
  .option('--ca-file <path>', 'alias of --os-cacert')
  .option('--os-cert <path>', 'client certificate, with --os-key (env OS_CERT)')
  .option('--os-key <path>', 'client key (env OS_KEY)')
  .option('--insecure', 'do not verify TLS certificates (env OS_INSECURE)')
  // A usage error prints one line (and a hint where the help is), not the whole help; the
  // catch below prints it, so commander's own error output is silenced.
  .configureOutput({ outputError: () => undefined })
  .exitOverride();

/** --json or -f json, also when commander stopped before it could parse them. */
function wantsJson(): boolean {
  if (program.opts<GlobalOptions>().json === true) return true;
  const args = process.argv.slice(2);
  const end = args.indexOf('--');
  const given = end === -1 ? args : args.slice(0, end);
  return given.some(
    (a, i) =>
      a === '--json' ||
      a === '--format=json' ||
      a === '-fjson' ||
      ((a === '-f' || a === '--format') && given[i + 1] === 'json'),
  );
}

// `-f json` is `--json`: the result and any error are one JSON document.
program.hook('preAction', (_program, action) => {
  if (action.opts<{ format?: string }>().format === 'json') program.setOptionValue('json', true);
});

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
    process.exitCode = exitCodeOfError(err);
  }
}

registerLifecycleCommands(program, run);
registerHistoryCommands(program, run);
registerSimCommand(program, run);
registerDemoCommand(program, run);
registerInventoryCommands(program, run);
registerDiffCommand(program, run);
registerCompletionCommand(program, run);

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
    process.exitCode = exitCodeOfError(err);
  }
}
