// Test helpers: a tiny Ironic client over fetch, and polling for a node state.
import type { Simulator } from '../../src/sim/index.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function call(
  sim: Simulator,
  method: string,
  path: string,
  body?: unknown,
  version: string | null = '1.82',
): Promise<Reply> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (version !== null) headers['X-OpenStack-Ironic-API-Version'] = version;
  const res = await fetch(sim.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
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

/** The faultstring inside Ironic's {"error_message": "<json>"} body. */
export function faultstring(reply: Reply): string {
  const outer = reply.json as { error_message?: string };
  if (typeof outer?.error_message !== 'string') throw new Error(`not an Ironic error body: ${reply.text}`);
  return (JSON.parse(outer.error_message) as { faultstring: string }).faultstring;
}

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 3000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves once the node reaches `state` (and its lock is released). */
export function waitForState(sim: Simulator, node: string, state: string, timeoutMs = 3000): Promise<true> {
  return waitFor(() => {
    const n = sim.node(node);
    return n && n.provision_state === state && n.reservation === null ? true : undefined;
  }, timeoutMs);
}

export const INSTANCE = '11111111-2222-3333-4444-555555555555';
