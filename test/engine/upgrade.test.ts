// An upgrade under a waiting run: a teardown recorded by version N of its machine is interrupted
// while it waits out cleaning; the code then carries N+1 as the current version. The run resumes
// and finishes with N (the definition it was recorded with), and a new teardown uses N+1.
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { EngineError } from '../../src/engine/errors.js';
import { lifecycles, machines, MachineRegistry } from '../../src/machines/index.js';
import { NODE_OBSERVED } from '../../src/machines/node-view.js';
import { EventStore } from '../../src/store/event-store.js';
import { replayRun } from '../../src/runlog/replay.js';
import { variantOf, type StateConfig } from '../machines/variant.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/**
 * Version N+1 of the teardown: the wait names Ironic's `cleaning` as `scrubbing`, a harmless
 * change whose recorded states differ, so a stream of N cannot be folded through N+1.
 */
function teardownNext(): AnyStateMachine {
  return variantOf(lifecycles.destroy.machine, (c) => {
    const unprovision = c.states.unprovision as StateConfig & { states: Record<string, StateConfig> };
    const watching = unprovision.states.watching as StateConfig & {
      on: Record<string, Array<{ guard?: string; target: string }>>;
      states: Record<string, StateConfig>;
    };
    const on = watching.on[NODE_OBSERVED]!.map((t) =>
      t.guard === 'observedCleaning' ? { ...t, target: '.scrubbing' } : t,
    );
    const { cleaning: _dropped, ...kept } = watching.states;
    return {
      ...c,
      states: {
        ...c.states,
        unprovision: {
          ...unprovision,
          states: {
            ...unprovision.states,
            watching: {
              ...watching,
              on: { ...watching.on, [NODE_OBSERVED]: on },
              states: { ...kept, scrubbing: {} },
            },
          },
        },
      },
    };
  });
}

function statesOf(db: string, runId: string): { version: number; states: string[] } {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    const row = store.getRun(runId)!;
    const states = store
      .readStream(runId)
      .filter((e) => e.kind === 'transition')
      .map((e) => e.to!);
    return { version: row.machineVersion, states };
  } finally {
    store.close();
  }
}

describe('engine: machine upgrade under a waiting run', () => {
  it('resumes a teardown recorded by version N with N after N+1 became current; new teardowns use N+1', async () => {
    world = await makeWorld({ cleanMs: 800 });
    const w = world;
    const N = lifecycles.destroy.version;
    const nodeA = w.sim.addNode({
      provisionState: 'active',
      instanceUuid: INSTANCE(1),
      ports: [{ address: '52:54:00:00:00:01', vifId: 'vif-1' }],
    }).uuid;
    const nodeB = w.sim.addNode({
      provisionState: 'active',
      instanceUuid: INSTANCE(2),
      ports: [{ address: '52:54:00:00:00:02', vifId: 'vif-2' }],
    }).uuid;

    // Version N drives the teardown into its wait, and the process goes away mid-wait.
    const first = w.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-1'], waitForAvailable: true });
    await new Promise<void>((resolve) => {
      const off = first.subscribe((p) => {
        if (p.state === 'unprovision.watching.cleaning') {
          off();
          resolve();
        }
      });
    });
    await w.engine.close({ deadlineMs: 50 });
    const before = statesOf(w.db, first.id);
    expect(before.version).toBe(N);
    expect(before.states.at(-1)).toBe('unprovision.watching.cleaning');

    // The upgraded code: N+1 is current, N stays registered (frozen) for runs recorded with it.
    const next = teardownNext();
    const upgraded: MachineRegistry = machines
      .clone()
      .register({ op: 'destroy', machine: next, version: N + 1 });
    expect(upgraded.current('destroy').version).toBe(N + 1);
    expect(upgraded.versions('destroy')).toEqual([N, N + 1]);
    // The point of keeping N: the recorded stream is not a run of N+1.
    const store = EventStore.open(w.db, { mode: 'reader' });
    const recorded = store.readStream(first.id);
    store.close();
    expect(replayRun(next, recorded).matches).toBe(false);

    const engine = await w.reopen({ machines: upgraded });
    const resumed = await engine.resume(first.id).done;
    expect(resumed.status, JSON.stringify(resumed.error)).toBe('succeeded');
    expect(w.sim.node(nodeA)?.provision_state).toBe('available');
    const after = statesOf(w.db, first.id);
    expect(after.version).toBe(N);
    // Finished by N's definition: still `cleaning`, never N+1's `scrubbing`.
    expect(after.states).toContain('unprovision.watching.cleaning');
    expect(after.states.some((s) => s.includes('scrubbing'))).toBe(false);
    expect(after.states.at(-1)).toBe('succeeded');

    // A new teardown runs N+1.
    const second = await engine.destroy({ instance: INSTANCE(2), vifs: ['vif-2'], waitForAvailable: true })
      .done;
    expect(second.status, JSON.stringify(second.error)).toBe('succeeded');
    expect(w.sim.node(nodeB)?.provision_state).toBe('available');
    const fresh = statesOf(w.db, second.runId);
    expect(fresh.version).toBe(N + 1);
    expect(fresh.states).toContain('unprovision.watching.scrubbing');
    expect(fresh.states).not.toContain('unprovision.watching.cleaning');
    // world.close() replays every run of the file with the version it was recorded with.
  });

  it('refuses to resume a run whose recorded version is no longer registered, with the facts', async () => {
    world = await makeWorld({ cleanMs: 800 });
    const w = world;
    const N = lifecycles.destroy.version;
    w.sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(3), ports: [] });
    const run = w.engine.destroy({ instance: INSTANCE(3), vifs: [], waitForAvailable: true });
    await new Promise<void>((resolve) => {
      const off = run.subscribe((p) => {
        if (p.state === 'unprovision.watching.cleaning') {
          off();
          resolve();
        }
      });
    });
    await w.engine.close({ deadlineMs: 50 });

    // A build that dropped N: only N+1 is registered for destroy.
    const others = machines.all().filter((l) => l.op !== 'destroy');
    const dropped = new MachineRegistry([
      ...others,
      { op: 'destroy', machine: teardownNext(), version: N + 1 },
    ]);
    const engine = await w.reopen({ machines: dropped });
    let caught: unknown;
    try {
      engine.resume(run.id);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EngineError);
    const err = caught as EngineError;
    expect(err.code).toBe('RUN_VERSION_UNREGISTERED');
    expect(err.facts).toMatchObject({
      runId: run.id,
      op: 'destroy',
      recordedVersion: N,
      registeredVersions: [N + 1],
    });
    expect(err.message).toContain(`teardown v${N}`);
    // Still resumable by a build that has N.
    await engine.close();
    const back = await w.reopen({ machines });
    expect((await back.resume(run.id).done).status).toBe('succeeded');
  });
});
