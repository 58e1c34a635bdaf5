// A new command for an instance whose earlier run is unfinished in the same store (left by a
// crash) must not run silently beside it: it is refused naming that run, or supersedes it.
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function leaveUnfinished(w: World): Promise<{ runId: string; node: string }> {
  const node = w.sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(41) }).uuid;
  const first = w.engine.destroy({ instance: INSTANCE(41), vifs: [], waitForAvailable: true });
  await new Promise<void>((resolve) => {
    const off = first.subscribe((p) => {
      if (p.state.startsWith('unprovision.watching')) {
        off();
        resolve();
      }
    });
  });
  await w.engine.close({ deadlineMs: 0 });
  await w.reopen();
  return { runId: first.id, node };
}

describe('engine: a command beside an unfinished run of the same instance', () => {
  it('is refused with ENGINE_UNFINISHED_RUN naming the unfinished run', async () => {
    world = await makeWorld({ cleanMs: 2000 });
    const { runId } = await leaveUnfinished(world);
    let thrown: unknown;
    try {
      world.engine.destroy({ instance: INSTANCE(41), vifs: [] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'ENGINE_UNFINISHED_RUN', facts: { holder: runId } });
    expect((thrown as Error).message).toContain(`ironledger resume ${runId}`);
  });

  it('with supersede, ends the unfinished run as cancelled (RUN_SUPERSEDED) and runs the new one', async () => {
    world = await makeWorld({ cleanMs: 300 });
    const { runId, node } = await leaveUnfinished(world);
    // Ironic finishes the unprovisioning the crashed run asked for. (Meeting the node mid-cleaning,
    // the new destroy's PATCH is refused for as long as cleaning takes, longer than this world's
    // 200 ms of retries: a flake of the test's timing, not of supersede.)
    while (world.sim.node(node)?.provision_state !== 'available') await new Promise((r) => setTimeout(r, 20));
    const next = world.engine.destroy({ instance: INSTANCE(41), vifs: [] }, { supersede: true });
    const nextResult = await next.done;
    expect(nextResult.status, JSON.stringify(nextResult.error)).toBe('succeeded');
    const store = EventStore.open(world.db, { mode: 'reader' });
    const old = store.getRun(runId);
    const notes = store.readStream(runId).filter((e) => e.kind === 'note' && e.type === 'superseded');
    store.close();
    expect(old?.status).toBe('cancelled');
    expect(old?.error).toMatchObject({ code: 'RUN_SUPERSEDED', by: next.id });
    expect(notes).toHaveLength(1);
  });
});
