// Global options shared by every command, resolved once from flags and environment.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { LevelWithSilent, Logger } from 'pino';
import type { IronicClientOptions } from '../ironic/client.js';
import type { HttpAttempt, HttpObserver } from '../ironic/types.js';
import { createLogger } from '../engine/logger.js';
import { CliError, makeOut, type Out } from './output.js';

export interface GlobalOptions {
  ironicUrl?: string;
  token?: string;
  db: string;
  json: boolean;
  logLevel: string;
  pollInterval: string;
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

export const DEFAULT_DB = './ironledger.db';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function makeContext(opts: GlobalOptions): CliContext {
  if (!LEVELS.includes(opts.logLevel)) {
    throw new CliError(
      `--log-level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(opts.logLevel)}.`,
    );
  }
  // IRONLEDGER_DB= (set but empty) means the default database, as if unset.
  const resolved = { ...opts, db: nonEmpty(opts.db) ?? DEFAULT_DB };
  return {
    opts: resolved,
    out: makeOut(opts.json),
    log: createLogger(opts.logLevel as LevelWithSilent, humanLines()),
  };
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

/** Largest delay Node's timers take (2^31-1 ms); above it setTimeout fires after 1 ms. */
export const MAX_MS = 2_147_483_647;
/** Largest number of seconds that still fits MAX_MS once turned into milliseconds. */
export const MAX_SECONDS = Math.floor(MAX_MS / 1000);
/** Bound of counts: polls, retries, list limits, nodes. */
export const MAX_COUNT = 1_000_000;

/**
 * A decimal integer option in [min, max]: no sign but `-`, no hex, no exponent, no fraction,
 * so `0x2`, `1e1` and `2.0` are refused rather than read as some other number.
 */
/**
 * A duration such as `90s`, `30m`, `2h`, `1500ms` or a bare number of seconds, in seconds.
 * `0` means no limit where the option allows it.
 */
export function durationOption(name: string, value: string, max = MAX_SECONDS): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) {
    throw new CliError(
      `${name} must be a duration such as 90s, 30m or 2h (a bare number is seconds), got ${JSON.stringify(value)}.`,
    );
  }
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const seconds = Number(m[1]) * unit;
  if (seconds > max) throw new CliError(`${name} must be at most ${max} s, got ${JSON.stringify(value)}.`);
  return seconds;
}

export function intOption(name: string, value: string, min = 0, max = MAX_COUNT): number {
  const text = value.trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`);
  }
  return n;
}

/** An option or variable set to the empty string counts as not set. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Retries worth telling a person about while a command would otherwise sit silent. */
const RETRY_REASONS: Record<string, string> = {
  IRONIC_NETWORK: 'Ironic unreachable',
  IRONIC_TIMEOUT: 'Ironic did not answer in time',
  IRONIC_UNAVAILABLE: 'Ironic unavailable (503)',
  IRONIC_NODE_LOCKED: 'node locked by Ironic (409)',
  IRONIC_CONFLICT: 'Ironic conflict (409)',
};

/** At most one retry line per this many ms. */
export const RETRY_NOTICE_EVERY_MS = 5000;

/**
 * An Ironic observer that prints one stderr line per retry, at most every `everyMs`:
 * `Ironic unreachable (IRONIC_NETWORK), retrying 3/60 (GET /)...`. Silent with --json.
 */
export function retryNotifier(
  out: Out,
  maxRetries: number,
  everyMs = RETRY_NOTICE_EVERY_MS,
  now: () => number = Date.now,
): HttpObserver {
  let last = -Infinity;
  return (a: HttpAttempt) => {
    if (!a.willRetry || out.json) return;
    const t = now();
    if (t - last < everyMs) return;
    last = t;
    const code = a.errorCode ?? (a.status === null ? 'IRONIC_NETWORK' : `HTTP ${a.status}`);
    const reason = RETRY_REASONS[code] ?? 'Ironic request failed';
    out.notice(`${reason} (${code}), retrying ${a.attempt}/${maxRetries} (${a.method} ${a.path})...`);
  };
}

export function ironicOptions(ctx: CliContext): IronicClientOptions {
  // An empty IRONIC_URL (or --ironic-url '') does not hide OS_ENDPOINT.
  const url =
    nonEmpty(ctx.opts.ironicUrl) ?? nonEmpty(process.env.IRONIC_URL) ?? nonEmpty(process.env.OS_ENDPOINT);
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
  const token = nonEmpty(ctx.opts.token) ?? nonEmpty(process.env.OS_TOKEN);
  const maxRetries = intOption('--max-retries', ctx.opts.maxRetries, 0, MAX_COUNT);
  return {
    url,
    auth: token ? { type: 'token', token } : { type: 'noauth' },
    tls:
      ctx.opts.caFile || ctx.opts.insecure
        ? { caFile: ctx.opts.caFile, insecure: ctx.opts.insecure === true }
        : undefined,
    maxRetries,
    retryIntervalMs: intOption('--retry-interval', ctx.opts.retryInterval, 0, MAX_MS),
    observer: retryNotifier(ctx.out, maxRetries),
  };
}

export function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} file ${path}: ${(err as Error).message}`);
  }
}
