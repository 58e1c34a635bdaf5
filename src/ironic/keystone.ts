// Keystone v3 for Ironic's requests, as the seed's client gets it from keystoneauth: a
// project-scoped token (password, application credential or token auth), Ironic's endpoint from
// the token's catalog, a new token before the old one expires and once after a 401.
//
// One session serves every run of an engine: a renewal in flight is shared, so ten thousand
// runs waiting out a cleaning send one token request when the token nears its end, not ten
// thousand. Every caller that waited for a renewal reports its attempts, so each run's log
// shows the re-authentication it depended on.
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { AuthCallContext, AuthSource } from './auth.js';
import type {
  CloudTls,
  EndpointInterface,
  IronicAuth,
  KeystoneProject,
  KeystoneUser,
} from './cloud-settings.js';
import {
  IronicInvalidInputError,
  KeystoneNoEndpointError,
  KeystoneUnauthorizedError,
  KeystoneUnavailableError,
} from './errors.js';
import { isRecord, snippetOf } from './fault.js';
import { tlsConnectOptions } from './tls.js';
import { errorCodeOf, textScrubber } from './transport.js';
import type { HttpAttempt, HttpObserver } from './types.js';

export type KeystoneAuth = Extract<
  IronicAuth,
  { type: 'password' | 'applicationCredential' | 'keystoneToken' }
>;

export function isKeystoneAuth(auth: IronicAuth): auth is KeystoneAuth {
  return auth.type === 'password' || auth.type === 'applicationCredential' || auth.type === 'keystoneToken';
}

export type RenewReason = 'initial' | 'expiring' | 'unauthorized';

export interface KeystoneSessionOptions {
  auth: KeystoneAuth;
  tls?: CloudTls;
  /** Per attempt. Default 30 000. */
  timeoutMs?: number;
  /** Attempts after the first for a Keystone that is unreachable, timing out or failing (5xx). Default 3. */
  maxRetries?: number;
  /** Default 2000. */
  retryIntervalMs?: number;
  /**
   * Renew when less than this is left (keystoneauth: 120 s). A token that lives less than twice
   * as long is renewed at half its life instead, or every request would renew it.
   */
  renewBeforeMs?: number;
  /** Largest token response read (a catalog of a big cloud is tens of KB). Default 4 MiB. */
  maxBodyBytes?: number;
  /** Local clock, for tests. */
  now?: () => number;
}

export interface CatalogEndpoint {
  interface: string;
  region: string | null;
  url: string;
}

export interface CatalogService {
  type: string;
  endpoints: CatalogEndpoint[];
}

interface Issued {
  token: string;
  /** Local clock: Keystone's lifetime added to when we asked (no reliance on clock agreement). */
  expiresAt: number;
  renewAt: number;
  catalog: CatalogService[];
}

interface Renewal {
  promise: Promise<Issued>;
  attempts: HttpAttempt[];
}

export interface KeystoneStats {
  /** Token requests that Keystone answered with a token. */
  issued: number;
  /** Token requests sent (retries included). */
  requests: number;
}

const DEFAULTS = { timeoutMs: 30_000, maxRetries: 3, retryIntervalMs: 2_000, renewBeforeMs: 120_000 };
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Tokens of past renewals kept for scrubbing: an old token may still be echoed in a late answer. */
const KEPT_TOKENS = 4;

export class KeystoneSession implements AuthSource {
  private issued: Issued | null = null;
  private renewal: Renewal | null = null;
  private readonly tokens: string[] = [];
  private readonly agent: Agent;
  private readonly tokensUrl: URL;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryIntervalMs: number;
  private readonly renewBeforeMs: number;
  private readonly maxBodyBytes: number;
  readonly stats: KeystoneStats = { issued: 0, requests: 0 };
  private readonly tokenListeners = new Set<(token: string) => void>();

  constructor(private readonly opts: KeystoneSessionOptions) {
    this.tokensUrl = tokensUrlOf(opts.auth.authUrl);
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
    this.maxRetries = opts.maxRetries ?? DEFAULTS.maxRetries;
    this.retryIntervalMs = opts.retryIntervalMs ?? DEFAULTS.retryIntervalMs;
    this.renewBeforeMs = opts.renewBeforeMs ?? DEFAULTS.renewBeforeMs;
    this.maxBodyBytes = opts.maxBodyBytes ?? MAX_BODY_BYTES;
    this.agent = new Agent({ connect: tlsConnectOptions(opts.tls), keepAliveTimeout: 30_000 });
  }

