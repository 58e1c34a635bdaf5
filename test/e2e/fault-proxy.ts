// A fault-injecting HTTP proxy in front of an Ironic (the real one or the simulator): every request
// is forwarded as it came, and a rule may take Ironic's answer away after Ironic acted on it:
// `stall` holds it forever (the client waits until it is killed: a crash after Ironic took the
// request), `drop` resets the client's connection (an answer lost on the way back). What reached
// Ironic is recorded in `forwarded`, in order: the test's view of what our client really sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { request } from 'undici';

export interface ProxyRule {
  method: string;
  path: RegExp;
  action: 'stall' | 'drop';
  /** Called once Ironic has answered the request the rule took. */
  onMatch?: () => void;
}

export interface Forwarded {
  method: string;
  path: string;
  status: number;
  body: string;
  taken?: ProxyRule['action'];
}

export class FaultProxy {
  readonly forwarded: Forwarded[] = [];
  private readonly rules: ProxyRule[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  url = '';

  private constructor(private readonly target: string) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Takes the answer of the next request that matches (once). */
  once(rule: ProxyRule): void {
    this.rules.push(rule);
  }

  /** Requests that reached Ironic with `method` and a path matching `path`. */
  sent(method: string, path: RegExp): Forwarded[] {
    return this.forwarded.filter((f) => f.method === method && path.test(f.path));
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k === 'host' || k === 'connection' || k === 'content-length' || v === undefined) continue;
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const answer = await request(new URL(path, this.target), {
      method: method as 'GET',
      headers,
      body: body.length > 0 ? body : undefined,
    });
    const text = await answer.body.text();
    const i = this.rules.findIndex((r) => r.method === method && r.path.test(path.split('?')[0]!));
    const rule = i >= 0 ? this.rules.splice(i, 1)[0] : undefined;
    this.forwarded.push({
      method,
      path,
      status: answer.statusCode,
      body: body.toString('utf8'),
      ...(rule ? { taken: rule.action } : {}),
    });
    if (rule) {
      rule.onMatch?.();
      if (rule.action === 'drop') req.socket.destroy();
      return; // stall: never answer
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(answer.headers)) {
      if (v === undefined || k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding') continue;
      out[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    out['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(answer.statusCode, out);
    res.end(text);
  }
}
