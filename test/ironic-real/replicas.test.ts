// Replicas on the real Ironic (issue 18): three replica processes (the child test/replicas uses)
// share one store and tear down N deployed fake-hardware nodes, spread by the ring; one replica
// is SIGKILLed while its runs wait on Ironic (`deleting`), and in a second test while Ironic has
// taken its `deleted` requests but their answers have not reached it. The survivors take its runs
// over once its lease runs out and finish them. Ironic's OWN log is the witness: every request
// line names the client address, and each replica's requests leave from an address of its own
// (fixtures/replica-via.mjs), so the log shows who sent what, and when.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { lifecycles } from '../../src/machines/index.js';
import { replayRun } from '../../src/runlog/replay.js';
import { EventStore } from '../../src/store/event-store.js';
import type { StoredEvent } from '../../src/store/types.js';
import { availableNode, logMark, tempDir } from './engine-helpers.js';
import { deployFakeNode, getNode } from './helpers.js';

const url = inject('ironicUrl');
const log = inject('ironicLog');
const tmp = tempDir('ironledger-real-replicas-');
afterAll(() => tmp.cleanup());

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const DIST = pathToFileURL(join(repo, 'dist') + '/').href;
const REPLICA_SCRIPT = fileURLToPath(new URL('./fixtures/replica-via.mjs', import.meta.url));
const N = 18;
const LEASE_MS = 3_000;
const TICK_MS = Math.floor(LEASE_MS / 3);
const POLL_MS = 400;
/** Each replica's requests leave from its own loopback address: Ironic's log names it. */
const REPLICAS = { 'r-a': '127.0.0.2', 'r-b': '127.0.0.3', 'r-c': '127.0.0.4' } as const;
type ReplicaId = keyof typeof REPLICAS;
const VICTIM: ReplicaId = 'r-b';

/**
 * The shared store. A SQLite file: the replicas are processes of one host (WAL). The one place
 * that names it: once replica mode runs on PostgreSQL, return a postgres:// URL here (and read the
 * streams in `streamsOf` and the kill points through the PostgreSQL store).
 */
function sharedStore(dir: string, name: string): string {
  return join(dir, `${name}.db`);
}

interface TestNode {
  uuid: string;
  instance: string;
  vif: string;
}

type Line = Record<string, unknown>;

/** A child speaking JSON lines on stdout; its stderr (pino JSON) is kept. */
class Proc {
  readonly lines: Line[] = [];
  stderr = '';
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim() !== '') this.lines.push(JSON.parse(p) as Line);
    });
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => child.on('exit', () => r()));
  }

  send(msg: unknown): void {
    this.child.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first line `pick` accepts; rejects after `ms` or if the child exits. */
  async next(pick: (l: Line) => boolean, ms = 60_000): Promise<Line> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.find(pick);
      if (found) return found;
      if (!this.alive) throw new Error(`child exited: ${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`timed out; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.alive) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
});

/** `hold`: its hop keeps Ironic's answers to provision changes from it (fixtures/replica-via.mjs). */
function startReplica(db: string, ironicUrl: string, id: ReplicaId, hold: boolean): Proc {
  const proc = new Proc(
    spawn(process.execPath, [
      REPLICA_SCRIPT,
      DIST,
      db,
      ironicUrl,
      id,
      String(LEASE_MS),
      String(POLL_MS),
      REPLICAS[id],
      ...(hold ? ['hold-provision'] : []),
    ]),
  );
  procs.push(proc);
  return proc;
}

function streamsOf(db: string): Map<string, { status: string; events: StoredEvent[] }> {
  const reader = EventStore.open(db, { mode: 'reader' });
  try {
    return new Map(
      reader.listRuns().map((r) => [r.id, { status: r.status, events: reader.readStream(r.id) }]),
    );
  } finally {
    reader.close();
  }
}

/** One request line of Ironic's eventlet log, with the client address it came from. */
interface IronicRequest {
  at: number;
  client: string;
  method: string;
  path: string;
  status: number;
}

const REQUEST_LINE =
  /^(\S+ \S+) .*eventlet\.wsgi\.server .*?(\d+\.\d+\.\d+\.\d+)(?:,\S+)? "(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP\/1\.[01]" status: (\d{3})/;

/** Ironic's log lines (local time, as Ironic writes it and as Date.parse reads it without a zone). */
async function ironicRequests(logPath: string): Promise<IronicRequest[]> {
  const out: IronicRequest[] = [];
  for (const line of (await readFile(logPath, 'utf8')).split('\n')) {
    const m = REQUEST_LINE.exec(line);
    if (!m) continue;
    out.push({
      at: Date.parse(m[1]!.replace(' ', 'T')),
      client: m[2]!,
      method: m[3]!,
      path: m[4]!,
      status: Number(m[5]),
    });
  }
  return out;
}

