// Typed Ironic errors. Callers branch on `code` (stable strings), never on messages.
// Every error carries the facts an operator needs: HTTP status, Ironic's faultstring,
// the node and the request. Never a token, password or user data.

export type IronicErrorCode =
  | 'IRONIC_NOT_FOUND'
  | 'IRONIC_BAD_REQUEST'
  | 'IRONIC_CONFLICT'
  | 'IRONIC_NODE_LOCKED'
  | 'IRONIC_NOT_ACCEPTABLE'
  | 'IRONIC_UNAVAILABLE'
  | 'IRONIC_SERVER_ERROR'
  | 'IRONIC_CONCURRENT_ACTION_LIMIT'
  | 'IRONIC_HTTP_ERROR'
  | 'IRONIC_NETWORK'
  | 'IRONIC_TIMEOUT'
  | 'IRONIC_ANSWER_LOST'
  | 'IRONIC_ABORTED'
  | 'IRONIC_MALFORMED_RESPONSE'
  | 'IRONIC_RESPONSE_TOO_LARGE'
  | 'IRONIC_DEADLINE_EXCEEDED'
  | 'IRONIC_VERSION_UNSUPPORTED'
  | 'IRONIC_INVALID_INPUT'
  | 'IRONIC_UNAUTHORIZED'
  | 'KEYSTONE_UNAUTHORIZED'
  | 'KEYSTONE_UNAVAILABLE'
  | 'KEYSTONE_NO_ENDPOINT';

export interface IronicErrorFacts {
  status?: number | null;
  faultstring?: string | null;
  node?: string | null;
  method?: string;
  path?: string;
  /** Attempts made before giving up (retries included). */
  attempts?: number;
  cause?: unknown;
}

export class IronicError extends Error {
  readonly code: IronicErrorCode;
  readonly status: number | null;
  readonly faultstring: string | null;
  readonly node: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly attempts: number;
  /** Whether Nova's client wrapper would retry it (409, 503, connection failures). */
  readonly retryable: boolean;

  constructor(code: IronicErrorCode, message: string, facts: IronicErrorFacts = {}, retryable = false) {
    super(message, facts.cause === undefined ? undefined : { cause: facts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = facts.status ?? null;
    this.faultstring = facts.faultstring ?? null;
    this.node = facts.node ?? null;
    this.method = facts.method ?? null;
    this.path = facts.path ?? null;
    this.attempts = facts.attempts ?? 1;
    this.retryable = retryable;
  }

  /** Plain JSON for the event log and `--json` output. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      faultstring: this.faultstring,
      node: this.node,
      method: this.method,
      path: this.path,
      attempts: this.attempts,
    };
  }
}

export class IronicNotFoundError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_NOT_FOUND', message, facts);
  }
}
export class IronicBadRequestError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_BAD_REQUEST', message, facts);
  }
}
/** 409 other than a held lock: e.g. "already attached", instance_uuid already set. */
export class IronicConflictError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_CONFLICT', message, facts, true);
  }
}
/** 409 because a conductor holds the node (NodeLocked, or a transition in progress). */
export class IronicNodeLockedError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_NODE_LOCKED', message, facts, true);
  }
}
/** 406: Ironic does not speak the microversion we asked for. Not retried. */
export class IronicNotAcceptableError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_NOT_ACCEPTABLE', message, facts);
  }
}
/** Any other 4xx (401, 403, 405, 413, ...): a request Ironic will never accept as sent. */
export class IronicHttpError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_HTTP_ERROR', message, facts);
  }
}
export class IronicUnavailableError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_UNAVAILABLE', message, facts, true);
  }
}
export class IronicServerError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_SERVER_ERROR', message, facts);
  }
}
/**
 * 500 ConcurrentActionLimit: the conductor refused a deploy/rebuild (max_concurrent_deploy) or a
 * teardown/manual clean (max_concurrent_clean) before taking the node's lock, so Ironic did not
 * act and the same request may go again once other nodes leave deploying/cleaning. Retried.
 */
export class IronicConcurrentActionLimitError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_CONCURRENT_ACTION_LIMIT', message, facts, true);
  }
}
export class IronicNetworkError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_NETWORK', message, facts, true);
  }
}
export class IronicTimeoutError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_TIMEOUT', message, facts, true);
  }
}
/**
 * A request that must not be sent twice (provision or power change) lost its answer after it
 * may have reached Ironic: whether Ironic acted is unknown until the node is read. Resent only
 * when the caller gives `beforeResend`, which reads the node first.
 */
