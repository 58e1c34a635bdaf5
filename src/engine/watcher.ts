// One node watcher per engine serves every waiting run. Waiting states do not poll
// Ironic each on their own: with thousands of teardowns waiting out `cleaning`, one
// request per run per tick would be the load. Few watched nodes: one GET each;
// many: one paged `GET /v1/nodes?fields=...` sweep answers them all.
//
// A wait that begins while nobody waits gets its first look one interval later (the seed's loop
// starts when it starts waiting); one that begins while others wait joins their next tick, so the
// sweeps stay shared. Ticks keep a fixed cadence while anyone waits, as the seed's FixedIntervalLoopingCall does: the
// next one is due an interval after the last one started, not after it ended, so a slow sweep does
// not stretch every run's wait. A tick that comes due while the previous one's requests are still
// out runs as soon as they end (never two at once, never more than one per interval). Its requests jump the client's connection queue:
// behind thousands of queued effect requests, a sweep would lag by seconds.
import { setMaxListeners } from 'node:events';
import { IronicNotFoundError } from '../ironic/errors.js';
import type { HttpAttempt, IronicApi, Node, NodeField } from '../ironic/types.js';
import { NODE_FIELDS } from '../ironic/types.js';

export interface WatcherOptions {
  ironic: IronicApi;
  /** Time between ticks (the seed's api_retry_interval: 2 s). */
  intervalMs: number;
  /** Above this many distinct watched nodes a tick lists instead of GETting each. */
  listThreshold?: number;
  /** Parallel GETs in per-node mode. */
  getConcurrency?: number;
  /** Told after every tick: its mode, the nodes it observed for, and how long it took. */
  onTick?: (tick: { mode: 'get' | 'list'; nodes: number; ms: number }) => void;
  /**
   * Asked before each tick picks the nodes it polls: a promise holds the tick until it settles
   * (a replica re-validating its runs after a pause stops those taken over, whose waits leave).
   */
  beforeTick?: () => Promise<void> | null;
}

export interface WatcherStats {
  ticks: number;
  getRequests: number;
  listSweeps: number;
  observations: number;
}

interface Waiter {
  resolve: (node: Node) => void;
  reject: (err: unknown) => void;
  /** Told of every failed or retried attempt made on its behalf (a wait's retries belong in its run's log). */
  onFailedAttempt?: (attempt: HttpAttempt) => void;
}

/** What a waiting run's log must show of its tick's requests: failures, retries and re-authentications. */
function failed(a: HttpAttempt): boolean {
  return a.willRetry || a.status === null || a.status >= 400 || a.service === 'keystone';
}

function tellWaiters(waiters: Iterable<Waiter>): (a: HttpAttempt) => void {
  return (a) => {
    if (!failed(a)) return;
    for (const w of waiters) w.onFailedAttempt?.(a);
  };
}

const WATCH_FIELDS: readonly NodeField[] = [...NODE_FIELDS, 'reservation'];
/**
 * A run may name its node by UUID or by name; a GET resolves either, a sweep's list is matched
 * here, so it must carry the name (the plain /v1/nodes list accepts fields=, /detail does not).
 */
const SWEEP_FIELDS: readonly NodeField[] = [...WATCH_FIELDS, 'name'];

export class NodeWatcher {
  private readonly waiters = new Map<string, Waiter[]>();
  /** Waits that are on (by their signal), also between two looks, when they are not in `waiters`. */
  private readonly waits = new Set<AbortSignal>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  /** A tick came due while the previous one was still out. */
  private due = false;
  private closed = false;
  /** Aborts the requests of a tick still out when the watcher closes (retries included). */
  private readonly inFlight = new AbortController();
  readonly stats: WatcherStats = { ticks: 0, getRequests: 0, listSweeps: 0, observations: 0 };

  constructor(private readonly opts: WatcherOptions) {
    // Every request of a tick listens on this one signal (up to getConcurrency at once, each
    // removing its listener when done): not a leak, so no MaxListenersExceededWarning.
    setMaxListeners(0, this.inFlight.signal);
  }

