// Raw HTTP against an Ironic-shaped API (the real Ironic or the simulator), with no project client
// in between: the differential suite must see exactly what the server answers.
import { request } from 'undici';

/** The newest microversion Ironic 2023.1 serves; the simulator must accept it too. */
export const API_VERSION = '1.82';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const res = await request(new URL(path, baseUrl), {
    method: method as 'GET',
    headers: {
      'x-openstack-ironic-api-version': API_VERSION,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** A node as these tests read it: only the fields they compare. */
export interface NodeView {
  uuid: string;
  provision_state: string;
  target_provision_state: string | null;
  power_state: string | null;
  target_power_state: string | null;
  reservation: string | null;
  instance_uuid: string | null;
  instance_info: Record<string, unknown>;
  last_error: string | null;
}

export async function getNode(baseUrl: string, node: string): Promise<NodeView> {
  const res = await call(baseUrl, 'GET', `/v1/nodes/${node}`);
  if (res.status !== 200) {
    throw new Error(`GET /v1/nodes/${node} answered ${res.status}: ${res.text}`);
  }
  return res.json as NodeView;
}

/** Ironic's error body: `{"error_message": "<JSON string of {faultcode, faultstring, debuginfo}>"}`. */
export interface Fault {
  faultcode: string;
  faultstring: string;
  debuginfo: unknown;
}

export function faultOf(res: RawResponse): Fault | null {
  const outer = res.json;
  if (typeof outer !== 'object' || outer === null || !('error_message' in outer)) return null;
  const inner = (outer as { error_message: unknown }).error_message;
  if (typeof inner !== 'string') return null;
  try {
    return JSON.parse(inner) as Fault;
  } catch {
    return null;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
}

/**
 * Polls the node until `done` holds, calling `seen` with every observation (including the last).
 * Transitions on both servers take a while, so this is how every scenario waits.
 */
export async function pollNode(
  baseUrl: string,
  node: string,
  done: (n: NodeView) => boolean,
  opts: PollOptions,
  seen: (n: NodeView) => void = () => undefined,
): Promise<NodeView> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const n = await getNode(baseUrl, node);
    seen(n);
    if (done(n)) return n;
    if (Date.now() > deadline) {
      throw new Error(
        `node ${node} did not settle within ${opts.timeoutMs} ms: provision_state=${n.provision_state} ` +
          `target=${n.target_provision_state} power=${n.power_state} reservation=${n.reservation} ` +
          `last_error=${n.last_error}`,
      );
    }
    await sleep(opts.intervalMs);
  }
}

/** A node is settled in `state` when no transition is pending and the conductor released it. */
export function settledIn(state: string): (n: NodeView) => boolean {
  return (n) => n.provision_state === state && n.target_provision_state === null && !n.reservation;
}

/** The interfaces a fake-hardware node needs so that every conductor call succeeds without hardware. */
export const FAKE_INTERFACES = {
  driver: 'fake-hardware',
  boot_interface: 'fake',
  deploy_interface: 'fake',
  management_interface: 'fake',
  power_interface: 'fake',
} as const;
