// Typed run failures: RunResult.error.code is always one of RunFailureCode, so a scheduler can
// branch on it; every code a machine assigns is in the union.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunFailureCode, RUN_FAILURE_CODES, type RunFailure } from '../../src/engine/failure.js';
import { INSTANCE, makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** What a scheduler does with a failure: the branch is chosen by code alone. */
function schedulerAction(error: RunFailure | null): 'done' | 'retry later' | 'page an operator' | 'resume' {
  if (error === null) return 'done';
  switch (error.code) {
    case 'UNPROVISION_TIMEOUT':
    case 'IRONIC_NODE_LOCKED':
      return 'retry later';
    case 'ENGINE_CLOSED':
    case 'RUN_INTERRUPTED':
      return 'resume';
    default:
      return 'page an operator';
  }
}

describe('typed run failures', () => {
  it('a teardown past its budget ends with UNPROVISION_TIMEOUT, a code of the union', async () => {
    world = await makeWorld({ cleanMs: 5000 });
    world.sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(1), ports: [] });
    const result = await world.engine.destroy({
      instance: INSTANCE(1),
      vifs: [],
      waitForAvailable: true,
      timeoutS: 0.3,
    }).done;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('UNPROVISION_TIMEOUT');
    expect(isRunFailureCode(result.error?.code)).toBe(true);
    expect(schedulerAction(result.error)).toBe('retry later');
  });

  it("an effect's own code outside the union reads EFFECT_FAILED, the original kept in cause", async () => {
    world = await makeWorld(
      {},
      {
        effects: {
          lookupNode: () =>
            Promise.reject(Object.assign(new Error('inventory says no'), { code: 'MY_INVENTORY_DOWN' })),
        },
      },
    );
    const result = await world.engine.destroy({ instance: INSTANCE(2), vifs: [] }).done;
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      code: 'EFFECT_FAILED',
      cause: 'MY_INVENTORY_DOWN',
      message: 'inventory says no',
    });
    expect(schedulerAction(result.error)).toBe('page an operator');
  });

  it('a run the engine stopped driving reads ENGINE_CLOSED', async () => {
    world = await makeWorld({ cleanMs: 5000 });
    world.sim.addNode({ provisionState: 'active', instanceUuid: INSTANCE(3), ports: [] });
    const handle = world.engine.destroy({ instance: INSTANCE(3), vifs: [], waitForAvailable: true });
    await new Promise<void>((resolve) => {
      const off = handle.subscribe((p) => {
        if (p.state.startsWith('unprovision.watching')) {
          off();
          resolve();
        }
      });
    });
    await world.engine.close({ deadlineMs: 50 });
    const result = await handle.done;
    expect(result.status).toBe('interrupted');
    expect(result.error?.code).toBe('ENGINE_CLOSED');
    expect(schedulerAction(result.error)).toBe('resume');
  });

  it('every failure code a machine assigns is in the union', () => {
    const dir = fileURLToPath(new URL('../../src/machines/', import.meta.url));
    const assigned = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      // `code: 'X'` in a machine file is a failure it ends with (or an effect error it raises).
      for (const m of readFileSync(dir + file, 'utf8').matchAll(/\bcode: '([A-Z][A-Z0-9_]+)'/g))
        assigned.add(m[1]!);
    }
    expect(assigned.size).toBeGreaterThan(10);
    const missing = [...assigned].filter(
      (c) => !RUN_FAILURE_CODES.includes(c as never) && !c.startsWith('MACHINE_'),
    );
    expect(missing).toEqual([]);
  });
});
