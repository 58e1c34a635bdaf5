// Mutual TLS: an Ironic (or the proxy in front of it) that asks for a client certificate.
// A real HTTPS server on loopback and certificates made by openssl for this test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IronicClient } from '../../src/ironic/client.js';
import { isIronicError } from '../../src/ironic/errors.js';
import { ROOT_DOCUMENT } from './fixtures/recorded.js';

let dir: string;
let server: Server;
let url: string;
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ironledger-mtls-'));
  // One CA signs the server's certificate (for 127.0.0.1) and the client's.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${who}`,
      '-keyout',
      file(`${who}.key`),
      '-out',
      file(`${who}.csr`),
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${who}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      file(`${who}.pem`),
      ...(who === 'server' ? ['-extfile', file('server.ext')] : []),
    );
  }
  server = createServer(
    {
      key: readFileSync(file('server.key')),
      cert: readFileSync(file('server.pem')),
      ca: readFileSync(file('ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(ROOT_DOCUMENT);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('mutual TLS (cert and key, OS_CERT and OS_KEY)', () => {
  it('connects with the client certificate and key, trusting the CA bundle', async () => {
    const client = await IronicClient.connect({
      url,
      tls: { caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client.key') },
      maxRetries: 0,
    });
    expect(client.microversion).toMatch(/^1\.\d+$/);
    await client.close();
  });

  it('without a client certificate the server ends the handshake: a network error, not retried forever', async () => {
    const err: unknown = await IronicClient.connect({
      url,
      tls: { caFile: file('ca.pem') },
      maxRetries: 0,
    }).catch((e: unknown) => e);
    expect(isIronicError(err)).toBe(true);
    expect((err as { code: string }).code).toMatch(/IRONIC_NETWORK|IRONIC_ANSWER_LOST/);
  });

  it('a certificate without its key is refused before anything is sent', async () => {
    const err: unknown = await IronicClient.connect({ url, tls: { certFile: file('client.pem') } }).catch(
      (e: unknown) => e,
    );
    expect(isIronicError(err, 'IRONIC_INVALID_INPUT')).toBe(true);
    expect(String((err as Error).message)).toContain('keyFile');
  });
});
