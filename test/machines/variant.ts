// A variant of a real machine for tests: its config edited, its implementations (guards, actions,
// effect actors) kept, as a later version of the machine file would be.
import { createMachine, type AnyStateMachine, type MachineConfig } from 'xstate';

type Config = MachineConfig<never, never> & { states: Record<string, StateConfig> };
export type StateConfig = Record<string, unknown> & { states?: Record<string, StateConfig> };

export function variantOf(machine: AnyStateMachine, edit: (config: Config) => Config): AnyStateMachine {
  const config = edit({ ...(machine.config as unknown as Config) });
  return createMachine(config as never, machine.implementations as never) as unknown as AnyStateMachine;
}
