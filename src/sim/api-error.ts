// Ironic's error wire format. Every failure is a status plus a body
// {"error_message": "<JSON string>"} where the string holds faultcode,
// faultstring and debuginfo (wsme/pecan style); 406 from version negotiation
// uses webob's {code, title, description} instead.

export class ApiError extends Error {
  readonly code = 'SIM_API_ERROR';
  constructor(
    readonly status: number,
    readonly faultstring: string,
    readonly faultcode: 'Client' | 'Server' = status >= 500 ? 'Server' : 'Client',
    /** Raised by the conductor's lock acquisition, which Ironic retries before answering. */
    readonly lockConflict = false,
  ) {
    super(faultstring);
    this.name = 'ApiError';
  }
}

/** ironic.common.exception faultstrings used by the simulator, by class name. */
export const Fault = {
  nodeNotFound: (node: string) => new ApiError(404, `Node ${node} could not be found.`),
  nodeLocked: (node: string, host: string, fromConductor = false) =>
    new ApiError(
      409,
      `Node ${node} is locked by host ${host}, please retry after the current operation is completed.`,
      'Client',
      fromConductor,
    ),
  invalidStateRequested: (action: string, node: string, state: string | null) =>
    new ApiError(
      400,
      `The requested action "${action}" can not be performed on node "${node}" while it is in state "${state ?? 'None'}".`,
    ),
  transitionInProgress: (ident: string) =>
    new ApiError(409, `Node ${ident} can not be updated while a state transition is in progress.`),
  nodeAssociated: (node: string, instance: string) =>
    new ApiError(409, `Node ${node} is associated with instance ${instance}.`),
  instanceAssociated: (instance: string, node: string) =>
    new ApiError(
      409,
      `Instance ${instance} is already associated with a node, it cannot be associated with this other node ${node}`,
    ),
  vifAlreadyAttached: (vif: string, objectType: 'Port' | 'Portgroup', objectUuid: string) =>
    new ApiError(
      409,
      `Unable to attach VIF because VIF ${vif} is already attached to Ironic ${objectType} ${objectUuid}`,
    ),
  vifNotAttached: (vif: string, node: string) =>
    new ApiError(400, `Unable to detach VIF ${vif} from node ${node} because it is not attached to it.`),
  noFreePhysicalPorts: (vif: string) =>
    new ApiError(400, `Unable to attach VIF ${vif}, not enough free physical ports.`),
  nodeInMaintenance: (op: string, node: string) =>
    new ApiError(
      400,
      `The ${op} operation can't be performed on node ${node} because it's in maintenance mode.`,
    ),
  noFreeConductorWorker: () =>
    new ApiError(503, 'Requested action cannot be performed due to lack of free conductor workers.'),
  duplicateName: (name: string) => new ApiError(409, `A node with name ${name} already exists.`),
  nodeAlreadyExists: (uuid: string) => new ApiError(409, `A node with UUID ${uuid} already exists.`),
  unsupportedInterface: (driver: string, iface: string) =>
    new ApiError(400, `Driver ${driver} does not support ${iface} (disabled or not implemented).`),
  /** ConcurrentActionLimit keeps IronicException's code 500 (measured on Ironic 2023.1: faultcode Server). */
  concurrentActionLimit: (taskType: 'provisioning' | 'unprovisioning' | 'cleaning') =>
    new ApiError(
      500,
      `Unable to process request at this time. The concurrent action limit for ${taskType} has been reached. Please contact your administrator and try again later.`,
    ),
  invalid: (msg: string) => new ApiError(400, msg),
  conflict: (msg: string) => new ApiError(409, msg),
};

/** exception.NotAcceptable: a feature newer than the requested microversion. */
export class NotAcceptableError extends ApiError {
  constructor() {
    super(406, 'Request not acceptable.', 'Client');
    this.name = 'NotAcceptableError';
  }
}
