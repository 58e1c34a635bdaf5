// What a listener of RunHandle.subscribe sees: each state the run enters once, in the order the
// store recorded them, with the effect it started; the final state once, as `finished`.
import { afterEach, describe, expect, it } from 'vitest';
import type { RunHandle, RunProgress } from '../../src/engine/engine.js';
import { EventStore } from '../../src/store/event-store.js';
import { deployInput, INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Every progress record of a run until it ends. */
async function follow(handle: RunHandle): Promise<RunProgress[]> {
  const seen: RunProgress[] = [];
  handle.subscribe((p) => seen.push(p));
  await handle.done;
  return seen;
}

/** The states the store recorded the run entering, each change once, and the effects each started. */
function recorded(db: string, runId: string): Array<{ state: string; effects: string[] }> {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    const out: Array<{ state: string; effects: string[] }> = [];
    for (const e of store.readStream(runId)) {
      if (e.kind === 'transition' && e.to !== out[out.length - 1]?.state)
        out.push({ state: e.to ?? '?', effects: [] });
      if (e.kind === 'effect.started') out[out.length - 1]?.effects.push(String(e.data.src));
    }
    return out;
  } finally {
    store.close();
  }
}

describe('RunHandle.subscribe', () => {
  it('reports each state once, in the recorded order, and the final one as finished', async () => {
    world = await makeWorld();
    const w = world;
    const node = w.sim.addNode({ provisionState: 'available' }).uuid;
    const deploy = w.engine.deploy(deployInput(1, node));
    const deploySeen = await follow(deploy);
    const teardown = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'], waitForAvailable: true });
    const teardownSeen = await follow(teardown);

    for (const [handle, seen] of [
      [deploy, deploySeen],
      [teardown, teardownSeen],
    ] as const) {
      const states = recorded(w.db, handle.id);
      expect(
        seen.map((p) => p.state),
        handle.op,
      ).toEqual(states.map((s) => s.state));
      expect(seen.map((p) => p.kind)).toEqual([...states.slice(1).map(() => 'transition'), 'finished']);
      // The effect a state started comes with the state (the first of them, if several).
      expect(seen.map((p) => p.effect ?? null)).toEqual(states.map((s) => s.effects[0] ?? null));
      expect(seen.every((p) => p.runId === handle.id)).toBe(true);
    }
    expect(teardownSeen.map((p) => p.state)).toContain('unprovision.watching.cleaning');
  });
});
