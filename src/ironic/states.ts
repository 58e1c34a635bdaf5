// Provision and power states exactly as Ironic spells them on the wire
// (ironic/common/states.py, OpenStack 2023.1). Our machines and the simulator
// compare against these strings; never respell them.

export const ProvisionState = {
  /** Ironic reports `null` for "no state" (old nodes, or between steps). */
  NOSTATE: null,
  ENROLL: 'enroll',
  VERIFYING: 'verifying',
  MANAGEABLE: 'manageable',
  AVAILABLE: 'available',
  ACTIVE: 'active',
  DEPLOYING: 'deploying',
  DEPLOYWAIT: 'wait call-back',
  DEPLOYFAIL: 'deploy failed',
  DEPLOYHOLD: 'deploy hold',
  DELETING: 'deleting',
  DELETED: 'deleted',
  CLEANING: 'cleaning',
  CLEANWAIT: 'clean wait',
  CLEANFAIL: 'clean failed',
  CLEANHOLD: 'clean hold',
  ERROR: 'error',
  REBUILD: 'rebuild',
  INSPECTING: 'inspecting',
  INSPECTWAIT: 'inspect wait',
  INSPECTFAIL: 'inspect failed',
  ADOPTING: 'adopting',
  ADOPTFAIL: 'adopt failed',
  RESCUING: 'rescuing',
  RESCUEWAIT: 'rescue wait',
  RESCUEFAIL: 'rescue failed',
  RESCUE: 'rescue',
  UNRESCUING: 'unrescuing',
  UNRESCUEFAIL: 'unrescue failed',
} as const;

export type ProvisionStateName = Exclude<(typeof ProvisionState)[keyof typeof ProvisionState], null>;
/** What `provision_state` / `target_provision_state` can hold on the wire. */
export type ProvisionStateValue = ProvisionStateName | null;

/** Targets accepted by `PUT /v1/nodes/{node}/states/provision`. */
export const ProvisionVerb = {
  ACTIVE: 'active',
  DELETED: 'deleted',
  REBUILD: 'rebuild',
  MANAGE: 'manage',
  PROVIDE: 'provide',
  CLEAN: 'clean',
  ABORT: 'abort',
  INSPECT: 'inspect',
} as const;
export type ProvisionVerbName = (typeof ProvisionVerb)[keyof typeof ProvisionVerb];

export const PowerState = {
  NOSTATE: null,
  POWER_ON: 'power on',
  POWER_OFF: 'power off',
  REBOOT: 'rebooting',
  SOFT_REBOOT: 'soft rebooting',
  SOFT_POWER_OFF: 'soft power off',
  ERROR: 'error',
} as const;
export type PowerStateName = Exclude<(typeof PowerState)[keyof typeof PowerState], null>;
export type PowerStateValue = PowerStateName | null;

/** Targets accepted by `PUT /v1/nodes/{node}/states/power`. */
export type PowerTarget = 'power on' | 'power off' | 'rebooting' | 'soft power off' | 'soft rebooting';

/**
 * States from which a teardown must ask Ironic to unprovision (seed: destroy).
 * Any other state means provisioning never started, so only instance_info is removed.
 */
export const UNPROVISION_STATES: readonly ProvisionStateValue[] = [
  ProvisionState.ACTIVE,
  ProvisionState.DEPLOYFAIL,
  ProvisionState.ERROR,
  ProvisionState.DEPLOYWAIT,
  ProvisionState.DEPLOYING,
];

/**
 * States in which a teardown counts as done (seed: _unprovision). Cleaning may run for
 * hours on real hardware; the instance is gone as soon as the node reaches any of these.
 */
export const UNPROVISIONED_STATES: readonly ProvisionStateValue[] = [
  ProvisionState.NOSTATE,
  ProvisionState.CLEANING,
  ProvisionState.CLEANWAIT,
  ProvisionState.CLEANFAIL,
  ProvisionState.AVAILABLE,
];

export const ALL_PROVISION_STATES: readonly ProvisionStateName[] = Object.values(ProvisionState).filter(
  (s): s is ProvisionStateName => s !== null,
);

export function isProvisionState(value: unknown): value is ProvisionStateValue {
  return (
    value === null ||
    (typeof value === 'string' && (ALL_PROVISION_STATES as readonly string[]).includes(value))
  );
}
