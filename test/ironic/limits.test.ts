// Limits against a broken or hostile Ironic (issue 15, finding 10): a body that never ends is
// not read into memory, an answer that will not change is not asked for again, and a request
// that gets no answer ends at its deadline instead of after attempts x per-attempt timeout.
// Each server here is a real loopback node:http server; the client is the real transport.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IronicClient, type IronicClientOptions } from '../../src/ironic/client.js';
import { IronicDeadlineError, IronicError, IronicResponseTooLargeError } from '../../src/ironic/errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../src/ironic/transport.js';
import type { HttpAttempt } from '../../src/ironic/types.js';
import { ACTIVE_NODE_BODY, RECORDED_NODE_UUID, ROOT_DOCUMENT } from './fixtures/recorded.js';
import { failure } from './failure.js';

const N = RECORDED_NODE_UUID;
const NODE_PATH = `/v1/nodes/${N}`;
const MiB = 1024 * 1024;

interface Hostile {
  url: string;
  /** Requests for NODE_PATH (discovery not counted). */
  calls: number;
  /** Body bytes the server managed to hand to the socket for NODE_PATH. */
  written: number;
  close(): Promise<void>;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** A server that answers discovery like Ironic 2023.1 and NODE_PATH with `misbehave`. */
async function hostile(misbehave: (res: ServerResponse, h: Hostile) => void): Promise<Hostile> {
  const h: Hostile = { url: '', calls: 0, written: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(ROOT_DOCUMENT);
      return;
    }
    h.calls++;
    misbehave(res, h);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  h.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  open.push(h);
  return h;
}

/** Streams `total` bytes (Infinity: never ends) of a JSON-looking body, honouring backpressure. */
function stream(total: number, headers: Record<string, string> = {}) {
  return (res: ServerResponse, h: Hostile): void => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !res.destroyed) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        h.written += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (sent >= total) res.end();
    };
    res.write('{"uuid": "');
    pump();
  };
}

async function connect(
  h: Hostile,
  opts: Partial<IronicClientOptions>,
): Promise<{ client: IronicClient; attempts: HttpAttempt[] }> {
  const attempts: HttpAttempt[] = [];
  const client = await IronicClient.connect(
    { url: h.url, retryIntervalMs: 5, maxRetries: 3, observer: (a) => attempts.push(a), ...opts },
    { timeoutMs: 10_000 },
  );
  open.unshift(client);
  attempts.length = 0;
  return { client, attempts };
}

