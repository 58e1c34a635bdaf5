// What an operator needs to understand a run without reading code: each state with
// when it was entered and how long it lasted, each effect with the Ironic requests
// it made (status, attempt, ms), the retries, and where the run ended or failed.
import type { JsonObject, RunRow, StoredEvent } from '../store/types.js';
import { decodeEvent } from './events.js';

export interface TimelineRequest {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number | null;
  ms: number;
  attempt: number;
  willRetry: boolean;
  errorCode: string | null;
  /** A Keystone token request this run waited for, and why: initial, expiring or unauthorized. */
  reauth: string | null;
}

export interface TimelineEffect {
  actorId: string;
  src: string;
  startedSeq: number;
  startedAt: string;
  ms: number | null;
  /** 'stopped': a long-lived effect ended by the machine leaving its state. */
  outcome: 'succeeded' | 'failed' | 'stopped' | 'unfinished';
  error: JsonObject | null;
  /** For effects that observe a node: what Ironic reported, e.g. `cleaning -> available`. */
  observed: string | null;
  /** Reports a long-lived effect sent the machine (one per watcher tick for observeNode). */
  observations: number;
  /** Ironic's `last_error` in the last node this effect saw, when it held one. */
  lastError: string | null;
  requests: TimelineRequest[];
}

export interface TimelineState {
  seq: number;
  state: string;
  enteredAt: string;
  ms: number | null;
  /** The effects started while in this state, in order. */
  effects: TimelineEffect[];
}

export interface TimelineNote {
  seq: number;
  at: string;
  level: string;
  message: string;
}

export interface Timeline {
  run: RunRow;
  states: TimelineState[];
  notes: TimelineNote[];
  /** Ironic requests (Keystone's token requests are counted in reauthentications). */
  requests: number;
  retries: number;
  reauthentications: number;
  /**
   * The error the run ended with; `state`: the machine state it happened in; `ironicState`: the
   * Ironic state the error reports (a wait that saw `clean failed`), if any; `ironicLastError`:
   * Ironic's `last_error` in the last node the run saw before it ended, if it held one.
   */
  failure: {
    state: string | null;
    ironicState: string | null;
    ironicLastError: string | null;
    error: JsonObject | null;
  } | null;
  events: number;
}

