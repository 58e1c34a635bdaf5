// The node watcher's cadence: one tick per interval while anyone waits, measured from each tick's
// start; never two ticks' requests out at once; its polls jump the connection queue. Every test
// runs both ways a tick can poll (a GET per node, or one list sweep above listThreshold) and with
// runs naming their nodes both ways Ironic accepts (by name, by UUID).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NodeWatcher } from '../../src/engine/watcher.js';
import { IronicNotFoundError } from '../../src/ironic/errors.js';
import type { CallOptions, IronicApi, Node, NodeField, NodeListFilters } from '../../src/ironic/types.js';

interface FakeNode {
  uuid: string;
  name: string;
  provision_state: string;
}

const NODES: readonly FakeNode[] = [1, 2, 3, 4, 5].map((i) => ({
  uuid: `00000000-0000-4000-8000-00000000000${i}`,
  name: `n-${i}`,
  provision_state: 'cleaning',
}));

/** Ironic answers a `fields=` request with those fields only (a list without `name` has no names). */
function answer(n: FakeNode, fields: readonly NodeField[] | undefined): Node {
  const all = n as unknown as Record<string, unknown>;
  if (fields === undefined) return { ...all } as unknown as Node;
  return Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]])) as unknown as Node;
}

interface Call {
  kind: 'get' | 'list';
  start: number;
  end?: number;
}

/** An Ironic whose GETs and lists answer after `latencyMs`, logging every call. */
function slowIronic(latencyMs: number, nodes: readonly FakeNode[] = NODES) {
  const log = { calls: [] as Call[], opts: [] as CallOptions[] };
  const later = <T>(kind: Call['kind'], opts: CallOptions, value: () => T): Promise<T> => {
    const call: Call = { kind, start: Date.now() };
    log.calls.push(call);
    log.opts.push(opts);
    return new Promise<T>((resolve, reject) =>
      setTimeout(() => {
        call.end = Date.now();
        try {
          resolve(value());
        } catch (err) {
          reject(err);
        }
      }, latencyMs),
    );
  };
  const api = {
    listNodes: (filters: NodeListFilters, opts: CallOptions) =>
      later('list', opts, () => nodes.map((n) => answer(n, filters.fields))),
    getNode: (ident: string, opts: CallOptions & { fields?: readonly NodeField[] }) =>
      later('get', opts, () => {
        // Ironic resolves a path identifier as a UUID, then as a name.
        const n = nodes.find((x) => x.uuid === ident) ?? nodes.find((x) => x.name === ident);
        if (!n)
          throw new IronicNotFoundError(`Node ${ident} could not be found.`, { status: 404, node: ident });
        return answer(n, opts.fields);
      }),
  };
  return { api: api as unknown as IronicApi, log };
}

/** Start times of the ticks: every request of a tick leaves at the same moment. */
const tickStarts = (calls: readonly Call[]): number[] => [...new Set(calls.map((c) => c.start))];