  /** Resolves with the node as Ironic reports it at the next tick. */
  observe(node: string, signal?: AbortSignal, onFailedAttempt?: (a: HttpAttempt) => void): Promise<Node> {
    if (this.closed) return Promise.reject(new Error('node watcher is closed'));
    return new Promise<Node>((resolve, reject) => {
      // A wait that begins while no other wait is on and no tick is out starts the cadence afresh,
      // as the seed's looping call starts its timer when it starts waiting: the tick earlier waits
      // left pending would otherwise look at a phase of theirs (issue 20: a destroy right after a
      // deploy looked 1.3-1.6 s after its request). Waits that begin while others are on (waiting
      // for a tick or between two looks) join their ticks. A wait is known by its signal.
      const fresh = signal === undefined || !this.waits.has(signal);
      if (fresh && this.waits.size === 0 && this.waiters.size === 0 && !this.ticking && this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      if (signal && fresh && !signal.aborted) {
        this.waits.add(signal);
        signal.addEventListener('abort', () => this.waits.delete(signal), { once: true });
      }
      const waiter: Waiter = {
        resolve,
        reject: (err) => {
          // A failed look ends its wait (observeNode ends with the error).
          if (signal) this.waits.delete(signal);
          reject(err);
        },
        onFailedAttempt,
      };
      const list = this.waiters.get(node);
      if (list) list.push(waiter);
      else this.waiters.set(node, [waiter]);
      if (signal) {
        const onAbort = (): void => {
          const current = this.waiters.get(node);
          if (current) {
            const rest = current.filter((w) => w !== waiter);
            if (rest.length) this.waiters.set(node, rest);
            else this.waiters.delete(node);
          }
          reject(signal.reason ?? new Error('aborted'));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = waiter.resolve;
        const fail = waiter.reject;
        waiter.resolve = (n) => {
          signal.removeEventListener('abort', onAbort);
          settle(n);
        };
        waiter.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          fail(e);
        };
      }
      this.schedule();
    });
  }

  get watching(): number {
    return this.waiters.size;
  }

  close(): void {
    this.closed = true;
    this.inFlight.abort(new Error('node watcher closed'));
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const err = new Error('node watcher closed');
    for (const list of this.waiters.values()) for (const w of list) w.reject(err);
    this.waiters.clear();
    this.waits.clear();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.ticking) this.due = true;
      else void this.tick();
    }, this.opts.intervalMs);
  }

  /** With nobody waiting the cadence stops; the next observe() starts it again. */
  private async tick(): Promise<void> {
    if (this.waiters.size === 0 || this.closed) return;
    this.ticking = true;
    this.stats.ticks++;
    this.schedule();
    const gate = this.opts.beforeTick?.() ?? null;
    if (gate !== null) {
      try {
        await gate;
      } catch {
        // The gate's own failure is its caller's to report; the tick goes on.
      }
      if (this.waiters.size === 0 || this.closed) {
        this.ticking = false;
        this.due = false;
        return;
      }
    }
    const batch = new Map(this.waiters);
    this.waiters.clear();
    const mode = batch.size > (this.opts.listThreshold ?? 16) ? 'list' : 'get';
    const started = performance.now();
    try {
      if (mode === 'list') await this.sweep(batch);
      else await this.getEach(batch);
    } finally {
      this.opts.onTick?.({ mode, nodes: batch.size, ms: performance.now() - started });
      this.ticking = false;
      if (this.due) {
        this.due = false;
        void this.tick();
      }
    }
  }

  private async getEach(batch: Map<string, Waiter[]>): Promise<void> {
    const entries = [...batch.entries()];
    const width = Math.max(1, this.opts.getConcurrency ?? 16);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length && !this.closed) {
        const [node, waiters] = entries[next++]!;
        this.stats.getRequests++;
        try {
          const found = await this.opts.ironic.getNode(node, {
            fields: WATCH_FIELDS,
            observer: tellWaiters(waiters),
            priority: 'urgent',
            signal: this.inFlight.signal,
          });
          this.settle(waiters, found);
        } catch (err) {
          for (const w of waiters) w.reject(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, entries.length) }, worker));
  }

  private async sweep(batch: Map<string, Waiter[]>): Promise<void> {
    this.stats.listSweeps++;
    let nodes: Node[];
    try {
      const all = [...batch.values()].flat();
      nodes = await this.opts.ironic.listNodes(
        { fields: SWEEP_FIELDS, limit: 0 },
        { observer: tellWaiters(all), priority: 'urgent', signal: this.inFlight.signal },
      );
    } catch (err) {
      for (const list of batch.values()) for (const w of list) w.reject(err);
      return;
    }
    // As Ironic resolves a node identifier: a UUID first, then a name (a name never hides a UUID).
    const byUuid = new Map<string, Node>();
    const byName = new Map<string, Node>();
    for (const n of nodes) {
      byUuid.set(n.uuid, n);
      if (n.name) byName.set(n.name, n);
    }
    for (const [node, waiters] of batch) {
      const found = byUuid.get(node) ?? byName.get(node);
      if (found) this.settle(waiters, found);
      else {
        const err = new IronicNotFoundError(`Node ${node} could not be found.`, { status: 404, node });
        for (const w of waiters) w.reject(err);
      }
    }
  }

  private settle(waiters: Waiter[], node: Node): void {
    this.stats.observations += waiters.length;
    for (const w of waiters) w.resolve(node);
  }
}
