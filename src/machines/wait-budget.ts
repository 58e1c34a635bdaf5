// How long a wait may last, in time rather than in polls (a tick under load comes late; a poll
// interval can be changed): each `node.observed` carries the watcher's time, the first one of a
// wait is remembered in context (so a resumed run keeps its deadline), and the budget is spent
// once an observation comes `timeoutS` after it. Defaults follow the seed per operation: only
// the unprovision wait has one (api_max_retries x api_retry_interval); waiting for `active` or
// for a power change has none unless the caller gives one.
import type { NodeObservedEvent } from './node-view.js';

/** Seed: `_unprovision` polls api_max_retries (60) times, api_retry_interval (2 s) apart. */
export const DEFAULT_UNPROVISION_TIMEOUT_S = 120;

export interface WaitBudget {
  /** null: no limit (the seed's waits for `active` and for power). */
  timeoutS: number | null;
  /** The `at` of the wait's first observation. */
  waitStartedAt: string | null;
  /** Observations so far (for the messages). */
  polls: number;
}

function atOf(event: unknown): string | null {
  const at = (event as Partial<NodeObservedEvent>).at;
  return typeof at === 'string' ? at : null;
}

/** Seconds from the wait's first observation to this one (0 when either has no time). */
export function waitedS(context: WaitBudget, event: unknown): number {
  const at = atOf(event);
  const start = context.waitStartedAt ?? at;
  if (at === null || start === null) return 0;
  return Math.max(0, (Date.parse(at) - Date.parse(start)) / 1000);
}

export function budgetSpent(context: WaitBudget, event: unknown): boolean {
  return context.timeoutS !== null && waitedS(context, event) >= context.timeoutS;
}

/** The context update every observation of a wait makes. */
export function observedOnce(
  context: WaitBudget,
  event: unknown,
): Pick<WaitBudget, 'polls' | 'waitStartedAt'> {
  return { polls: context.polls + 1, waitStartedAt: context.waitStartedAt ?? atOf(event) };
}

/** "after 120 s (61 observations)" */
export function waitedFor(context: WaitBudget, event: unknown): string {
  return `after ${Math.round(waitedS(context, event))} s (${context.polls + 1} observations)`;
}

/** A caller's timeoutS, or the operation's default; 0 or absent with no default means none. */
export function timeoutOf(given: number | undefined, fallback: number | null): number | null {
  if (given === undefined) return fallback;
  return given > 0 ? given : null;
}
