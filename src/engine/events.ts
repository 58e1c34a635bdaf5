// The engine-wide event stream: what a scheduler embedding the engine reacts to without polling
// (engine.on('run.finished', ...)). Every run's progress, every Ironic attempt, every watcher
// sweep and store commit, typed by name. Metrics (metrics.ts) and tracing (tracing.ts) are
// built on the same hooks. A listener belongs to the embedder: its exception is logged and
// ignored, never allowed to stop a run.
import type { Logger } from 'pino';
import type { OpName } from '../machines/index.js';
import type { RunResult } from './run.js';

/** A run the engine accepted (new or resumed); it may still wait for its node or a slot. */
export interface RunStartedEvent {
  runId: string;
  op: OpName;
  instance: string | null;
  node: string | null;
  /** Continued from the store after a restart (resume) rather than begun by a command. */
  resumed: boolean;
  at: string;
}

/** A run this engine stopped driving: it ended, or was interrupted (it stays resumable). */
export interface RunFinishedEvent {
  runId: string;
  op: OpName;
  status: RunResult['status'];
  /** The error's stable code, when it failed or was interrupted. */
  code: string | null;
  /** The machine state it failed in, when known. */
  failedIn: string | null;
  node: string | null;
  instance: string | null;
  /** Since this engine accepted it (queueing included). */
  ms: number;
  at: string;
}

/** The run's machine entered a state (the first one too: `from` null). */
export interface TransitionEvent {
  runId: string;
  op: OpName;
  from: string | null;
  to: string;
  at: string;
}

export interface EffectStartedEvent {
  runId: string;
  op: OpName;
  actorId: string;
  effect: string;
  /** Run again by resume: started before a restart and never finished. */
  rerun: boolean;
  at: string;
}

/** An effect ended: its result reached the machine, or it was abandoned (its state was left, or the engine closed). */
export interface EffectFinishedEvent {
  runId: string;
  op: OpName;
  actorId: string;
  effect: string;
  /** `abandoned`: its result was dropped (close: resume runs it again; a state left: the machine moved on). */
  outcome: 'ok' | 'error' | 'abandoned';
  /** The effect error's stable code, for `error`. */
  code: string | null;
  ms: number;
  at: string;
}

/**
 * One HTTP attempt to Ironic, each reported once: `runId` names the run it was made for, null for
 * the shared node watcher's polls (one poll serves every run waiting on that node).
 */
export interface RequestEvent {
  runId: string | null;
  method: string;
  /** The path as a template, e.g. `/v1/nodes/{node}/states/provision`: no id, no query. */
  route: string;
  /** null: no answer (network error, timeout). */
  status: number | null;
  ms: number;
  attempt: number;
  willRetry: boolean;
  /** Why it failed, e.g. IRONIC_NODE_LOCKED, when it did. */
  errorCode: string | null;
  at: string;
}

/** A Keystone token was issued to the client after the engine opened (a renewal). */
export interface AuthRenewedEvent {
  at: string;
}

/** One tick of the shared node watcher. */
export interface WatcherSweepEvent {
  /** `get`: one GET per node; `list`: node list pages. */
  mode: 'get' | 'list';
  nodes: number;
  ms: number;
  at: string;
}

/** One event-store transaction (events of many runs). */
export interface StoreCommitEvent {
  events: number;
  runs: number;
  ms: number;
  at: string;
}

/** Every event name with its payload: `engine.on(name, (e: EngineEventMap[name]) => ...)`. */
export interface EngineEventMap {
  'run.started': RunStartedEvent;
  'run.finished': RunFinishedEvent;
  transition: TransitionEvent;
  'effect.started': EffectStartedEvent;
  'effect.finished': EffectFinishedEvent;
  request: RequestEvent;
  'auth.renewed': AuthRenewedEvent;
  'watcher.sweep': WatcherSweepEvent;
  'store.commit': StoreCommitEvent;
}

export type EngineEventName = keyof EngineEventMap;
export type EngineListener<K extends EngineEventName> = (event: EngineEventMap[K]) => void;

/** A small typed emitter; emit() with no listener costs one map lookup. */
export class EngineEvents {
  /** Listeners by event name; each set holds EngineListener<name> only (on() adds them). */
  private readonly sets = new Map<EngineEventName, Set<unknown>>();

  constructor(private readonly log: Logger) {}

  on<K extends EngineEventName>(name: K, listener: EngineListener<K>): () => void {
    let set = this.sets.get(name);
    if (set === undefined) {
      set = new Set();
      this.sets.set(name, set);
    }
    set.add(listener);
    return () => this.off(name, listener);
  }

  off<K extends EngineEventName>(name: K, listener: EngineListener<K>): void {
    this.sets.get(name)?.delete(listener);
  }

  /** Whether anyone listens: callers skip building an event nobody reads. */
  has(name: EngineEventName): boolean {
    return (this.sets.get(name)?.size ?? 0) > 0;
  }

  emit<K extends EngineEventName>(name: K, event: EngineEventMap[K]): void {
    const set = this.sets.get(name) as Set<EngineListener<K>> | undefined;
    if (set === undefined || set.size === 0) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch (err) {
        this.log.warn({ err, event: name }, 'an engine listener threw; ignored');
      }
    }
  }
}
