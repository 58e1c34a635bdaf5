// One round trip per group commit on PostgreSQL (issue 18): a write() of any size, creations and
// appends of many runs, is ONE request/response exchange with the server, refused or not. Counted
// on the wire: the store talks to the real server through a TCP proxy of ours that reads the
// client's protocol messages and counts the exchanges it ends (Sync after an extended-protocol
// batch, or a simple Query). Connection start-up (startup packet, authentication) is not a query
// and is not counted: the pool keeps its connections.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openRunStore, type RunStore } from '../../src/store/run-store.js';
import type { NewRun } from '../../src/store/types.js';
import { freshPgUrl, PG_URL, pgMissing } from './backends.js';

const ID = (i: number): string => `aaaaaaaa-bbbb-4ccc-8ddd-${String(i).padStart(12, '0')}`;
const spec = (id: string, extra: Partial<NewRun> = {}): NewRun => ({
  id,
  op: 'destroy',
  instanceUuid: `11111111-2222-4333-8444-${id.slice(-12)}`,
  machine: 'teardown',
  machineVersion: 1,
  input: { instance: 'x' },
  ...extra,
});
const note = (message: string) => ({ kind: 'note' as const, data: { level: 'info', message } });

/** A TCP proxy to the server that counts the round trips clients start (Sync and Query messages). */
class CountingProxy {
  exchanges = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.port, this.host);
    this.sockets.add(client).add(upstream);
    let buf = Buffer.alloc(0);
    let startup = true;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        // Start-up messages have no type byte: int32 length (itself included), then the body.
        const head = startup ? 0 : 1;
        if (buf.length < head + 4) break;
        const len = buf.readInt32BE(head);
        if (buf.length < head + len) break;
        if (startup) {
          const code = buf.readInt32BE(4);
          // SSLRequest / GSSENCRequest: the real startup message follows, untyped too.
          if (code !== 80877103 && code !== 80877104) startup = false;
        } else {
          const type = String.fromCharCode(buf[0] as number);
          if (type === 'S' || type === 'Q') this.exchanges++;
        }
        buf = buf.subarray(head + len);
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

if (!PG_URL) describe('postgres: one round trip per group commit', () => pgMissing());

