// Ironic's provision state machine as one table, transcribed from
// ironic/common/states.py (OpenStack 2023.1, Ironic 21.4): every row is
// (from, event, to). The API layer asks `isActionable(state, verb)` exactly as
// Ironic's provision controller does before it hands a verb to the conductor.
import { ProvisionState as S, type ProvisionStateName } from '../ironic/states.js';

/** Conductor events of states.py (not API verbs: `active` is the event `deploy`). */
export type FsmEvent =
  | 'deploy'
  | 'rebuild'
  | 'delete'
  | 'manage'
  | 'provide'
  | 'clean'
  | 'inspect'
  | 'abort'
  | 'adopt'
  | 'rescue'
  | 'unrescue'
  | 'done'
  | 'fail'
  | 'wait'
  | 'resume';

type Row = readonly [from: ProvisionStateName, event: FsmEvent, to: ProvisionStateName];

export const TRANSITIONS: readonly Row[] = [
  [S.AVAILABLE, 'deploy', S.DEPLOYING],
  [S.DEPLOYING, 'fail', S.DEPLOYFAIL],
  [S.DEPLOYFAIL, 'rebuild', S.DEPLOYING],
  [S.DEPLOYFAIL, 'deploy', S.DEPLOYING],
  [S.DEPLOYING, 'wait', S.DEPLOYWAIT],
  [S.DEPLOYWAIT, 'resume', S.DEPLOYING],
  [S.DEPLOYWAIT, 'fail', S.DEPLOYFAIL],
  [S.DEPLOYING, 'done', S.ACTIVE],
  [S.ACTIVE, 'rebuild', S.DEPLOYING],
  [S.ACTIVE, 'delete', S.DELETING],
  [S.DEPLOYWAIT, 'delete', S.DELETING],
  [S.DEPLOYFAIL, 'delete', S.DELETING],
  [S.DELETING, 'fail', S.ERROR],
  [S.DELETING, 'clean', S.CLEANING],
  [S.CLEANING, 'done', S.AVAILABLE],
  [S.CLEANING, 'fail', S.CLEANFAIL],
  [S.CLEANWAIT, 'fail', S.CLEANFAIL],
  [S.CLEANWAIT, 'abort', S.CLEANFAIL],
  [S.CLEANING, 'wait', S.CLEANWAIT],
  [S.CLEANWAIT, 'resume', S.CLEANING],
  [S.CLEANFAIL, 'manage', S.MANAGEABLE],
  [S.MANAGEABLE, 'provide', S.CLEANING],
  [S.MANAGEABLE, 'clean', S.CLEANING],
  [S.CLEANING, 'manage', S.MANAGEABLE],
  [S.AVAILABLE, 'manage', S.MANAGEABLE],
  [S.ERROR, 'rebuild', S.DEPLOYING],
  [S.ERROR, 'delete', S.DELETING],
  [S.MANAGEABLE, 'inspect', S.INSPECTING],
  [S.INSPECTING, 'done', S.MANAGEABLE],
  [S.INSPECTING, 'fail', S.INSPECTFAIL],
  [S.INSPECTING, 'wait', S.INSPECTWAIT],
  [S.INSPECTWAIT, 'done', S.MANAGEABLE],
  [S.INSPECTWAIT, 'fail', S.INSPECTFAIL],
  [S.INSPECTWAIT, 'abort', S.INSPECTFAIL],
  [S.INSPECTFAIL, 'manage', S.MANAGEABLE],
  [S.INSPECTFAIL, 'inspect', S.INSPECTING],
  [S.ACTIVE, 'rescue', S.RESCUING],
  [S.RESCUING, 'done', S.RESCUE],
  [S.RESCUING, 'wait', S.RESCUEWAIT],
  [S.RESCUEWAIT, 'resume', S.RESCUING],
  [S.RESCUE, 'rescue', S.RESCUING],
  [S.RESCUE, 'delete', S.DELETING],
  [S.RESCUEWAIT, 'fail', S.RESCUEFAIL],
  [S.RESCUING, 'fail', S.RESCUEFAIL],
  [S.RESCUEWAIT, 'abort', S.RESCUEFAIL],
  [S.RESCUEFAIL, 'rescue', S.RESCUING],
  [S.RESCUEFAIL, 'unrescue', S.UNRESCUING],
  [S.RESCUEFAIL, 'delete', S.DELETING],
  [S.RESCUEWAIT, 'delete', S.DELETING],
  [S.RESCUE, 'unrescue', S.UNRESCUING],
  [S.UNRESCUING, 'done', S.ACTIVE],
  [S.UNRESCUING, 'fail', S.UNRESCUEFAIL],
  [S.UNRESCUEFAIL, 'rescue', S.RESCUING],
  [S.UNRESCUEFAIL, 'unrescue', S.UNRESCUING],
  [S.UNRESCUEFAIL, 'delete', S.DELETING],
  [S.ENROLL, 'manage', S.VERIFYING],
  [S.VERIFYING, 'done', S.MANAGEABLE],
  [S.VERIFYING, 'fail', S.ENROLL],
  [S.MANAGEABLE, 'adopt', S.ADOPTING],
  [S.ADOPTING, 'done', S.ACTIVE],
  [S.ADOPTING, 'fail', S.ADOPTFAIL],
  [S.ADOPTFAIL, 'adopt', S.ADOPTING],
  [S.ADOPTFAIL, 'manage', S.MANAGEABLE],
];

