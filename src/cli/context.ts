// Global options shared by every command, resolved once from flags and environment.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { LevelWithSilent, Logger } from 'pino';
import type { IronicClientOptions } from '../ironic/client.js';
import { createLogger } from '../engine/logger.js';
import { CliError, makeOut, type Out } from './output.js';

export interface GlobalOptions {
  ironicUrl?: string;
  token?: string;
  db: string;
  json: boolean;
  logLevel: string;
  pollInterval: string;
  maxPolls: string;
  maxRetries: string;
  retryInterval: string;
  caFile?: string;
  insecure?: boolean;
}

export interface CliContext {
  opts: GlobalOptions;
  out: Out;
  log: Logger;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function makeContext(opts: GlobalOptions): CliContext {
  if (!LEVELS.includes(opts.logLevel)) {
    throw new CliError(
      `--log-level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(opts.logLevel)}.`,
    );
  }
  return { opts, out: makeOut(opts.json), log: createLogger(opts.logLevel as LevelWithSilent, humanLines()) };
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};

/** pino's JSON lines as `ironledger: warning: message (key=value ...)` for a person on stderr. */
function humanLines(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const { level, msg, time: _time, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const facts = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          process.stderr.write(
            `ironledger: ${LEVEL_NAMES[Number(level)] ?? 'log'}: ${String(msg)}${facts ? ` (${facts})` : ''}\n`,
          );
        } catch {
          process.stderr.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

export function intOption(name: string, value: string, min = 0): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}.`);
  return n;
}

export function ironicOptions(ctx: CliContext): IronicClientOptions {
  const url = ctx.opts.ironicUrl ?? process.env.IRONIC_URL ?? process.env.OS_ENDPOINT;
  if (!url) {
    throw new CliError(
      'No Ironic endpoint: pass --ironic-url URL or set IRONIC_URL (or OS_ENDPOINT). For a local simulator: `ironledger sim`.',
    );
  }
  try {
    new URL(url);
  } catch {
    throw new CliError(`--ironic-url is not a URL: ${JSON.stringify(url)}.`);
  }
  const token = ctx.opts.token ?? process.env.OS_TOKEN;
  return {
    url,
    auth: token ? { type: 'token', token } : { type: 'noauth' },
    tls:
      ctx.opts.caFile || ctx.opts.insecure
        ? { caFile: ctx.opts.caFile, insecure: ctx.opts.insecure === true }
        : undefined,
    maxRetries: intOption('--max-retries', ctx.opts.maxRetries),
    retryIntervalMs: intOption('--retry-interval', ctx.opts.retryInterval),
  };
}

export function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} file ${path}: ${(err as Error).message}`);
  }
}
