// Helpers for the real-Keystone suite: the pair the global setup started, Keystone tokens as a
// client gets them (plain HTTP, no ironledger code), application credentials made from a test,
// and stopping / starting Keystone alone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import './provided-context.js';
import type { KeystonePair } from './provided-context.js';
import { call, FAKE_INTERFACES, settledIn, type NodeView } from '../differential/http.js';
import { keystoneScript, pairFromKeyValues, parseKeyValues } from './script.js';

export type { KeystonePair } from './provided-context.js';

/** The pair, or null when the suite is skipped (not installed, outside CI). */
export function keystonePair(): KeystonePair | null {
  return inject('keystone');
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** One HTTP request with fetch; the body parsed as JSON when it is JSON. */
export async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      accept: 'application/json',
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The parts of Keystone's token body these tests read. */
export interface TokenBody {
  methods: string[];
  expires_at: string;
  issued_at: string;
  project?: { id: string; name: string };
  user: { id: string; name: string };
  roles?: { name: string }[];
  catalog?: { type: string; name: string; endpoints: { interface: string; region: string; url: string }[] }[];
  application_credential?: { id: string; name: string; restricted: boolean };
}

export interface Token {
  status: number;
  /** X-Subject-Token, '' when Keystone refused. */
  token: string;
  body: TokenBody | undefined;
  text: string;
}

async function postToken(pair: KeystonePair, auth: unknown): Promise<Token> {
  const res = await http(`${pair.keystoneUrl}/auth/tokens`, { method: 'POST', body: { auth } });
  const body = (res.json as { token?: TokenBody } | undefined)?.token;
  return { status: res.status, token: res.headers.get('x-subject-token') ?? '', body, text: res.text };
}

/** POST /v3/auth/tokens with a password, scoped to the user's project (by name, in Default). */
export function passwordToken(
  pair: KeystonePair,
  user: 'admin' | 'demo' = 'admin',
  password?: string,
): Promise<Token> {
  const who = pair[user];
  return postToken(pair, {
    identity: {
      methods: ['password'],
      password: {
        user: {
          name: who.username,
          domain: { name: pair.userDomainName },
          password: password ?? who.password,
        },
      },
    },
    scope: { project: { name: who.projectName, domain: { name: pair.projectDomainName } } },
  });
}

/** POST /v3/auth/tokens with an application credential (by id; it carries its own scope). */
export function appCredentialToken(pair: KeystonePair, cred: { id: string; secret: string }): Promise<Token> {
  return postToken(pair, {
    identity: {
      methods: ['application_credential'],
      application_credential: { id: cred.id, secret: cred.secret },
    },
  });
}

/** GET on Ironic at microversion 1.82, with whatever auth headers are given. */
export function ironicGet(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return http(new URL(path, baseUrl).toString(), {
    headers: { 'x-openstack-ironic-api-version': '1.82', ...headers },
  });
}

export interface AppCredential {
  id: string;
  name: string;
  secret: string;
  /** Keystone's expires_at (UTC, no fraction, no Z: "2026-12-07T09:40:12"), or null: never. */
  expiresAt: string | null;
}

/**
 * A new application credential of admin's (or demo's) on their project, made by the script's
 * `appcred` (the user's own password token, POST /v3/users/{id}/application_credentials).
 * `expiresInS`: Keystone refuses it, and every token made from it, after that many seconds.
 */
export async function createAppCredential(
  pair: KeystonePair,
  options: { expiresInS?: number; user?: 'admin' | 'demo'; name?: string } = {},
): Promise<AppCredential> {
  const args = ['appcred', pair.dir, '--user', options.user ?? 'admin'];
  if (options.expiresInS !== undefined) args.push('--expires-in', String(options.expiresInS));
  if (options.name !== undefined) args.push('--name', options.name);
  const kv = await keystoneScript(args);
  return {
    id: kv.get('APPCRED_ID') ?? '',
    name: kv.get('APPCRED_NAME') ?? '',
    secret: kv.get('APPCRED_SECRET') ?? '',
    expiresAt: kv.get('APPCRED_EXPIRES_AT') || null,
  };
}

/** Keystone's UTC timestamps ("...T09:40:12" or "...T09:40:12.000000Z") as epoch ms. */
export function keystoneTime(at: string): number {
  return Date.parse(at.endsWith('Z') ? at : `${at}Z`);
}

/** Stops only Keystone: Ironic then answers 503 to a request with a token. */
export async function stopKeystone(pair: KeystonePair): Promise<void> {
  await keystoneScript(['stop-keystone', pair.dir]);
}

/**
 * Starts Keystone again on the same port, database and keys (tokens issued before stay valid);
 * `tokenExpirationS` changes the lifetime of the tokens it issues from then on. Returns its pid.
 */
export async function startKeystone(
  pair: KeystonePair,
  options: { tokenExpirationS?: number } = {},
): Promise<number> {
  const args = ['start-keystone', pair.dir];
  if (options.tokenExpirationS !== undefined)
    args.push('--token-expiration', String(options.tokenExpirationS));
  const kv = await keystoneScript(args);
  return Number(kv.get('KEYSTONE_PID'));
}

/** stop-keystone then start-keystone, e.g. with a short token lifetime for an expiry test. */
export async function restartKeystone(
  pair: KeystonePair,
  options: { tokenExpirationS?: number } = {},
): Promise<number> {
  await stopKeystone(pair);
  return startKeystone(pair, options);
}

/** The pid of the Keystone running now (start-keystone makes a new one). */
export function currentKeystonePid(pair: KeystonePair): number {
  const state = parseKeyValues(readFileSync(join(pair.dir, 'state.env'), 'utf8'));
  return Number(state.get('KEYSTONE_PID'));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** X-Auth-Token of a fresh admin password token (project admin). */
export async function adminAuthHeaders(pair: KeystonePair): Promise<Record<string, string>> {
  const t = await passwordToken(pair, 'admin');
  if (t.status !== 201) throw new Error(`admin password token answered ${t.status}: ${t.text}`);
  return { 'x-auth-token': t.token };
}

async function expectIronic(
  baseUrl: string,
  headers: Record<string, string>,
  expected: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await call(baseUrl, method, path, body, headers);
  if (res.status !== expected) {
    throw new Error(`${method} ${path} answered ${res.status}, expected ${expected}: ${res.text}`);
  }
  return res.json;
}

async function waitSettled(
  baseUrl: string,
  headers: Record<string, string>,
  node: string,
  state: string,
  timeoutMs = 90_000,
): Promise<NodeView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = (await expectIronic(baseUrl, headers, 200, 'GET', `/v1/nodes/${node}`)) as NodeView;
    if (settledIn(state)(n)) return n;
    if (Date.now() > deadline) {
      throw new Error(
        `node ${node} did not settle in ${state}: ${n.provision_state} -> ${n.target_provision_state}`,
      );
    }
    await sleep(250);
  }
}

