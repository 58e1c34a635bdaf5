// The HTTP face of the simulator on node:http: microversion negotiation and
// headers, routing, Ironic's error bodies, fault injection, the lock-wait
// retry Ironic's conductor does, and the request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, Fault } from './api-error.js';
import type { ApiHandlers, ApiRequest, ApiResponse } from './api.js';
import type { FaultDecision, FaultInjector } from './faults.js';
import { checkHttpBasic } from './http-basic.js';
import type { Inventory } from './inventory.js';
import type { SimKeystone } from './keystone.js';
import { MIN_MINOR, type ResolvedOptions } from './options.js';
import type { Prng } from './prng.js';
import { pyDumps } from './python-json.js';
import type { RequestLog } from './request-log.js';

const VERSION_HEADER = 'x-openstack-ironic-api-version';
const VIFS_MINOR = 28;
/** Header spelling as Ironic's eventlet server sends it. */
const H_MIN = 'X-Openstack-Ironic-Api-Minimum-Version';
const H_MAX = 'X-Openstack-Ironic-Api-Maximum-Version';
const H_VER = 'X-Openstack-Ironic-Api-Version';

interface Outcome {
  status: number;
  payload: string | undefined;
  headers: Record<string, string>;
}

export interface ServerDeps {
  options: ResolvedOptions;
  handlers: ApiHandlers;
  inventory: Inventory;
  faults: FaultInjector;
  log: RequestLog | undefined;
  requestIds: Prng;
  stats: { requests: number; byRoute: Map<string, number> };
  /** Keystone in front of Ironic: tokens required on every route but `/` and `/v1`. */
  keystone?: SimKeystone;
}

function webobError(status: number, title: string, description: string): string {
  return pyDumps({ error_message: pyDumps({ code: status, title, description }) });
}

function faultBody(err: ApiError): string {
  return pyDumps({
    error_message: pyDumps({ faultcode: err.faultcode, faultstring: err.faultstring, debuginfo: null }),
  });
}

