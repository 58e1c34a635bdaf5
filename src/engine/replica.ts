// Replica mode (issue 18): several engines, each a replica with a name, share one store. Each
// beats (renews its owner row's lease) every third of its lease; the replicas whose lease holds
// form the hash ring, and a node belongs to the replica the ring gives it to. Every tick a
// replica takes over the unfinished runs of replicas whose lease ran out, for the nodes it now
// owns, and resumes them from the shared log.
//
// Fencing. Appends are fenced in the store by (owner, epoch); Ironic requests are not appends, so
// before any request the replica checks its own lease locally: when its last successful beat is
// older than two thirds of the lease (it was paused, or the file was busy) it sends nothing until it has
// beaten again and re-validated every run it drives by appending a `lease-check` note to each.
// The append of a run another replica took is refused by the store's fence, and that run is
// stopped at once (its effects aborted, no further request); the runs it still owns go on.
//
// The store is the asynchronous RunStore: a SQLite file shared by the processes of one host, or
// a PostgreSQL server shared by hosts (there the server's clock judges every lease).
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { HashRing } from '../inventory/hash-ring.js';
import type { EventStore } from '../store/event-store.js';
import type { RunStore } from '../store/run-store-types.js';
import type { RunRow } from '../store/types.js';

/** Default heartbeat lease of a replica. */
export const DEFAULT_REPLICA_LEASE_MS = 30_000;

export interface ReplicaOptions {
  /** This replica's name, unique among the replicas sharing the store (default: the host name). */
  id?: string;
  /**
   * Heartbeat lease (default 30 s): beats every third of it; a replica whose last beat is older
   * than this is gone, and the others take its runs over.
   */
  leaseMs?: number;
}

export interface ReplicaHost {
  store: RunStore;
  log: Logger;
  /** Runs this engine drives now (`all`: also those not started yet or ending). */
  driven(all?: boolean): string[];
  /**
   * Appends a `lease-check` note to each run and settles with, per run, the error of a refused
   * append (null: still ours).
   */
  check(runIds: string[], message: string): Promise<Map<string, unknown>>;
  /** Stops driving a run another replica took (its append was refused). */
  fence(runId: string, err: unknown): void;
  /** Resumes runs this replica has just taken over. */
  resumeTaken(rows: RunRow[]): void;
}

/** The ring key of a run: its node as the command named it, the node's UUID once learned, else its instance. */
export function ringKeyOfRun(row: Pick<RunRow, 'nodeName' | 'nodeUuid' | 'instanceUuid'>): string | null {
  return row.nodeName ?? row.nodeUuid ?? row.instanceUuid;
}

export class Replica {
  readonly id: string;
  readonly leaseMs: number;
  /** Time the last successful beat renewed the lease as of (ms); 0 before the first. */
  private lastBeat = 0;
  private ring: HashRing | null = null;
  private members: string[] = [];
  private revalidating: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** A beat in progress (the store is asynchronous): the next tick does not start another. */
  private beating = false;
  /** A ring-and-takeover round in progress: the next tick does not start another. */
  private rounding = false;

  constructor(
    opts: ReplicaOptions,
    private readonly host: ReplicaHost,
  ) {
    this.id = opts.id ?? hostname();
    this.leaseMs = opts.leaseMs ?? DEFAULT_REPLICA_LEASE_MS;
  }

  static validate(opts: ReplicaOptions): { id: string; leaseMs: number } {
    const id = opts.id ?? hostname();
    const leaseMs = opts.leaseMs ?? DEFAULT_REPLICA_LEASE_MS;
    if (typeof id !== 'string' || id.trim() === '' || id.length > 255)
      throw new RangeError(`replica.id must be a non-empty name of at most 255 characters`);
    if (!Number.isInteger(leaseMs) || leaseMs < 300 || leaseMs > 3_600_000)
      throw new RangeError(
        `replica.leaseMs must be a whole number of ms from 300 to 3600000, got ${leaseMs}`,
      );
    return { id, leaseMs };
  }

  /** Time between beats and takeover rounds: a third of the lease. */
  get tickMs(): number {
    return Math.max(100, Math.floor(this.leaseMs / 3));
  }

  /** The replicas on the ring as of the last tick. */
  get live(): readonly string[] {
    return this.members;
  }