describe('response size cap', () => {
  it('stops reading a body that never ends at the cap, fails IRONIC_RESPONSE_TOO_LARGE, and does not retry', async () => {
    const h = await hostile(stream(Infinity));
    const { client, attempts } = await connect(h, { maxResponseBytes: MiB });
    const err = await failure(client.getNode(N));
    expect(err).toBeInstanceOf(IronicResponseTooLargeError);
    const big = err as IronicResponseTooLargeError;
    expect(big.code).toBe('IRONIC_RESPONSE_TOO_LARGE');
    expect(big.limitBytes).toBe(MiB);
    expect(big.status).toBe(200);
    expect(big.method).toBe('GET');
    expect(big.path).toBe(NODE_PATH);
    // Read no further than the chunk that crossed the cap.
    expect(big.bytesRead).toBeGreaterThan(MiB);
    expect(big.bytesRead).toBeLessThanOrEqual(MiB + 256 * 1024);
    expect(big.message).toMatch(
      /longer than the 1048576-byte limit \(maxResponseBytes\); reading stopped at \d+ bytes/,
    );
    expect(h.calls).toBe(1);
    expect(attempts).toEqual([
      expect.objectContaining({ status: 200, willRetry: false, errorCode: 'IRONIC_RESPONSE_TOO_LARGE' }),
    ]);
    // The connection was dropped: the server cannot push more than what sits in socket buffers.
    await new Promise((r) => setTimeout(r, 200));
    expect(h.written).toBeLessThan(MiB + 32 * MiB);
  });

  it('refuses a body whose Content-Length is over the cap without reading it', async () => {
    const h = await hostile(stream(64 * MiB, { 'content-length': String(64 * MiB + 10) }));
    const { client } = await connect(h, { maxResponseBytes: MiB });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_RESPONSE_TOO_LARGE');
    expect((err as IronicResponseTooLargeError).bytesRead).toBe(0);
    expect(err.message).toContain(String(64 * MiB + 10));
    expect(h.calls).toBe(1);
  });

  it('applies the cap to error answers too (a 503 page of 64 MiB is not retried)', async () => {
    const h = await hostile((res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end(Buffer.alloc(4 * MiB, 'y'));
    });
    const { client } = await connect(h, { maxResponseBytes: MiB });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_RESPONSE_TOO_LARGE');
    expect(err.status).toBe(503);
    expect(h.calls).toBe(1);
  });

  it('reads an answer just under the cap', async () => {
    const body = ACTIVE_NODE_BODY;
    const h = await hostile((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    const { client } = await connect(h, { maxResponseBytes: Buffer.byteLength(body) });
    expect((await client.getNode(N)).uuid).toBe(N);
  });

  it('has a default cap (128 MiB) and refuses a cap that is not a whole number of bytes', async () => {
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(128 * MiB);
    const h = await hostile((res) => res.end());
    await expect(IronicClient.connect({ url: h.url, maxResponseBytes: -1 })).rejects.toMatchObject({
      code: 'IRONIC_INVALID_INPUT',
    });
    await expect(IronicClient.connect({ url: h.url, maxResponseBytes: 1.5 })).rejects.toMatchObject({
      code: 'IRONIC_INVALID_INPUT',
    });
  });
});

describe('answers that will not change are not retried', () => {
  it('an oversized header (UND_ERR_HEADERS_OVERFLOW) fails once as IRONIC_MALFORMED_RESPONSE', async () => {
    const h = await hostile((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-junk': 'j'.repeat(64 * 1024) });
      res.end(ACTIVE_NODE_BODY);
    });
    const { client, attempts } = await connect(h, { maxRetries: 5 });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_MALFORMED_RESPONSE');
    expect(err.message).toMatch(/UND_ERR_HEADERS_OVERFLOW/);
    expect(err.message).toMatch(/header/i);
    expect(h.calls).toBe(1);
    expect(attempts.map((a) => a.willRetry)).toEqual([false]);
  });

  it('an answer that is not HTTP (a parse error) fails once as IRONIC_MALFORMED_RESPONSE', async () => {
    const h = await hostile((res) => {
      res.socket?.end('HTTP/1.1 2OO NOT-A-STATUS\r\n\r\n');
    });
    const { client } = await connect(h, { maxRetries: 5 });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_MALFORMED_RESPONSE');
    expect(err.message).toMatch(/not valid HTTP\/1\.1.*Invalid status code/);
    expect(h.calls).toBe(1);
  });

  it('a malformed body is not retried', async () => {
    const h = await hostile((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"uuid": ');
    });
    const { client } = await connect(h, { maxRetries: 5 });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_MALFORMED_RESPONSE');
    expect(h.calls).toBe(1);
  });
});

describe('a total deadline per request', () => {
  const silent = (): void => undefined; // takes the request and never answers

  it('ends a request to a server that never answers at its deadline, not after attempts x timeout', async () => {
    const h = await hostile(silent);
    // Without a deadline this is 61 attempts of 600 ms: about 38 s.
    const { client, attempts } = await connect(h, {
      timeoutMs: 600,
      maxRetries: 60,
      retryIntervalMs: 20,
      deadlineMs: 1_500,
    });
    const started = performance.now();
    const err = await failure(client.getNode(N));
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(IronicDeadlineError);
    const late = err as IronicDeadlineError;
    expect(late.code).toBe('IRONIC_DEADLINE_EXCEEDED');
    expect(late.deadlineMs).toBe(1_500);
    expect(late.elapsedMs).toBeGreaterThanOrEqual(1_500);
    expect(late.attempts).toBe(h.calls);
    // 600 + 20 + 600 + 20 ms, then a third attempt gets what is left (two when the machine lags).
    expect(late.attempts).toBeGreaterThanOrEqual(2);
    expect(late.attempts).toBeLessThanOrEqual(3);
    expect(late.message).toMatch(/\d attempts over \d+\.\d s/);
    expect((late.cause as IronicError).code).toBe('IRONIC_TIMEOUT');
    expect(took).toBeLessThan(10_000);
    expect(attempts.at(-1)).toMatchObject({ willRetry: false, errorCode: 'IRONIC_DEADLINE_EXCEEDED' });
    expect(attempts.slice(0, -1).every((a) => a.willRetry && a.errorCode === 'IRONIC_TIMEOUT')).toBe(true);
    // The last attempt is cut at the deadline rather than given its whole timeout.
    if (late.attempts === 3) expect(attempts.at(-1)!.ms).toBeLessThan(600);
  });

  it('by default allows the retry budget plus one attempt: timeoutMs + maxRetries x retryIntervalMs', async () => {
    const h = await hostile(silent);
    const { client } = await connect(h, { timeoutMs: 200, maxRetries: 60, retryIntervalMs: 10 });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_DEADLINE_EXCEEDED');
    expect((err as IronicDeadlineError).deadlineMs).toBe(200 + 60 * 10);
    // 61 x 200 ms without it.
    expect(h.calls).toBeLessThanOrEqual(4);
  });

  it('does not start a wait that would end past the deadline', async () => {
    const h = await hostile((res) => {
      res.writeHead(503);
      res.end('busy');
    });
    const { client, attempts } = await connect(h, {
      maxRetries: 60,
      retryIntervalMs: 60_000,
      deadlineMs: 2_000,
    });
    const started = performance.now();
    const err = await failure(client.getNode(N));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(err.code).toBe('IRONIC_DEADLINE_EXCEEDED');
    expect(err.attempts).toBe(1);
    expect((err.cause as IronicError).code).toBe('IRONIC_UNAVAILABLE');
    expect(h.calls).toBe(1);
    expect(attempts).toEqual([
      expect.objectContaining({ status: 503, willRetry: false, errorCode: 'IRONIC_DEADLINE_EXCEEDED' }),
    ]);
  });

  it('lets a call give its own deadline, and 0 means none', async () => {
    const h = await hostile(silent);
    const { client } = await connect(h, {
      timeoutMs: 100,
      maxRetries: 2,
      retryIntervalMs: 5,
      deadlineMs: 50,
    });
    const err = await failure(client.getNode(N, { deadlineMs: 0 }));
    // No deadline: the attempt budget decides, as before.
    expect(err.code).toBe('IRONIC_TIMEOUT');
    expect(h.calls).toBe(3);
  });

  it('still gives up by count first when the retries run out before the deadline', async () => {
    const h = await hostile((res) => {
      res.writeHead(503);
      res.end('busy');
    });
    const { client } = await connect(h, { maxRetries: 3, retryIntervalMs: 5, deadlineMs: 60_000 });
    const err = await failure(client.getNode(N));
    expect(err.code).toBe('IRONIC_UNAVAILABLE');
    expect(err.attempts).toBe(4);
  });
});