export function buildTimeline(run: RunRow, events: readonly StoredEvent[]): Timeline {
  const states: TimelineState[] = [];
  const notes: TimelineNote[] = [];
  const effects = new Map<string, TimelineEffect>();
  const lastSeen = new Map<TimelineEffect, string>();
  let current: TimelineEffect | null = null;
  let requests = 0;
  let retries = 0;
  let reauthentications = 0;
  let failure: Timeline['failure'] = null;
  let lastState: string | null = null;
  /** Ironic's last_error as the last node the run saw reported it (null clears it). */
  let lastError: string | null = null;
  const sawNode = (eff: TimelineEffect | undefined, node: unknown): void => {
    if (!node || typeof node !== 'object' || !('last_error' in node)) return;
    const reported = (node as { last_error: unknown }).last_error;
    lastError = typeof reported === 'string' && reported !== '' ? reported : null;
    if (eff) eff.lastError = lastError;
  };

  for (const stored of events) {
    const e = decodeEvent(stored);
    switch (e.kind) {
      case 'transition': {
        for (const id of e.data.stopped ?? []) {
          const eff = effects.get(id);
          if (eff && eff.outcome === 'unfinished') {
            eff.outcome = 'stopped';
            eff.ms = Date.parse(e.at) - Date.parse(eff.startedAt);
          }
        }
        if (e.to === lastState && states.length > 0) break; // an observation that changed nothing stays one row
        const prev = states[states.length - 1];
        if (prev) prev.ms = Date.parse(e.at) - Date.parse(prev.enteredAt);
        states.push({ seq: e.seq, state: e.to ?? '?', enteredAt: e.at, ms: null, effects: [] });
        lastState = e.to;
        break;
      }
      case 'effect.started': {
        const actorId = e.data.actorId;
        const eff: TimelineEffect = {
          actorId,
          src: e.data.src,
          startedSeq: e.seq,
          startedAt: e.at,
          ms: null,
          outcome: 'unfinished',
          error: null,
          observed: null,
          observations: 0,
          lastError: null,
          requests: [],
        };
        effects.set(actorId, eff);
        current = eff;
        states[states.length - 1]?.effects.push(eff);
        break;
      }
      case 'effect.succeeded':
      case 'effect.failed': {
        const eff = effects.get(e.data.actorId);
        if (eff) {
          eff.ms = e.data.ms ?? Date.parse(e.at) - Date.parse(eff.startedAt);
          eff.outcome = e.kind === 'effect.succeeded' ? 'succeeded' : 'failed';
          eff.error = e.kind === 'effect.failed' ? e.data.error : null;
        }
        break;
      }
      case 'machine.event': {
        // An effect's output is recorded once, in the machine event it became; a long-lived
        // effect's reports name it in data.actorId.
        const event = e.data.event;
        if (e.data.actorId !== undefined) {
          const eff = effects.get(e.data.actorId);
          const seen = observedState(event.node);
          if (eff) {
            eff.observations++;
            if (seen !== null && lastSeen.get(eff) !== seen)
              eff.observed = eff.observed === null ? seen : `${eff.observed} -> ${seen}`;
            if (seen !== null) lastSeen.set(eff, seen);
          }
          sawNode(eff, event.node);
          break;
        }
        const done = /^xstate\.done\.actor\.(.+)$/.exec(e.type ?? '');
        const eff = done ? effects.get(done[1]!) : undefined;
        if (eff) eff.observed = observedState(event.output);
        if (done) sawNode(eff, event.output);
        break;
      }
      case 'http': {
        const keystone = e.data.service === 'keystone';
        if (keystone) reauthentications++;
        else requests++;
        if (e.data.willRetry) retries++;
        current?.requests.push({
          seq: e.seq,
          at: e.at,
          method: e.data.method,
          path: e.data.path,
          status: e.data.status,
          ms: e.data.ms,
          attempt: e.data.attempt,
          willRetry: e.data.willRetry,
          errorCode: e.data.errorCode ?? null,
          reauth: keystone ? (e.data.authReason ?? 'initial') : null,
        });
        break;
      }
      case 'note':
        notes.push({
          seq: e.seq,
          at: e.at,
          level: e.data.level,
          message: e.data.message,
        });
        break;
      case 'run.finished': {
        const last = states[states.length - 1];
        if (last && last.ms === null) last.ms = Date.parse(e.at) - Date.parse(last.enteredAt);
        if (e.data.status !== 'succeeded') {
          const error = e.data.error;
          // Where the failure happened, as the run recorded it; runs recorded before that field
          // existed fall back to the last state before `failed` (a cleanup step, if it cleaned up).
          const lastBefore = [...states].reverse().find((s) => s.state !== 'failed');
          const state = e.data.failedIn ?? lastBefore?.state ?? null;
          const ironicState = error && typeof error.state === 'string' ? error.state : null;
          failure = { state, ironicState, ironicLastError: lastError, error };
        }
        break;
      }
      default:
        break;
    }
  }
  return { run, states, notes, requests, retries, reauthentications, failure, events: events.length };
}

/** A node's states as an observing effect saw them: `cleaning (target available, power on)`. */
function observedState(output: unknown): string | null {
  if (!output || typeof output !== 'object' || !('provision_state' in output)) return null;
  const n = output as Record<string, unknown>;
  const extra: string[] = [];
  if (typeof n.target_provision_state === 'string') extra.push(`target ${n.target_provision_state}`);
  if (typeof n.power_state === 'string') extra.push(n.power_state);
  if (typeof n.target_power_state === 'string') extra.push(`-> ${n.target_power_state}`);
  const state = typeof n.provision_state === 'string' ? n.provision_state : 'no state';
  return extra.length ? `${state} (${extra.join(', ')})` : state;
}
