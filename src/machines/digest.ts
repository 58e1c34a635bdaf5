// A digest of a machine's definition: what replay depends on, serialised in a stable order.
// States (path, type, initial), every transition (event, guard name, targets, action names,
// reenter), invoked effects (id, src), entry and exit action names, and the machine id. Function
// bodies (guards', actions', effects' implementations, `input` and `output` functions) are not
// part of it: their source text changes with formatting and differs between the compiled and
// the transformed module, so it would not be a stable fingerprint. A behaviour change made only
// inside an implementation must be noticed by whoever makes it (see README "Machine versions").
import { createHash } from 'node:crypto';
import type { AnyStateMachine } from 'xstate';
import { stateNodesOf, type TransitionLike } from './contract.js';

type Shape = string | number | boolean | null | Shape[] | { [key: string]: Shape };

function nameOf(ref: unknown): Shape {
  if (ref === undefined || ref === null) return null;
  if (typeof ref === 'string') return ref;
  if (typeof ref === 'function') {
    const type = (ref as { type?: unknown }).type;
    const nested = (ref as { guards?: unknown }).guards;
    const base = typeof type === 'string' ? type : 'inline';
    return Array.isArray(nested) ? { [base]: nested.map(nameOf) } : base;
  }
  if (typeof ref === 'object') {
    const { type, params } = ref as { type?: unknown; params?: unknown };
    const name = typeof type === 'string' ? type : 'inline';
    if (params === undefined || typeof params === 'function') return name;
    return { [name]: JSON.parse(JSON.stringify(params)) as Shape };
  }
  return String(ref);
}

function transitionShape(t: TransitionLike): Shape {
  return {
    event: t.eventType,
    guard: nameOf(t.guard),
    target: (t.target ?? []).map((s) => s.id),
    actions: t.actions.map(nameOf),
    reenter: t.reenter === true,
  };
}

/** The definition as plain data, in a stable order (what the digest hashes). */
export function machineShape(machine: AnyStateMachine): Shape {
  return {
    id: machine.id,
    states: stateNodesOf(machine).map((node) => {
      const config = node.config as { initial?: unknown; history?: unknown; tags?: unknown };
      const events = [...node.transitions.keys()].sort();
      return {
        path: node.path.join('.'),
        type: node.type,
        initial: typeof config.initial === 'string' ? config.initial : null,
        entry: node.entry.map(nameOf),
        exit: node.exit.map(nameOf),
        invoke: node.invoke.map((i) => ({ id: i.id, src: typeof i.src === 'string' ? i.src : 'inline' })),
        on: events.map((e) => (node.transitions.get(e) ?? []).map(transitionShape)),
        always: (node.always ?? []).map(transitionShape),
      };
    }),
  };
}

/** sha256 of the machine's shape, hex, first 16 characters. */
export function machineDigest(machine: AnyStateMachine): string {
  return createHash('sha256')
    .update(JSON.stringify(machineShape(machine)))
    .digest('hex')
    .slice(0, 16);
}
