// Which runs may act now: one run per node and per instance at a time (their locks), and at most
// `concurrency` runs executing at once (the slots). A run asks for its keys when it is admitted;
// once they are all free it queues for a slot, and it starts when one is free. Runs keep the
// order they were admitted in: a run never overtakes an older one waiting for one of its keys.
//
// Knows runs only as ids and a start function; the engine decides what starting means.

/** The lock keys of a run: its node and its instance, either of which may be unknown yet. */
export function lockKeys(instance: string | null, node: string | null): string[] {
  const keys: string[] = [];
  if (node) keys.push(`node:${node}`);
  if (instance) keys.push(`instance:${instance}`);
  return keys;
}

/** What admission needs of a run. */
export interface Admittable {
  readonly id: string;
  readonly instance: string | null;
  readonly node: string | null;
}

interface Ticket<R extends Admittable> {
  run: R;
  start: () => void;
}

/** A run waiting for its node and instance to be free. */
interface Claim<R extends Admittable> extends Ticket<R> {
  keys: string[];
}

export class Admission<R extends Admittable> {
  /** Lock key (`node:X`, `instance:Y`) to the run holding it. */
  private readonly holders = new Map<string, string>();
  /** The keys each granted run holds, released together when it leaves. */
  private readonly held = new Map<string, string[]>();
  /** Runs waiting for keys, in the order they were admitted: a later one never overtakes. */
  private readonly claims: Claim<R>[] = [];
  /** Runs holding their keys, waiting for a slot. */
  private readonly queue: Ticket<R>[] = [];
  /** Runs holding a slot. */
  private readonly started = new Set<R>();
  private closed = false;

  constructor(private readonly concurrency: number) {}

  /** Runs executing (holding a slot). */
  get executing(): number {
    return this.started.size;
  }

  /** Runs holding their keys and waiting for a slot. */
  get waitingForSlot(): number {
    return this.queue.length;
  }

  /** Runs admitted and not yet executing: waiting for keys or for a slot. */
  get waiting(): number {
    return this.claims.length + this.queue.length;
  }

  /**
   * Admits `run`: `start` is called once its keys are all free and a slot is, possibly at once.
   * The keys are taken together, so two runs admitted in the same tick start in that order.
   */
  admit(run: R, start: () => void): void {
    this.claims.push({ run, start, keys: lockKeys(run.instance, run.node) });
    this.grant();
  }

  /** The run has ended (or was stopped while still waiting): frees its keys and its slot. */
  leave(run: R): void {
    this.releaseKeys(run.id);
    if (!this.started.delete(run)) {
      const waiting = this.claims.findIndex((c) => c.run === run);
      if (waiting >= 0) this.claims.splice(waiting, 1);
      const queued = this.queue.findIndex((t) => t.run === run);
      if (queued >= 0) this.queue.splice(queued, 1);
    }
    this.grant();
  }

  /** Starts no further run (the engine is closing); those waiting stay where they are. */
  close(): void {
    this.closed = true;
  }

  /** Who holds `key`, or failing that the oldest run waiting for it. */
  holderOf(key: string): string | undefined {
    return this.holders.get(key) ?? this.claims.find((c) => c.keys.includes(key))?.run.id;
  }

  /**
   * A run learned its node mid-run (a teardown looks it up by instance): from now on the node is
   * its. Returns the id of another run already holding that node (both then act on it; the
   * caller says so), or null.
   */
  learnNode(runId: string, node: string): string | null {
    const key = `node:${node}`;
    const holder = this.holders.get(key);
    if (holder === runId) return null;
    if (holder !== undefined) return holder;
    const keys = this.held.get(runId);
    if (!keys) return null; // not granted (finished or interrupted meanwhile)
    this.holders.set(key, runId);
    keys.push(key);
    return null;
  }

  /**
   * Moves every waiting run whose keys are all free into the start queue, oldest first. A key
   * wanted by an older waiting run counts as taken, so no run overtakes an older one on a key.
   */
  private grant(): void {
    let wanted: Set<string> | null = null;
    for (let i = 0; i < this.claims.length;) {
      const claim = this.claims[i]!;
      const free = claim.keys.every(
        (k) => !wanted?.has(k) && (this.holders.get(k) ?? claim.run.id) === claim.run.id,
      );
      if (!free) {
        wanted ??= new Set();
        for (const k of claim.keys) wanted.add(k);
        i++;
        continue;
      }
      this.claims.splice(i, 1);
      for (const k of claim.keys) this.holders.set(k, claim.run.id);
      this.held.set(claim.run.id, claim.keys);
      this.queue.push(claim);
    }
    this.pump();
  }

  private pump(): void {
    while (this.started.size < this.concurrency && this.queue.length > 0 && !this.closed) {
      const ticket = this.queue.shift()!;
      this.started.add(ticket.run);
      ticket.start();
    }
  }

  private releaseKeys(runId: string): void {
    for (const key of this.held.get(runId) ?? []) {
      if (this.holders.get(key) === runId) this.holders.delete(key);
    }
    this.held.delete(runId);
  }
}
