// The one decoder of XState's spawn/stop actions, as the pure transition functions return them
// (`xstate.spawnChild` for each invoked actor, `xstate.stopChild` for each actor a step stops).
// The engine starts and aborts effects from it, replay checks the recorded starts against it, and
// the test drivers answer the effects it names: they cannot disagree at the edges.
import type { JsonObject } from '../store/types.js';
import { asObject, toJson } from './json.js';

/** An effect a step invokes: the actor id XState gave it, its named source and its input as recorded. */
export interface Spawn {
  actorId: string;
  src: string;
  /** The input as JSON (undefined dropped; anything but an object is {}), as effect.started records it. */
  input: JsonObject;
}

/**
 * What a step does to its effects, in XState's order. A step may stop an actor and invoke one
 * with the same id (a re-entered state: exit, then entry), or, across eventless transitions,
 * invoke one and stop it again: such an invocation never runs and is not in `spawns`.
 */
export interface DecodedActions {
  /** Effects the step invokes that are still invoked when it ends: to record as started and run. */
  spawns: Spawn[];
  /** Actor ids the step stops: the effects already running under those ids end. */
  stops: string[];
}

/** An inline actor (`invoke: { src: fromPromise(...) }`) has no name to record or run. */
export class InlineActorError extends Error {
  readonly code = 'RUNLOG_INLINE_ACTOR';
  constructor(readonly actorId: string) {
    super(`machine invokes an inline actor (${actorId}); effects must be named`);
    this.name = 'InlineActorError';
  }
}

function actorIdOf(params: unknown): string | null {
  if (typeof params === 'string') return params;
  if (params !== null && typeof params === 'object') {
    const id = (params as { id?: unknown }).id;
    if (typeof id === 'string') return id;
  }
  return null;
}

export function decodeActions(actions: ReadonlyArray<{ type: string; params?: unknown }>): DecodedActions {
  let spawns: Spawn[] = [];
  const stops: string[] = [];
  for (const a of actions) {
    if (a.type === 'xstate.stopChild') {
      const id = actorIdOf(a.params);
      if (id === null) continue;
      stops.push(id);
      spawns = spawns.filter((sp) => sp.actorId !== id);
    } else if (a.type === 'xstate.spawnChild') {
      const p = (a.params ?? {}) as { id?: unknown; src?: unknown; input?: unknown };
      const actorId = String(p.id);
      if (typeof p.src !== 'string') throw new InlineActorError(actorId);
      spawns.push({ actorId, src: p.src, input: asObject(toJson(p.input)) });
    }
  }
  return { spawns, stops };
}