describe.runIf(PG_URL)('postgres: one round trip per group commit', () => {
  let proxy: CountingProxy;
  let proxyPort = 0;
  const stores: RunStore[] = [];
  const schemas: string[] = [];

  beforeAll(async () => {
    const u = new URL(PG_URL as string);
    proxy = new CountingProxy(u.hostname, Number(u.port || 5432));
    proxyPort = await proxy.listen();
  });
  afterAll(async () => {
    await proxy.close();
  });
  afterEach(async () => {
    for (const s of stores.splice(0).reverse()) await s.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      for (const s of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  /** A fresh schema, reached through the counting proxy (or directly). */
  function fresh(viaProxy = true): string {
    const url = new URL(freshPgUrl());
    schemas.push(url.searchParams.get('schema') as string);
    if (viaProxy) url.port = String(proxyPort);
    return url.toString();
  }
  async function open(db: string): Promise<RunStore> {
    // A long lease: the owner's renewal (every third of it) never lands inside a count.
    const s = await openRunStore(db, { ownerLeaseMs: 600_000 });
    stores.push(s);
    return s;
  }
  /** Round trips the store starts while `fn` runs. */
  async function exchanges(fn: () => Promise<unknown>): Promise<number> {
    const before = proxy.exchanges;
    await fn();
    return proxy.exchanges - before;
  }

  it('a creation, an append, and a write of 100 runs x 2 events are one round trip each', async () => {
    const store = await open(fresh());
    expect(await exchanges(() => store.createRun(spec(ID(1))))).toBe(1);
    expect(await exchanges(() => store.append(ID(1), 1, [note('a'), note('b'), note('c')]))).toBe(1);
    const ids = Array.from({ length: 100 }, (_, i) => ID(100 + i));
    let res: Awaited<ReturnType<RunStore['write']>> | undefined;
    expect(
      await exchanges(async () => {
        res = await store.write(
          ids.map((id) => spec(id)),
          [],
        );
      }),
    ).toBe(1);
    expect(res?.runs.map((r) => r.lastSeq)).toEqual(ids.map(() => 1));
    expect(
      await exchanges(() =>
        store.write(
          [],
          ids.map((id) => ({
            runId: id,
            expectedSeq: 1,
            events: [note('x'), { kind: 'transition' as const, from: null, to: 'locating', data: {} }],
          })),
        ),
      ),
    ).toBe(1);
    // Creations and appends (to an older run and to one created in the same write) together.
    expect(
      await exchanges(() =>
        store.write(
          [spec(ID(2)), spec(ID(3))],
          [
            { runId: ID(1), expectedSeq: 4, events: [note('d')] },
            { runId: ID(2), expectedSeq: 1, events: [note('e')] },
            { runId: ID(100), expectedSeq: 3, events: [note('f')] },
          ],
        ),
      ),
    ).toBe(1);
    expect((await store.getRun(ID(150)))?.state).toBe('locating');
    expect((await store.readStream(ID(2))).map((e) => e.kind)).toEqual(['run.started', 'note']);
    expect(await store.integrityCheck()).toEqual(['ok']);
  });

  it('a refused write is one round trip too, and comes back as the typed error with its facts', async () => {
    const store = await open(fresh());
    await store.createRun(spec(ID(1)));
    await store.append(ID(1), 1, [note('a')]);
    let err: unknown;
    expect(
      await exchanges(() =>
        store
          .write([spec(ID(2))], [{ runId: ID(1), expectedSeq: 1, events: [note('stale')] }])
          .catch((e: unknown) => (err = e)),
      ),
    ).toBe(1);
    expect(err).toMatchObject({
      code: 'STORE_SEQUENCE_CONFLICT',
      runId: ID(1),
      expectedSeq: 1,
      actualSeq: 2,
    });
    expect(await store.getRun(ID(2))).toBeUndefined();
    expect(await exchanges(() => store.createRun(spec(ID(1))).catch((e: unknown) => (err = e)))).toBe(1);
    expect(err).toMatchObject({ code: 'STORE_RUN_EXISTS', runId: ID(1) });
  });

  it('keeps payloads byte for byte, key order and escapes included', async () => {
    const store = await open(fresh());
    await store.createRun(spec(ID(1)));
    const data = { z: 1, a: 'quo"te \\ back\nslash \u0001 é 😀 \u2028 \ud800', b: [1, { y: 2, x: 3 }] };
    await store.append(ID(1), 1, [{ kind: 'note', data }]);
    const [, e] = await store.readStream(ID(1));
    expect(JSON.stringify(e?.data)).toBe(JSON.stringify(data));
    const raw = await new pg.Client({ connectionString: PG_URL });
    await raw.connect();
    try {
      const schema = schemas.at(-1) as string;
      const r = await raw.query<{ data: string }>(`SELECT data FROM "${schema}".events WHERE seq = 2`);
      expect(r.rows[0]?.data).toBe(JSON.stringify(data));
    } finally {
      await raw.end();
    }
  });

  it('fences by epoch: ironledger_write refuses an append made under another claim, and keeps nothing', async () => {
    const db = fresh(false);
    const store = await open(db);
    await store.createRun(spec(ID(1)));
    const schema = schemas.at(-1) as string;
    const raw = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
    await raw.connect();
    try {
      const me = (await raw.query<{ id: number }>('SELECT id FROM owners')).rows[0]?.id;
      await raw.query('UPDATE runs SET epoch = 2');
      const doc = (epoch: number | null, expected = 1) =>
        JSON.stringify({
          owner: me,
          leaseMs: 30_000,
          v: 1,
          exclude: [],
          creates: [],
          appends: [
            {
              id: ID(1),
              expected,
              epoch,
              state: null,
              finished: false,
              status: null,
              error: null,
              node_uuid: null,
              node_name: null,
              last: expected + 1,
              updated_at: 'x',
            },
          ],
          events: [
            {
              id: ID(1),
              seq: expected + 1,
              at: 'x',
              kind: 'note',
              type: null,
              from_state: null,
              to_state: null,
              data: '{}',
            },
          ],
          moving: 1,
        });
      await expect(raw.query('SELECT ironledger_write($1::jsonb)', [doc(1)])).rejects.toMatchObject({
        code: 'IL005',
      });
      expect((await store.readStream(ID(1))).length).toBe(1);
      await raw.query('SELECT ironledger_write($1::jsonb)', [doc(2)]);
      await raw.query('SELECT ironledger_write($1::jsonb)', [doc(null, 2)]);
      expect((await store.readStream(ID(1))).length).toBe(3);
    } finally {
      await raw.end();
    }
  });

  it('a holder whose process is dead on this host does not hold: the creation goes through', async () => {
    const db = fresh(false);
    const first = await open(db);
    const second = await open(db);
    await first.createRun(spec(ID(1)));
    await expect(
      second.createRun(spec(ID(2), { instanceUuid: spec(ID(1)).instanceUuid })),
    ).rejects.toMatchObject({
      code: 'STORE_RUN_HELD',
      holder: ID(1),
      owner: { pid: process.pid },
    });
    // A creation without an id is refused under the id made for it, as on SQLite.
    const { id: _none, ...noId } = spec(ID(2), { instanceUuid: spec(ID(1)).instanceUuid });
    await expect(second.createRun(noId)).rejects.toMatchObject({
      code: 'STORE_RUN_HELD',
      runId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    });
    // The first writer's row now names a process that has exited (its lease is still fresh).
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const schema = schemas.at(-1) as string;
    const raw = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
    await raw.connect();
    try {
      await raw.query(
        'UPDATE owners SET pid = $1, pid_start = NULL WHERE id = (SELECT owner FROM runs WHERE id = $2)',
        [dead, ID(1)],
      );
    } finally {
      await raw.end();
    }
    const { run } = await second.createRun(spec(ID(2), { instanceUuid: spec(ID(1)).instanceUuid }));
    expect(run).toMatchObject({ id: ID(2), lastSeq: 1, owner: { pid: process.pid } });
  });
});
