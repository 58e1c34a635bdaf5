// Every new run asks who holds its instance or node (engine.start, then again in the transaction
// that creates it). The answer must come from the instance and node indexes, not from a walk over
// every running run: with 10,000 teardowns in flight that walk was done twice per start.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openConnection } from '../../src/store/sqlite.js';
import { EventStore, HOLDERS_SQL } from '../../src/store/event-store.js';
import { StoreRunHeldError } from '../../src/store/errors.js';
import { tempDb } from './fixtures/temp-db.js';

let tmp: ReturnType<typeof tempDb>;
const stores: EventStore[] = [];
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => {
  vi.useRealTimers();
  for (const s of stores.splice(0)) s.close();
  tmp.cleanup();
});

function open(): EventStore {
  const s = EventStore.open(tmp.path);
  stores.push(s);
  return s;
}

function newRun(store: EventStore, instance: string, node: { uuid?: string; name?: string } = {}): string {
  return store.createRun({
    op: 'destroy',
    instanceUuid: instance,
    nodeUuid: node.uuid ?? null,
    nodeName: node.name ?? null,
    machine: 'teardown',
    machineVersion: 1,
    input: {},
  }).run.id;
}

describe('the holder of an instance or node', () => {
  it('is looked up through the instance and node indexes, not by walking the running runs', () => {
    const store = open();
    for (let i = 0; i < 50; i++) newRun(store, `inst-${i}`);
    const db = openConnection(tmp.path, { readonly: true });
    try {
      const plan = (
        db.prepare(`EXPLAIN QUERY PLAN ${HOLDERS_SQL}`).all({ instance: 'i', node: 'n', me: 1 }) as Array<{
          detail: string;
        }>
      ).map((r) => r.detail);
      expect(plan.join('\n')).not.toMatch(/runs_by_status|runs_running_by_owner|SCAN runs/);
      for (const index of ['runs_by_instance', 'runs_by_node', 'runs_by_node_name'])
        expect(plan.some((d) => d.includes(`USING INDEX ${index} `))).toBe(true);
    } finally {
      db.close();
    }
  });

  it("is another live writer's running run, by instance, node UUID or node name, oldest first; never the asker's own or a finished one", () => {
    // Runs created in the same millisecond (the clock frozen here; a fast machine does it by
    // itself) are still told apart by the order they were created in.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-07T12:00:00.000Z') });
    const theirs = open();
    const mine = open();
    const first = newRun(theirs, 'inst-a', { uuid: 'node-uuid-a' });
    newRun(theirs, 'inst-b', { name: 'node-name-b' });
    const own = newRun(mine, 'inst-c', { uuid: 'node-uuid-c' });
    const done = newRun(theirs, 'inst-d', { uuid: 'node-uuid-d' });
    theirs.append(done, 1, [
      { kind: 'run.finished', data: { status: 'succeeded', output: {}, error: null } },
    ]);
    for (let i = 0; i < 30; i++) newRun(theirs, `inst-many-${i}`);

    expect(mine.heldBy({ instance: 'inst-a' })?.id).toBe(first);
    expect(mine.heldBy({ nodeUuid: 'node-uuid-a' })?.id).toBe(first);
    // A node given by name is found recorded by UUID and the other way round.
    expect(mine.heldBy({ nodeName: 'node-uuid-a' })?.id).toBe(first);
    expect(mine.heldBy({ nodeUuid: 'node-name-b' })?.instanceUuid).toBe('inst-b');
    expect(mine.heldBy({ nodeName: 'node-name-b' })?.instanceUuid).toBe('inst-b');
    // Two holders (its instance and another run's node): the older one.
    expect(mine.heldBy({ instance: 'inst-b', nodeUuid: 'node-uuid-a' })?.id).toBe(first);
    expect(mine.heldBy({ instance: 'inst-c' })).toBeUndefined();
    expect(theirs.heldBy({ instance: 'inst-c' })?.id).toBe(own);
    expect(mine.heldBy({ instance: 'inst-d', nodeUuid: 'node-uuid-d' })).toBeUndefined();
    expect(mine.heldBy({ instance: 'inst-free' })).toBeUndefined();
    expect(() => newRun(mine, 'inst-many-7')).toThrow(StoreRunHeldError);
    expect(() => newRun(mine, 'inst-free', { name: 'node-name-b' })).toThrow(StoreRunHeldError);
    newRun(mine, 'inst-d', { uuid: 'node-uuid-d' });
  });
});
