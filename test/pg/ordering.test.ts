// Runs created in the same millisecond (a fast machine, a batch, a frozen clock here) keep the
// order they were created in: `runs` lists newest first and the unfinished runs come oldest first
// (the order resume locks their nodes in), whatever their ids (random UUIDs) say.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NewRun } from '../../src/store/types.js';
import type { RunStore } from '../../src/store/run-store.js';
import { backends, PG_URL, pgMissing, type Backend } from './backends.js';

// Ids that sort the other way round from their creation order.
const IDS = [
  'ffffffff-0000-4000-8000-000000000001',
  '88888888-0000-4000-8000-000000000002',
  '00000000-0000-4000-8000-000000000003',
];
const spec = (id: string): NewRun => ({
  id,
  op: 'destroy',
  instanceUuid: `11111111-2222-4333-8444-${id.slice(-12)}`,
  machine: 'teardown',
  machineVersion: 1,
  input: {},
});

if (!PG_URL) describe('run order on postgres', () => pgMissing());

describe.each(backends())('run order on $name', (b: Backend) => {
  let store: RunStore | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await store?.close();
    store = undefined;
    await b.cleanup();
  });

  it('keeps creation order among runs created in the same millisecond', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-07T12:00:00.000Z') });
    store = await b.open(b.fresh());
    for (const id of IDS) await store.createRun(spec(id));
    expect((await store.listRuns()).map((r) => r.id)).toEqual([...IDS].reverse());
    expect((await store.unfinishedRuns()).map((r) => r.id)).toEqual(IDS);
  });
});
