// The provision states a run saw Ironic report, over time, with repeats collapsed: a teardown
// polled 3,000 times in `clean wait` is one span "clean wait ×3,000, 12:00:01–12:50:01".
// Reads the run's recorded events (rows, already scrubbed of secrets); knows no SQLite.
import type { JsonObject, StoredEvent } from '../store/types.js';

export interface ObservedSpan {
  /** Ironic's provision_state, e.g. `clean wait`. */
  provisionState: string;
  /** The state with what else distinguishes it: `clean wait (target available, power off)`. */
  label: string;
  /** How many consecutive observations reported it. */
  count: number;
  /** When the first and the last of them were made (ISO 8601). */
  firstAt: string;
  lastAt: string;
  /** Ironic's last_error in the last of them, when it held one. */
  lastError: string | null;
  maintenance: boolean;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function labelOf(n: JsonObject): string {
  const extra: string[] = [];
  const target = str(n.target_provision_state);
  if (target) extra.push(`target ${target}`);
  const power = str(n.power_state);
  if (power) extra.push(power);
  const targetPower = str(n.target_power_state);
  if (targetPower) extra.push(`-> ${targetPower}`);
  if (n.maintenance === true) extra.push('maintenance');
  const state = str(n.provision_state) ?? 'no state';
  return extra.length ? `${state} (${extra.join(', ')})` : state;
}

function nodeOf(v: unknown): JsonObject | null {
  if (!v || typeof v !== 'object' || Array.isArray(v) || !('provision_state' in v)) return null;
  return v as JsonObject;
}

/**
 * Every node the run's effects reported to its machine (a watcher's observations, a lookup's
 * answer), in order, with consecutive equal reports (same label) made one span.
 */
export function observedProvisionStates(events: readonly StoredEvent[]): ObservedSpan[] {
  const spans: ObservedSpan[] = [];
  for (const e of events) {
    if (e.kind !== 'machine.event') continue;
    const event = e.data.event as JsonObject | undefined;
    const node = nodeOf(event?.node) ?? nodeOf(event?.output);
    if (!node) continue;
    const at = str(event?.at) ?? e.at;
    const label = labelOf(node);
    const lastError = str(node.last_error);
    const prev = spans[spans.length - 1];
    if (prev && prev.label === label) {
      prev.count++;
      prev.lastAt = at;
      prev.lastError = lastError;
      continue;
    }
    spans.push({
      provisionState: str(node.provision_state) ?? 'no state',
      label,
      count: 1,
      firstAt: at,
      lastAt: at,
      lastError,
      maintenance: node.maintenance === true,
    });
  }
  return spans;
}