  /** Authenticates now (at connect): wrong credentials fail here, before any run starts. */
  async authenticate(ctx: AuthCallContext): Promise<void> {
    await this.fresh('initial', ctx);
  }

  async headers(ctx: AuthCallContext): Promise<Record<string, string>> {
    const current = this.issued;
    if (current !== null && this.now() < current.renewAt) return { 'x-auth-token': current.token };
    const issued = await this.fresh(current === null ? 'initial' : 'expiring', ctx);
    return { 'x-auth-token': issued.token };
  }

  async renewAfterUnauthorized(used: Record<string, string>, ctx: AuthCallContext): Promise<boolean> {
    const sent = used['x-auth-token'];
    // Another caller renewed since this attempt left: its token is the cure.
    if (this.issued !== null && sent !== this.issued.token) return true;
    await this.fresh('unauthorized', ctx, sent);
    return true;
  }

  /** Told of every token issued from now on (to scrub it from whatever is recorded). */
  onNewToken(listener: (token: string) => void): void {
    this.tokenListeners.add(listener);
  }

  secrets(): readonly string[] {
    return [...authSecrets(this.opts.auth), ...this.tokens];
  }

  /** Ironic's URL from the catalog of the current token (authenticate first). */
  endpoint(serviceType: string, iface: EndpointInterface, region: string | undefined): string {
    const catalog = this.issued?.catalog ?? [];
    const services = catalog.filter((s) => s.type === serviceType);
    const endpoints = services.flatMap((s) => s.endpoints).filter((e) => e.interface === iface);
    const inRegion = region === undefined ? endpoints : endpoints.filter((e) => e.region === region);
    const found = inRegion[0];
    if (found === undefined) {
      const offered = services
        .flatMap((s) => s.endpoints)
        .map((e) => `${e.interface}${e.region === null ? '' : `@${e.region}`}`);
      throw new KeystoneNoEndpointError(
        `Keystone's catalog has no ${serviceType} endpoint for interface ${iface}${region === undefined ? '' : ` in region ${region}`}` +
          (offered.length > 0
            ? ` (it has: ${offered.join(', ')})`
            : services.length === 0
              ? ` (no ${serviceType} service at all)`
              : '') +
          '; set region_name / interface, or give the endpoint (baremetal_endpoint_override, OS_ENDPOINT)',
      );
    }
    return found.url;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * A token issued after `stale` (when given) or valid now: joins the renewal in flight, or starts
   * one. Reports the renewal's attempts to this caller's observers either way.
   */
  private async fresh(reason: RenewReason, ctx: AuthCallContext, stale?: string): Promise<Issued> {
    let renewal = this.renewal;
    if (renewal === null) {
      const current = this.issued;
      const stillGood =
        current !== null &&
        current.token !== stale &&
        (reason === 'unauthorized' || this.now() < current.renewAt);
      if (stillGood) return current;
      const attempts: HttpAttempt[] = [];
      renewal = { attempts, promise: this.issue(reason, attempts) };
      this.renewal = renewal;
      const mine = renewal;
      void renewal.promise.then(
        () => this.endRenewal(mine),
        () => this.endRenewal(mine),
      );
    }
    try {
      return await waitFor(renewal.promise, ctx.signal);
    } finally {
      report(ctx.observers, renewal.attempts);
    }
  }

  private endRenewal(renewal: Renewal): void {
    if (this.renewal === renewal) this.renewal = null;
  }

  private async issue(reason: RenewReason, attempts: HttpAttempt[]): Promise<Issued> {
    const body = JSON.stringify(requestBody(this.opts.auth));
    for (let attempt = 1; ; attempt++) {
      const asked = this.now();
      const started = performance.now();
      const at = new Date().toISOString();
      this.stats.requests++;
      let status: number | null = null;
      let failure: Error;
      try {
        const res = await this.post(body);
        status = res.status;
        if (status === 201 || status === 200) {
          const issued = this.read(res, asked);
          attempts.push(attemptOf({ at, started, attempt, status, reason, willRetry: false }));
          this.stats.issued++;
          this.issued = issued;
          this.tokens.unshift(issued.token);
          this.tokens.length = Math.min(this.tokens.length, KEPT_TOKENS);
          for (const listener of this.tokenListeners) listener(issued.token);
          return issued;
        }
        failure = this.refused(status, res.body);
      } catch (err) {
        failure = err instanceof KeystoneUnauthorizedError ? err : this.unreachable(err, status);
      }
      const willRetry = failure instanceof KeystoneUnavailableError && attempt <= this.maxRetries;
      attempts.push(
        attemptOf({
          at,
          started,
          attempt,
          status,
          reason,
          willRetry,
          errorCode:
            failure instanceof KeystoneUnavailableError ? 'KEYSTONE_UNAVAILABLE' : 'KEYSTONE_UNAUTHORIZED',
          ...(willRetry ? { retryInMs: this.retryIntervalMs } : {}),
        }),
      );
      if (!willRetry) throw failure;
      await new Promise((resolve) => setTimeout(resolve, this.retryIntervalMs));
    }
  }

  private async post(body: string): Promise<{ status: number; body: string; token: string | null }> {
    const res: Dispatcher.ResponseData = await request(this.tokensUrl, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'ironledger' },
      body,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const token = res.headers['x-subject-token'];
    const text = await readCapped(res.body, this.maxBodyBytes);
    return { status: res.statusCode, body: text, token: typeof token === 'string' ? token : null };
  }

  private read(res: { status: number; body: string; token: string | null }, asked: number): Issued {
    const bad = (why: string) =>
      new KeystoneUnavailableError(
        `Keystone answered ${res.status} to POST ${this.tokensUrl.pathname} but ${why}`,
        {
          status: res.status,
          method: 'POST',
          path: this.tokensUrl.pathname,
        },
      );
    if (res.token === null || res.token === '') throw bad('sent no X-Subject-Token');
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      throw bad('its body is not JSON');
    }
    const token = isRecord(parsed) && isRecord(parsed.token) ? parsed.token : null;
    if (token === null) throw bad('its body has no token');
    const expires = keystoneTime(token.expires_at);
    const issuedAt = keystoneTime(token.issued_at);
    if (expires === null) throw bad('the token has no readable expires_at');
    // Keystone's clock may differ from ours: use the lifetime it gave, counted from when we asked.
    const lifetime = issuedAt === null ? expires - asked : expires - issuedAt;
    const expiresAt = asked + Math.max(0, lifetime);
    const margin = Math.min(this.renewBeforeMs, Math.max(0, lifetime) / 2);
    return { token: res.token, expiresAt, renewAt: expiresAt - margin, catalog: catalogOf(token.catalog) };
  }

