// Where each request's credentials come from. A static kind (noauth, HTTP basic, a fixed token)
// has fixed headers; Keystone (keystone.ts) issues tokens, renews them before they expire and
// once after a 401, one renewal at a time for every caller.
import { Buffer } from 'node:buffer';
import type { IronicAuth } from './cloud-settings.js';
import type { HttpObserver } from './types.js';

export interface AuthCallContext {
  signal?: AbortSignal;
  /** Told of every Keystone attempt this call waited for (the run's log shows its re-authentications). */
  observers: readonly HttpObserver[];
}

export interface AuthSource {
  /** The headers of the next attempt; may authenticate first. */
  headers(ctx: AuthCallContext): Promise<Record<string, string>>;
  /**
   * After Ironic answered 401 to an attempt sent with `used`: renews the token when that can
   * help (a renewal already made by another caller counts). True: send the request again.
   */
  renewAfterUnauthorized(used: Record<string, string>, ctx: AuthCallContext): Promise<boolean>;
  /** Values no message may show: passwords, secrets and every token issued so far. */
  secrets(): readonly string[];
  close(): Promise<void>;
}

export type StaticAuth = Extract<IronicAuth, { type: 'noauth' | 'basic' | 'token' }>;

export function isStaticAuth(auth: IronicAuth): auth is StaticAuth {
  return auth.type === 'noauth' || auth.type === 'basic' || auth.type === 'token';
}

/** Fixed headers: nothing to renew, so a 401 is final. */
export function staticAuthSource(auth: StaticAuth): AuthSource {
  const headers = staticHeaders(auth);
  const secrets = staticSecrets(auth);
  return {
    headers: () => Promise.resolve(headers),
    renewAfterUnauthorized: () => Promise.resolve(false),
    secrets: () => secrets,
    close: () => Promise.resolve(),
  };
}

function staticHeaders(auth: StaticAuth): Record<string, string> {
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

function staticSecrets(auth: StaticAuth): string[] {
  switch (auth.type) {
    case 'noauth':
      return [];
    case 'basic':
      return [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64')];
    case 'token':
      return [auth.token];
  }
}
