// Batches appends from every run into one store transaction per event-loop turn (SQLite or
// PostgreSQL: one commit, one round trip group, whatever the number of events).
// With thousands of runs in flight, one fsync-bearing commit per event would cap
// throughput; one commit per turn keeps the write-ahead rule (a caller that awaits
// append() knows its events are durable) at a fraction of the cost.
import { EventStore } from '../store/event-store.js';
import { SqliteRunStore, type RunStore } from '../store/run-store.js';
import type { Scrubber } from '../store/scrub.js';
import type { NewEvent, NewRun } from '../store/types.js';

interface Pending {
  runId: string;
  events: NewEvent[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PendingCreate {
  run: NewRun & { id: string };
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Recorder {
  private queue: Pending[] = [];
  private creates: PendingCreate[] = [];
  /** Runs whose creation failed: their events can never be stored; appends fail with the same error. */
  private readonly unborn = new Map<string, unknown>();
  private readonly seqs = new Map<string, number>();
  /** Runs with live secrets: their events are scrubbed of them on the way into the store. */
  private readonly scrubs = new Map<string, Scrubber>();
  private scheduled = false;
  private appended = 0;

  private readonly store: RunStore;
  /** The commit in progress: the next one starts only once it has ended (seqs move in order). */
  private inflight: Promise<void> | null = null;

  constructor(store: RunStore | EventStore) {
    this.store = store instanceof EventStore ? new SqliteRunStore(store) : store;
  }

  /** Starts tracking a run whose stream currently ends at `lastSeq`. */
  track(runId: string, lastSeq: number): void {
    this.seqs.set(runId, lastSeq);
  }

  forget(runId: string): void {
    this.seqs.delete(runId);
    this.unborn.delete(runId);
    this.scrubs.delete(runId);
  }

  /**
   * From now on every event of the run is scrubbed of these secret values before it is written
   * (events already queued included); null: none. A run without secrets costs one map lookup
   * per commit.
   */
  protect(runId: string, scrub: Scrubber | null): void {
    if (scrub === null || scrub.empty) this.scrubs.delete(runId);
    else this.scrubs.set(runId, scrub);
  }

  /**
   * Marks a run as never to be stored (refused before its creation was queued): its appends
   * fail with `err` at once.
   */
  refuse(runId: string, err: unknown): void {
    this.unborn.set(runId, err);
  }

  /** Whether the store refused to create this run: none of its events can ever be stored. */
  unstored(runId: string): boolean {
    return this.unborn.has(runId);
  }

  lastSeq(runId: string): number | undefined {
    return this.seqs.get(runId);
  }

  /** Total events made durable by this recorder. */
  get eventsAppended(): number {
    return this.appended;
  }

  /**
   * Starts a run's stream (its row and `run.started`, seq 1) with the next commit, before any
   * append queued in the same turn; tracked at once, so its events can be queued behind it.
   * Resolves once committed.
   */
  create(run: NewRun & { id: string }): Promise<void> {
    this.track(run.id, 1);
    return new Promise<void>((resolve, reject) => {
      this.creates.push({ run, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once the events are committed; events of one run keep their order. */
  append(runId: string, events: NewEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    if (this.unborn.has(runId)) return Promise.reject(this.unborn.get(runId));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ runId, events, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.kick();
    });
  }

  /** Starts a commit unless one is in flight; that one schedules the next when it ends. */
  private kick(): Promise<void> {
    if (this.inflight !== null) return this.inflight;
    // Each caller's promise carries its own outcome; the commit itself never rejects.
    const commit = this.commit()
      .catch(() => undefined)
      .finally(() => {
        this.inflight = null;
        if (this.queue.length > 0 || this.creates.length > 0) this.schedule();
      });
    this.inflight = commit;
    return commit;
  }

  /** Commits everything queued now (also used on close); resolves once it is committed. */
  async flush(): Promise<void> {
    if (this.inflight !== null) await this.inflight;
    await this.kick();
  }

  private async commit(): Promise<void> {
    this.scheduled = false;
    const creates = this.creates;
    const items = this.queue;
    this.creates = [];
    this.queue = [];
    if (items.length === 0 && creates.length === 0) return;
    const byRun = new Map<string, Pending[]>();
    for (const item of items) {
      const list = byRun.get(item.runId);
      if (list) list.push(item);
      else byRun.set(item.runId, [item]);
    }
    const batch: Array<{ runId: string; expectedSeq: number; events: NewEvent[]; scrub: Scrubber | null }> =
      [];
    for (const [runId, list] of byRun) {
      const expectedSeq = this.seqs.get(runId);
      if (expectedSeq === undefined) {
        // Forgotten (finished) since these were queued: fail them, never the whole commit.
        byRun.delete(runId);
        for (const item of list) item.reject(new Error(`recorder: run ${runId} is not tracked`));
        continue;
      }
      batch.push({
        runId,
        expectedSeq,
        events: list.flatMap((p) => p.events),
        scrub: this.scrubs.get(runId) ?? null,
      });
    }
    try {
      await this.store.write(
        creates.map((c) => c.run),
        batch,
      );
      this.appended += creates.length;
      for (const entry of batch) this.advance(entry.runId, entry.events.length);
      for (const c of creates) c.resolve();
      for (const list of byRun.values()) for (const item of list) item.resolve();
    } catch {
      // One run's failure must not lose the others: commit run by run and fail only the culprit.
      for (const c of creates) {
        try {
          await this.store.createRun(c.run);
          this.appended += 1;
          c.resolve();
        } catch (err) {
          this.unborn.set(c.run.id, err);
          c.reject(err);
        }
      }
      for (const entry of batch) {
        const list = byRun.get(entry.runId) ?? [];
        const unborn = this.unborn.get(entry.runId);
        if (unborn !== undefined) {
          for (const item of list) item.reject(unborn);
          continue;
        }
        try {
          await this.store.appendBatch([{ ...entry, expectedSeq: this.expected(entry.runId) }]);
          this.advance(entry.runId, entry.events.length);
          for (const item of list) item.resolve();
        } catch (err) {
          for (const item of list) item.reject(err);
        }
      }
    }
  }

  private expected(runId: string): number {
    const seq = this.seqs.get(runId);
    if (seq === undefined) throw new Error(`recorder: run ${runId} is not tracked`);
    return seq;
  }

  private advance(runId: string, count: number): void {
    this.seqs.set(runId, this.expected(runId) + count);
    this.appended += count;
  }
}
