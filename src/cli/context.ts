// Global options shared by every command, resolved once from flags and environment.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { Writable } from 'node:stream';
import type { LevelWithSilent, Logger } from 'pino';
import { clientOptionsOf, type IronicClientOptions } from '../ironic/client.js';
import { resolveCloudSettings, type CloudFlags } from '../ironic/cloud-config.js';
import type { CloudSettings } from '../ironic/cloud-settings.js';
import type { HttpAttempt, HttpObserver } from '../ironic/types.js';
import { createLogger } from '../engine/logger.js';
import { CliError, makeOut, type Out } from './output.js';

export interface GlobalOptions {
  /** --ironic-url: the Ironic endpoint (alias of --os-endpoint). */
  ironicUrl?: string;
  /** --token: alias of --os-token. */
  token?: string;
  osCloud?: string;
  osAuthType?: string;
  osAuthUrl?: string;
  osUsername?: string;
  osUserId?: string;
  osPassword?: string;
  osProjectName?: string;
  osProjectId?: string;
  osUserDomainName?: string;
  osUserDomainId?: string;
  osProjectDomainName?: string;
  osProjectDomainId?: string;
  osDefaultDomain?: string;
  osToken?: string;
  osUrl?: string;
  osEndpoint?: string;
  osApplicationCredentialId?: string;
  osApplicationCredentialName?: string;
  osApplicationCredentialSecret?: string;
  osRegionName?: string;
  osInterface?: string;
  osCacert?: string;
  osCert?: string;
  osKey?: string;
  osBaremetalApiVersion?: string;
  db: string;
  json: boolean;
  logLevel: string;
  pollInterval: string;
  maxRetries: string;
  retryInterval: string;
  /** --ca-file: alias of --os-cacert. */
  caFile?: string;
  /** --metrics-port: serve the engine's Prometheus metrics while a long-running command runs. */
  metricsPort?: string;
  /** --metrics-host: where --metrics-port listens (default 127.0.0.1). */
  metricsHost?: string;
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
  IRONIC_CONCURRENT_ACTION_LIMIT: "Ironic's concurrent action limit reached (500)",
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

/** The first of several spellings of one flag that was given, and its name for messages. */
function firstFlag(...given: Array<[string | undefined, string]>): [string | undefined, string | undefined] {
  for (const [value, name] of given) if (nonEmpty(value) !== undefined) return [value, name];
  return [undefined, undefined];
}

/** The `--os-*` flags (and their older aliases) as the cloud settings they set. */
export function cloudFlagsOf(opts: GlobalOptions): {
  flags: CloudFlags;
  flagNames: Partial<Record<keyof CloudFlags, string>>;
} {
  const [endpoint, endpointFlag] = firstFlag(
    [opts.ironicUrl, '--ironic-url'],
    [opts.osEndpoint, '--os-endpoint'],
    [opts.osUrl, '--os-url'],
  );
  const [token, tokenFlag] = firstFlag([opts.osToken, '--os-token'], [opts.token, '--token']);
  const [cacert, cacertFlag] = firstFlag([opts.osCacert, '--os-cacert'], [opts.caFile, '--ca-file']);
  const flags: CloudFlags = {
    cloud: opts.osCloud,
    authType: opts.osAuthType,
    authUrl: opts.osAuthUrl,
    username: opts.osUsername,
    userId: opts.osUserId,
    password: opts.osPassword,
    projectName: opts.osProjectName,
    projectId: opts.osProjectId,
    userDomainName: opts.osUserDomainName,
    userDomainId: opts.osUserDomainId,
    projectDomainName: opts.osProjectDomainName,
    projectDomainId: opts.osProjectDomainId,
    defaultDomain: opts.osDefaultDomain,
    token,
    appCredId: opts.osApplicationCredentialId,
    appCredName: opts.osApplicationCredentialName,
    appCredSecret: opts.osApplicationCredentialSecret,
    endpoint,
    region: opts.osRegionName,
    interface: opts.osInterface,
    microversion: opts.osBaremetalApiVersion,
    cacert,
    cert: opts.osCert,
    key: opts.osKey,
    insecure: opts.insecure === true,
  };
  const flagNames: Partial<Record<keyof CloudFlags, string>> = {};
  if (endpointFlag) flagNames.endpoint = endpointFlag;
  if (tokenFlag) flagNames.token = tokenFlag;
  if (cacertFlag) flagNames.cacert = cacertFlag;
  return { flags, flagNames };
}

/**
 * Where Ironic is and how to authenticate, from the flags, the OS_* variables and clouds.yaml
 * (flag > environment > file). A CloudConfigError (exit 2) says what is wrong, never a secret.
 */
export function cloudSettings(ctx: CliContext): CloudSettings {
  const { flags, flagNames } = cloudFlagsOf(ctx.opts);
  return resolveCloudSettings({ flags, flagNames, env: process.env, cwd: process.cwd(), home: homedir() });
}

/**
 * The Ironic client options of a command: where Ironic is and how to authenticate (any auth
 * kind: Keystone ones find Ironic in the catalog unless an endpoint is given), with the
 * command's retry options and a notice of each retry on stderr.
 */
export function ironicOptions(ctx: CliContext): IronicClientOptions {
  const maxRetries = intOption('--max-retries', ctx.opts.maxRetries, 0, MAX_COUNT);
  const retryIntervalMs = intOption('--retry-interval', ctx.opts.retryInterval, 0, MAX_MS);
  return {
    ...clientOptionsOf(cloudSettings(ctx)),
    maxRetries,
    retryIntervalMs,
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
