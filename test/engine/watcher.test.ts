// The node watcher's cadence: one tick per interval while anyone waits, measured from each tick's
// start; never two ticks' requests out at once; its polls jump the connection queue.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NodeWatcher } from '../../src/engine/watcher.js';
import type { CallOptions, IronicApi, Node } from '../../src/ironic/types.js';

const NODES = ['n-1', 'n-2', 'n-3', 'n-4', 'n-5'];
const node = (uuid: string): Node => ({ uuid, provision_state: 'cleaning' }) as unknown as Node;

/** An Ironic whose list call answers after `sweepMs`, logging when each call started and ended. */
function slowIronic(sweepMs: number) {
  const log = {
    starts: [] as number[],
    ends: [] as number[],
    inFlight: 0,
    maxInFlight: 0,
    opts: [] as CallOptions[],
  };
  const api = {
    listNodes: (_filters: unknown, opts: CallOptions) => {
      log.starts.push(Date.now());
      log.opts.push(opts);
      log.inFlight++;
      log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
      return new Promise<Node[]>((resolve) =>
        setTimeout(() => {
          log.inFlight--;
          log.ends.push(Date.now());
          resolve(NODES.map(node));
        }, sweepMs),
      );
    },
    getNode: (uuid: string, opts: CallOptions) => {
      log.opts.push(opts);
      return Promise.resolve(node(uuid));
    },
  };
  return { api: api as unknown as IronicApi, log };
}

/** Every node watched by a waiter that watches again as soon as it is told (as observeNode does). */
function watchForever(watcher: NodeWatcher, nodes: readonly string[]): void {
  const again = (n: string): void => {
    watcher.observe(n).then(
      () => again(n),
      () => undefined,
    );
  };
  for (const n of nodes) again(n);
}

/** A watcher (1 s ticks, listing above 2 nodes) whose nodes are all watched for `forMs`. */
async function watchedFor(sweepMs: number, forMs: number) {
  const { api, log } = slowIronic(sweepMs);
  const watcher = new NodeWatcher({ ironic: api, intervalMs: 1000, listThreshold: 2 });
  watchForever(watcher, NODES);
  await vi.advanceTimersByTimeAsync(forMs);
  watcher.close();
  return { log, stats: watcher.stats };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('NodeWatcher', () => {
  it('ticks one interval after the previous tick started, however long its sweep took', async () => {
    const { log, stats } = await watchedFor(600, 3700);
    // Waiting again only after a 600 ms sweep would put the ticks at 1000, 2600, ...
    expect(log.starts).toEqual([1000, 2000, 3000]);
    expect(stats.listSweeps).toBe(3);
    expect(stats.observations).toBe(15);
  });

  it('runs a tick that came due during a sweep as soon as that sweep ends, never two at once', async () => {
    const { log } = await watchedFor(1500, 5600);
    expect(log.starts).toEqual([1000, 2500, 4000, 5500]);
    expect(log.maxInFlight).toBe(1);
  });

  it('stops ticking when nobody waits and starts again one interval after the next observe', async () => {
    const { api, log } = slowIronic(100);
    const watcher = new NodeWatcher({ ironic: api, intervalMs: 1000, listThreshold: 2 });
    const first = Promise.all(NODES.map((n) => watcher.observe(n)));
    await vi.advanceTimersByTimeAsync(1100);
    await first;
    await vi.advanceTimersByTimeAsync(5000);
    expect(log.starts).toEqual([1000]);
    const later = Promise.all(NODES.map((n) => watcher.observe(n)));
    await vi.advanceTimersByTimeAsync(1100);
    await later;
    expect(log.starts).toEqual([1000, 7100]);
    watcher.close();
  });

  it('asks for its polls to jump the connection queue, listing or one GET per node', async () => {
    const { api, log } = slowIronic(10);
    const many = new NodeWatcher({ ironic: api, intervalMs: 1000, listThreshold: 2 });
    const few = new NodeWatcher({ ironic: api, intervalMs: 1000, listThreshold: 16 });
    const seen = Promise.all([...NODES.map((n) => many.observe(n)), few.observe('n-1')]);
    await vi.advanceTimersByTimeAsync(1100);
    await seen;
    expect(many.stats.listSweeps).toBe(1);
    expect(few.stats.getRequests).toBe(1);
    expect(log.opts.map((o) => o.priority)).toEqual(['urgent', 'urgent']);
    many.close();
    few.close();
  });
});
