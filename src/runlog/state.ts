// The one way a state is named in a run's stream, in `transition` events, the runs table's
// `state`, `show`, replay and the test drivers.
import type { AnyMachineSnapshot, StateValue } from 'xstate';

/**
 * Leaf paths of a state value, dotted; parallel regions sorted and joined with ','
 * (`{ watch: { provision: 'active', power: 'on' } }` -> `watch.power.on,watch.provision.active`).
 * Every stream the engine has written names its states this way.
 */
export function stateToString(value: StateValue): string {
  const leaves: string[] = [];
  const walk = (v: StateValue, prefix: string): void => {
    if (typeof v === 'string') {
      leaves.push(prefix ? `${prefix}.${v}` : v);
      return;
    }
    const keys = Object.keys(v);
    if (keys.length === 0) {
      leaves.push(prefix);
      return;
    }
    for (const k of keys) walk(v[k] ?? {}, prefix ? `${prefix}.${k}` : k);
  };
  walk(value, '');
  return leaves.sort().join(',');
}

export interface StepTransition {
  from: string | null;
  to: string;
}

/**
 * Whether a step moved the machine, as replay judges it: XState returns the very same snapshot
 * object when no transition is enabled for an event (an unhandled event, a late result of a
 * stopped actor); any enabled transition, including a re-entry (`reenter: true`, from === to) or
 * a targetless one, yields a new snapshot. `prev` is null for the initial transition.
 */
export function recordedTransition(
  prev: AnyMachineSnapshot | null,
  next: AnyMachineSnapshot,
): StepTransition | null {
  if (prev === next) return null;
  return { from: prev === null ? null : stateToString(prev.value), to: stateToString(next.value) };
}
