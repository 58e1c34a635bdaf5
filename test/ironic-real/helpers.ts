// Helpers for suites that run against the real Ironic: enrolling fake-hardware nodes through the
// API, and reading the order of requests from Ironic's own log.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  call,
  FAKE_INTERFACES,
  pollNode,
  settledIn,
  type NodeView,
  type PollOptions,
} from '../differential/http.js';

export { call, getNode, faultOf, pollNode, settledIn, type NodeView } from '../differential/http.js';

const runFile = promisify(execFile);

/** Transitions on fake-hardware take seconds (fake delays); poll often, give up late. */
export const REAL_POLL: PollOptions = { timeoutMs: 60_000, intervalMs: 200 };

async function expectStatus(
  baseUrl: string,
  expected: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await call(baseUrl, method, path, body);
  if (res.status !== expected) {
    throw new Error(`${method} ${path} answered ${res.status}, expected ${expected}: ${res.text}`);
  }
  return res.json;
}

/** POST /v1/nodes with the fake interfaces: the node starts in `enroll`. */
export async function enrollFakeNode(baseUrl: string, fields: Record<string, unknown> = {}): Promise<string> {
  const node = (await expectStatus(baseUrl, 201, 'POST', '/v1/nodes', {
    ...FAKE_INTERFACES,
    ...fields,
  })) as NodeView;
  return node.uuid;
}

/** enroll -> manage -> manageable -> provide -> (cleaning) -> available. */
export async function makeAvailable(
  baseUrl: string,
  node: string,
  poll: PollOptions = REAL_POLL,
): Promise<NodeView> {
  await expectStatus(baseUrl, 202, 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'manage' });
  await pollNode(baseUrl, node, settledIn('manageable'), poll);
  await expectStatus(baseUrl, 202, 'PUT', `/v1/nodes/${node}/states/provision`, { target: 'provide' });
  return pollNode(baseUrl, node, settledIn('available'), poll);
}

/** Enrolls `count` fake-hardware nodes and brings them all to `available` at once. */
export async function availableFakeNodes(baseUrl: string, count: number): Promise<string[]> {
  const nodes = await Promise.all(Array.from({ length: count }, () => enrollFakeNode(baseUrl)));
  await Promise.all(nodes.map((n) => makeAvailable(baseUrl, n)));
  return nodes;
}

/** Deploys the way the seed's spawn does: instance fields, VIFs, then `active` with a config drive. */
export async function deployFakeNode(
  baseUrl: string,
  node: string,
  opts: { instanceUuid: string; vifs: readonly string[]; poll?: PollOptions },
): Promise<NodeView> {
  await expectStatus(baseUrl, 200, 'PATCH', `/v1/nodes/${node}`, [
    { op: 'add', path: '/instance_uuid', value: opts.instanceUuid },
    {
      op: 'add',
      path: '/instance_info',
      value: { image_source: 'http://127.0.0.1/image.qcow2', root_gb: '10' },
    },
  ]);
  for (const vif of opts.vifs) {
    await expectStatus(baseUrl, 204, 'POST', `/v1/nodes/${node}/vifs`, { id: vif });
  }
  await expectStatus(baseUrl, 202, 'PUT', `/v1/nodes/${node}/states/provision`, {
    target: 'active',
    configdrive: { meta_data: { uuid: opts.instanceUuid, hostname: 'ironic-real' } },
  });
  return pollNode(baseUrl, node, settledIn('active'), opts.poll ?? REAL_POLL);
}

/** One API request as eventlet.wsgi logged it: Ironic's own record of what it was asked, in order. */
export interface LoggedRequest {
  at: string;
  method: string;
  path: string;
  status: number;
}

const REQUEST_LINE =
  /^(\S+ \S+) .*eventlet\.wsgi\.server .*"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP\/1\.[01]" status: (\d{3})/;

/**
 * The requests in Ironic's log, in the order Ironic finished them, optionally only those whose
 * path mentions `node`. eventlet logs a request when its answer is sent.
 */
export async function loggedRequests(logPath: string, node?: string): Promise<LoggedRequest[]> {
  const text = await readFile(logPath, 'utf8');
  const out: LoggedRequest[] = [];
  for (const line of text.split('\n')) {
    const m = REQUEST_LINE.exec(line);
    if (!m) continue;
    const [, at, method, path, status] = m;
    if (node !== undefined && !path!.includes(node)) continue;
    out.push({ at: at!, method: method!, path: path!, status: Number(status) });
  }
  return out;
}

const SCRIPT = fileURLToPath(new URL('../../scripts/ironic-standalone.sh', import.meta.url));

/** An Ironic started by scripts/ironic-standalone.sh: its KEY=VALUE lines. */
export interface StandaloneIronic {
  url: string;
  dir: string;
  pid: number;
  log: string;
}

/**
 * Runs scripts/ironic-standalone.sh with `args` (start or restart) and returns what it printed;
 * throws with its stderr if it failed.
 */
export async function standalone(args: readonly string[]): Promise<StandaloneIronic> {
  const { stdout } = await runFile('bash', [SCRIPT, ...args], { maxBuffer: 1 << 20 }).catch(
    (err: { code?: number; stderr?: string }) => {
      throw new Error(`ironic-standalone.sh ${args.join(' ')} exited ${err.code}:\n${err.stderr ?? ''}`);
    },
  );
  const kv = new Map(
    stdout
      .split('\n')
      .map((l) => /^IRONIC_([A-Z]+)=(.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  const [url, dir, pid, log] = [kv.get('URL'), kv.get('DIR'), Number(kv.get('PID')), kv.get('LOG')];
  if (!url || !dir || !log || !Number.isInteger(pid)) {
    throw new Error(`ironic-standalone.sh ${args.join(' ')} printed no IRONIC_ lines:\n${stdout}`);
  }
  return { url, dir, pid, log };
}

/** Stops an Ironic started by `standalone(['start', ...])` and removes its directory. */
export async function stopStandalone(dir: string): Promise<void> {
  await runFile('bash', [SCRIPT, 'stop', dir]);
}
