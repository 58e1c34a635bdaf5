// What the engine hands every effect implementation. Effects reach Ironic, the embedder's
// filtering hooks and time only through this, so tests fake it at this boundary.
import type { IronicApi, Json, JsonObject, Node } from '../ironic/types.js';
import type { NodeObservedEvent } from './node-view.js';

/**
 * What a filtering hook is told. `signal` aborts when the engine closes or the run leaves the
 * step: a hook should stop then, since the step is run again on resume.
 */
export interface FilteringCall {
  instance: string;
  node: string;
  vifs: string[];
  signal: AbortSignal;
}

/** The embedder's network filtering (the seed's firewall driver); default no-op. */
export interface FilteringHooks {
  setupFiltering(a: FilteringCall): Promise<void>;
  teardownFiltering(a: FilteringCall): Promise<void>;
}

/**
 * Secrets of one run, held in memory only: never in machine context, input, events or logs.
 * After a restart they are gone; an effect that needs them then fails with SECRETS_UNAVAILABLE.
 */
export interface RunSecrets {
  adminPassword?: string;
  userData?: string;
  injectedFiles?: Array<{ path: string; contents: string }>;
}

export interface EffectContext {
  /** A per-run view of the client (the engine records its HTTP attempts). */
  ironic: IronicApi;
  signal: AbortSignal;
  hooks: FilteringHooks;
  secrets: RunSecrets;
  /** A fresh node at the engine watcher's next tick; rejects with IronicError. */
  observeNode(node: string): Promise<Node>;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number): Promise<void>;
  /**
   * Sends the machine that invoked this effect an event (a long-lived effect's report). Resolves
   * once the machine has taken it and its step is recorded; by then `signal` is aborted if the
   * step left the state that runs this effect.
   */
  emit(event: NodeObservedEvent): Promise<void>;
  /** Goes to the event log as a 'note'. */
  note(level: 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>): void;
  /**
   * True when this effect was started before a restart and runs again now: its request
   * may already have reached Ironic, which then holds the node (409) rather than refusing.
   */
  rerun?: boolean;
  /**
   * True for every effect of a run resumed after a restart: the node may have been torn down and
   * given to another instance meanwhile, so an effect that acts on it confirms `instance` first.
   */
  resumed?: boolean;
  /** The run's instance: the one the node must still hold for an effect to act on it. */
  instance?: string | null;
}

export type EffectImpl = (input: JsonObject, ctx: EffectContext) => Promise<Json>;

export const noFiltering: FilteringHooks = {
  setupFiltering: async () => undefined,
  teardownFiltering: async () => undefined,
};