/** Whether every one of `runs` has entered its unprovision wait (asked for `deleted`, watching). */
function allWatching(db: string, runs: readonly string[]): boolean {
  const streams = streamsOf(db);
  return runs.every(
    (id) =>
      streams.get(id)?.events.some((e) => e.kind === 'transition' && (e.to ?? '').includes('watching')) ??
      false,
  );
}

describe.skipIf(url === null || log === null)('replicas on the real Ironic', () => {
  const base = url!;
  const logPath = log!;
  /** Nodes deployed for the scenarios, N each, each with an instance and one VIF. */
  const deployed: TestNode[] = [];
  let deployMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    deployed.push(
      ...(await Promise.all(
        Array.from({ length: 2 * N }, async () => {
          const uuid = await availableNode(base);
          const instance = randomUUID();
          const vif = randomUUID();
          await deployFakeNode(base, uuid, { instanceUuid: instance, vifs: [vif] });
          return { uuid, instance, vif };
        }),
      )),
    );
    deployMs = Date.now() - t0;
  }, 180_000);

  /**
   * The scenario, SIGKILLing the victim at `kill`: `waiting` once every one of its runs has asked
   * for `deleted` and watches its node; `in-flight` once Ironic has taken every one of its
   * `deleted` requests but the answers are still on their way (its hop holds them): the runs'
   * `requestDeleted` is started, never finished, in the shared log.
   */
  async function scenario(kill: 'waiting' | 'in-flight'): Promise<void> {
    const nodes = deployed.splice(0, N);
    expect(nodes).toHaveLength(N);

    // Three replicas on one store; every node goes to each, the ring lets exactly one start it.
    const db = sharedStore(tmp.dir, kill);
    const replicas = new Map<ReplicaId, { proc: Proc; runs: Map<string, string> }>();
    for (const id of Object.keys(REPLICAS) as ReplicaId[])
      replicas.set(id, {
        proc: startReplica(db, base, id, id === VICTIM && kill === 'in-flight'),
        runs: new Map(),
      });
    for (const { proc } of replicas.values()) proc.send({ cmd: 'wait', replicas: 3 });
    for (const { proc } of replicas.values()) await proc.next((l) => l.ready === true);
    const owners = new Map<string, ReplicaId>();
    // The victim last: its runs start right before the test watches for its kill point.
    const order = [...replicas].sort(([a], [b]) => Number(a === VICTIM) - Number(b === VICTIM));
    for (const [id, r] of order) {
      r.proc.send({ cmd: 'destroy', nodes });
      const answer = await r.proc.next((l) => Array.isArray(l.started));
      for (const s of answer.started as Array<{ runId: string; node: string }>) {
        expect(owners.has(s.node)).toBe(false);
        owners.set(s.node, id);
        r.runs.set(s.runId, s.node);
      }
      for (const f of answer.refused as Array<{ code: string; owner: string }>) {
        expect(f.code).toBe('ENGINE_NODE_NOT_OWNED');
        expect(f.owner).not.toBe(id);
      }
    }
    expect(owners.size).toBe(N);
    const victim = replicas.get(VICTIM)!;
    // With 18 nodes each replica's share is 6 on average; the victim needs some to lose.
    expect(victim.runs.size).toBeGreaterThan(0);
    const victimRuns = [...victim.runs.keys()];
    const victimNodes = new Set(victim.runs.values());

    const held = (): Line[] => victim.proc.lines.filter((l) => typeof l.held === 'string');
    const ready =
      kill === 'waiting'
        ? (): boolean => allWatching(db, victimRuns)
        : (): boolean => held().length === victimRuns.length;
    for (const deadline = Date.now() + 60_000; !ready();) {
      expect(victim.proc.alive, victim.proc.stderr.slice(-2000)).toBe(true);
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const killedAt = Date.now();
    // Where its runs were when it died (the store is exact now: nothing more comes from it).
    const notWatching = victimRuns.filter((id) => !allWatching(db, [id])).length;
    if (kill === 'waiting') expect(notWatching).toBe(0);
    else {
      // Ironic took every one of its teardowns; none of their answers reached it.
      expect(held().map((l) => l.status)).toEqual(victimRuns.map(() => 202));
      expect(notWatching).toBe(victimRuns.length);
    }
    const statesAtKill = await Promise.all(
      [...victimNodes].map(async (n) => (await getNode(base, n)).provision_state),
    );

    // Every run ends, reported by the replica that drives it last: a survivor.
    const survivors = [...replicas].filter(([id]) => id !== VICTIM).map(([, r]) => r);
    const all = [...replicas.values()].flatMap((r) => [...r.runs.keys()]);
    const done = new Map<string, Line>();
    const deadline = Date.now() + 120_000;
    while (done.size < all.length) {
      for (const s of survivors)
        for (const l of s.proc.lines) if (typeof l.done === 'string') done.set(l.done, l);
      for (const s of survivors) expect(s.proc.alive, s.proc.stderr.slice(-2000)).toBe(true);
      expect(Date.now() < deadline, `runs not done: ${all.filter((id) => !done.has(id)).join(', ')}`).toBe(
        true,
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    const finishedAt = Date.now();
    expect([...done.values()].filter((d) => d.status !== 'succeeded')).toEqual([]);

    // Every stream gap-free, succeeded and replaying; the victim's runs taken over once, by a survivor.
    const streams = streamsOf(db);
    const delays: number[] = [];
    let firstTakeover = Infinity;
    for (const id of all) {
      const stream = streams.get(id)!;
      expect(stream.status).toBe('succeeded');
      expect(stream.events.map((e) => e.seq)).toEqual(stream.events.map((_, i) => i + 1));
      expect(replayRun(lifecycles.destroy.machine, stream.events).matches).toBe(true);
      const notes = stream.events.filter((e) => e.kind === 'note' && e.type === 'takeover');
      if (!victim.runs.has(id)) {
        expect(notes).toEqual([]);
        continue;
      }
      expect(notes).toHaveLength(1);
      const data = notes[0]!.data as {
        from: { replica: string };
        to: { replica: string };
        epoch: number;
        leaseExpiredAt: string;
      };
      expect(data.from.replica).toBe(VICTIM);
      expect(data.to.replica).not.toBe(VICTIM);
      expect(data.epoch).toBe(2);
      if (kill === 'in-flight') {
        // Resumed by the survivor, `requestDeleted` read the node and found Ironic had taken it.
        const took = stream.events.filter((e) =>
          JSON.stringify(e.data).includes('"alreadyUnprovisioning":true'),
        );
        expect(took.length, JSON.stringify(stream.events)).toBeGreaterThan(0);
      }
      const at = Date.parse(notes[0]!.at);
      firstTakeover = Math.min(firstTakeover, at);
      delays.push(at - Date.parse(data.leaseExpiredAt));
    }
    const worst = Math.max(...delays);
    console.log(
      `real Ironic, ${N} nodes, 3 replicas, lease ${LEASE_MS} ms (tick ${TICK_MS} ms): ${victimRuns.length} runs of ${VICTIM} ` +
        `killed ${kill} (${notWatching} not yet watching) in Ironic states [${statesAtKill.join(', ')}]; taken over ${Math.min(...delays)}..${worst} ms after its lease ran out, ` +
        `${firstTakeover - killedAt} ms after the kill; all done ${finishedAt - killedAt} ms after the kill ` +
        `(deploy of ${2 * N} took ${deployMs} ms)`,
    );
    // Within one tick of the lease running out, and a second tick of slack for a loaded machine.
    expect(worst).toBeLessThanOrEqual(2 * TICK_MS);

    // Each node ends available in Ironic, its instance gone.
    for (const n of nodes)
      expect(await getNode(base, n.uuid)).toMatchObject({
        provision_state: 'available',
        instance_uuid: null,
      });

    // Ironic's own log, flushed up to now (eventlet writes a line once its answer is sent).
    await logMark(base, logPath, nodes[0]!.uuid);
    const fromReplicas = new Set<string>(Object.values(REPLICAS));
    const requests = (await ironicRequests(logPath)).filter((r) => fromReplicas.has(r.client));
    for (const n of nodes) {
      const mine = requests.filter((r) => r.path.includes(n.uuid));
      const detaches = mine.filter((r) => r.method === 'DELETE' && r.path.includes(`/vifs/${n.vif}`));
      // A 500 is Ironic's concurrent action limit refusing the teardown (issue 20): it did nothing,
      // and the client asks again; at N = 18 under the default limit of 50 none is expected.
      const unprovisions = mine.filter(
        (r) => r.method === 'PUT' && r.path.split('?')[0]!.endsWith('/states/provision') && r.status !== 500,
      );
      const shown = mine.map((r) => `${r.client} ${r.method} ${r.path.split(n.uuid).join('N')} ${r.status}`);
      // The bound is one, the killed replica's in-flight request at most twice; both kill points
      // here fall after its detaches ended and after Ironic took its `deleted`, which the survivor
      // finds on the node before sending anything: so exactly once, for every node.
      expect(
        detaches.map((r) => r.status),
        shown.join('\n'),
      ).toEqual([204]);
      expect(
        unprovisions.map((r) => r.status),
        shown.join('\n'),
      ).toEqual([202]);
    }
    // Nothing from the killed replica after the takeover, and its runs' nodes were driven by it before.
    const fromVictim = requests.filter((r) => r.client === REPLICAS[VICTIM]);
    expect(fromVictim.some((r) => [...victimNodes].some((n) => r.path.includes(n)))).toBe(true);
    expect(fromVictim.filter((r) => r.at >= firstTakeover)).toEqual([]);
  }

  it(
    `SIGKILL of one of three replicas while its runs wait on Ironic: the survivors take its runs after the lease and all ${N} teardowns succeed`,
    () => scenario('waiting'),
    240_000,
  );

  it(
    'SIGKILL of one of three replicas with its teardown requests in flight: the survivors find Ironic took them and send none again',
    () => scenario('in-flight'),
    240_000,
  );
});