export class IronicAnswerLostError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_ANSWER_LOST', message, facts, true);
  }
}
export class IronicAbortedError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_ABORTED', message, facts);
  }
}
export class IronicMalformedResponseError extends IronicError {
  /** The start of the body that could not be read (at most ~200 chars), for the operator. */
  readonly snippet: string | null;

  constructor(message: string, facts: IronicErrorFacts & { snippet?: string } = {}) {
    super('IRONIC_MALFORMED_RESPONSE', message, facts);
    this.snippet = facts.snippet ?? null;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), snippet: this.snippet };
  }
}
/**
 * An answer longer than the transport's maxResponseBytes: reading stopped at the cap (or before
 * reading, when Content-Length said so). Never retried: the same request gets the same answer.
 */
export class IronicResponseTooLargeError extends IronicError {
  /** The cap, in bytes. */
  readonly limitBytes: number;
  /** Body bytes read before stopping (0 when Content-Length announced too much). */
  readonly bytesRead: number;
  /** The Content-Length Ironic announced, when it announced one. */
  readonly declaredBytes: number | null;

  constructor(
    message: string,
    facts: IronicErrorFacts & { limitBytes: number; bytesRead: number; declaredBytes?: number | null },
  ) {
    super('IRONIC_RESPONSE_TOO_LARGE', message, facts);
    this.limitBytes = facts.limitBytes;
    this.bytesRead = facts.bytesRead;
    this.declaredBytes = facts.declaredBytes ?? null;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      limitBytes: this.limitBytes,
      bytesRead: this.bytesRead,
      declaredBytes: this.declaredBytes,
    };
  }
}
/**
 * A request's total deadline (deadlineMs, across every attempt and wait) passed before Ironic
 * gave an answer worth keeping. `cause` is the last attempt's error, `attempts` how many were made.
 */
export class IronicDeadlineError extends IronicError {
  readonly deadlineMs: number;
  /** Time the request took, queueing for a connection aside. */
  readonly elapsedMs: number;

  constructor(message: string, facts: IronicErrorFacts & { deadlineMs: number; elapsedMs: number }) {
    super('IRONIC_DEADLINE_EXCEEDED', message, facts);
    this.deadlineMs = facts.deadlineMs;
    this.elapsedMs = facts.elapsedMs;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), deadlineMs: this.deadlineMs, elapsedMs: this.elapsedMs };
  }
}
export class IronicVersionError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_VERSION_UNSUPPORTED', message, facts);
  }
}
/** Bad input caught before any request is sent (invalid UUID, empty node id, bad patch, ...). */
export class IronicInvalidInputError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_INVALID_INPUT', message, facts);
  }
}

/**
 * 401 from Ironic that a fresh token did not cure (or a static token Ironic refuses): the
 * credentials, not the node, are at fault. A run that meets it stops resumable.
 */
export class IronicUnauthorizedError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('IRONIC_UNAUTHORIZED', message, facts);
  }
}
/** Keystone refused the credentials (wrong password, expired or unknown application credential). */
export class KeystoneUnauthorizedError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('KEYSTONE_UNAUTHORIZED', message, facts);
  }
}
/**
 * Keystone could not be reached or failed (network, timeout, 5xx) after its retries; or Ironic
 * answered 503 because it cannot reach Keystone to check our token (retryable, like any 503).
 */
export class KeystoneUnavailableError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}, retryable = false) {
    super('KEYSTONE_UNAVAILABLE', message, facts, retryable);
  }
}
/** The token's catalog has no baremetal endpoint for the interface and region asked for. */
export class KeystoneNoEndpointError extends IronicError {
  constructor(message: string, facts: IronicErrorFacts = {}) {
    super('KEYSTONE_NO_ENDPOINT', message, facts);
  }
}

/**
 * Errors that say the cloud's credentials or identity service failed, not the node: a run that
 * meets one stops as interrupted (resumable once they are fixed) instead of failing.
 */
export const AUTH_FAILURE_CODES: ReadonlySet<IronicErrorCode> = new Set([
  'IRONIC_UNAUTHORIZED',
  'KEYSTONE_UNAUTHORIZED',
  'KEYSTONE_UNAVAILABLE',
]);

export function isIronicError(err: unknown, code?: IronicErrorCode): err is IronicError {
  return err instanceof IronicError && (code === undefined || err.code === code);
}
