// Everything the CLI prints goes through here: results on stdout (one JSON document
// with --json), progress and diagnostics on stderr, progress only on a TTY.
import { IronicError } from '../ironic/errors.js';
import { EngineError } from '../engine/errors.js';

export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_USAGE = 2;

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
  warn(line: string): void;
}

export function makeOut(json: boolean): Out {
  return {
    json,
    result(human, doc) {
      if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      else if (human) process.stdout.write(`${human}\n`);
    },
    info(line) {
      if (!json) process.stderr.write(`${line}\n`);
    },
    warn(line) {
      process.stderr.write(`warning: ${line}\n`);
    },
  };
}

/** A one-line reason for any error: never a stack trace as the only message. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof IronicError) {
    const where =
      err.method && err.path ? ` (${err.method} ${err.path}${err.status ? ` -> ${err.status}` : ''})` : '';
    return { code: err.code, message: `${err.message}${where}` };
  }
  if (err instanceof EngineError || err instanceof CliError) return { code: err.code, message: err.message };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'ERROR', message: err.message };
  }
  return { code: 'ERROR', message: String(err) };
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