/** The route template for stats, e.g. 'PUT /v1/nodes/{node}/states/provision'. */
function routeKey(method: string, segs: string[]): string {
  const t = segs.map((s, i) => {
    if (
      i === 2 &&
      segs[0] === 'v1' &&
      ['nodes', 'ports', 'portgroups'].includes(segs[1]!) &&
      s !== 'detail'
    ) {
      return segs[1] === 'nodes' ? '{node}' : '{id}';
    }
    if (i === 4 && segs[1] === 'nodes' && segs[3] === 'vifs') return '{vif}';
    return s;
  });
  return `${method} /${t.join('/')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class SimServer {
  readonly http: Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly maxVersion: string;

  constructor(private readonly deps: ServerDeps) {
    this.maxVersion = `1.${deps.options.maxMinor}`;
    this.http = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        // The client went away mid-answer (or a reset fault fired): nothing left to tell it.
        if (!res.headersSent) res.destroy();
      });
    });
    this.http.keepAliveTimeout = 5000;
    this.http.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(): Promise<string> {
    const { host, port } = this.deps.options;
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        const addr = this.http.address() as AddressInfo;
        resolve(`http://${host}:${addr.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const at = new Date().toISOString();
    const method = req.method ?? 'GET';
    const rawPath = req.url ?? '/';
    const qIndex = rawPath.indexOf('?');
    const pathname = qIndex < 0 ? rawPath : rawPath.slice(0, qIndex);
    const segs = pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeSegment);
    const nodeIdent =
      segs[0] === 'v1' && segs[1] === 'nodes' && segs[2] !== undefined && segs[2] !== 'detail'
        ? segs[2]
        : undefined;
    const node = nodeIdent === undefined ? undefined : this.deps.inventory.find(nodeIdent);
    const { stats } = this.deps;
    stats.requests++;
    const key = routeKey(method, segs);
    stats.byRoute.set(key, (stats.byRoute.get(key) ?? 0) + 1);

    const record = (status: number, fault?: string): void => {
      if (!this.deps.log) return;
      this.deps.log.push({
        method,
        path: rawPath,
        status,
        at,
        ms: Math.round((performance.now() - started) * 1000) / 1000,
        ...(node ? { node: node.uuid } : {}),
        ...(fault ? { fault } : {}),
        ...(req.headers['user-agent'] ? { agent: req.headers['user-agent'] } : {}),
      });
    };
    const basic = this.deps.options.httpBasic;
    const refused = basic === undefined ? null : checkHttpBasic(basic, segs, req.headers);
    if (refused !== null) {
      res.writeHead(refused.status, {
        ...refused.headers,
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(refused.payload)),
      });
      res.end(refused.payload);
      record(refused.status);
      return;
    }

    const body = await readBody(req);
    const gate = this.deps.keystone?.gate(method, segs, req.headers, body, this.baseOf(req));
    if (gate) {
      const payload = gate.payload ?? '';
      res.writeHead(gate.status, {
        'Content-Type': 'application/json',
        ...gate.headers,
        'Content-Length': String(Buffer.byteLength(payload)),
      });
      res.end(payload);
      record(gate.status);
      return;
    }
    const negotiated = segs[0] === 'v1' ? this.negotiate(req) : undefined;
    let decision: FaultDecision | undefined;
    if (typeof negotiated !== 'object') {
      decision = this.deps.faults.decide({
        method,
        path: pathname,
        nodeUuid: node?.uuid,
        nodeName: node?.name,
      });
    }
    if (decision?.kind === 'latency') await sleep(decision.latencyMs);
    if (decision?.kind === 'reset') {
      record(0, 'reset');
      req.socket.destroy();
      return;
    }
    let out: Outcome;
    if (typeof negotiated === 'object') out = negotiated;
    else if (decision && decision.kind !== 'latency')
      out = this.injected(decision, node?.uuid ?? nodeIdent, negotiated);
    else out = await this.dispatch(method, segs, rawPath, qIndex, body, req, negotiated ?? MIN_MINOR);
    const headers: Record<string, string> = {
      ...out.headers,
      'Openstack-Request-Id': `req-${this.deps.requestIds.uuid()}`,
    };
    if (out.payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(out.payload));
    } else {
      headers['Content-Length'] = '0';
    }
    res.writeHead(out.status, headers);
    res.end(out.payload);
    record(out.status, decision?.kind);
  }

  private baseOf(req: IncomingMessage): string {
    return `http://${req.headers.host ?? `${this.deps.options.host}:${this.deps.options.port}`}`;
  }

  private injected(decision: FaultDecision, nodeId: string | undefined, minor: number | undefined): Outcome {
    const headers = minor === undefined ? {} : this.versionHeaders(`1.${minor}`);
    const err =
      decision.kind === '409-locked'
        ? Fault.nodeLocked(nodeId ?? 'unknown', 'localhost')
        : Fault.noFreeConductorWorker();
    return { status: err.status, payload: faultBody(err), headers };
  }

  /** Microversion negotiation (ironic/api/controllers/v1/versions.py): the minor, or a 406. */
  private negotiate(req: IncomingMessage): number | Outcome {
    const requested = req.headers[VERSION_HEADER];
    if (requested === undefined) return MIN_MINOR;
    const value = Array.isArray(requested) ? requested.join(',') : requested;
    if (value.trim().toLowerCase() === 'latest') return this.deps.options.maxMinor;
    const m = /^\s*(\d+)\.(\d+)\s*$/.exec(value);
    if (!m || m[1] !== '1') {
      return {
        status: 406,
        payload: webobError(406, 'Not Acceptable', 'Invalid value for X-OpenStack-Ironic-API-Version header'),
        headers: {},
      };
    }
    const minor = Number(m[2]);
    if (minor < MIN_MINOR || minor > this.deps.options.maxMinor) {
      return {
        status: 406,
        payload: webobError(
          406,
          'Not Acceptable',
          `Version ${m[1]}.${m[2]} was requested but the minor version is not supported by this service. The supported version range is: [1.${MIN_MINOR}, ${this.maxVersion}].`,
        ),
        headers: this.versionHeaders(),
      };
    }
    return minor;
  }

  private versionHeaders(version?: string): Record<string, string> {
    const h: Record<string, string> = { [H_MIN]: `1.${MIN_MINOR}`, [H_MAX]: this.maxVersion };
    if (version) h[H_VER] = version;
    return h;
  }

  private async dispatch(
    method: string,
    segs: string[],
    rawPath: string,
    qIndex: number,
    rawBody: string,
    req: IncomingMessage,
    minor: number,
  ): Promise<Outcome> {
    const base = this.baseOf(req);
    if (segs.length === 0) {
      if (method !== 'GET')
        return { status: 405, payload: webobError(405, 'Method Not Allowed', ''), headers: {} };
      return { status: 200, payload: pyDumps(this.rootDocument(base)), headers: {} };
    }
    if (segs[0] !== 'v1') return { status: 404, payload: webobError(404, 'Not Found', ''), headers: {} };

    const headers = this.versionHeaders(`1.${minor}`);
    let body: unknown;
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody);
    } catch {
      // Ironic reads an unparsable body as no body ("Missing mandatory parameter: ...").
      body = undefined;
    }
    const apiReq: ApiRequest = {
      method,
      segments: segs,
      query: new URLSearchParams(qIndex < 0 ? '' : rawPath.slice(qIndex + 1)),
      body,
      minor,
      base,
    };
    const deadline = performance.now() + this.deps.options.lockWaitMs;
    for (;;) {
      try {
        const r = this.route(apiReq, base);
        if (r === 'not-found') return { status: 404, payload: webobError(404, 'Not Found', ''), headers };
        if (r === 'method')
          return { status: 405, payload: webobError(405, 'Method Not Allowed', ''), headers };
        const outHeaders = { ...headers };
        if (r.location) outHeaders.Location = r.location;
        return {
          status: r.status,
          payload: r.body === undefined ? undefined : pyDumps(r.body),
          headers: outHeaders,
        };
      } catch (err) {
        if (err instanceof ApiError) {
          // task_manager.acquire retries a held lock before giving up with NodeLocked.
          const left = deadline - performance.now();
          if (err.lockConflict && left > 0) {
            await sleep(Math.min(20, left));
            continue;
          }
          return { status: err.status, payload: faultBody(err), headers };
        }
        const message = err instanceof Error ? err.message : String(err);
        return { status: 500, payload: faultBody(new ApiError(500, message)), headers };
      }
    }
  }

  private route(req: ApiRequest, base: string): ApiResponse | 'not-found' | 'method' {
    const h = this.deps.handlers;
    const s = req.segments;
    const m = req.method;
    const only = (allowed: string, run: () => ApiResponse): ApiResponse | 'method' =>
      m === allowed ? run() : 'method';
    if (s.length === 1) return only('GET', () => ({ status: 200, body: this.v1Document(base) }));
    const [, collection, id, sub, leaf, extra] = s;
    if (collection === 'nodes') {
      if (id === undefined) {
        if (m === 'GET') return h.listNodes(req, false);
        if (m === 'POST') return h.createNode(req);
        return 'method';
      }
      if (id === 'detail' && sub === undefined) return only('GET', () => h.listNodes(req, true));
      if (sub === undefined) {
        if (m === 'GET') return h.getNode(req, id);
        if (m === 'PATCH') return h.patchNode(req, id);
        if (m === 'DELETE') return h.deleteNode(req, id);
        return 'method';
      }
      if (sub === 'validate' && leaf === undefined) return only('GET', () => h.validate(req, id));
      if (sub === 'states') {
        if (leaf === undefined) return only('GET', () => h.states(req, id));
        if (extra !== undefined) return 'not-found';
        if (leaf === 'provision') return only('PUT', () => h.provision(req, id));
        if (leaf === 'power') return only('PUT', () => h.power(req, id));
        if (leaf === 'console') {
          if (m === 'GET') return h.getConsole(req, id);
          if (m === 'PUT') return h.setConsole(req, id);
          return 'method';
        }
        return 'not-found';
      }
      // The VIF sub-resource exists from API 1.28; before, the route is unknown.
      if (sub === 'vifs' && req.minor < VIFS_MINOR) return 'not-found';
      if (sub === 'vifs') {
        if (leaf === undefined) {
          if (m === 'GET') return h.listVifs(req, id);
          if (m === 'POST') return h.attachVif(req, id);
          return 'method';
        }
        if (extra !== undefined) return 'not-found';
        return only('DELETE', () => h.detachVif(req, id, leaf));
      }
      if (sub === 'ports' && leaf === undefined) return only('GET', () => h.listPorts(req, false, id));
      if (sub === 'portgroups' && leaf === undefined)
        return only('GET', () => h.listPortgroups(req, false, id));
      return 'not-found';
    }
    if (collection === 'ports') {
      if (id === undefined) {
        if (m === 'GET') return h.listPorts(req, false);
        if (m === 'POST') return h.createPort(req);
        return 'method';
      }
      if (id === 'detail' && sub === undefined) return only('GET', () => h.listPorts(req, true));
      return 'not-found';
    }
    if (collection === 'portgroups') {
      if (id === undefined) {
        if (m === 'GET') return h.listPortgroups(req, false);
        if (m === 'POST') return h.createPortgroup(req);
        return 'method';
      }
      if (id === 'detail' && sub === undefined) return only('GET', () => h.listPortgroups(req, true));
      return 'not-found';
    }
    return 'not-found';
  }

  private versionObject(base: string): Record<string, unknown> {
    return {
      id: 'v1',
      links: [{ href: `${base}/v1/`, rel: 'self' }],
      status: 'CURRENT',
      min_version: `1.${MIN_MINOR}`,
      version: this.maxVersion,
    };
  }

  private rootDocument(base: string): Record<string, unknown> {
    return {
      name: 'OpenStack Ironic API',
      description:
        'Ironic is an OpenStack project which enables the provision and management of baremetal machines.',
      default_version: this.versionObject(base),
      versions: [this.versionObject(base)],
    };
  }

  private v1Document(base: string): Record<string, unknown> {
    const link = (name: string): Record<string, string>[] => [
      { href: `${base}/v1/${name}/`, rel: 'self' },
      { href: `${base}/${name}/`, rel: 'bookmark' },
    ];
    return {
      id: 'v1',
      links: [
        { href: `${base}/v1/`, rel: 'self' },
        {
          href: 'https://docs.openstack.org//ironic/latest/contributor//webapi.html',
          rel: 'describedby',
          type: 'text/html',
        },
      ],
      media_types: { base: 'application/json', type: 'application/vnd.openstack.ironic.v1+json' },
      chassis: link('chassis'),
      nodes: link('nodes'),
      ports: link('ports'),
      drivers: link('drivers'),
      version: this.versionObject(base),
      portgroups: link('portgroups'),
      volume: link('volume'),
      lookup: link('lookup'),
      heartbeat: link('heartbeat'),
      conductors: link('conductors'),
      allocations: link('allocations'),
      events: link('events'),
      deploy_templates: link('deploy_templates'),
      shards: link('shards'),
    };
  }
}

/** Ironic (webob) keeps a segment it cannot percent-decode as written. */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') {
    return new Promise((resolve) => {
      req.resume();
      req.on('end', () => resolve(''));
      req.on('error', () => resolve(''));
    });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}
