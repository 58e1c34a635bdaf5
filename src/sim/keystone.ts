// A Keystone v3 in front of the simulated Ironic, on the same port, for fast tests of the auth
// paths: password and application-credential tokens with a lifetime, a catalog naming the
// simulator as the baremetal endpoint, and Ironic's keystonemiddleware answers (401 with its
// body and Www-Authenticate; 503 while Keystone is down). The shapes follow the real pair
// (shared/ironic/KEYSTONE.md); test/keystone-real checks ironledger against the real one.
import { randomBytes } from 'node:crypto';

export interface SimKeystoneUser {
  name: string;
  password: string;
  /** Project the user's tokens are scoped to (default `admin`). */
  project?: string;
}

export interface SimAppCredential {
  id: string;
  name: string;
  secret: string;
  /** The user it belongs to (for auth by name). */
  user: string;
  /** Epoch ms after which it no longer authenticates; its tokens never outlive it. */
  expiresAt?: number;
}

export interface SimKeystoneOptions {
  users?: SimKeystoneUser[];
  applicationCredentials?: SimAppCredential[];
  /** Lifetime of an issued token (default 3600 s, Keystone's [token] expiration). */
  tokenLifetimeMs?: number;
  /** Tokens accepted as they are, never expiring (a static X-Auth-Token). */
  staticTokens?: string[];
  /** Region of the catalog's endpoints (default RegionOne). */
  region?: string;
}

export interface KeystoneOutcome {
  status: number;
  payload: string | undefined;
  headers: Record<string, string>;
}

export interface SimKeystoneStats {
  /** POST /v3/auth/tokens received. */
  tokenRequests: number;
  /** Tokens issued. */
  issued: number;
  /** Ironic requests refused 401. */
  unauthorized: number;
}

const DOMAIN = { id: 'default', name: 'Default' };

export class SimKeystone {
  /** Token -> expiry (epoch ms). */
  private readonly tokens = new Map<string, number>();
  private readonly staticTokens: Set<string>;
  private readonly lifetimeMs: number;
  /** While true, token requests and token-bearing Ironic requests answer 503, as with Keystone stopped. */
  down = false;
  readonly stats: SimKeystoneStats = { tokenRequests: 0, issued: 0, unauthorized: 0 };

  constructor(private readonly opts: SimKeystoneOptions) {
    this.lifetimeMs = opts.tokenLifetimeMs ?? 3_600_000;
    this.staticTokens = new Set(opts.staticTokens ?? []);
  }

  /** Every token issued and not revoked (tests read the store's bytes for them). */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Every token issued so far stops working (revocation, or a restart with new fernet keys). */
  revokeAll(): void {
    this.tokens.clear();
  }

  /**
   * Answers Keystone's own routes, and refuses Ironic's routes without a valid token; null lets
   * the request through to Ironic. Ironic's public routes (`/`, `/v1`) need no token.
   */
  gate(
    method: string,
    segs: string[],
    headers: Record<string, unknown>,
    body: string,
    base: string,
  ): KeystoneOutcome | null {
    if (segs[0] === 'v3') return this.identity(method, segs, body, base);
    if (segs.length === 0 || (segs.length === 1 && segs[0] === 'v1')) return null;
    const token = headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') return this.unauthorized(base);
    if (this.staticTokens.has(token)) return null;
    if (this.down) {
      return {
        status: 503,
        payload:
          '<html><body><h1>503 Service Unavailable</h1>The Keystone service is temporarily unavailable.</body></html>',
        headers: { 'Content-Type': 'text/html' },
      };
    }
    const expires = this.tokens.get(token);
    if (expires === undefined || Date.now() >= expires) return this.unauthorized(base);
    return null;
  }

  private unauthorized(base: string): KeystoneOutcome {
    this.stats.unauthorized++;
    return {
      status: 401,
      payload: JSON.stringify({
        error: {
          code: 401,
          title: 'Unauthorized',
          message: 'The request you have made requires authentication.',
        },
      }),
      headers: { 'Www-Authenticate': `Keystone uri="${base}/v3"` },
    };
  }