/** Every waiter watches again as soon as it is told (as observeNode does). */
function watchForever(watcher: NodeWatcher, idents: readonly string[]): void {
  const again = (n: string): void => {
    watcher.observe(n).then(
      () => again(n),
      () => undefined,
    );
  };
  for (const n of idents) again(n);
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

const MODES = [
  // 5 watched nodes: above 2 a tick lists, up to 16 it GETs each.
  {
    mode: 'list sweeps',
    listThreshold: 2,
    polls: (calls: readonly Call[]) => calls.filter((c) => c.kind === 'list'),
  },
  {
    mode: 'per-node GETs',
    listThreshold: 16,
    polls: (calls: readonly Call[]) => calls.filter((c) => c.kind === 'get'),
  },
] as const;
const IDENTS = [
  { by: 'name', ident: (n: FakeNode) => n.name },
  { by: 'uuid', ident: (n: FakeNode) => n.uuid },
] as const;

describe.each(MODES)('NodeWatcher, $mode', ({ mode, listThreshold, polls }) => {
  const requestsPerTick = mode === 'list sweeps' ? 1 : NODES.length;

  describe.each(IDENTS)('nodes given by $by', ({ ident }) => {
    const idents = NODES.map(ident);
    const watcherOn = (api: IronicApi): NodeWatcher =>
      new NodeWatcher({ ironic: api, intervalMs: 1000, listThreshold });

    /** A watcher (1 s ticks) whose nodes are all watched for `forMs`, each request taking `latencyMs`. */
    async function watchedFor(latencyMs: number, forMs: number) {
      const { api, log } = slowIronic(latencyMs);
      const watcher = watcherOn(api);
      watchForever(watcher, idents);
      await vi.advanceTimersByTimeAsync(forMs);
      watcher.close();
      return { log, stats: watcher.stats };
    }

    it('tells every waiter its own node', async () => {
      const { api, log } = slowIronic(10);
      const watcher = watcherOn(api);
      const seen = Promise.all(idents.map((n) => watcher.observe(n)));
      await vi.advanceTimersByTimeAsync(1100);
      expect((await seen).map((n) => n.uuid)).toEqual(NODES.map((n) => n.uuid));
      expect(polls(log.calls)).toHaveLength(requestsPerTick);
      expect(log.calls).toHaveLength(requestsPerTick);
      watcher.close();
    });

    it('rejects the waiters of a node Ironic does not have with not-found, and serves the others', async () => {
      const { api } = slowIronic(10, NODES.slice(1));
      const watcher = watcherOn(api);
      const seen = idents.map((n) =>
        watcher.observe(n).then(
          (node) => node.uuid,
          (err: unknown) => err,
        ),
      );
      await vi.advanceTimersByTimeAsync(1100);
      const [gone, ...rest] = await Promise.all(seen);
      expect(gone).toBeInstanceOf(IronicNotFoundError);
      expect(gone).toMatchObject({ message: `Node ${idents[0]} could not be found.` });
      expect(rest).toEqual(NODES.slice(1).map((n) => n.uuid));
      watcher.close();
    });

    it('ticks one interval after the previous tick started, however long its requests took', async () => {
      const { log, stats } = await watchedFor(600, 3700);
      // Waiting again only after 600 ms requests would put the ticks at 1000, 2600, ...
      expect(tickStarts(log.calls)).toEqual([1000, 2000, 3000]);
      expect(polls(log.calls)).toHaveLength(3 * requestsPerTick);
      expect(stats.listSweeps + stats.getRequests).toBe(3 * requestsPerTick);
      expect(stats.observations).toBe(15);
    });

    it("runs a tick that came due during the previous one's requests as soon as they end, never two at once", async () => {
      const { log } = await watchedFor(1500, 5600);
      const starts = tickStarts(log.calls);
      expect(starts).toEqual([1000, 2500, 4000, 5500]);
      // Every request of a tick has ended before the next tick sends any.
      for (const c of log.calls) {
        const next = starts.find((s) => s > c.start);
        if (next !== undefined) expect(c.end).toBeLessThanOrEqual(next);
      }
    });

    it('stops ticking when nobody waits and starts again one interval after the next observe', async () => {
      const { api, log } = slowIronic(100);
      const watcher = watcherOn(api);
      const first = Promise.all(idents.map((n) => watcher.observe(n)));
      await vi.advanceTimersByTimeAsync(1100);
      await first;
      await vi.advanceTimersByTimeAsync(5000);
      expect(tickStarts(log.calls)).toEqual([1000]);
      const later = Promise.all(idents.map((n) => watcher.observe(n)));
      await vi.advanceTimersByTimeAsync(1100);
      await later;
      expect(tickStarts(log.calls)).toEqual([1000, 7100]);
      watcher.close();
    });

    // Issue 20: a run that starts waiting joins the ticks already going (its first look comes at
    // most one interval later) instead of getting a schedule of its own, which would add a tick,
    // and so requests, for every run that starts waiting at its own moment.
    it('gives a node that starts waiting mid-cadence its first look at the next tick, shared with the others', async () => {
      const { api, log } = slowIronic(10);
      const watcher = watcherOn(api);
      watchForever(watcher, idents.slice(0, 4));
      await vi.advanceTimersByTimeAsync(1700);
      let firstLook: number | null = null;
      const late = watcher.observe(idents[4]!).then((n) => {
        firstLook = Date.now();
        return n.uuid;
      });
      await vi.advanceTimersByTimeAsync(1400);
      expect(await late).toBe(NODES[4]!.uuid);
      expect(firstLook).toBe(2010);
      expect(tickStarts(log.calls)).toEqual([1000, 2000, 3000]);
      expect(polls(log.calls)).toHaveLength(mode === 'list sweeps' ? 3 : 4 + 5 + 4);
      watcher.close();
    });

    // Issue 20: the tick left pending by waits that have all ended must not set the phase of the
    // next one (a destroy right after a deploy looked 1.3-1.6 s after its request, then 2 s later).
    it('gives a wait that begins while nobody waits its first look one interval later, not at the phase earlier waits left', async () => {
      const { api, log } = slowIronic(10);
      const watcher = watcherOn(api);
      // Each wait is known by its signal, as an effect's: it aborts when the run leaves the state.
      const done = new AbortController();
      await Promise.all([watcher.observe(idents[0]!, done.signal), vi.advanceTimersByTimeAsync(1010)]);
      done.abort();
      // Nobody waits from 1010 on; the tick the cadence had planned for 2000 is still pending.
      await vi.advanceTimersByTimeAsync(290);
      let firstLook: number | null = null;
      const next = watcher
        .observe(idents[1]!, new AbortController().signal)
        .then(() => (firstLook = Date.now()));
      await vi.advanceTimersByTimeAsync(2100);
      await next;
      expect(tickStarts(log.calls)).toEqual([1000, 2300]);
      expect(firstLook).toBe(2310);
      expect(log.calls).toHaveLength(2);
      watcher.close();
    });

    it('keeps the cadence of a wait that looks again only after its tick has ended (a run records each look first)', async () => {
      const { api, log } = slowIronic(10);
      const watcher = watcherOn(api);
      const wait = new AbortController();
      const again = (): void => {
        watcher.observe(idents[0]!, wait.signal).then(
          () => setTimeout(again, 50),
          () => undefined,
        );
      };
      again();
      await vi.advanceTimersByTimeAsync(3500);
      expect(tickStarts(log.calls)).toEqual([1000, 2000, 3000]);
      wait.abort();
      watcher.close();
    });

    it('asks for its polls to jump the connection queue', async () => {
      const { api, log } = slowIronic(10);
      const watcher = watcherOn(api);
      await Promise.all([...idents.map((n) => watcher.observe(n)), vi.advanceTimersByTimeAsync(1100)]);
      expect(log.opts.map((o) => o.priority)).toEqual(Array(requestsPerTick).fill('urgent'));
      watcher.close();
    });
  });
});
