// The HTTP layer under IronicClient: one keep-alive undici Pool per client, shared by
// every call and every observer view; auth and microversion headers; per-attempt
// timeouts and a total deadline per request; a cap on the size of an answer; AbortSignal;
// and the retry policy of Nova's Ironic client wrapper.
import http from 'node:http';
import { Buffer } from 'node:buffer';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import {
  IronicAbortedError,
  IronicAnswerLostError,
  IronicDeadlineError,
  IronicError,
  IronicInvalidInputError,
  IronicMalformedResponseError,
  IronicNetworkError,
  IronicResponseTooLargeError,
  IronicTimeoutError,
} from './errors.js';
import { isStaticAuth, staticAuthSource, type AuthCallContext, type AuthSource } from './auth.js';
import type { CloudTls, IronicAuth } from './cloud-settings.js';
import { errorForStatus, snippetOf } from './fault.js';
import { tlsConnectOptions } from './tls.js';
import type { CallOptions, HttpAttempt, HttpObserver } from './types.js';
import { assertTimeoutMs } from './validate.js';
import { WireShapeError } from './wire.js';

export type { IronicAuth } from './cloud-settings.js';

/** CA bundle, client certificate and key (mutual TLS), or no verification (insecure). */
export type IronicTlsOptions = CloudTls;

