// The event store on PostgreSQL: the same behaviour as EventStore (SQLite), for engines on
// several hosts sharing one log. Runs, gap-free streams keyed by (run, seq), and owners.
//
// Writes: ONE round trip per write(), whatever it holds (a group commit of many runs): the client
// redacts, checks and numbers the events and works out each run's new row, and sends the whole
// write as one JSON document to ironledger_write (PG migration 3), which runs as the statement's
// own transaction: creations checked and inserted, the runs locked, their heads and ownership
// checked, events inserted as written, rows moved fenced by owner (and epoch). A refusal comes
// back as SQLSTATE IL00x and becomes the same typed error as on SQLite.
//
// Ownership: each writer registers an `owners` row and renews it every third of the lease. An
// owner is gone once it has not renewed for the lease (the server's clock judges), or, on this
// very host and boot, once its pid is dead (exact, so a killed process's runs resume at once).
//
// The URL may hold a password: only `path` (the URL without it) reaches messages and logs.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import {
  StoreAmbiguousRunIdError,
  StoreClosedError,
  StoreCorruptError,
  StoreError,
  StoreInvalidEventError,
  StoreRunExistsError,
  StoreRunHeldError,
  StoreRunNotFoundError,
  StoreRunNotOwnedError,
  StoreRunOwnedError,
  StoreSequenceConflictError,
} from '../errors.js';
import { redact } from '../redact.js';
import { bootId, DEFAULT_OWNER_LEASE_MS, isAlive, processStartTime } from '../owners.js';
import type { CommitObserver, WriteResult } from '../event-store.js';
import type { HolderClaim, RunStore, RunStoreOptions } from '../run-store-types.js';
import type { ReplicaIdentity } from '../types.js';
import { maskDbUrl } from '../db-url.js';
import {
  EVENT_KINDS,
  EVENT_PAYLOAD_VERSION,
  RUN_STATUSES,
  type AppendRequest,
  type JsonObject,
  type NewEvent,
  type NewRun,
  type RunFilters,
  type RunOwner,
  type RunRow,
  type RunStatus,
  type StoredEvent,
} from '../types.js';
import type { EventStore } from '../event-store.js';
import { checkReadable, migrate, quoteIdent } from './schema.js';
import { runRowOf, storedEventOf, type EventColumns, type RunColumns } from '../rows.js';
import { toPgStoreError } from './errors.js';

const KINDS = new Set<string>(EVENT_KINDS);
const FINISH_STATUSES = new Set<string>(RUN_STATUSES.filter((s) => s !== 'running'));
const MIN_RUN_ID_PREFIX = 6;

interface RunRecord extends RunColumns {
  no: number;
  owner: number | null;
  /** Claims of the run so far (replica mode fences appends by it). */
  epoch: number;
}

interface OwnerRecord {
  id: number;
  pid: number;
  host: string;
  boot_id: string | null;
  pid_start: string | null;
  since: string;
  age_ms: number;
  /** The replica's name when this owner is one (then live by its heartbeat lease only). */
  replica: string | null;
  lease_ms: number | null;
  /** When a replica's lease runs out (ISO, the server's clock); null for a plain writer. */
  lease_expires_at: string | null;
}

type EventRecord = EventColumns;

const RUN_COLUMNS =
  'no, owner, id, op, instance_uuid, node_uuid, node_name, machine, machine_version, status, state, last_seq, created_at, updated_at, error, epoch';

/** The server's now() as an ISO string in UTC, as the store writes times. */
const NOW_ISO = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

type Owners = Map<number, { row: OwnerRecord; live: boolean }>;

/** One event as ironledger_write inserts it (`data`: the JSON text, stored as it is). */
interface WriteEvent {
  /** The run's id, and the event's place in its stream. */
  id: string;
  seq: number;
  at: string;
  kind: string;
  type: string | null;
  from_state: string | null;
  to_state: string | null;
  data: string;
}

/** One run's appends of a write, merged, and what its row becomes (null: unchanged). */
interface WriteEntry {
  id: string;
  /** The run's head before this write (the server refuses the write when it moved). */
  expected: number;
  /** The claim the appends are made under (replica mode); null: fenced by owner alone. */
  epoch: number | null;
  state: string | null;
  finished: boolean;
  status: RunStatus | null;
  error: string | null;
  node_uuid: string | null;
  node_name: string | null;
  last: number;
  /** The last event's time; null when the entry has no events (the row is left as it is). */
  updated_at: string | null;
}

/** The argument of ironledger_write (PG migration 3): a whole write() as one document. */
interface WriteDoc {
  owner: number;
  leaseMs: number;
  v: number;
  creates: Array<{
    id: string;
    op: string;
    instance_uuid: string | null;
    node_uuid: string | null;
    node_name: string | null;
    machine: string;
    machine_version: number;
    at: string;
  }>;
  appends: WriteEntry[];
  events: WriteEvent[];
  /** How many of `appends` have events (the rows the write moves). */
  moving: number;
}

/** The facts of ironledger_write's STORE_RUN_HELD refusal (SQLSTATE IL002, DETAIL). */
interface HeldFacts {
  /** Which creation (1-based) found a holder. */
  ord: number;
  holder: string;
  instance_uuid: string | null;
  owner: number;
  pid: number;
  host: string;
  since: string;
  boot_id: string | null;
  pid_start: string | null;
  lease_ms: number | null;
}