/**
 * Enrolls a fake-hardware node on an Ironic that needs auth (`headers`: X-Auth-Token, or
 * Authorization: Basic) and brings it to `available` (manage, provide, automated cleaning).
 * With a project-scoped admin token the node's owner is admin's project.
 */
export async function availableNodeWithAuth(
  baseUrl: string,
  headers: Record<string, string>,
): Promise<string> {
  const node = (await expectIronic(baseUrl, headers, 201, 'POST', '/v1/nodes', {
    ...FAKE_INTERFACES,
  })) as NodeView;
  await expectIronic(baseUrl, headers, 202, 'PUT', `/v1/nodes/${node.uuid}/states/provision`, {
    target: 'manage',
  });
  await waitSettled(baseUrl, headers, node.uuid, 'manageable');
  await expectIronic(baseUrl, headers, 202, 'PUT', `/v1/nodes/${node.uuid}/states/provision`, {
    target: 'provide',
  });
  await waitSettled(baseUrl, headers, node.uuid, 'available');
  return node.uuid;
}

export interface OwnPairOptions {
  /** Where the script puts it (must not exist or be empty); default a new temp directory. */
  dir?: string;
  tokenExpirationS?: number;
  tokenCacheTimeS?: number;
  deployDelayS?: number;
  powerDelayS?: number;
}

/**
 * A second pair (Keystone, Ironic behind it, basic Ironic) with its own settings, e.g. a longer
 * fake deploy that outlasts a short token lifetime. Costs 20-40 s to start (minutes on a loaded
 * machine): give the test a long timeout. `stop` ends exactly its processes and removes its dir.
 */
export async function startOwnPair(
  options: OwnPairOptions = {},
): Promise<{ pair: KeystonePair; stop: () => Promise<void> }> {
  const args = ['start', '--basic'];
  if (options.dir !== undefined) args.push('--dir', options.dir);
  if (options.tokenExpirationS !== undefined)
    args.push('--token-expiration', String(options.tokenExpirationS));
  if (options.tokenCacheTimeS !== undefined) args.push('--token-cache-time', String(options.tokenCacheTimeS));
  if (options.deployDelayS !== undefined) args.push('--deploy-delay', String(options.deployDelayS));
  if (options.powerDelayS !== undefined) args.push('--power-delay', String(options.powerDelayS));
  const kv = await keystoneScript(args);
  const pair = pairFromKeyValues(kv);
  return {
    pair,
    stop: async () => {
      await keystoneScript(['stop', pair.dir]);
    },
  };
}
