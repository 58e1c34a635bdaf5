// The registry of machine versions: per operation, every released version whose runs may still
// be in a store, the highest one current. New runs use the current version; resume and replay
// use the version a run was recorded with. Registering checks the machine contract.
import type { AnyStateMachine } from 'xstate';
import { checkMachineContract, MachineContractError } from './contract.js';

export type OpName = 'deploy' | 'destroy' | 'rebuild' | 'reboot' | 'powerOff' | 'powerOn' | 'console';

export interface Lifecycle<I = unknown> {
  op: OpName;
  machine: AnyStateMachine;
  /** Bump on any behaviour change: recorded with each run, picked again on resume and replay. */
  version: number;
  /** Type-level only, never set: lets callers infer the input `machine` takes. */
  readonly input?: I;
}

export class MachineRegistry {
  private readonly byOp = new Map<OpName, Map<number, Lifecycle>>();

  constructor(
    lifecycles: Iterable<Lifecycle> = [],
    private readonly effects?: ReadonlySet<string>,
  ) {
    for (const l of lifecycles) this.register(l);
  }

  /**
   * Adds a version of an operation's machine, after checking the machine contract (throws
   * MachineContractError MACHINE_CONTRACT_BROKEN). The highest version of an op is its current
   * one. Registering a version again is refused (MACHINE_VERSION_CONFLICT) unless it is the same
   * machine object.
   */
  register(lifecycle: Lifecycle): this {
    if (!Number.isInteger(lifecycle.version) || lifecycle.version < 1) {
      throw new MachineContractError(
        'MACHINE_VERSION_CONFLICT',
        `Machine ${lifecycle.machine.id} for ${lifecycle.op}: version must be a positive integer, not ${String(lifecycle.version)}.`,
        { machine: lifecycle.machine.id, op: lifecycle.op, version: lifecycle.version },
      );
    }
    checkMachineContract(lifecycle.machine, this.effects);
    const versions = this.byOp.get(lifecycle.op) ?? new Map<number, Lifecycle>();
    const held = versions.get(lifecycle.version);
    if (held && held.machine !== lifecycle.machine) {
      throw new MachineContractError(
        'MACHINE_VERSION_CONFLICT',
        `${lifecycle.op} v${lifecycle.version} is already registered (machine ${held.machine.id}); a changed machine needs a new version.`,
        { machine: lifecycle.machine.id, op: lifecycle.op, version: lifecycle.version },
      );
    }
    versions.set(lifecycle.version, lifecycle);
    this.byOp.set(lifecycle.op, versions);
    return this;
  }

  /** The version new runs of `op` use (the highest registered). */
  current(op: OpName): Lifecycle {
    const versions = this.versions(op);
    const latest = versions[versions.length - 1];
    const found = latest === undefined ? undefined : this.byOp.get(op)?.get(latest);
    if (!found) throw new RangeError(`No machine is registered for operation ${op}.`);
    return found;
  }

  /** The given version of `op`'s machine, or undefined when it is not registered. */
  get(op: string, version: number): Lifecycle | undefined {
    return this.byOp.get(op as OpName)?.get(version);
  }

  /** Registered versions of `op`, ascending. */
  versions(op: string): number[] {
    return [...(this.byOp.get(op as OpName)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Operations with at least one registered version. */
  ops(): OpName[] {
    return [...this.byOp.keys()];
  }

  /** Every registered version, by op then version. */
  all(): Lifecycle[] {
    return this.ops().flatMap((op) => this.versions(op).map((v) => this.byOp.get(op)!.get(v)!));
  }

  /** A copy to register more versions in (an embedder's or a test's), leaving this one as it is. */
  clone(): MachineRegistry {
    return new MachineRegistry(this.all(), this.effects);
  }
}