function heldFacts(err: unknown): HeldFacts | null {
  const e = err as { code?: unknown; detail?: unknown } | null;
  if (e?.code !== 'IL002' || typeof e.detail !== 'string') return null;
  try {
    return JSON.parse(e.detail) as HeldFacts;
  } catch {
    return null;
  }
}

/**
 * Whether a holder's owner is a plain writer of this very host and boot whose process is dead:
 * not live, whatever its lease says (as readOwners judges it). A replica lives by its lease alone.
 */
function deadHere(h: HeldFacts): boolean {
  return (
    h.lease_ms === null &&
    h.host === hostname() &&
    h.boot_id !== null &&
    h.boot_id === bootId() &&
    !isAlive(h.pid, h.pid_start)
  );
}

function toOwner(o: OwnerRecord): RunOwner {
  return { pid: o.pid, host: o.host, since: o.since };
}

/** Splits `?schema=NAME` off the URL (ours, not libpq's); the rest goes to pg as it is. */
function splitSchema(url: string): { url: string; schema: string | null } {
  try {
    const u = new URL(url);
    const schema = u.searchParams.get('schema');
    if (schema === null) return { url, schema: null };
    u.searchParams.delete('schema');
    return { url: u.toString(), schema };
  } catch {
    return { url, schema: null };
  }
}

export class PgRunStore implements RunStore {
  readonly backend = 'postgres' as const;
  readonly local: EventStore | null = null;
  readonly path: string;
  readonly mode: 'writer' | 'reader';
  private readonly pool: pg.Pool;
  private ownerId: number | null = null;
  private readonly leaseMs: number;
  private renewTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private failed: StoreError | null = null;
  private onCommit: CommitObserver | undefined;
  /** The replica this writer runs as (issue 18), null for a plain writer. */
  private replica: ReplicaIdentity | null = null;
  /**
   * A replica's own connection for its heartbeat and the live replicas: never queued behind the
   * run's reads and writes on `pool` (a busy replica is not a gone one). Null for a plain writer.
   */
  private beatPool: pg.Pool | null = null;
  /** When this writer registered (its owner row's `since`, written again should it rejoin). */
  private since = '';
  /**
   * The epoch of each running run as this writer claimed (or created) it: its appends are
   * fenced by it, so an append made for an earlier claim never lands after a later one.
   */
  private readonly epochs = new Map<string, number>();
  /** One write at a time: a second waits for the first (the recorder never overlaps them). */
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(path: string, mode: 'writer' | 'reader', pool: pg.Pool, leaseMs: number) {
    this.path = path;
    this.mode = mode;
    this.pool = pool;
    this.leaseMs = leaseMs;
  }

