// The HTTP layer under IronicClient: one keep-alive undici Pool per client, shared by
// every call and every observer view; auth and microversion headers; per-attempt
// timeouts; AbortSignal; and the retry policy of Nova's Ironic client wrapper.
import { readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import {
  IronicAbortedError,
  IronicAnswerLostError,
  IronicError,
  IronicInvalidInputError,
  IronicMalformedResponseError,
  IronicNetworkError,
  IronicTimeoutError,
} from './errors.js';
import { errorForStatus, snippetOf } from './fault.js';
import type { CallOptions, HttpAttempt, HttpObserver } from './types.js';
import { assertTimeoutMs } from './validate.js';
import { WireShapeError } from './wire.js';

export type IronicAuth =
  | { type: 'noauth' }
  | { type: 'basic'; username: string; password: string }
  /** Keystone (or any) token, sent as X-Auth-Token. */
  | { type: 'token'; token: string };

export interface IronicTlsOptions {
  /** PEM file of the CA that signed Ironic's certificate. */
  caFile?: string;
  /** Skip certificate verification. Only when explicitly asked for. */
  insecure?: boolean;
}

export interface TransportOptions {
  /** Ironic's endpoint, e.g. http://127.0.0.1:6385 or https://cloud/baremetal. */
  url: string;
  auth?: IronicAuth;
  tls?: IronicTlsOptions;
  /** Per attempt; 0 disables the timeout. Default 30 000. */
  timeoutMs?: number;
  /** Retries after the first attempt for 409 / 503 / network / timeout (Nova: api_max_retries). Default 60. */
  maxRetries?: number;
  /** Wait between attempts (Nova: api_retry_interval). Default 2000. */
  retryIntervalMs?: number;
  /** Sees every attempt of every call. */
  observer?: HttpObserver;
  /** Keep-alive connections in the pool. Default 8. */
  connections?: number;
  /**
   * Each wait between attempts is retryIntervalMs spread by up to this fraction either way, so
   * that thousands of runs answered 503 together do not all retry in the same instant. Default 0.2.
   */
  retryJitter?: number;
  /** The draws the jitter takes, in [0, 1): tests seed it. Default Math.random. */
  random?: () => number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestSpec {
  method: HttpMethod;
  /** API path with query, e.g. /v1/nodes/abc?fields=uuid. */
  path: string;
  body?: unknown;
  node?: string;
  /** Strings that must never show up in an error (config drive contents, passwords). */
  secrets?: readonly string[];
  /**
   * false for a request that must not be sent twice (a provision or power change): when its
   * answer is lost after it may have reached Ironic, it fails with IronicAnswerLostError
   * instead of being resent, and the caller reads the node to learn whether Ironic took it.
   */
  idempotent?: boolean;
}

export interface CallContext {
  /** null only for the version discovery done before negotiation. */
  microversion: string | null;
  observers: readonly HttpObserver[];
  opts: CallOptions;
}

/** A successful response: status 2xx and its body text. */
export interface RawResponse {
  status: number;
  body: string;
}

const DEFAULTS = { timeoutMs: 30_000, maxRetries: 60, retryIntervalMs: 2_000, connections: 8 };
/**
 * Scrubbing a one- or two-character string would mangle every message it occurs in. The event
 * store's scrubber (src/store/scrub.ts) has the same rule for what it records.
 */
export const MIN_SECRET_CHARS = 3;

export class IronicTransport {
  readonly timeoutMs: number;
  private readonly slots: Slots;
  readonly maxRetries: number;
  readonly retryIntervalMs: number;
  readonly observer: HttpObserver | undefined;
  private readonly retryJitter: number;
  private readonly random: () => number;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly authHeaders: Record<string, string>;
  private readonly secrets: string[];

  constructor(opts: TransportOptions) {
    const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
    const retryIntervalMs = opts.retryIntervalMs ?? DEFAULTS.retryIntervalMs;
    const maxRetries = opts.maxRetries ?? DEFAULTS.maxRetries;
    assertTimeoutMs(timeoutMs, 'timeoutMs');
    assertTimeoutMs(retryIntervalMs, 'retryIntervalMs');
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new IronicInvalidInputError(`maxRetries must be an integer >= 0, got ${String(maxRetries)}`);
    }
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new IronicInvalidInputError('url is not a valid absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new IronicInvalidInputError(`url must be http or https, got ${url.protocol}`);
    }
    if (url.username !== '' || url.password !== '') {
      // Credentials in the URL would travel into logs with every path; take them via `auth`.
      throw new IronicInvalidInputError('url must not carry credentials; use the auth option');
    }
    this.timeoutMs = timeoutMs;
    this.maxRetries = maxRetries;
    this.retryIntervalMs = retryIntervalMs;
    this.observer = opts.observer;
    const jitter = opts.retryJitter ?? 0.2;
    if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1) {
      throw new IronicInvalidInputError(`retryJitter must be between 0 and 1, got ${String(jitter)}`);
    }
    this.retryJitter = jitter;
    this.random = opts.random ?? Math.random;
    this.basePath = url.pathname.replace(/\/+$/, '');
    const auth = opts.auth ?? { type: 'noauth' };
    this.authHeaders = authHeadersOf(auth);
    this.secrets = secretsOf(auth);
    const ca = opts.tls?.caFile === undefined ? undefined : readCa(opts.tls.caFile);
    this.slots = new Slots(opts.connections ?? DEFAULTS.connections);
    this.pool = new Pool(url.origin, {
      connections: opts.connections ?? DEFAULTS.connections,
      keepAliveTimeout: 30_000,
      connect: {
        ...(ca === undefined ? {} : { ca }),
        rejectUnauthorized: opts.tls?.insecure !== true,
      },
    });
  }

  /**
   * Sends the request, retrying like Nova's wrapper: 409 (unless retryOnConflict is
   * false), 503, connection failures and timeouts, up to maxRetries more attempts,
   * retryIntervalMs apart. `read` turns a 2xx body into the result; a body it cannot
   * read becomes IronicMalformedResponseError (never retried).
   */
  async request<T>(spec: RequestSpec, call: CallContext, read: (res: RawResponse) => T): Promise<T> {
    const signal = call.opts.signal;
    const timeoutMs = call.opts.timeoutMs ?? this.timeoutMs;
    assertTimeoutMs(timeoutMs, 'timeoutMs');
    const observers = this.observer === undefined ? call.observers : [this.observer, ...call.observers];
    const all = call.opts.observer === undefined ? observers : [...observers, call.opts.observer];
    const scrub = this.scrubber(spec.secrets ?? []);
    const maxAttempts = this.maxRetries + 1;
    // Once an answer was lost, Ironic may have acted: every later resend is checked first.
    let lostOnce = false;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw this.aborted(spec, attempt - 1);
      const started = performance.now();
      const at = new Date().toISOString();
      let status: number | null = null;
      let outcome: { ok: true; value: T } | { ok: false; err: IronicError };
      try {
        const res = await this.once(
          spec,
          call.microversion,
          signal,
          timeoutMs,
          call.opts.priority === 'urgent',
        );
        status = res.status;
        if (status < 200 || status >= 300) {
          throw errorForStatus(status, res.body, this.facts(spec, attempt), scrub);
        }
        outcome = { ok: true, value: this.read(spec, res, attempt, read, scrub) };
      } catch (raw) {
        // After a response arrived, only typed errors are Ironic's doing; anything else is a bug here.
        if (status !== null && !(raw instanceof IronicError)) throw raw;
        outcome = { ok: false, err: this.classify(raw, spec, attempt, status, signal, timeoutMs) };
      }
      if (outcome.ok) {
        report(all, { spec, status, started, at, attempt, willRetry: false });
        return outcome.value;
      }
      const lost = isLostAnswer(outcome.err);
      lostOnce ||= lost;
      const err = lost && spec.idempotent === false ? answerLost(outcome.err, spec, attempt) : outcome.err;
      const willRetry = attempt < maxAttempts && this.shouldRetry(err, call.opts);
      const wait = willRetry ? jittered(this.retryIntervalMs, this.retryJitter, this.random()) : 0;
      report(all, {
        spec,
        status,
        started,
        at,
        attempt,
        willRetry,
        errorCode: err.code,
        ...(willRetry ? { retryInMs: wait } : {}),
      });
      if (!willRetry) throw err;
      await sleep(wait, signal, () => this.aborted(spec, attempt));
      // A 409 or 503 says Ironic did not act, so the same request goes again as it is. After a
      // lost answer the caller reads first and may refuse (Ironic took it, or the node moved on).
      if (lostOnce && call.opts.beforeResend !== undefined) await call.opts.beforeResend(err);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async once(
    spec: RequestSpec,
    microversion: string | null,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    urgent: boolean,
  ): Promise<RawResponse> {
    // Wait for one of the pool's connections first: time queued behind other runs is not
    // Ironic being slow, so the attempt's timeout starts only once a connection is ours.
    await this.slots.acquire(signal, urgent);
    const controller = new AbortController();
    const onAbort = () => controller.abort(new AttemptAborted('caller'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      timeoutMs > 0
        ? setTimeout(() => controller.abort(new AttemptAborted('timeout')), timeoutMs)
        : undefined;
    try {
      const headers: Record<string, string> = {
        accept: 'application/json',
        'user-agent': 'ironledger',
        ...this.authHeaders,
      };
      if (microversion !== null) headers['x-openstack-ironic-api-version'] = microversion;
      let body: string | undefined;
      if (spec.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(spec.body);
      }
      const res: Dispatcher.ResponseData = await this.pool.request({
        method: spec.method,
        path: this.basePath + spec.path,
        headers,
        body,
        signal: controller.signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text };
    } catch (err) {
      // Whatever undici threw, the reason we aborted says what happened.
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
      throw reason instanceof AttemptAborted ? reason : err;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.slots.release();
    }
  }

  private read<T>(
    spec: RequestSpec,
    res: RawResponse,
    attempt: number,
    read: (res: RawResponse) => T,
    scrub: (text: string) => string,
  ): T {
    try {
      return read(res);
    } catch (err) {
      if (!(err instanceof WireShapeError) && !(err instanceof SyntaxError)) throw err;
      const snippet = scrub(snippetOf(res.body));
      const why = err instanceof SyntaxError ? 'body is not JSON' : scrub(err.message);
      throw new IronicMalformedResponseError(
        `${spec.method} ${spec.path} -> ${res.status}: ${why}: ${snippet}`,
        {
          ...this.facts(spec, attempt),
          status: res.status,
          snippet,
        },
      );
    }
  }

  private classify(
    raw: unknown,
    spec: RequestSpec,
    attempt: number,
    status: number | null,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): IronicError {
    if (raw instanceof IronicError) return raw;
    const facts = { ...this.facts(spec, attempt), status };
    if (raw instanceof AttemptAborted && raw.why === 'timeout') {
      return new IronicTimeoutError(`${spec.method} ${spec.path}: no answer within ${timeoutMs} ms`, facts);
    }
    if (raw instanceof AttemptAborted || signal?.aborted) {
      return new IronicAbortedError(`${spec.method} ${spec.path}: aborted by the caller`, facts);
    }
    const code = errorCodeOf(raw);
    if (isTlsVerificationFailure(raw)) {
      // Node's code alone does not say what to do about it.
      return new IronicNetworkError(
        `${spec.method} ${spec.path}: Ironic's TLS certificate cannot be verified (${code}); trust the CA that signed it with --ca-file PATH (tls.caFile), or skip verification with --insecure (tls.insecure)`,
        { ...facts, cause: raw },
      );
    }
    return new IronicNetworkError(`${spec.method} ${spec.path}: connection to Ironic failed (${code})`, {
      ...facts,
      cause: raw,
    });
  }

  private shouldRetry(err: IronicError, opts: CallOptions): boolean {
    if (!err.retryable) return false;
    // A certificate Ironic cannot prove will not become valid in retryIntervalMs.
    if (err.code === 'IRONIC_NETWORK' && isTlsVerificationFailure(err.cause)) return false;
    if (err.code === 'IRONIC_CONFLICT' || err.code === 'IRONIC_NODE_LOCKED')
      return opts.retryOnConflict !== false;
    // Sent again only when the caller first reads whether Ironic took the lost request.
    if (err.code === 'IRONIC_ANSWER_LOST') return opts.beforeResend !== undefined;
    return true;
  }

  private facts(spec: RequestSpec, attempt: number) {
    return { method: spec.method, path: spec.path, node: spec.node ?? null, attempts: attempt };
  }

  private aborted(spec: RequestSpec, attempts: number): IronicAbortedError {
    return new IronicAbortedError(`${spec.method} ${spec.path}: aborted by the caller`, {
      ...this.facts(spec, attempts),
    });
  }

  /** The auth secrets this transport sends (see IronicClient.secretValues). */
  secretValues(): readonly string[] {
    return [...this.secrets];
  }

  private scrubber(extra: readonly string[]): (text: string) => string {
    const secrets = [...this.secrets, ...extra].filter((s) => s.length >= MIN_SECRET_CHARS);
    secrets.sort((a, b) => b.length - a.length);
    return (text) => secrets.reduce((acc, s) => acc.split(s).join('***'), text);
  }
}

/**
 * Connection failures that happen before a request can have reached Ironic: sending it again
 * cannot make Ironic act twice. Any other network failure (a reset, a socket closed mid-answer)
 * or a timeout may come after Ironic took the request.
 */
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function isLostAnswer(err: IronicError): boolean {
  if (err.code === 'IRONIC_TIMEOUT') return true;
  if (err.code !== 'IRONIC_NETWORK') return false;
  return !NEVER_SENT_CODES.has(errorCodeOf(err.cause)) && !isTlsVerificationFailure(err.cause);
}

function answerLost(err: IronicError, spec: RequestSpec, attempt: number): IronicAnswerLostError {
  return new IronicAnswerLostError(
    `${spec.method} ${spec.path}: the answer was lost after the request may have reached Ironic (${err.code})`,
    {
      method: spec.method,
      path: spec.path,
      node: spec.node ?? null,
      attempts: attempt,
      status: err.status,
      cause: err,
    },
  );
}

/** Why our own controller aborted an attempt. */
class AttemptAborted extends Error {
  constructor(readonly why: 'caller' | 'timeout') {
    super(why);
  }
}

/** Node's codes for a certificate that does not verify (self-signed, unknown CA, wrong name, expired). */
const TLS_VERIFICATION_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isTlsVerificationFailure(err: unknown): boolean {
  return TLS_VERIFICATION_CODES.has(errorCodeOf(err));
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new IronicInvalidInputError(`tls.caFile ${file} cannot be read (${errorCodeOf(err)})`);
  }
}

function authHeadersOf(auth: IronicAuth): Record<string, string> {
  switch (auth.type) {
    case 'noauth':
      return {};
    case 'basic':
      return {
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      };
    case 'token':
      return { 'x-auth-token': auth.token };
  }
}

function secretsOf(auth: IronicAuth): string[] {
  switch (auth.type) {
    case 'noauth':
      return [];
    case 'basic':
      return [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64')];
    case 'token':
      return [auth.token];
  }
}

function errorCodeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, cause } = err as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    if (
      typeof cause === 'object' &&
      cause !== null &&
      typeof (cause as { code?: unknown }).code === 'string'
    ) {
      return (cause as { code: string }).code;
    }
  }
  return err instanceof Error ? err.name : 'unknown';
}

interface AttemptReport {
  spec: RequestSpec;
  status: number | null;
  started: number;
  at: string;
  attempt: number;
  willRetry: boolean;
  errorCode?: string;
  retryInMs?: number;
}

/** `ms` spread uniformly over [ms x (1 - fraction), ms x (1 + fraction)] by the draw `r` in [0, 1). */
export function jittered(ms: number, fraction: number, r: number): number {
  return Math.round(ms * (1 - fraction + 2 * fraction * r));
}

function report(observers: readonly HttpObserver[], r: AttemptReport): void {
  if (observers.length === 0) return;
  const attempt: HttpAttempt = {
    method: r.spec.method,
    path: r.spec.path,
    status: r.status,
    ms: Math.round((performance.now() - r.started) * 1000) / 1000,
    attempt: r.attempt,
    willRetry: r.willRetry,
    at: r.at,
    ...(r.errorCode === undefined ? {} : { errorCode: r.errorCode }),
    ...(r.retryInMs === undefined ? {} : { retryInMs: r.retryInMs }),
    ...(r.spec.node === undefined ? {} : { node: r.spec.node }),
  };
  for (const observe of observers) observe(attempt);
}

function sleep(ms: number, signal: AbortSignal | undefined, aborted: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** As many permits as the pool has connections; waiting for one honours the caller's signal. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  /** Served before `waiting`, in their own order. */
  private readonly urgent: Array<() => void> = [];

  constructor(count: number) {
    this.free = Math.max(1, count);
  }

  acquire(signal: AbortSignal | undefined, urgent: boolean): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AttemptAborted('caller'));
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    const queue = urgent ? this.urgent : this.waiting;
    return new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
        reject(new AttemptAborted('caller'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(grant);
    });
  }

  release(): void {
    const next = this.urgent.shift() ?? this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