  private refused(status: number, body: string): Error {
    const facts = { status, method: 'POST', path: this.tokensUrl.pathname };
    const said = textScrubber(this.secrets())(keystoneMessage(body));
    if (status >= 500 || status === 429) {
      return new KeystoneUnavailableError(
        `Keystone failed (${status}) at ${this.tokensUrl.origin}: ${said}`,
        facts,
      );
    }
    return new KeystoneUnauthorizedError(
      `Keystone refused the ${describe(this.opts.auth)} credentials (${status}): ${said}`,
      facts,
    );
  }

  private unreachable(err: unknown, status: number | null): KeystoneUnavailableError {
    const code = errorCodeOf(err);
    return new KeystoneUnavailableError(
      `Keystone at ${this.tokensUrl.origin} could not be reached (${code}); Ironic's token cannot be renewed`,
      { status, method: 'POST', path: this.tokensUrl.pathname, cause: err },
    );
  }
}

/** `.../v3` (or a bare Keystone root, as clouds.yaml often gives it) -> `.../v3/auth/tokens`. */
export function tokensUrlOf(authUrl: string): URL {
  let url: URL;
  try {
    url = new URL(authUrl);
  } catch {
    throw new IronicInvalidInputError(`auth_url is not a valid absolute URL: ${JSON.stringify(authUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new IronicInvalidInputError(`auth_url must be http or https, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new IronicInvalidInputError('auth_url must not carry credentials');
  }
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`;
  url.search = '';
  return url;
}

function requestBody(auth: KeystoneAuth): unknown {
  switch (auth.type) {
    case 'password':
      return {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { ...userRef(auth.user), password: auth.password } },
          },
          scope: { project: projectRef(auth.project) },
        },
      };
    case 'applicationCredential': {
      const credential =
        auth.id !== undefined
          ? { id: auth.id, secret: auth.secret }
          : { name: auth.name, user: userRef(auth.user ?? {}), secret: auth.secret };
      // Keystone refuses a scope with an application credential: its project is its own.
      return {
        auth: { identity: { methods: ['application_credential'], application_credential: credential } },
      };
    }
    case 'keystoneToken':
      return {
        auth: {
          identity: { methods: ['token'], token: { id: auth.token } },
          scope: { project: projectRef(auth.project) },
        },
      };
  }
}

function userRef(user: KeystoneUser): Record<string, unknown> {
  if (user.userId !== undefined) return { id: user.userId };
  return { name: user.username, domain: domainRef(user.userDomainId, user.userDomainName) };
}

function projectRef(project: KeystoneProject): Record<string, unknown> {
  if (project.projectId !== undefined) return { id: project.projectId };
  return { name: project.projectName, domain: domainRef(project.projectDomainId, project.projectDomainName) };
}

function domainRef(id: string | undefined, name: string | undefined): Record<string, unknown> | undefined {
  if (id !== undefined) return { id };
  if (name !== undefined) return { name };
  return undefined;
}

function authSecrets(auth: KeystoneAuth): string[] {
  switch (auth.type) {
    case 'password':
      return [auth.password];
    case 'applicationCredential':
      return [auth.secret];
    case 'keystoneToken':
      return [auth.token];
  }
}

function describe(auth: KeystoneAuth): string {
  switch (auth.type) {
    case 'password': {
      const who = auth.user.userId ?? auth.user.username ?? '?';
      return `password (user ${who})`;
    }
    case 'applicationCredential':
      return `application credential (${auth.id ?? auth.name ?? '?'})`;
    case 'keystoneToken':
      return 'token';
  }
}

/** Keystone's `{"error": {"code", "title", "message"}}`, or the start of whatever else it sent. */
function keystoneMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.message === 'string')
      return parsed.error.message;
  } catch {
    // not JSON: a proxy's page
  }
  return body.trim() === '' ? 'no body' : snippetOf(body);
}

/** Keystone's times: `2026-12-03T13:10:16.000000Z`, and `2026-12-03T12:10:54` (UTC, no zone) for a capped token. */
export function keystoneTime(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!m) return null;
  const ms = m[2] === undefined ? '' : `.${m[2].slice(0, 3).padEnd(3, '0')}`;
  const t = Date.parse(`${m[1]}${ms}${m[3] ?? 'Z'}`);
  return Number.isFinite(t) ? t : null;
}

function catalogOf(raw: unknown): CatalogService[] {
  if (!Array.isArray(raw)) return [];
  const services: CatalogService[] = [];
  for (const s of raw) {
    if (!isRecord(s) || typeof s.type !== 'string' || !Array.isArray(s.endpoints)) continue;
    const endpoints: CatalogEndpoint[] = [];
    for (const e of s.endpoints) {
      if (!isRecord(e) || typeof e.url !== 'string' || typeof e.interface !== 'string') continue;
      const region =
        typeof e.region_id === 'string' ? e.region_id : typeof e.region === 'string' ? e.region : null;
      endpoints.push({ interface: e.interface, region, url: e.url });
    }
    services.push({ type: s.type, endpoints });
  }
  return services;
}

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > cap) {
      body.destroy();
      throw new KeystoneUnavailableError(`Keystone's answer is larger than ${cap} bytes; not read`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function attemptOf(a: {
  at: string;
  started: number;
  attempt: number;
  status: number | null;
  reason: RenewReason;
  willRetry: boolean;
  errorCode?: string;
  retryInMs?: number;
}): HttpAttempt {
  return {
    service: 'keystone',
    authReason: a.reason,
    method: 'POST',
    path: '/v3/auth/tokens',
    status: a.status,
    ms: Math.round((performance.now() - a.started) * 1000) / 1000,
    attempt: a.attempt,
    willRetry: a.willRetry,
    at: a.at,
    ...(a.errorCode === undefined ? {} : { errorCode: a.errorCode }),
    ...(a.retryInMs === undefined ? {} : { retryInMs: a.retryInMs }),
  };
}

function report(observers: readonly HttpObserver[], attempts: readonly HttpAttempt[]): void {
  for (const a of attempts) for (const observe of observers) observe(a);
}

/** The shared renewal, abandoned by this caller alone when its own signal aborts. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