  static async open(url: string, opts: RunStoreOptions = {}): Promise<PgRunStore> {
    const mode = opts.mode ?? 'writer';
    const split = splitSchema(url);
    const schema = opts.schema ?? split.schema;
    const path = maskDbUrl(split.url) + (schema !== null ? ` (schema ${schema})` : '');
    const options: string[] = [];
    if (schema !== null) options.push(`-c search_path=${quoteIdent(schema)}`);
    // A replica paused inside a transaction (SIGSTOP, a long GC pause) would hold its runs' row
    // locks, and no other replica could take them over until it came back: the server ends such
    // a session after a third of the lease (before the lease runs out), and with it the locks.
    // The replica finds its connection gone when it resumes; nothing of that write was kept.
    if (opts.replica !== undefined && mode === 'writer')
      options.push(
        `-c idle_in_transaction_session_timeout=${Math.max(100, Math.floor(opts.replica.leaseMs / 3))}`,
      );
    const pool = new pg.Pool({
      connectionString: split.url,
      max: 4,
      connectionTimeoutMillis: opts.busyTimeoutMs ?? 10_000,
      ...(options.length > 0 ? { options: options.join(' ') } : {}),
    });
    // An idle connection the server dropped: the next query reconnects; never an unhandled error.
    pool.on('error', () => undefined);
    const leaseMs = opts.ownerLeaseMs ?? DEFAULT_OWNER_LEASE_MS;
    const store = new PgRunStore(path, mode, pool, leaseMs);
    store.onCommit = opts.onCommit;
    store.replica = opts.replica ?? null;
    if (store.replica !== null && mode === 'writer') {
      store.beatPool = new pg.Pool({
        connectionString: split.url,
        max: 1,
        connectionTimeoutMillis: opts.busyTimeoutMs ?? 10_000,
        ...(schema !== null ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
      });
      store.beatPool.on('error', () => undefined);
    }
    try {
      const client = await pool.connect();
      try {
        if (mode === 'reader') await checkReadable(client, path);
        else {
          await migrate(client, path, schema);
          store.ownerId = await store.register(client);
        }
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      await store.beatPool?.end().catch(() => undefined);
      throw toPgStoreError(err, { path });
    }
    // A replica's lease is renewed by its heartbeat() only: a paused replica must lose it.
    if (store.ownerId !== null && store.replica === null) {
      store.renewTimer = setInterval(() => void store.renew(), Math.max(200, leaseMs / 3));
      store.renewTimer.unref();
    }
    return store;
  }

  get failure(): StoreError | null {
    return this.failed;
  }

  /** Registers this writer, and forgets owners that are gone (their runs become ownerless). */
  private async register(client: pg.PoolClient): Promise<number> {
    await client.query('BEGIN');
    try {
      const owners = await this.readOwners(client);
      const gone = [...owners.values()].filter((o) => !o.live).map((o) => o.row.id);
      if (gone.length > 0) {
        await client.query("UPDATE runs SET owner = NULL WHERE owner = ANY($1) AND status = 'running'", [
          gone,
        ]);
        await client.query('DELETE FROM owners WHERE id = ANY($1)', [gone]);
      }
      const now = new Date().toISOString();
      this.since = now;
      const r = await client.query<{ id: number }>(
        'INSERT INTO owners (pid, host, boot_id, pid_start, since, replica, lease_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
        [
          process.pid,
          hostname(),
          bootId(),
          processStartTime(process.pid),
          now,
          this.replica?.id ?? null,
          this.replica?.leaseMs ?? null,
        ],
      );
      await client.query('COMMIT');
      // How runs created by this writer name their owner (no read per write).
      this.selfRow = { pid: process.pid, host: hostname(), since: now };
      return (r.rows[0] as { id: number }).id;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async renew(): Promise<void> {
    if (this.closed || this.ownerId === null) return;
    try {
      await this.pool.query('UPDATE owners SET renewed_at = now() WHERE id = $1', [this.ownerId]);
    } catch {
      // The server is away: the lease runs on; the next renewal tries again.
    }
  }

  /** Owners now, by id, with whether each is live (lease by the server's clock; pid on this host). */
  private async readOwners(q: pg.Pool | pg.PoolClient = this.pool): Promise<Owners> {
    const r = await q.query<OwnerRecord>(
      `SELECT id, pid, host, boot_id, pid_start, since, replica, lease_ms,
              (extract(epoch FROM now() - renewed_at) * 1000)::float8 AS age_ms,
              to_char((renewed_at + lease_ms * interval '1 millisecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS lease_expires_at
         FROM owners`,
    );
    const here = hostname();
    const boot = bootId();
    return new Map(
      r.rows.map((row) => {
        // A replica by its own heartbeat lease only, whatever its pid says (a paused process).
        if (row.lease_ms !== null) return [row.id, { row, live: row.age_ms < row.lease_ms }];
        let live = row.age_ms < this.leaseMs;
        if (live && row.host === here && row.boot_id !== null && row.boot_id === boot) {
          live = isAlive(row.pid, row.pid_start);
        }
        return [row.id, { row, live }];
      }),
    );
  }

  private live(): void {
    if (this.closed) throw new StoreClosedError(this.path);
    if (this.failed !== null) throw this.failed;
  }

  private writerOwner(): number {
    this.live();
    if (this.ownerId === null) {
      throw new StoreError(
        'STORE_READ_ONLY',
        `${this.path} is open for reading; runs are taken by a writer`,
        {
          path: this.path,
        },
      );
    }
    return this.ownerId;
  }

  private toRows(records: RunRecord[], owners: Owners | null): RunRow[] {
    return records.map((r) => {
      const o = r.owner === null ? undefined : owners?.get(r.owner);
      return runRowOf(r, o?.live ? toOwner(o.row) : null);
    });
  }

  private async rows(records: RunRecord[], q: pg.Pool | pg.PoolClient = this.pool): Promise<RunRow[]> {
    const needOwners = records.some((r) => r.status === 'running' && r.owner !== null);
    return this.toRows(records, needOwners ? await this.readOwners(q) : null);
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  private err(err: unknown, runId: string | null = null): StoreError {
    return toPgStoreError(err, { path: this.path, runId });
  }

  async createRun(run: NewRun): Promise<{ run: RunRow; seq: number }> {
    const created = (await this.write([run], [])).runs[0] as RunRow;
    return { run: created, seq: 1 };
  }

  async append(runId: string, expectedSeq: number, events: readonly NewEvent[]): Promise<number> {
    return (await this.appendBatch([{ runId, expectedSeq, events }]))[0] as number;
  }

  async appendBatch(batch: ReadonlyArray<AppendRequest>): Promise<number[]> {
    return (await this.write([], batch)).seqs;
  }

  write(creates: ReadonlyArray<NewRun>, appends: ReadonlyArray<AppendRequest>): Promise<WriteResult> {
    const next = this.writing.then(() => this.writeNow(creates, appends));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async writeNow(
    creates: ReadonlyArray<NewRun>,
    appends: ReadonlyArray<AppendRequest>,
  ): Promise<WriteResult> {
    const me = this.writerOwner();
    const started = performance.now();
    const one = creates.length + appends.length === 1;
    let result: WriteResult;
    let group: { doc: WriteDoc; result: WriteResult } | null = null;
    try {
      group = this.group(me, creates, appends);
      // Owners the server judged live but whose process is dead on this very host and boot: not
      // holders (exact, as readOwners judges them); the write goes again without them.
      const exclude: number[] = [];
      for (;;) {
        try {
          await this.pool.query({
            name: 'ironledger_write',
            text: 'SELECT ironledger_write($1::jsonb)',
            values: [JSON.stringify({ ...(group as { doc: WriteDoc }).doc, exclude })],
          });
          break;
        } catch (err) {
          const held = heldFacts(err);
          if (held === null || !deadHere(held) || exclude.includes(held.owner)) throw err;
          exclude.push(held.owner);
        }
      }
      result = group.result;
    } catch (err) {
      throw this.err(
        this.refusal(err, creates, group?.doc.creates ?? []),
        one ? (creates[0]?.id ?? appends[0]?.runId ?? null) : null,
      );
    }
    this.noteEpochs(result, appends);
    if (this.onCommit !== undefined) {
      let events = creates.length;
      for (const a of appends) events += a.events.length;
      this.onCommit({ events, runs: creates.length + appends.length, ms: performance.now() - started });
    }
    return result;
  }

  /** A refusal raised by ironledger_write (SQLSTATE IL00x) as the typed store error it stands for. */
  private refusal(err: unknown, creates: ReadonlyArray<NewRun>, sent: WriteDoc['creates']): unknown {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('IL')) return err;
    let facts: Record<string, unknown> = {};
    try {
      facts = JSON.parse(String((err as { detail?: unknown }).detail)) as Record<string, unknown>;
    } catch {
      // No facts: the codes below still say what happened.
    }
    const runId = typeof facts['runId'] === 'string' ? facts['runId'] : '?';
    switch (code) {
      case 'IL001':
        return new StoreRunExistsError(this.path, runId);
      case 'IL002': {
        const held = heldFacts(err) as HeldFacts;
        const run = creates[held.ord - 1] as NewRun;
        const what =
          held.instance_uuid !== null && held.instance_uuid === (run.instanceUuid ?? null)
            ? `instance ${held.instance_uuid}`
            : `node ${run.nodeUuid ?? run.nodeName ?? '?'}`;
        // The run's id as sent (given, or made for it here).
        return new StoreRunHeldError(this.path, sent[held.ord - 1]?.id ?? '?', what, held.holder, {
          pid: held.pid,
          host: held.host,
          since: held.since,
        });
      }
      case 'IL003':
        return new StoreRunNotFoundError(this.path, runId);
      case 'IL004':
        return new StoreSequenceConflictError(
          this.path,
          runId,
          Number(facts['expected']),
          Number(facts['actual']),
        );
      case 'IL005':
        return new StoreRunNotOwnedError(this.path, runId);
      default:
        return err;
    }
  }

  /**
   * The whole write as one document for ironledger_write (schema 3), and what it returns once
   * committed. Everything that needs no row is done here: ids, redaction and scrubbing, the
   * events' checks, their sequence numbers (the server checks each run's head is `expected`), and
   * what each run's row becomes (state, status, error, node), so the server only checks and
   * writes: one round trip, whatever the number of runs and events.
   */
  private group(
    me: number,
    creates: ReadonlyArray<NewRun>,
    appends: ReadonlyArray<AppendRequest>,
  ): { doc: WriteDoc; result: WriteResult } {
    const ids = creates.map((r) => r.id ?? randomUUID());
    if (new Set(ids).size !== ids.length) {
      throw new StoreRunExistsError(this.path, ids.find((id, i) => ids.indexOf(id) !== i) as string);
    }
    const at = creates.map((r) => r.at ?? new Date().toISOString());
    const runs: WriteDoc['creates'] = creates.map((r, i) => ({
      id: ids[i] as string,
      op: r.op,
      instance_uuid: r.instanceUuid ?? null,
      node_uuid: r.nodeUuid ?? null,
      node_name: r.nodeName ?? null,
      machine: r.machine,
      machine_version: r.machineVersion,
      at: at[i] as string,
    }));
    const startEvents: AppendRequest[] = creates.map((run, i) => ({
      runId: ids[i] as string,
      expectedSeq: 0,
      events: [
        {
          kind: 'run.started',
          at: at[i] as string,
          data: { input: run.input, machine: run.machine, machineVersion: run.machineVersion },
        },
      ],
    }));
    // One entry per run, in the order first named; a run named again continues where it stood.
    const entries = new Map<string, WriteEntry>();
    const events: WriteEvent[] = [];
    const seqs: number[] = [];
    for (const [i, req] of [...startEvents, ...appends].entries()) {
      let entry = entries.get(req.runId);
      if (entry === undefined) {
        entry = {
          id: req.runId,
          expected: req.expectedSeq,
          // Replica mode: fenced by the epoch this writer claimed the run at (null: not claimed
          // by this writer in replica mode, fenced by owner only).
          epoch: this.epochs.get(req.runId) ?? null,
          state: null,
          finished: false,
          status: null,
          error: null,
          node_uuid: null,
          node_name: null,
          last: req.expectedSeq,
          updated_at: null,
        };
        entries.set(req.runId, entry);
      } else if (entry.last !== req.expectedSeq) {
        throw new StoreSequenceConflictError(this.path, req.runId, req.expectedSeq, entry.last);
      }
      const now = new Date().toISOString();
      for (const e of req.events) {
        const seq = entry.last + 1;
        if (!KINDS.has(e.kind))
          throw new StoreInvalidEventError(this.path, req.runId, seq, `unknown kind ${String(e.kind)}`);
        let data = redact(e.data);
        let json = JSON.stringify(data);
        if (req.scrub && req.scrub.foundInJson(json)) {
          const scrubbed = req.scrub.value(data);
          if (scrubbed !== data) {
            data = scrubbed;
            json = JSON.stringify(data);
          }
        }
        const eventAt = e.at ?? now;
        if (e.kind === 'transition') {
          if (typeof e.to !== 'string')
            throw new StoreInvalidEventError(this.path, req.runId, seq, 'transition without `to`');
          entry.state = e.to;
        } else if (e.kind === 'run.finished') {
          const s = data['status'];
          if (typeof s !== 'string' || !FINISH_STATUSES.has(s)) {
            throw new StoreInvalidEventError(
              this.path,
              req.runId,
              seq,
              'run.finished needs status succeeded|failed|cancelled',
            );
          }
          entry.finished = true;
          entry.status = s as RunStatus;
          const err = data['error'];
          entry.error =
            err !== null && typeof err === 'object' && !Array.isArray(err) ? JSON.stringify(err) : null;
        }
        const n = data['nodeUuid'];
        if (entry.node_uuid === null && typeof n === 'string' && n !== '') entry.node_uuid = n;
        const name = data['nodeName'];
        if (entry.node_name === null && typeof name === 'string' && name !== '') entry.node_name = name;
        events.push({
          id: req.runId,
          seq,
          at: eventAt,
          kind: e.kind,
          type: e.type ?? null,
          from_state: e.from ?? null,
          to_state: e.to ?? null,
          data: json,
        });
        entry.last = seq;
        entry.updated_at = eventAt;
      }
      if (i >= startEvents.length) seqs.push(entry.last);
    }
    // A created run is returned as its creation left it (seq 1), owned by this writer.
    const self = this.selfRow ?? { pid: process.pid, host: hostname(), since: '?' };
    const created: RunRow[] = runs.map((r) => ({
      id: r.id,
      op: r.op,
      instanceUuid: r.instance_uuid,
      nodeUuid: r.node_uuid,
      nodeName: r.node_name,
      machine: r.machine,
      machineVersion: r.machine_version,
      status: 'running',
      state: null,
      lastSeq: 1,
      createdAt: r.at,
      updatedAt: r.at,
      error: null,
      owner: self,
    }));
    return {
      doc: {
        owner: me,
        leaseMs: this.leaseMs,
        v: EVENT_PAYLOAD_VERSION,
        creates: runs,
        appends: [...entries.values()],
        events,
        moving: [...entries.values()].filter((e) => e.updated_at !== null).length,
      },
      result: { runs: created, seqs },
    };
  }

  private selfRow: RunOwner | null = null;
  private async selfOwner(c: pg.PoolClient, me: number): Promise<RunOwner> {
    if (this.selfRow === null) {
      const r = await c.query<{ pid: number; host: string; since: string }>(
        'SELECT pid, host, since FROM owners WHERE id = $1',
        [me],
      );
      const o = r.rows[0];
      this.selfRow = o
        ? { pid: o.pid, host: o.host, since: o.since }
        : { pid: process.pid, host: hostname(), since: '?' };
    }
    return this.selfRow;
  }

  private async findHolder(
    q: pg.Pool | pg.PoolClient,
    claim: HolderClaim,
    owners: Owners,
    me: number,
  ): Promise<RunRecord | undefined> {
    const instance = claim.instance ?? null;
    const node = claim.nodeUuid ?? claim.nodeName ?? null;
    if (instance === null && node === null) return undefined;
    const r = await q.query<RunRecord>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' AND owner IS NOT NULL AND owner <> $1
         AND (instance_uuid = $2 OR node_uuid = $3 OR node_name = $3) ORDER BY created_at, no LIMIT 20`,
      [me, instance, node],
    );
    return r.rows.find((row) => row.owner !== null && owners.get(row.owner)?.live === true);
  }

  async readStream(runId: string, fromSeq = 1): Promise<StoredEvent[]> {
    this.live();
    try {
      const r = await this.pool.query<EventRecord>(
        `SELECT e.seq, e.at, e.kind, e.type, e.from_state, e.to_state, e.data, e.v
           FROM runs r JOIN events e ON e.run_no = r.no WHERE r.id = $1 AND e.seq >= $2 ORDER BY e.seq`,
        [runId, fromSeq],
      );
      return r.rows.map((e) => storedEventOf(runId, e));
    } catch (err) {
      throw this.err(err, runId);
    }
  }

  private async findRun(
    q: pg.Pool | pg.PoolClient,
    id: string,
    lock = false,
  ): Promise<RunRecord | undefined> {
    const exact = await q.query<RunRecord>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    if (exact.rows[0]) return exact.rows[0];
    if (id.length < MIN_RUN_ID_PREFIX) return undefined;
    const found = await q.query<RunRecord>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE starts_with(id, $1) ORDER BY id LIMIT 5${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    if (found.rows.length > 1) {
      throw new StoreAmbiguousRunIdError(
        this.path,
        id,
        found.rows.map((r) => r.id),
      );
    }
    return found.rows[0];
  }

  async getRun(id: string): Promise<RunRow | undefined> {
    this.live();
    try {
      const r = await this.findRun(this.pool, id);
      return r ? (await this.rows([r]))[0] : undefined;
    } catch (err) {
      throw this.err(err);
    }
  }

  async resolveRunId(idOrPrefix: string): Promise<string> {
    const run = await this.getRun(idOrPrefix);
    if (!run) throw new StoreRunNotFoundError(this.path, idOrPrefix);
    return run.id;
  }

  async listRuns(filters: RunFilters = {}): Promise<RunRow[]> {
    this.live();
    try {
      const where: string[] = [];
      const args: unknown[] = [];
      const add = (sql: (n: string) => string, value: unknown): void => {
        if (value === undefined) return;
        args.push(value);
        where.push(sql(`$${args.length}`));
      };
      let owners: Owners | null = null;
      if (filters.status === 'interrupted') {
        owners = await this.readOwners();
        where.push("status = 'running'");
        const live = [...owners.entries()].filter(([, o]) => o.live).map(([id]) => id);
        add((n) => `(owner IS NULL OR NOT (owner = ANY(${n}::int[])))`, live);
      } else add((n) => `status = ${n}`, filters.status);
      add((n) => `op = ${n}`, filters.op);
      add(
        (n) =>
          `(node_uuid = ${n} OR node_name = ${n} OR node_uuid IN (SELECT node_uuid FROM runs WHERE node_name = ${n} AND node_uuid IS NOT NULL))`,
        filters.node,
      );
      add((n) => `instance_uuid = ${n}`, filters.instance);
      add((n) => `created_at >= ${n}`, filters.since);
      add((n) => `created_at < ${n}`, filters.until);
      let sql = `SELECT ${RUN_COLUMNS} FROM runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, no DESC`;
      if (filters.limit !== undefined) {
        args.push(Math.max(0, Math.floor(filters.limit)));
        sql += ` LIMIT $${args.length}`;
      }
      const r = await this.pool.query<RunRecord>(sql, args);
      return owners ? this.toRows(r.rows, owners) : await this.rows(r.rows);
    } catch (err) {
      throw this.err(err);
    }
  }

  async unfinishedRuns(): Promise<RunRow[]> {
    this.live();
    try {
      const r = await this.pool.query<RunRecord>(
        `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY created_at, no`,
      );
      return await this.rows(r.rows);
    } catch (err) {
      throw this.err(err);
    }
  }

  async claimUnfinishedRuns(): Promise<RunRow[]> {
    const me = this.writerOwner();
    try {
      return await this.tx(async (c) => {
        const r = await c.query<RunRecord>(
          `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY created_at, no FOR UPDATE`,
        );
        const owners = await this.readOwners(c);
        const taken = r.rows.filter(
          (row) => row.owner === null || (row.owner !== me && owners.get(row.owner)?.live !== true),
        );
        if (taken.length > 0) {
          const epochs = await c.query<{ no: number; epoch: number }>(
            'UPDATE runs SET owner = $1, epoch = epoch + 1 WHERE no = ANY($2) RETURNING no, epoch',
            [me, taken.map((t) => t.no)],
          );
          const byNo = new Map(epochs.rows.map((e) => [e.no, e.epoch]));
          for (const t of taken) t.epoch = byNo.get(t.no) ?? t.epoch;
        }
        for (const t of taken) {
          t.owner = me;
          this.epochs.set(t.id, t.epoch);
        }
        owners.set(me, { row: { ...(await this.selfOwnerRecord(c, me)) }, live: true });
        return this.toRows(taken, owners);
      });
    } catch (err) {
      throw this.err(err);
    }
  }

  private async selfOwnerRecord(c: pg.PoolClient, me: number): Promise<OwnerRecord> {
    const o = await this.selfOwner(c, me);
    return {
      id: me,
      pid: o.pid,
      host: o.host,
      since: o.since,
      boot_id: null,
      pid_start: null,
      age_ms: 0,
      replica: this.replica?.id ?? null,
      lease_ms: this.replica?.leaseMs ?? null,
      lease_expires_at: null,
    };
  }

  async claimRun(idOrPrefix: string): Promise<RunRow> {
    const me = this.writerOwner();
    try {
      return await this.tx(async (c) => {
        const r = await this.findRun(c, idOrPrefix, true);
        if (!r) throw new StoreRunNotFoundError(this.path, idOrPrefix);
        const owners = await this.readOwners(c);
        owners.set(me, { row: await this.selfOwnerRecord(c, me), live: true });
        if (r.status !== 'running' || r.owner === me) return this.toRows([r], owners)[0] as RunRow;
        const owner = r.owner === null ? undefined : owners.get(r.owner);
        if (owner?.live) throw new StoreRunOwnedError(this.path, r.id, toOwner(owner.row));
        const e = await c.query<{ epoch: number }>(
          'UPDATE runs SET owner = $1, epoch = epoch + 1 WHERE no = $2 RETURNING epoch',
          [me, r.no],
        );
        r.owner = me;
        r.epoch = (e.rows[0] as { epoch: number }).epoch;
        this.epochs.set(r.id, r.epoch);
        return this.toRows([r], owners)[0] as RunRow;
      });
    } catch (err) {
      throw this.err(err);
    }
  }

  async releaseRun(runId: string): Promise<void> {
    const me = this.writerOwner();
    try {
      await this.pool.query(
        "UPDATE runs SET owner = NULL WHERE id = $1 AND owner = $2 AND status = 'running'",
        [runId, me],
      );
      this.epochs.delete(runId);
    } catch (err) {
      throw this.err(err, runId);
    }
  }

  async heldBy(claim: HolderClaim): Promise<RunRow | undefined> {
    this.live();
    try {
      const owners = await this.readOwners();
      const r = await this.findHolder(this.pool, claim, owners, this.ownerId ?? -1);
      return r ? this.toRows([r], owners)[0] : undefined;
    } catch (err) {
      throw this.err(err);
    }
  }

  async liveOwners(): Promise<RunOwner[]> {
    this.live();
    try {
      return [...(await this.readOwners()).values()].filter((o) => o.live).map((o) => toOwner(o.row));
    } catch (err) {
      throw this.err(err);
    }
  }

  /**
   * ['ok'] when every stream is whole: each run's events are seq 1..last_seq with none missing,
   * and each run's head is its own last event. Otherwise one line per problem (at most 20).
   */
  async integrityCheck(): Promise<string[]> {
    this.live();
    try {
      const r = await this.pool.query<{ id: string; last_seq: number; n: number; m: number }>(
        `SELECT r.id, r.last_seq, count(e.seq)::int AS n, coalesce(max(e.seq), 0)::int AS m
           FROM runs r LEFT JOIN events e ON e.run_no = r.no
          GROUP BY r.no, r.id, r.last_seq
         HAVING count(e.seq) <> r.last_seq OR coalesce(max(e.seq), 0) <> r.last_seq
          LIMIT 20`,
      );
      const problems = r.rows.map((p) =>
        p.m !== p.last_seq
          ? `run ${p.id}: head is seq ${p.last_seq} but its last event is seq ${p.m}`
          : `run ${p.id}: ${p.last_seq - p.n} event(s) missing before seq ${p.last_seq}`,
      );
      return problems.length > 0 ? problems : ['ok'];
    } catch (err) {
      throw this.err(err);
    }
  }

  async verify(): Promise<void> {
    const report = await this.integrityCheck();
    if (report.length !== 1 || report[0] !== 'ok') {
      const err = StoreCorruptError.found(this.path, report[0] ?? 'integrity check reported nothing');
      this.failed ??= err;
      throw err;
    }
  }

  // ---- Replica mode (issue 18) -------------------------------------------------------------
  // Liveness of a replica is its heartbeat lease judged by the SERVER's clock (now() against
  // renewed_at + lease_ms), never a host's. Takeover moves a run's owner, adds one to its epoch
  // and appends the `takeover` note in one transaction; appends are fenced by (owner, epoch) in
  // the write's one statement (ironledger_write, on the rows it locks).

  /** Whether an append may land at the run's current epoch: the one this writer claimed it at. */
  private holdsEpoch(runId: string, epoch: number): boolean {
    const mine = this.epochs.get(runId);
    return mine === undefined || mine === epoch;
  }

  /** After a commit: runs created are held at epoch 1; runs that ended are forgotten. */
  private noteEpochs(result: WriteResult, appends: ReadonlyArray<AppendRequest>): void {
    for (const r of result.runs) if (r.status === 'running') this.epochs.set(r.id, 1);
    for (const a of appends) if (a.events.some((e) => e.kind === 'run.finished')) this.epochs.delete(a.runId);
  }

  async heartbeat(): Promise<{ at: number; rejoined: boolean }> {
    const me = this.writerOwner();
    // Taken before the renewal is sent: the lease the server records holds at least from then.
    const at = Date.now();
    try {
      if (this.replica === null) {
        await this.pool.query('UPDATE owners SET renewed_at = now() WHERE id = $1', [me]);
        return { at, rejoined: false };
      }
      // Renewed, or (its row forgotten meanwhile, its runs released) written again under its id.
      const r = await (this.beatPool ?? this.pool).query<{ inserted: boolean }>(
        `INSERT INTO owners (id, pid, host, boot_id, pid_start, since, replica, lease_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET renewed_at = now()
         RETURNING (xmax = 0) AS inserted`,
        [
          me,
          process.pid,
          hostname(),
          bootId(),
          processStartTime(process.pid),
          this.since,
          this.replica.id,
          this.replica.leaseMs,
        ],
      );
      return { at, rejoined: r.rows[0]?.inserted === true };
    } catch (err) {
      throw this.err(err);
    }
  }

  async liveReplicas(): Promise<string[]> {
    this.live();
    try {
      const names = new Set<string>();
      for (const { row, live } of (await this.readOwners(this.beatPool ?? this.pool)).values())
        if (live && row.replica !== null) names.add(row.replica);
      return [...names].sort();
    } catch (err) {
      throw this.err(err);
    }
  }

  async takeOverRuns(select: (run: RunRow) => boolean): Promise<RunRow[]> {
    const me = this.writerOwner();
    try {
      // Candidates, read without a lock: the unfinished runs of no live owner that `select` picks.
      const seen = await this.readOwners();
      if (!seen.has(me)) return []; // forgotten and not yet back: it takes nothing until it has beaten
      const live = [...seen].filter(([id, o]) => o.live || id === me).map(([id]) => id);
      const cand = await this.pool.query<RunRecord>(
        `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' AND (owner IS NULL OR NOT (owner = ANY($1::int[])))
          ORDER BY created_at, id`,
        [live],
      );
      const picked = cand.rows.filter((r) => select(this.toRows([r], null)[0] as RunRow));
      if (picked.length === 0) return [];
      const { taken, owners } = await this.tx(async (c) => {
        // Locked, then the owners read again: a run another replica took meanwhile (its owner
        // row committed before its takeover) is seen live and left alone.
        const locked = await c.query<RunRecord>(
          `SELECT ${RUN_COLUMNS} FROM runs WHERE no = ANY($1) AND status = 'running' ORDER BY no FOR UPDATE`,
          [picked.map((r) => r.no)],
        );
        const owners = await this.readOwners(c);
        const mine = owners.get(me)?.row;
        if (mine === undefined) return { taken: [] as RunRecord[], owners };
        const rows = locked.rows.filter((r) => {
          if (r.owner === me) return false;
          if (r.owner !== null && owners.get(r.owner)?.live === true) return false;
          return select(this.toRows([r], null)[0] as RunRow);
        });
        if (rows.length === 0) return { taken: rows, owners };
        const moved = await c.query<{ no: number; epoch: number; last_seq: number; updated_at: string }>(
          `UPDATE runs SET owner = $1, epoch = epoch + 1, last_seq = last_seq + 1, updated_at = ${NOW_ISO}
            WHERE no = ANY($2) RETURNING no, epoch, last_seq, updated_at`,
          [me, rows.map((r) => r.no)],
        );
        const byNo = new Map(moved.rows.map((m) => [m.no, m]));
        const to = pgOwnerFacts(mine);
        const data: string[] = [];
        for (const r of rows) {
          const m = byNo.get(r.no) as { epoch: number; last_seq: number; updated_at: string };
          const prev = r.owner === null ? undefined : owners.get(r.owner)?.row;
          const from = prev === undefined ? null : pgOwnerFacts(prev);
          const expired = prev?.lease_expires_at ?? null;
          // As EventStore.takeOverRuns words it.
          const message = `taken over by ${describePgOwner(to)} at epoch ${String(m.epoch)}: ${
            from === null
              ? 'nobody drove it'
              : `${describePgOwner(from)} ${expired === null ? 'is gone' : `missed its heartbeats (lease ran out at ${expired})`}`
          }`;
          data.push(
            JSON.stringify(
              redact({ level: 'warn', message, from, to, epoch: m.epoch, leaseExpiredAt: expired }),
            ),
          );
          Object.assign(r, { owner: me, epoch: m.epoch, last_seq: m.last_seq, updated_at: m.updated_at });
        }
        await c.query(
          `INSERT INTO events (run_no, seq, at, kind, type, from_state, to_state, data, v)
           SELECT u.no, u.seq, u.at, 'note', 'takeover', NULL, NULL, u.data, $5::int
             FROM unnest($1::int[], $2::int[], $3::text[], $4::text[]) AS u(no, seq, at, data)`,
          [
            rows.map((r) => r.no),
            rows.map((r) => r.last_seq),
            rows.map((r) => r.updated_at),
            data,
            EVENT_PAYLOAD_VERSION,
          ],
        );
        return { taken: rows, owners };
      });
      for (const r of taken) this.epochs.set(r.id, r.epoch);
      owners.set(me, { row: await this.selfOwnerRecordNow(me), live: true });
      return this.toRows(taken, owners);
    } catch (err) {
      throw this.err(err);
    }
  }

  private async selfOwnerRecordNow(me: number): Promise<OwnerRecord> {
    const client = await this.pool.connect();
    try {
      return await this.selfOwnerRecord(client, me);
    } finally {
      client.release();
    }
  }

  async stillOwned(runIds: readonly string[]): Promise<Set<string>> {
    const me = this.writerOwner();
    try {
      const r = await this.pool.query<{ id: string; epoch: number }>(
        "SELECT id, epoch FROM runs WHERE owner = $1 AND status = 'running' AND id = ANY($2)",
        [me, [...runIds]],
      );
      return new Set(r.rows.filter((row) => this.holdsEpoch(row.id, row.epoch)).map((row) => row.id));
    } catch (err) {
      throw this.err(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    await this.writing;
    try {
      if (this.ownerId !== null) {
        const me = this.ownerId;
        const client = await this.pool.connect();
        try {
          await client.query('BEGIN');
          await client.query("UPDATE runs SET owner = NULL WHERE owner = $1 AND status = 'running'", [me]);
          await client.query('DELETE FROM owners WHERE id = $1', [me]);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
    } catch {
      // The server is away: this owner's lease runs out and its runs become ownerless then.
    } finally {
      await this.pool.end().catch(() => undefined);
      await this.beatPool?.end().catch(() => undefined);
    }
  }
}

/** An owner as a takeover note records it (as EventStore's ownerFacts). */
function pgOwnerFacts(row: OwnerRecord): JsonObject {
  return { replica: row.replica, pid: row.pid, host: row.host };
}

function describePgOwner(o: JsonObject): string {
  const where = `pid ${String(o['pid'])}${typeof o['host'] === 'string' ? ` on ${o['host']}` : ''}`;
  return typeof o['replica'] === 'string' ? `replica ${o['replica']} (${where})` : where;
}
