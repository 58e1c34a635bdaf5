// Test world for engine tests: a simulator on loopback, a fresh store file, and an engine
// with short intervals. Nothing of our own layers is faked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { machines, type DeployInput, type MachineRegistry } from '../../src/machines/index.js';
import { EventStore } from '../../src/store/event-store.js';
import { replayRun } from '../../src/runlog/replay.js';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';

export interface World {
  sim: Simulator;
  dir: string;
  db: string;
  engine: Engine;
  /** The options the last engine was opened with (its machine registry, say). */
  engineOpts: Partial<EngineOptions>;
  reopen(extra?: Partial<EngineOptions>): Promise<Engine>;
  close(): Promise<void>;
}

export async function makeWorld(
  simOpts: SimOptions = {},
  engineOpts: Partial<EngineOptions> = {},
): Promise<World> {
  const sim = await startSimulator({
    deployMs: 50,
    deleteMs: 30,
    cleanMs: 150,
    powerMs: 30,
    consoleMs: 20,
    seed: 1,
    // Nova's Ironic tracks VIFs on ports (flat, neutron): an engine that attached a VIF twice
    // must meet VifAlreadyAttached here, not the standalone default noop's silent 204.
    networkInterface: 'flat',
    ...simOpts,
  });
  const dir = mkdtempSync(join(tmpdir(), 'ironledger-test-'));
  const db = join(dir, 'runs.db');
  const open = (extra: Partial<EngineOptions> = {}): Promise<Engine> =>
    Engine.open({
      db,
      ironic: { url: sim.url, retryIntervalMs: 10, maxRetries: 20 },
      pollIntervalMs: 20,
      ...engineOpts,
      ...extra,
    });
  const world: World = {
    sim,
    dir,
    db,
    engine: await open(),
    engineOpts,
    async reopen(extra) {
      world.engineOpts = { ...engineOpts, ...extra };
      world.engine = await open(extra);
      return world.engine;
    },
    async close() {
      await world.engine.close({ deadlineMs: 100 });
      replayEveryRun(db, world.engineOpts.machines);
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

export const INSTANCE = (i: number): string => `11111111-2222-4333-8444-${String(i).padStart(12, '0')}`;

/** A small deploy of INSTANCE(i) to `node` with one VIF and no config drive. */
export function deployInput(i: number, node: string, vif = `vif-${i}`): DeployInput {
  return {
    instance: INSTANCE(i),
    node,
    vifs: [{ id: vif }],
    image: { source: 'http://img/x.qcow2' },
    flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
    configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
  };
}

/** Every run a test produced must replay offline to exactly what was recorded, with its machine version. */
export function replayEveryRun(db: string, registry: MachineRegistry = machines): void {
  const store = EventStore.open(db, { mode: 'reader' });
  try {
    for (const run of store.listRuns({ limit: 100_000 })) {
      const lifecycle = registry.get(run.op, run.machineVersion);
      expect(lifecycle, `${run.op} v${run.machineVersion} of run ${run.id} is registered`).toBeDefined();
      const result = replayRun(lifecycle!.machine, store.readStream(run.id));
      expect(result.divergence, `replay of ${run.op} run ${run.id}`).toBeNull();
    }
  } finally {
    store.close();
  }
}