  private identity(method: string, segs: string[], body: string, base: string): KeystoneOutcome {
    if (segs.length === 1 && method === 'GET') {
      return json(200, {
        version: { id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: `${base}/v3/` }] },
      });
    }
    if (segs[1] !== 'auth' || segs[2] !== 'tokens' || segs.length !== 3)
      return keystoneError(404, 'Not Found', 'Could not find the resource.');
    if (method !== 'POST') return keystoneError(405, 'Method Not Allowed', 'The method is not allowed.');
    this.stats.tokenRequests++;
    if (this.down)
      return { status: 503, payload: 'Service Unavailable', headers: { 'Content-Type': 'text/plain' } };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return keystoneError(400, 'Bad Request', 'Malformed JSON body.');
    }
    const who = this.authenticate(parsed);
    if (typeof who === 'string') return keystoneError(401, 'Unauthorized', who);
    const issuedAt = Date.now();
    const expiresAt =
      who.notAfter === undefined
        ? issuedAt + this.lifetimeMs
        : Math.min(issuedAt + this.lifetimeMs, who.notAfter);
    const token = `gAAAAA${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, expiresAt);
    this.stats.issued++;
    const region = this.opts.region ?? 'RegionOne';
    const endpoints = ['public', 'internal'].map((iface) => ({
      id: `${iface}-ep`,
      interface: iface,
      region_id: region,
      region,
      url: base,
    }));
    return {
      status: 201,
      headers: { 'X-Subject-Token': token, 'Content-Type': 'application/json' },
      payload: JSON.stringify({
        token: {
          methods: [who.method],
          user: { id: `user-${who.user}`, name: who.user, domain: DOMAIN },
          project: { id: `project-${who.project}`, name: who.project, domain: DOMAIN },
          issued_at: keystoneTime(issuedAt),
          expires_at: keystoneTime(expiresAt),
          roles: [{ id: 'r-admin', name: 'admin' }],
          catalog: [
            {
              type: 'identity',
              name: 'keystone',
              endpoints: [{ id: 'id-ep', interface: 'public', region_id: region, region, url: `${base}/v3` }],
            },
            { type: 'baremetal', name: 'ironic', endpoints },
          ],
        },
      }),
    };
  }

  private authenticate(
    body: unknown,
  ): { method: string; user: string; project: string; notAfter?: number } | string {
    const identity = (body as { auth?: { identity?: Record<string, unknown> } } | null)?.auth?.identity;
    const methods = identity?.methods;
    if (!Array.isArray(methods)) return 'Expecting to find identity in auth.';
    if (methods.includes('password')) {
      const user = (identity?.password as { user?: { name?: unknown; password?: unknown } } | undefined)
        ?.user;
      const found = (this.opts.users ?? []).find(
        (u) => u.name === user?.name && u.password === user?.password,
      );
      if (!found) return 'The request you have made requires authentication.';
      return { method: 'password', user: found.name, project: found.project ?? 'admin' };
    }
    if (methods.includes('application_credential')) {
      const ac = identity?.application_credential as
        { id?: unknown; name?: unknown; secret?: unknown } | undefined;
      const found = (this.opts.applicationCredentials ?? []).find(
        (c) => (c.id === ac?.id || (ac?.id === undefined && c.name === ac?.name)) && c.secret === ac?.secret,
      );
      if (!found || (found.expiresAt !== undefined && Date.now() >= found.expiresAt))
        return 'The request you have made requires authentication.';
      const owner = (this.opts.users ?? []).find((u) => u.name === found.user);
      return {
        method: 'application_credential',
        user: found.user,
        project: owner?.project ?? 'admin',
        ...(found.expiresAt === undefined ? {} : { notAfter: found.expiresAt }),
      };
    }
    return 'Unsupported authentication method.';
  }
}

function json(status: number, value: unknown): KeystoneOutcome {
  return { status, payload: JSON.stringify(value), headers: { 'Content-Type': 'application/json' } };
}

function keystoneError(status: number, title: string, message: string): KeystoneOutcome {
  return json(status, { error: { code: status, title, message } });
}

/** As Keystone writes it: microseconds and a Z. */
function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
