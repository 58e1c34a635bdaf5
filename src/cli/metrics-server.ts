// --metrics-port: a long-running command (a lifecycle command, resume, demo) serves its engine's
// Prometheus metrics at GET /metrics while it runs, on 127.0.0.1 unless --metrics-host says
// otherwise. The server never keeps the process alive: it ends with the command.
import { createServer } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { intOption, type CliContext } from './context.js';
import { CliError, EXIT_USAGE } from './output.js';

/** The port and host asked for, checked before the engine opens; null without --metrics-port. */
export function metricsListen(ctx: CliContext): { port: number; host: string } | null {
  if (ctx.opts.metricsPort === undefined) return null;
  const port = intOption('--metrics-port', ctx.opts.metricsPort, 0, 65_535);
  const host = ctx.opts.metricsHost ?? '127.0.0.1';
  if (host.trim() === '') throw new CliError('--metrics-host must not be empty.');
  return { port, host };
}

/** Starts serving; a port that cannot be listened on is a usage error naming it. */
export async function serveMetrics(
  ctx: CliContext,
  engine: Engine,
  at: { port: number; host: string },
): Promise<void> {
  const registry = engine.metrics?.registry;
  if (registry === undefined) return;
  const server = createServer((req, res) => {
    res.setHeader('connection', 'close');
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          `--metrics-port ${at.port}: cannot listen on ${at.host}:${at.port} (${err.code ?? err.message}).`,
          EXIT_USAGE,
          'CLI_METRICS_LISTEN',
        ),
      ),
    );
    server.listen(at.port, at.host, resolve);
  });
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  ctx.out.info(`metrics: http://${host}:${port}/metrics`);
}
