// The machine contract: what the engine can step, record and resume is checked when a machine is
// registered, so a machine that would hang (a dropped `after`) is refused at load, not in a run.
import { assign, createMachine, raise, sendTo, setup, spawnChild, type AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  checkMachineContract,
  lifecycles,
  machines,
  MachineContractError,
  MachineRegistry,
  type OpName,
} from '../../src/machines/index.js';
import { effectActors } from '../../src/machines/actors.js';

/** A teardown-like machine with one state made of `extra` (the rest is contract-abiding). */
function machineWith(extra: Record<string, unknown>): AnyStateMachine {
  return setup({ actors: effectActors }).createMachine({
    id: 'bad',
    initial: 'lookup',
    states: {
      lookup: { invoke: { src: 'lookupNode', input: () => ({}), onDone: 'wait' } },
      wait: { initial: 'inner', states: { inner: { ...extra, on: { go: '#bad.done' } } } },
      done: { type: 'final' },
    },
  } as never) as unknown as AnyStateMachine;
}

function refusal(fn: () => unknown): MachineContractError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MachineContractError);
    return err as MachineContractError;
  }
  throw new Error('not refused');
}

describe('machine contract', () => {
  it('every registered machine version passes it', () => {
    expect(machines.all().length).toBeGreaterThanOrEqual(Object.keys(lifecycles).length);
    for (const l of machines.all())
      expect(() => checkMachineContract(l.machine), `${l.op} v${l.version}`).not.toThrow();
    for (const op of Object.keys(lifecycles) as OpName[]) expect(machines.current(op)).toBe(lifecycles[op]);
  });

  it('refuses a machine with an `after` delay, naming the machine and the state', () => {
    const err = refusal(() =>
      new MachineRegistry().register({
        op: 'destroy',
        machine: machineWith({ after: { 1000: '#bad.done' } }),
        version: 1,
      }),
    );
    expect(err.code).toBe('MACHINE_CONTRACT_BROKEN');
    expect(err.facts).toMatchObject({ machine: 'bad', statePath: 'wait.inner', feature: 'after' });
    expect(err.message).toContain('state "wait.inner"');
    expect(err.message).toContain('`after` delay');
  });

  it('refuses a raise with a delay, a spawned child, a send to another actor, and an inline invoke', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ entry: raise({ type: 'go' }, { delay: 10 }) }, 'raise with delay'],
      [{ entry: spawnChild('observeNode' as never) }, 'xstate.spawnChild'],
      [{ exit: sendTo('someone' as never, { type: 'x' } as never) }, 'xstate.sendTo'],
      [{ invoke: { src: createMachine({}) } }, 'invoke src'],
      [{ invoke: { src: 'noSuchEffect' } }, 'invoke src'],
    ];
    for (const [extra, feature] of cases) {
      const err = refusal(() => checkMachineContract(machineWith(extra)));
      expect(err.facts, feature).toMatchObject({ machine: 'bad', statePath: 'wait.inner', feature });
    }
  });

  it('accepts invoked named effects, guards, assign and raise without delay', () => {
    expect(() =>
      checkMachineContract(
        machineWith({
          entry: [assign({}), raise({ type: 'go' })],
          always: { guard: () => false, target: '#bad.done' },
        }),
      ),
    ).not.toThrow();
  });

  it('refuses a second, different machine under a registered version', () => {
    const registry = machines.clone();
    const err = refusal(() =>
      registry.register({ op: 'destroy', machine: machineWith({}), version: lifecycles.destroy.version }),
    );
    expect(err.code).toBe('MACHINE_VERSION_CONFLICT');
    expect(registry.current('destroy')).toBe(lifecycles.destroy);
    // The same machine again is a no-op; a higher version becomes the current one.
    registry.register(lifecycles.destroy).register({ op: 'destroy', machine: machineWith({}), version: 99 });
    expect(registry.current('destroy').version).toBe(99);
    expect(registry.get('destroy', lifecycles.destroy.version)).toBe(lifecycles.destroy);
    expect(machines.current('destroy')).toBe(lifecycles.destroy);
  });
});
