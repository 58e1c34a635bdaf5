// Everything the CLI prints goes through here: results on stdout (one JSON document
// with --json), progress and diagnostics on stderr, progress only on a TTY.
import { IronicError } from '../ironic/errors.js';
import { EngineError } from '../engine/errors.js';
import { StoreError, type StoreErrorCode } from '../store/errors.js';

export const EXIT_OK = 0;
/** A run was started and did not succeed: it failed, or was stopped (interrupted) by something other than a signal. */
export const EXIT_RUN_FAILED = 1;
/** Bad usage or bad input: the command as given can never work. */
export const EXIT_USAGE = 2;
/** No run was started because the environment failed: Ironic unreachable or refusing us, the store unusable. */
export const EXIT_ENVIRONMENT = 3;

/** Ironic errors that say nothing about the command: it would work against a reachable, willing Ironic. */
const IRONIC_ENVIRONMENT = new Set([
  'IRONIC_NETWORK',
  'IRONIC_TIMEOUT',
  'IRONIC_UNAVAILABLE',
  'IRONIC_SERVER_ERROR',
  'IRONIC_CONCURRENT_ACTION_LIMIT',
  'IRONIC_NOT_ACCEPTABLE',
  'IRONIC_MALFORMED_RESPONSE',
  'IRONIC_RESPONSE_TOO_LARGE',
  'IRONIC_DEADLINE_EXCEEDED',
  'IRONIC_VERSION_UNSUPPORTED',
  'IRONIC_UNAUTHORIZED',
  'KEYSTONE_UNAUTHORIZED',
  'KEYSTONE_UNAVAILABLE',
]);

/** Store errors of the file or its holder, not of the --db path or run id given. */
const STORE_ENVIRONMENT = new Set<StoreErrorCode>([
  'STORE_LOCKED',
  'STORE_RUN_OWNED',
  'STORE_RUN_HELD',
  'STORE_RUN_NOT_OWNED',
  'STORE_BUSY',
  'STORE_CORRUPT',
  'STORE_FILE_GONE',
  'STORE_DISK_FULL',
  'STORE_READ_ONLY',
  'STORE_IO',
  'STORE_UNREACHABLE',
  'STORE_AUTH_FAILED',
  'STORE_SCHEMA_TOO_NEW',
  'STORE_SCHEMA_OUTDATED',
]);

/** The exit code of a command that ended with `err` before it had a run's result to report. */
export function exitCodeOfError(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  // Another process drives the node or instance: the command is fine, the moment is not.
  // A replica refuses another replica's node (ENGINE_NODE_NOT_OWNED): send it to the owner named.
  if (err instanceof EngineError && (err.code === 'ENGINE_NODE_BUSY' || err.code === 'ENGINE_NODE_NOT_OWNED'))
    return EXIT_ENVIRONMENT;
  if (err instanceof IronicError) {
    const refused = err.status === 401 || err.status === 403;
    return refused || IRONIC_ENVIRONMENT.has(err.code) ? EXIT_ENVIRONMENT : EXIT_USAGE;
  }
  if (err instanceof StoreError) return STORE_ENVIRONMENT.has(err.code) ? EXIT_ENVIRONMENT : EXIT_USAGE;
  return EXIT_USAGE;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
    readonly code: string = 'CLI_USAGE',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Out {
  json: boolean;
  result(human: string, json: unknown): void;
  info(line: string): void;
  /** Like info, but first clears a progress line being drawn on a TTY (it redraws itself). */
  notice(line: string): void;
  warn(line: string): void;
}

/**
 * Whether this process has printed its --json document. stdout is the process's: a failure after
 * the result (closing the engine) must not add a second document that a script cannot parse.
 */
let documentPrinted = false;

export function makeOut(json: boolean): Out {
  return {
    json,
    result(human, doc) {
      if (json) {
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        documentPrinted = true;
      } else if (human) process.stdout.write(`${human}\n`);
    },
    info(line) {
      if (!json) process.stderr.write(`${line}\n`);
    },
    notice(line) {
      if (!json) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}${line}\n`);
    },
    warn(line) {
      process.stderr.write(`warning: ${line}\n`);
    },
  };
}

/** A one-line reason for any error: never a stack trace as the only message. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof IronicError) {
    // The transport's messages already start with `METHOD /path`; name the request only once.
    const request = err.method && err.path ? `${err.method} ${err.path}` : '';
    const where =
      request && !err.message.includes(request)
        ? ` (${request}${err.status ? ` -> ${err.status}` : ''})`
        : '';
    return { code: err.code, message: oneLine(`${err.message}${where}`) };
  }
  if (err instanceof EngineError || err instanceof CliError)
    return { code: err.code, message: oneLine(err.message) };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'ERROR', message: oneLine(err.message) };
  }
  return { code: 'ERROR', message: oneLine(String(err)) };
}

/** Line breaks (commander's "Did you mean" hints, multi-line causes) become spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Prints a failure the CLI contract's way: one JSON document with --json (unless the result
 * already was that document: then only the line), one line on stderr.
 */
export function printError(json: boolean, code: string, message: string): void {
  if (json && !documentPrinted) {
    process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    documentPrinted = true;
  }
  process.stderr.write(`ironledger: ${message} [${code}]\n`);
}

/** Shows the current state and elapsed time while a command waits; TTY only. */
export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private state = 'starting';
  private readonly startedAt = Date.now();
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    json: boolean,
  ) {
    this.enabled = !json && process.stderr.isTTY === true;
    if (this.enabled) this.timer = setInterval(() => this.draw(), 200);
  }

  set(state: string): void {
    this.state = state;
    if (this.enabled) this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }

  private draw(): void {
    const secs = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    process.stderr.write(`\r\x1b[2K${this.label}  ${this.state}  ${secs}s`);
  }
}
