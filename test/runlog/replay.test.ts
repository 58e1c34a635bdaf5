import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromPromise } from 'xstate';
import { EventStore } from '../../src/store/event-store.js';
import { StoreInvalidStreamError } from '../../src/store/errors.js';
import { replayRun, stateToString } from '../../src/runlog/replay.js';
import type { JsonObject } from '../../src/store/types.js';
import { driveRun, teardownResponder } from '../store/fixtures/drive.js';
import { tempDb } from '../store/fixtures/temp-db.js';
import { makeTestMachine, testMachine } from '../store/fixtures/test-machine.js';

const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const input: JsonObject = {
  nodeUuid: NODE,
  vifs: ['vif-1', 'vif-2'],
  maxPolls: 10,
  adminPass: 'hunter2-admin',
};

let tmp: ReturnType<typeof tempDb>;
let store: EventStore;
beforeEach(() => {
  tmp = tempDb();
  store = EventStore.open(tmp.path);
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

function record(opts: Parameters<typeof driveRun>[4] = {}, polls = 3) {
  const { runId } = driveRun(store, testMachine, input, teardownResponder(polls), opts);
  return { runId, events: store.readStream(runId) };
}

describe('stateToString', () => {
  it('writes nested states dotted and parallel regions sorted, comma-joined', () => {
    expect(stateToString('validating')).toBe('validating');
    expect(stateToString({ cleanup: 'unplugVifs' })).toBe('cleanup.unplugVifs');
    expect(stateToString({ a: { b: 'c' } })).toBe('a.b.c');
    expect(stateToString({ watch: { power: 'on', provision: 'active' } })).toBe(
      'watch.power.on,watch.provision.active',
    );
    expect(stateToString({ z: 'x', a: {} })).toBe('a,z.x');
  });
});

describe('replayRun', () => {
  it('recomputes every recorded transition of a finished teardown, re-entered polls included', () => {
    const { events } = record({}, 3);
    const r = replayRun(testMachine, events);
    expect(r.matches).toBe(true);
    expect(r.divergence).toBeNull();
    expect(r.finished).toBe(true);
    expect(r.snapshot.value).toBe('succeeded');
    expect(r.lastSeq).toBe(events.length);
    expect(r.transitions.map((t) => `${t.from ?? '-'}>${t.to}`)).toEqual([
      '->validating',
      'validating>cleanup.unplugVifs',
      'cleanup.unplugVifs>cleanup.stopFirewall',
      'cleanup.stopFirewall>unprovision.requestDeleted',
      'unprovision.requestDeleted>unprovision.waiting',
      'unprovision.waiting>unprovision.waiting',
      'unprovision.waiting>unprovision.waiting',
      'unprovision.waiting>succeeded',
    ]);
    expect(r.transitions[5]?.event).toBe('xstate.done.actor.observeNode');
    expect(r.pendingEffects).toEqual([]);
  });

  it('never runs an effect while folding', async () => {
    let calls = 0;
    const counting = fromPromise<Record<string, unknown>, Record<string, unknown>>(async () => {
      calls += 1;
      return {};
    });
    const spy = testMachine.provide({
      actors: {
        validate: counting,
        unplugVifs: counting,
        stopFirewall: counting,
        requestDeleted: counting,
        observeNode: counting,
      },
    });
    const r = replayRun(spy, record({}, 2).events);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.matches).toBe(true);
    expect(calls).toBe(0);
  });

  it('reports the one re-invoked poll that was started and never answered as pending', () => {
    // Crash after the 7th start: validate, unplugVifs, stopFirewall, requestDeleted, observe x3.
    const { events } = record({ crashAfterStarts: 7 }, 5);
    const lastStart = events.at(-1);
    expect(lastStart?.kind).toBe('effect.started');
    const r = replayRun(testMachine, events);
    expect(r.matches).toBe(true);
    expect(r.finished).toBe(false);
    expect(stateToString(r.snapshot.value)).toBe('unprovision.waiting');
    expect(r.snapshot.context.polls).toBe(2);
    expect(r.pendingEffects).toEqual([
      {
        actorId: 'observeNode',
        src: 'observeNode',
        input: { nodeUuid: NODE, poll: 2 },
        startedSeq: lastStart?.seq,
      },
    ]);
  });

  it('keeps an effect pending when its result was recorded but never fed to the machine', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2), {
      crashAfterStarts: 2,
    });
    store.append(runId, lastSeq, [
      { kind: 'effect.succeeded', type: 'unplugVifs', data: { actorId: 'unplugVifs', output: {}, ms: 1 } },
    ]);
    const r = replayRun(testMachine, store.readStream(runId));
    expect(r.pendingEffects.map((e) => [e.actorId, e.startedSeq])).toEqual([['unplugVifs', lastSeq]]);
  });

  it('reports an effect whose start was committed with the transition that invoked it as pending', () => {
    // The engine commits a step's transition and the effect.started of what it invokes together:
    // a crash right after the second result leaves stopFirewall started, never answered.
    const { events } = record({ crashAfterResults: 2 });
    const r = replayRun(testMachine, events);
    expect(r.matches).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'effect.started', type: 'stopFirewall' });
    expect(r.pendingEffects).toEqual([
      {
        actorId: 'stopFirewall',
        src: 'stopFirewall',
        input: { nodeUuid: NODE },
        startedSeq: events.at(-1)?.seq,
      },
    ]);
  });

  it('replays a run created but not yet moved to its initial state as not begun: nothing matched, nothing pending', () => {
    // The engine begins such a run again from its input (it holds no transition to resume from).
    const { events } = record({ crashAfterCreate: true });
    const r = replayRun(testMachine, events);
    expect(r.matches).toBe(true);
    expect(r.transitions).toEqual([]);
    expect(r.pendingEffects).toEqual([]);
    expect(r.finished).toBe(false);
  });

  it('does not count an effect as pending once the machine left its state (cancelled while polling)', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(9), {
      crashAfterStarts: 6,
    });
    const cancel = { type: 'cancel' };
    store.append(runId, lastSeq, [
      { kind: 'machine.event', type: 'cancel', data: { event: cancel } },
      { kind: 'transition', from: 'unprovision.waiting', to: 'failed', data: {} },
      { kind: 'run.finished', data: { status: 'cancelled' } },
    ]);
    const r = replayRun(testMachine, store.readStream(runId));
    expect(r.matches).toBe(true);
    expect(r.snapshot.value).toBe('failed');
    expect(r.pendingEffects).toEqual([]);
  });

  it('reports the first transition the changed machine computes differently, and stops there', () => {
    const { events } = record({}, 2);
    const r = replayRun(makeTestMachine({ skipFirewall: true }), events);
    const diverged = events.find((e) => e.kind === 'transition' && e.to === 'cleanup.stopFirewall');
    expect(r.matches).toBe(false);
    expect(r.divergence).toEqual({
      seq: diverged?.seq,
      recorded: { from: 'cleanup.unplugVifs', to: 'cleanup.stopFirewall' },
      recomputed: { from: 'cleanup.unplugVifs', to: 'unprovision.requestDeleted' },
      reason: expect.stringContaining('cleanup.stopFirewall'),
    });
    expect(stateToString(r.snapshot.value)).toBe('cleanup.unplugVifs');
    expect(r.transitions.at(-1)?.to).toBe('cleanup.unplugVifs');
    expect(r.pendingEffects).toEqual([]);
  });

  it('compares re-entries too: a poll loop changed from re-entering to re-requesting diverges', () => {
    const { events } = record({}, 3);
    const r = replayRun(makeTestMachine({ retryByRequestingAgain: true }), events);
    const firstReentry = events.find((e) => e.kind === 'transition' && e.from === e.to);
    expect(r.divergence).toMatchObject({
      seq: firstReentry?.seq,
      recorded: { from: 'unprovision.waiting', to: 'unprovision.waiting' },
      recomputed: { from: 'unprovision.waiting', to: 'unprovision.requestDeleted' },
    });
  });

  it('reports a context that is computed differently where it acts, even when the states agree', () => {
    // The log holds no context (the engine records none): the poll count shows in the input of
    // the poll the re-entered state invokes, whose recorded start then differs.
    const { events } = record({}, 3);
    const r = replayRun(makeTestMachine({ pollStep: 2 }), events);
    expect(r.divergence?.reason).toContain('input');
    expect(r.divergence?.seq).toBe(
      (events.find((e) => e.kind === 'transition' && e.from === e.to)?.seq ?? 0) + 1,
    );
  });

  it('reports a recorded transition on an event the machine ignores', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2), {
      crashAfterResults: 1,
    });
    const seq = store.append(runId, lastSeq, [
      { kind: 'machine.event', type: 'poke', data: { event: { type: 'poke' } } },
      { kind: 'transition', from: 'cleanup.unplugVifs', to: 'failed', data: {} },
    ]);
    const r = replayRun(testMachine, store.readStream(runId));
    expect(r.divergence).toMatchObject({
      seq,
      recorded: { from: 'cleanup.unplugVifs', to: 'failed' },
      recomputed: null,
    });
  });

  it('accepts a stay recorded for an ignored event (from === to === current state)', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2), {
      crashAfterResults: 1,
    });
    store.append(runId, lastSeq, [
      { kind: 'machine.event', type: 'poke', data: { event: { type: 'poke' } } },
      { kind: 'transition', from: 'cleanup.unplugVifs', to: 'cleanup.unplugVifs', data: {} },
    ]);
    const r = replayRun(testMachine, store.readStream(runId));
    expect(r.matches).toBe(true);
    expect(r.transitions.at(-1)).toMatchObject({
      from: 'cleanup.unplugVifs',
      to: 'cleanup.unplugVifs',
      event: 'poke',
    });
  });

  it('reports a re-entry the machine no longer makes at the effect it no longer restarts', () => {
    const { events } = record({}, 3);
    // Same log, but the machine now ignores a not-yet-available node instead of polling again.
    const r = replayRun(makeTestMachine({ ignoreNotReady: true }), events);
    const firstReentry = events.find((e) => e.kind === 'transition' && e.from === e.to);
    expect(r.matches).toBe(false);
    expect(r.divergence?.seq).toBe((firstReentry?.seq ?? 0) + 1);
    expect(r.divergence?.reason).toContain('observeNode');
  });

  it('accepts a resume running an unfinished effect again, but not an effect whose result was consumed', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2), {
      crashAfterStarts: 2,
    });
    const again = {
      kind: 'effect.started' as const,
      type: 'unplugVifs',
      data: { actorId: 'unplugVifs', src: 'unplugVifs', input: { nodeUuid: NODE, vifs: ['vif-1', 'vif-2'] } },
    };
    const seq = store.append(runId, lastSeq, [again]);
    const resumed = replayRun(testMachine, store.readStream(runId));
    expect(resumed.matches).toBe(true);
    expect(resumed.pendingEffects.map((e) => [e.actorId, e.startedSeq])).toEqual([['unplugVifs', seq]]);

    const done = { type: 'xstate.done.actor.unplugVifs', output: {} };
    const late = store.append(
      runId,
      store.append(runId, seq, [
        { kind: 'machine.event', type: done.type, data: { event: done } },
        { kind: 'transition', from: 'cleanup.unplugVifs', to: 'cleanup.stopFirewall', data: {} },
      ]),
      [again],
    );
    expect(replayRun(testMachine, store.readStream(runId)).divergence).toMatchObject({ seq: late });
  });

  it('accepts an ignored event with no transition recorded for it', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2), {
      crashAfterResults: 1,
    });
    store.append(runId, lastSeq, [
      { kind: 'machine.event', type: 'poke', data: { event: { type: 'poke' } } },
    ]);
    const r = replayRun(testMachine, store.readStream(runId));
    expect(r.matches).toBe(true);
    expect(stateToString(r.snapshot.value)).toBe('cleanup.unplugVifs');
  });

  it('reports a machine step whose transition is missing from the log before the next event', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2), {
      crashAfterStarts: 2,
    });
    const seq = store.append(runId, lastSeq, [
      {
        kind: 'machine.event',
        type: 'xstate.done.actor.unplugVifs',
        data: { event: { type: 'xstate.done.actor.unplugVifs' } },
      },
      { kind: 'machine.event', type: 'poke', data: { event: { type: 'poke' } } },
    ]);
    const r = replayRun(testMachine, store.readStream(runId));
    expect(r.divergence).toMatchObject({
      seq,
      recorded: { from: 'cleanup.unplugVifs', to: 'cleanup.unplugVifs' },
      recomputed: { from: 'cleanup.unplugVifs', to: 'cleanup.stopFirewall' },
    });
  });

  it('reports an effect started that the machine never invoked', () => {
    const { runId, lastSeq } = driveRun(store, testMachine, input, teardownResponder(2), {
      crashAfterResults: 1,
    });
    const seq = store.append(runId, lastSeq, [
      {
        kind: 'effect.started',
        type: 'requestDeleted',
        data: { actorId: 'requestDeleted', src: 'requestDeleted', input: {} },
      },
    ]);
    const r = replayRun(testMachine, store.readStream(runId));
    expect(r.divergence).toMatchObject({
      seq,
      recomputed: null,
      reason: expect.stringContaining('requestDeleted'),
    });
  });

  it('refuses a stream that does not begin with run.started or has a gap', () => {
    const { events } = record({}, 2);
    expect(() => replayRun(testMachine, events.slice(1))).toThrow(StoreInvalidStreamError);
    expect(() => replayRun(testMachine, [events[0]!, events[2]!])).toThrow(StoreInvalidStreamError);
    expect(() => replayRun(testMachine, [])).toThrow(StoreInvalidStreamError);
  });

  it('replays a recording whose input held a secret (the log only has it redacted)', () => {
    const { events } = record({}, 2);
    expect(JSON.stringify(events)).not.toContain('hunter2-admin');
    const start = events.find((e) => e.kind === 'effect.started' && e.type === 'requestDeleted');
    expect(start?.data['input']).toEqual({ nodeUuid: NODE, adminPass: '[REDACTED]' });
    expect(replayRun(testMachine, events).matches).toBe(true);
  });
});
