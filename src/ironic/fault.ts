// Turning an Ironic error response into a typed error.
//
// Ironic wraps its fault twice: the body is `{"error_message": "<JSON string>"}` whose
// inner JSON holds `faultcode`, `faultstring` and `debuginfo`. A few paths (the 406 for an
// unknown microversion) put `{code, title, description}` there instead, some proxies
// send an object rather than a string, and a load balancer in front may answer with
// HTML. Every shape yields a typed error; none crashes the parse.
import {
  IronicBadRequestError,
  IronicConflictError,
  IronicError,
  IronicHttpError,
  IronicNodeLockedError,
  IronicNotAcceptableError,
  IronicNotFoundError,
  IronicServerError,
  IronicUnauthorizedError,
  IronicUnavailableError,
  IronicConcurrentActionLimitError,
  KeystoneUnavailableError,
  type IronicErrorFacts,
} from './errors.js';

/** The most of a response body an error carries. */
export const SNIPPET_CHARS = 200;

/**
 * The two 409 faultstrings that mean "a conductor holds this node right now" (Ironic
 * 2023.1, verified): NodeLocked on VIF detach / power / provision requests, and the
 * PATCH refusal while a provision transition runs (deploying, cleaning, ...). Both clear
 * by themselves, unlike "Node X is associated with instance Y".
 */
const NODE_LOCKED_PATTERNS = [
  / is locked by host /i,
  /can ?not be updated while a state transition is in progress/i,
];

/**
 * ironic.common.exception.ConcurrentActionLimit (2023.1): "Unable to process request at this time.
 * The concurrent action limit for <provisioning|unprovisioning|cleaning> has been reached. ..."
 */
const CONCURRENT_ACTION_LIMIT = /The concurrent action limit for \S+ has been reached/;

export function isConcurrentActionLimitFault(faultstring: string | null): boolean {
  return faultstring !== null && CONCURRENT_ACTION_LIMIT.test(faultstring);
}

export function isNodeLockedFault(faultstring: string | null): boolean {
  return faultstring !== null && NODE_LOCKED_PATTERNS.some((re) => re.test(faultstring));
}

/** Ironic's faultstring (or description) from an error body, or null when there is none. */
export function extractFaultstring(body: string): string | null {
  let outer: unknown;
  try {
    outer = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isRecord(outer)) return null;
  const inner = outer['error_message'];
  if (typeof inner === 'string') {
    try {
      const parsed: unknown = JSON.parse(inner);
      return faultOf(parsed) ?? inner;
    } catch {
      return inner;
    }
  }
  return faultOf(inner) ?? faultOf(outer);
}

function faultOf(value: unknown): string | null {
  if (!isRecord(value)) return null;
  for (const key of ['faultstring', 'description', 'message', 'title']) {
    const v = value[key];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, single-line start of a body for messages and snippets. */
export function snippetOf(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length <= SNIPPET_CHARS ? flat : `${flat.slice(0, SNIPPET_CHARS)}…`;
}

const KEYSTONE_DOWN = /The Keystone service is temporarily unavailable/i;

/** The typed error for an HTTP error status. `facts` names the request and node. */
export function errorForStatus(
  status: number,
  body: string,
  facts: IronicErrorFacts,
  scrub: (text: string) => string = (text) => text,
): IronicError {
  const raw = extractFaultstring(body);
  // Ironic's schema errors quote the offending value, which may be a config drive.
  const faultstring = raw === null ? null : scrub(raw);
  const detail = faultstring ?? (body.trim().length > 0 ? scrub(snippetOf(body)) : 'no body');
  const message = `${facts.method ?? ''} ${facts.path ?? ''} -> ${status}: ${detail}`.trim();
  const all = { ...facts, status, faultstring };
  if (status === 404) return new IronicNotFoundError(message, all);
  if (status === 400) return new IronicBadRequestError(message, all);
  if (status === 409) {
    return isNodeLockedFault(faultstring)
      ? new IronicNodeLockedError(message, all)
      : new IronicConflictError(message, all);
  }
  if (status === 406) return new IronicNotAcceptableError(message, all);
  if (status === 401) return new IronicUnauthorizedError(message, all);
  if (status === 503) {
    // keystonemiddleware's page when Ironic cannot reach Keystone to validate our token.
    return KEYSTONE_DOWN.test(body)
      ? new KeystoneUnavailableError(`${message} (Ironic cannot reach Keystone)`, all, true)
      : new IronicUnavailableError(message, all);
  }
  if (status === 500 && isConcurrentActionLimitFault(faultstring)) {
    return new IronicConcurrentActionLimitError(message, all);
  }
  if (status >= 500) return new IronicServerError(message, all);
  return new IronicHttpError(message, all);
}