export interface TransportOptions {
  /** Ironic's endpoint, e.g. http://127.0.0.1:6385 or https://cloud/baremetal. */
  url: string;
  /** noauth, HTTP basic, a static token; Keystone kinds are connected through IronicClient.connect. */
  auth?: IronicAuth;
  /** Overrides `auth`: the source of every attempt's credentials (a Keystone session). */
  authSource?: AuthSource;
  tls?: IronicTlsOptions;
  /** Per attempt; 0 disables the timeout. Default 30 000. */
  timeoutMs?: number;
  /** Retries after the first attempt for 409 / 503 / network / timeout (Nova: api_max_retries). Default 60. */
  maxRetries?: number;
  /** Wait between attempts (Nova: api_retry_interval). Default 2000. */
  retryIntervalMs?: number;
  /**
   * Longest answer read, in bytes; a longer one fails IronicResponseTooLargeError, unread past the
   * cap and not retried. 0: no cap. Default DEFAULT_MAX_RESPONSE_BYTES (128 MiB).
   */
  maxResponseBytes?: number;
  /**
   * A request's total time across all its attempts and the waits between them; when it passes
   * the request fails IronicDeadlineError. 0: none. Default timeoutMs + maxRetries x
   * retryIntervalMs (none when timeoutMs is 0). Time queued for a pool connection is not counted.
   */
  deadlineMs?: number;
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
  /**
   * Ironic's concurrent action limit (500 ConcurrentActionLimit) is not over in one interval: the
   * nodes ahead of ours leave deploying/cleaning only as their fake or real work ends. A request
   * refused by it waits retryIntervalMs, then twice as long after each further refusal, up to this
   * cap (jittered like any wait, and never past the request's deadline). Default 4 x retryIntervalMs.
   */
  maxRetryIntervalMs?: number;
  /**
   * The User-Agent of every request (default `ironledger`): a replica names itself. The simulator's
   * request log records it; the real Ironic's log records only the client address.
   */
  userAgent?: string;
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

/**
 * The longest answer read by default: 128 MiB, the largest answer Ironic can legitimately give
 * us, with room to spare. A full node (GET without fields) whose instance_info holds a config
 * drive: Ironic writes drives of at most 64 MiB (ironic-lib's limit), at most ~85.4 MiB once
 * gzipped and base64-encoded as instance_info carries them; a Nova-sized drive (49149 bytes of
 * incompressible user data, Nova's 64 KiB once encoded) is 67 KB as configdrive.ts builds it.
 * A node list page holds at most 1000 nodes (Ironic's api.max_limit): with the fields we ask for,
 * 0.7 MB on the simulator (2.7 MB for a /detail page; a full node from Ironic 2023.1 is ~3 KB),
 * and ~70 MB even if every node's instance_info carried an unmasked Nova-sized drive (Ironic
 * 2023.1 masks it as "******"). A hostile or broken server streaming gigabytes costs at most
 * this much memory per request, and only once: it is not retried.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024;

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
  readonly maxRetryIntervalMs: number;
  readonly observer: HttpObserver | undefined;
  readonly maxResponseBytes: number;
  /** undefined: derived per call from its timeoutMs (see TransportOptions.deadlineMs). */
  private readonly deadlineMs: number | undefined;
  private readonly retryJitter: number;
  private readonly random: () => number;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly auth: AuthSource;
  private readonly userAgent: string;

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
    const maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 0) {
      throw new IronicInvalidInputError(
        `maxResponseBytes must be a whole number of bytes >= 0, got ${String(maxResponseBytes)}`,
      );
    }
    if (opts.deadlineMs !== undefined) assertTimeoutMs(opts.deadlineMs, 'deadlineMs');
    this.maxResponseBytes = maxResponseBytes;
    this.deadlineMs = opts.deadlineMs;
    this.timeoutMs = timeoutMs;
    this.maxRetries = maxRetries;
    this.retryIntervalMs = retryIntervalMs;
    const maxRetryIntervalMs = opts.maxRetryIntervalMs ?? 4 * retryIntervalMs;
    assertTimeoutMs(maxRetryIntervalMs, 'maxRetryIntervalMs');
    this.maxRetryIntervalMs = Math.max(retryIntervalMs, maxRetryIntervalMs);
    this.observer = opts.observer;
    const jitter = opts.retryJitter ?? 0.2;
    if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1) {
      throw new IronicInvalidInputError(`retryJitter must be between 0 and 1, got ${String(jitter)}`);
    }
    this.retryJitter = jitter;
    this.random = opts.random ?? Math.random;
    this.userAgent = opts.userAgent ?? 'ironledger';
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.auth = opts.authSource ?? authSourceOf(opts.auth ?? { type: 'noauth' });
    const connect = tlsConnectOptions(opts.tls);
    this.slots = new Slots(opts.connections ?? DEFAULTS.connections);
    this.pool = new Pool(url.origin, {
      connections: opts.connections ?? DEFAULTS.connections,
      keepAliveTimeout: 30_000,
      connect,
    });
  }

  /**
   * Sends the request, retrying like Nova's wrapper: 409 (unless retryOnConflict is
   * false), 503, connection failures and timeouts, up to maxRetries more attempts,
   * retryIntervalMs apart (a concurrent action limit refusal: doubling up to maxRetryIntervalMs),
   * until the request's deadline (IronicDeadlineError). `read` turns a
   * 2xx body into the result; a body it cannot read becomes IronicMalformedResponseError, as do
   * headers undici cannot parse; an answer over maxResponseBytes is IronicResponseTooLargeError.
   * None of these is retried: the same request would get the same answer.
   */
  async request<T>(spec: RequestSpec, call: CallContext, read: (res: RawResponse) => T): Promise<T> {
    const signal = call.opts.signal;
    const timeoutMs = call.opts.timeoutMs ?? this.timeoutMs;
    assertTimeoutMs(timeoutMs, 'timeoutMs');
    const observers = this.observer === undefined ? call.observers : [this.observer, ...call.observers];
    const all = call.opts.observer === undefined ? observers : [...observers, call.opts.observer];
    const scrub = this.scrubber(spec.secrets ?? []);
    const maxAttempts = this.maxRetries + 1;
    const deadlineMs = call.opts.deadlineMs ?? this.deadlineMs ?? this.defaultDeadlineMs(timeoutMs);
    assertTimeoutMs(deadlineMs, 'deadlineMs');
    const clock = new RequestClock(deadlineMs);
    let last: IronicError | null = null;
    // Once an answer was lost, Ironic may have acted: every later resend is checked first.
    let lostOnce = false;
    // A 401 is answered by one renewal of the token per request; a second 401 is final.
    let renewedOnce = false;
    // Concurrent-action-limit refusals of this request so far: each doubles the next wait.
    let limited = 0;
    const authContext = { signal, observers: all };
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw this.aborted(spec, attempt - 1);
      // beforeResend may have used up what was left.
      if (last !== null && clock.leftMs() <= 0) throw this.pastDeadline(spec, attempt - 1, clock, last);
      // The credentials this attempt went with (set once a connection is ours).
      const sent: SentWith = { authHeaders: {} };
      const started = performance.now();
      const at = new Date().toISOString();
      let status: number | null = null;
      let outcome: { ok: true; value: T } | { ok: false; err: IronicError };
      try {
        const res = await this.once(
          spec,
          call.microversion,
          authContext,
          sent,
          signal,
          timeoutMs,
          call.opts.priority === 'urgent',
          clock,
        );
        status = res.status;
        if (status < 200 || status >= 300) {
          throw errorForStatus(status, res.body, this.facts(spec, attempt), scrub);
        }
        outcome = { ok: true, value: this.read(spec, res, attempt, read, scrub) };
      } catch (raw) {
        // After a response arrived, only typed errors are Ironic's doing; anything else is a bug here.
        if (status !== null && !(raw instanceof IronicError)) throw raw;
        outcome = { ok: false, err: this.classify(raw, spec, attempt, status, signal) };
      }
      if (outcome.ok) {
        report(all, { spec, status, started, at, attempt, willRetry: false });
        return outcome.value;
      }
      if (outcome.err.code === 'IRONIC_UNAUTHORIZED' && !renewedOnce) {
        renewedOnce = true;
        // The token expired or was revoked under us: a fresh one, then the same request again.
        if (await this.auth.renewAfterUnauthorized(sent.authHeaders, authContext)) {
          report(all, {
            spec,
            status,
            started,
            at,
            attempt,
            willRetry: true,
            errorCode: outcome.err.code,
            retryInMs: 0,
          });
          continue;
        }
      }
      const lost = isLostAnswer(outcome.err);
      lostOnce ||= lost;
      last = lost && spec.idempotent === false ? answerLost(outcome.err, spec, attempt) : outcome.err;
      let err: IronicError = last;
      let willRetry = attempt < maxAttempts && this.shouldRetry(err, call.opts);
      let wait = 0;
      if (willRetry && err.code === 'IRONIC_CONCURRENT_ACTION_LIMIT') {
        wait = jittered(this.limitBackoffMs(limited++), this.retryJitter, this.random());
        // A long backoff is shortened to half of what is left, so one more attempt still fits
        // in the deadline; only when even the plain interval does not fit does the request end.
        const base = jittered(this.retryIntervalMs, this.retryJitter, 0.5);
        if (wait >= clock.leftMs()) wait = Math.max(base, Math.floor(clock.leftMs() / 2));
      } else if (willRetry) wait = jittered(this.retryIntervalMs, this.retryJitter, this.random());
      // An attempt cut short by the deadline, or a wait that would end past it, ends the request.
      if (clock.cut || (willRetry && clock.leftMs() <= wait)) {
        err = this.pastDeadline(spec, attempt, clock, last);
        willRetry = false;
      }
      report(all, {
        spec,
        // An answer refused before its body was read (too large) still had a status.
        status: status ?? err.status,
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
    await Promise.all([this.pool.close(), this.auth.close()]);
  }

  private async once(
    spec: RequestSpec,
    microversion: string | null,
    authContext: AuthCallContext,
    sent: SentWith,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    urgent: boolean,
    clock: RequestClock,
  ): Promise<RawResponse> {
    // Wait for one of the pool's connections first: time queued behind other runs is not
    // Ironic being slow, so the attempt's timeout starts only once a connection is ours.
    const queued = performance.now();
    await this.slots.acquire(signal, urgent);
    let authHeaders: Record<string, string>;
    try {
      // Asked for only now: a token read before a long wait in the queue may expire in it.
      // Keystone's failures are final here (the session has retried them already).
      authHeaders = await this.auth.headers(authContext);
    } catch (err) {
      this.slots.release();
      throw err;
    }
    sent.authHeaders = authHeaders;
    clock.queued(performance.now() - queued);
    const controller = new AbortController();
    const onAbort = () => controller.abort(new AttemptAborted('caller'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const limit = clock.attemptLimit(timeoutMs);
    const timer =
      limit === null
        ? undefined
        : setTimeout(() => {
            if (limit.byDeadline) clock.cut = true;
            controller.abort(new AttemptAborted('timeout', limit.ms));
          }, limit.ms);
    try {
      const headers: Record<string, string> = {
        accept: 'application/json',
        'user-agent': this.userAgent,
        ...authHeaders,
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
      const text = await this.readCapped(spec, res);
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

  /**
   * The body as text, read no further than maxResponseBytes: a longer answer (announced by
   * Content-Length, or counted as it arrives) is dropped with its connection.
   */
  private async readCapped(spec: RequestSpec, res: Dispatcher.ResponseData): Promise<string> {
    const cap = this.maxResponseBytes;
    if (cap === 0) return res.body.text();
    const facts = { method: spec.method, path: spec.path, node: spec.node ?? null, status: res.statusCode };
    const declared = Number(res.headers['content-length']);
    const tooLarge = (bytesRead: number, what: string): IronicResponseTooLargeError => {
      res.body.destroy();
      return new IronicResponseTooLargeError(
        `${spec.method} ${spec.path} -> ${res.statusCode}: the answer is ${what}`,
        { ...facts, limitBytes: cap, bytesRead, declaredBytes: Number.isFinite(declared) ? declared : null },
      );
    };
    if (Number.isFinite(declared) && declared > cap) {
      throw tooLarge(
        0,
        `${declared} bytes (Content-Length), over the ${cap}-byte limit (maxResponseBytes); not read`,
      );
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > cap) {
        throw tooLarge(
          bytes,
          `longer than the ${cap}-byte limit (maxResponseBytes); reading stopped at ${bytes} bytes`,
        );
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, bytes).toString('utf8');
  }

  /** The wait after the (k+1)-th concurrent-action-limit refusal, before jitter: exponential, capped. */
  private limitBackoffMs(k: number): number {
    return Math.min(this.maxRetryIntervalMs, this.retryIntervalMs * 2 ** Math.min(k, 30));
  }

  /** The retry budget (Nova: api_max_retries x api_retry_interval) plus one whole attempt. */
  private defaultDeadlineMs(timeoutMs: number): number {
    return timeoutMs === 0 ? 0 : timeoutMs + this.maxRetries * this.retryIntervalMs;
  }

  private pastDeadline(
    spec: RequestSpec,
    attempts: number,
    clock: RequestClock,
    last: IronicError,
  ): IronicDeadlineError {
    const elapsedMs = Math.round(clock.elapsedMs());
    const lost =
      last.code === 'IRONIC_ANSWER_LOST' ? '; the last answer was lost: Ironic may have acted' : '';
    return new IronicDeadlineError(
      `${spec.method} ${spec.path}: no usable answer within the request's ${clock.deadlineMs} ms deadline: ${attempts} attempt${attempts === 1 ? '' : 's'} over ${(elapsedMs / 1000).toFixed(1)} s, the last ${last.code}${lost}`,
      {
        ...this.facts(spec, attempts),
        status: last.status,
        cause: last,
        deadlineMs: clock.deadlineMs,
        elapsedMs,
      },
    );
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
  ): IronicError {
    if (raw instanceof IronicError) return raw;
    const facts = { ...this.facts(spec, attempt), status };
    if (raw instanceof AttemptAborted && raw.why === 'timeout') {
      return new IronicTimeoutError(`${spec.method} ${spec.path}: no answer within ${raw.ms} ms`, facts);
    }
    if (raw instanceof AttemptAborted || signal?.aborted) {
      return new IronicAbortedError(`${spec.method} ${spec.path}: aborted by the caller`, facts);
    }
    const code = errorCodeOf(raw);
    if (isUnreadableAnswer(code)) {
      // The same request will get the same answer: not worth a retry.
      const what =
        code === 'UND_ERR_HEADERS_OVERFLOW'
          ? `its headers are larger than ${maxHeaderBytes()} bytes`
          : `it is not valid HTTP/1.1${raw instanceof Error && raw.message ? `: ${raw.message}` : ''}`;
      return new IronicMalformedResponseError(
        `${spec.method} ${spec.path}: Ironic's answer cannot be read: ${what} (${code})`,
        { ...facts, cause: raw },
      );
    }
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
    return this.auth.secrets();
  }

  private scrubber(extra: readonly string[]): (text: string) => string {
    return textScrubber([...this.auth.secrets(), ...extra]);
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

interface SentWith {
  authHeaders: Record<string, string>;
}

/**
 * Codes of an answer that arrived but cannot be parsed: headers past undici's limit, or not
 * HTTP/1.1 at all (llhttp's HPE_* codes). Sending the request again gets the same answer. (A bad
 * header line after a Content-Length reads as UND_ERR_RES_CONTENT_LENGTH_MISMATCH, as a body cut
 * short by a dropped connection does: that one stays a retried network failure.)
 */
function isUnreadableAnswer(code: string): boolean {
  // undici's HTTPParserError carries no code for some parse errors: its name is what we get.
  return code === 'UND_ERR_HEADERS_OVERFLOW' || code.startsWith('HPE_') || code === 'HTTPParserError';
}

/** undici's header limit: Node's --max-http-header-size (16 KiB by default). */
function maxHeaderBytes(): number {
  return http.maxHeaderSize;
}

/**
 * One request's time against its deadline (deadlineMs; 0: none). Time queued for a pool
 * connection is ours, not Ironic's, and does not count, as for the per-attempt timeout.
 */
class RequestClock {
  private readonly start = performance.now();
  private queuedMs = 0;
  /** An attempt was aborted because the deadline came before its own timeout. */
  cut = false;

  constructor(readonly deadlineMs: number) {}

  queued(ms: number): void {
    this.queuedMs += ms;
  }

  elapsedMs(): number {
    return performance.now() - this.start - this.queuedMs;
  }

  /** Time left; Infinity without a deadline. */
  leftMs(): number {
    return this.deadlineMs === 0 ? Infinity : this.deadlineMs - this.elapsedMs();
  }

  /** How long the next attempt may take, and whether the deadline (not timeoutMs) sets it. */
  attemptLimit(timeoutMs: number): { ms: number; byDeadline: boolean } | null {
    const left = this.leftMs();
    if (left === Infinity) return timeoutMs > 0 ? { ms: timeoutMs, byDeadline: false } : null;
    const ms = Math.max(0, Math.ceil(left));
    return timeoutMs > 0 && timeoutMs <= ms ? { ms: timeoutMs, byDeadline: false } : { ms, byDeadline: true };
  }
}

/** Why our own controller aborted an attempt. */
class AttemptAborted extends Error {
  constructor(
    readonly why: 'caller' | 'timeout',
    /** How long the attempt was given, for a timeout. */
    readonly ms = 0,
  ) {
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

function authSourceOf(auth: IronicAuth): AuthSource {
  if (isStaticAuth(auth)) return staticAuthSource(auth);
  throw new IronicInvalidInputError(
    `${auth.type} auth goes through Keystone: connect with IronicClient.connect, which authenticates first`,
  );
}

/** Replaces every secret (longest first; shorter than MIN_SECRET_CHARS: left alone) with '***'. */
export function textScrubber(values: readonly string[]): (text: string) => string {
  const secrets = values.filter((s) => s.length >= MIN_SECRET_CHARS);
  secrets.sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((acc, s) => acc.split(s).join('***'), text);
}

/** Node's or undici's code for a failure (its own, or its cause's), else its name. */
export function errorCodeOf(err: unknown): string {
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