/** API verbs (`target` of PUT .../states/provision) to FSM events: states.VERBS. */
export const VERBS: Readonly<Record<string, FsmEvent>> = {
  active: 'deploy',
  deploy: 'deploy',
  deleted: 'delete',
  undeploy: 'delete',
  manage: 'manage',
  provide: 'provide',
  inspect: 'inspect',
  abort: 'abort',
  clean: 'clean',
  adopt: 'adopt',
  rescue: 'rescue',
  unrescue: 'unrescue',
  rebuild: 'rebuild',
};

/**
 * The target_provision_state Ironic records while a node sits in a transitional
 * state (states.py `add_state(..., target=...)`); stable states have none.
 */
export const TARGET_OF: Readonly<Partial<Record<ProvisionStateName, ProvisionStateName>>> = {
  [S.VERIFYING]: S.MANAGEABLE,
  [S.DEPLOYING]: S.ACTIVE,
  [S.DEPLOYWAIT]: S.ACTIVE,
  [S.DEPLOYFAIL]: S.ACTIVE,
  [S.CLEANING]: S.AVAILABLE,
  [S.CLEANWAIT]: S.AVAILABLE,
  [S.CLEANFAIL]: S.AVAILABLE,
  [S.DELETING]: S.AVAILABLE,
  [S.INSPECTING]: S.MANAGEABLE,
  [S.INSPECTFAIL]: S.MANAGEABLE,
  [S.INSPECTWAIT]: S.MANAGEABLE,
  [S.ADOPTING]: S.ACTIVE,
  [S.ADOPTFAIL]: S.ACTIVE,
  [S.RESCUING]: S.RESCUE,
  [S.RESCUEWAIT]: S.RESCUE,
  [S.RESCUEFAIL]: S.RESCUE,
  [S.UNRESCUING]: S.ACTIVE,
  [S.UNRESCUEFAIL]: S.ACTIVE,
};

const table = new Map<string, ProvisionStateName>();
for (const [from, event, to] of TRANSITIONS) table.set(`${from}\u0000${event}`, to);

/** Where `event` leads from `state`, or undefined when states.py has no such row. */
export function nextState(state: ProvisionStateName, event: FsmEvent): ProvisionStateName | undefined {
  return table.get(`${state}\u0000${event}`);
}

/** Ironic's `machine.is_actionable_event(VERBS.get(target, target))`. */
export function isActionable(state: ProvisionStateName, verb: string): boolean {
  const event = VERBS[verb] ?? verb;
  return table.has(`${state}\u0000${event}`);
}

/** states.UPDATE_ALLOWED_STATES: transitional states in which PATCH is still allowed. */
export const UPDATE_ALLOWED_STATES: ReadonlySet<string> = new Set([
  S.DEPLOYFAIL,
  S.INSPECTING,
  S.INSPECTFAIL,
  S.INSPECTWAIT,
  S.CLEANFAIL,
  S.ERROR,
  S.VERIFYING,
  S.ADOPTFAIL,
  S.RESCUEFAIL,
  S.UNRESCUEFAIL,
]);

/** DELETE_ALLOWED_STATES plus `available` ([conductor] allow_deleting_available_nodes = true). */
export const DELETE_ALLOWED_STATES: readonly ProvisionStateName[] = [
  S.MANAGEABLE,
  S.ENROLL,
  S.ADOPTFAIL,
  S.AVAILABLE,
];
