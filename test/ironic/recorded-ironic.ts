// A loopback HTTP server that answers like Ironic from recorded responses, and keeps
// every request it saw so tests can assert on what reached the wire.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ROOT_DOCUMENT } from './fixtures/recorded.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Answer only after this long (to trip timeouts). */
  delayMs?: number;
  /** Drop the connection without answering. */
  destroy?: boolean;
}

export type Route = Reply | Reply[] | ((req: SeenRequest) => Reply);

export interface RecordedIronic {
  url: string;
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Requests after the connect-time discovery. */
  calls(): SeenRequest[];
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * `routes` maps "METHOD /path?query" to a reply, a sequence of replies (the last one
 * repeats) or a function. `GET /` answers the recorded root document unless overridden.
 * Anything unscripted gets a 500 so a test notices.
 */
export async function startRecordedIronic(
  routes: Record<string, Route>,
  tls?: { key: string; cert: string },
): Promise<RecordedIronic> {
  const requests: SeenRequest[] = [];
  const served = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const all: Record<string, Route> = { 'GET /': { status: 200, body: ROOT_DOCUMENT }, ...routes };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      const key = `${seen.method} ${seen.url}`;
      const route = all[key];
      let reply: Reply;
      if (route === undefined) reply = { status: 500, body: `unscripted request ${key}` };
      else if (typeof route === 'function') reply = route(seen);
      else if (Array.isArray(route)) {
        const n = served.get(key) ?? 0;
        served.set(key, n + 1);
        reply = route[Math.min(n, route.length - 1)]!;
      } else reply = route;
      const send = () => {
        if (res.destroyed || req.socket.destroyed) return;
        if (reply.destroy) {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status, { ...JSON_HEADERS, ...reply.headers });
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, reply.delayMs);
        timers.add(timer);
      } else send();
    });
  };
  const server = tls === undefined ? createServer(handle) : createTlsServer(tls, handle);
  let connections = 0;
  server.on(tls === undefined ? 'connection' : 'secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    calls: () => requests.filter((r) => !(r.method === 'GET' && (r.url === '/' || r.url === '/v1'))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
