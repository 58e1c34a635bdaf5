// A command's overall time limit against an Ironic that never answers (issue 15, finding 10):
// `nodes` and `instances` take --timeout DURATION for the whole command and exit 3 (the
// environment failed) when it passes, in one line or one JSON document. The CLI runs as a child.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_DOCUMENT } from '../ironic/fixtures/recorded.js';
import { cli, expectUsageError, json } from './helpers.js';

let dir: string;
const servers: Server[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ironledger-cli-limits-'));
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  rmSync(dir, { recursive: true, force: true });
});

/** An Ironic that takes every request and answers none of them, or only discovery. */
async function silentIronic(answerDiscovery: boolean): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (answerDiscovery && req.url === '/') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(ROOT_DOCUMENT);
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('nodes and instances: --timeout bounds the whole command', () => {
  it('nodes gives up at its --timeout when Ironic never answers, exit 3', async () => {
    const url = await silentIronic(false);
    const started = Date.now();
    // Without the limit: 4 attempts of 30 s each at connect (the read-only retry budget).
    const r = await cli(['--db', join(dir, 'a.db'), '--ironic-url', url, 'nodes', '--timeout', '1s']);
    expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(3);
    expect(Date.now() - started).toBeLessThan(25_000);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /nodes did not finish within its --timeout of 1 s: GET \/ had no usable answer yet/,
    );
    expect(lines[0]).toMatch(/\[CLI_TIMEOUT\]$/);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('instances gives up at its --timeout while a list page is outstanding, one JSON document with --json', async () => {
    const url = await silentIronic(true);
    const r = await cli([
      '--db',
      join(dir, 'b.db'),
      '--ironic-url',
      url,
      '--json',
      'instances',
      '--timeout',
      '1500ms',
    ]);
    expect(r.code, r.stderr).toBe(3);
    const doc = json<{ error: { code: string; message: string } }>(r);
    expect(doc.error.code).toBe('CLI_TIMEOUT');
    expect(doc.error.message).toMatch(
      /instances did not finish within its --timeout of 1\.5 s: GET \/v1\/nodes\?/,
    );
  });

  it('refuses a --timeout that is not a duration, exit 2', async () => {
    const r = await cli([
      '--db',
      join(dir, 'c.db'),
      '--ironic-url',
      'http://127.0.0.1:1',
      'nodes',
      '--timeout',
      'soon',
    ]);
    expectUsageError(r, /--timeout must be a duration/);
  });

  it('says in --help what --timeout bounds', async () => {
    for (const cmd of ['nodes', 'instances']) {
      const r = await cli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--timeout <duration>\s+give up on the whole command after this long/);
    }
  });
});