  /** Beats once (the store registered the row just now), builds the ring, and starts ticking. */
  async start(): Promise<void> {
    await this.beat();
    await this.refreshRing();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The replica the ring gives `key` to (this one when the ring is empty: nothing else is live). */
  ownerOf(key: string): string {
    return this.ring?.getHost(key) ?? this.id;
  }

  /**
   * Null when this replica's lease is fresh and it may send; otherwise a promise that settles once
   * it has beaten again and re-validated its runs (those taken by another replica are stopped).
   */
  guard(): Promise<void> | null {
    if (this.revalidating === null && Date.now() - this.lastBeat <= (this.leaseMs * 2) / 3) return null;
    return this.revalidate();
  }

  /** The ownership rounds of one tick: beat (or re-validate after a gap), ring, takeover. */
  private tick(): void {
    if (this.stopped) return;
    // A gap since the last beat starts a re-validation, which beats first: this tick adds nothing.
    if (this.revalidating === null && this.guard() !== null) return;
    // The beat goes on whatever else is in progress (a long takeover round, a re-validation whose
    // lease-check appends wait on a busy store): a replica busy is not a replica gone.
    if (!this.beating) {
      this.beating = true;
      void this.beat().finally(() => (this.beating = false));
    }
    // The takeover waits until its runs are re-validated.
    if (this.revalidating === null && !this.rounding) {
      this.rounding = true;
      void this.round().finally(() => (this.rounding = false));
    }
  }

  private async round(): Promise<void> {
    await this.refreshRing();
    if (!this.stopped && this.revalidating === null) await this.takeOver();
  }

  private async beat(): Promise<boolean> {
    try {
      const { at, rejoined } = await this.host.store.heartbeat();
      this.lastBeat = at;
      if (rejoined)
        this.host.log.warn(
          { replica: this.id },
          'replica: its owner row had been forgotten (lease ran out); rejoined, owning none of its former runs',
        );
      return true;
    } catch (err) {
      this.host.log.warn({ replica: this.id, err }, 'replica: heartbeat failed; retrying next tick');
      return false;
    }
  }

  private async refreshRing(): Promise<void> {
    try {
      const live = await this.host.store.liveReplicas();
      if (!live.includes(this.id)) live.push(this.id);
      if (live.join('\n') !== this.members.join('\n')) {
        this.host.log.info({ replica: this.id, replicas: live }, 'replica: ring changed');
        this.members = live.sort();
        this.ring = new HashRing(this.members);
      }
    } catch (err) {
      this.host.log.warn({ replica: this.id, err }, 'replica: could not read the live replicas');
    }
  }

  /** Takes over the runs of gone replicas whose node this replica owns on the ring, and resumes them. */
  private async takeOver(): Promise<void> {
    let taken: RunRow[];
    try {
      taken = await this.takeOverRows();
    } catch (err) {
      this.host.log.warn({ replica: this.id, err }, 'replica: takeover round failed; retrying next tick');
      return;
    }
    if (taken.length > 0) this.host.resumeTaken(taken);
  }

  /**
   * Claims (epoch + 1, a `takeover` note in each stream) the unfinished runs no live owner holds
   * whose node the ring gives this replica; the caller resumes them.
   */
  async takeOverRows(): Promise<RunRow[]> {
    return this.tookOver(await this.host.store.takeOverRuns(this.takeable()));
  }

  /** takeOverRows() on the SQLite store underneath, synchronously (the engine's synchronous API). */
  takeOverRowsLocal(local: EventStore): RunRow[] {
    return this.tookOver(local.takeOverRuns(this.takeable()));
  }

  /** Which runs of gone owners this replica takes: those whose node the ring gives it. */
  private takeable(): (row: RunRow) => boolean {
    const driven = new Set(this.host.driven(true));
    return (row) => {
      // A run this engine still has an actor for waits until that actor has stopped.
      if (driven.has(row.id)) return false;
      const key = ringKeyOfRun(row);
      return key === null || this.ownerOf(key) === this.id;
    };
  }

  private tookOver(taken: RunRow[]): RunRow[] {
    if (taken.length > 0)
      this.host.log.warn(
        { replica: this.id, runs: taken.length, ring: this.members },
        'replica: took over runs whose owner is gone (lease ran out, or closed)',
      );
    return taken;
  }

  private revalidate(): Promise<void> {
    this.revalidating ??= this.doRevalidate().finally(() => (this.revalidating = null));
    return this.revalidating;
  }

  private async doRevalidate(): Promise<void> {
    const gapMs = Date.now() - this.lastBeat;
    // Beat first: from this commit on, no other replica may take what this one still holds.
    while (!(await this.beat())) {
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, this.tickMs)));
    }
    const runs = this.host.driven();
    this.host.log.warn(
      { replica: this.id, gapMs, runs: runs.length },
      'replica: no heartbeat for longer than two thirds of the lease; sending nothing until its runs are re-validated',
    );
    if (runs.length === 0) return;
    const refused = await this.host.check(
      runs,
      `replica ${this.id} went ${gapMs} ms without a heartbeat (lease ${this.leaseMs} ms); still owns this run`,
    );
    for (const [runId, err] of refused) this.host.fence(runId, err);
    await this.refreshRing();
  }
}
