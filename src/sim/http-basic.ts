// Ironic's `auth_strategy = http_basic` (ironic-lib's BasicAuthMiddleware): every route but the
// public ones needs `Authorization: Basic`, answered with the middleware's own error bodies,
// `{"error": {"message": ..., "code": N}}`, as measured on Ironic 21.4 (../shared/ironic/KEYSTONE.md).
import type { IncomingHttpHeaders } from 'node:http';

export interface SimHttpBasic {
  /** username -> password; the real one reads bcrypt digests from an htpasswd file. */
  users: Readonly<Record<string, string>>;
}

export interface BasicAuthRefusal {
  status: number;
  payload: string;
  headers: Record<string, string>;
}

/** Ironic's public routes (acl_public_routes): the version documents, lookup and heartbeat. */
function isPublic(segs: readonly string[]): boolean {
  if (segs.length === 0) return true;
  if (segs[0] !== 'v1') return false;
  return segs.length === 1 || segs[1] === 'lookup' || segs[1] === 'heartbeat';
}

function refusal(status: number, message: string): BasicAuthRefusal {
  return {
    status,
    payload: JSON.stringify({ error: { message, code: status } }),
    headers: status === 401 ? { 'WWW-Authenticate': 'Basic realm="Baremetal API"' } : {},
  };
}

/** null when the request may go on; otherwise the answer ironic-lib's middleware gives. */
export function checkHttpBasic(
  auth: SimHttpBasic,
  segs: readonly string[],
  headers: IncomingHttpHeaders,
): BasicAuthRefusal | null {
  if (isPublic(segs)) return null;
  const header = headers.authorization;
  if (header === undefined) return refusal(401, 'Authorization required');
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2) return refusal(400, 'Could not parse Authorization header');
  const [type, token] = parts as [string, string];
  if (type.toLowerCase() !== 'basic') return refusal(400, `Unsupported authorization type "${type}"`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(token) || token.length % 4 !== 0)
    return refusal(400, 'Could not decode authorization token');
  const pair = Buffer.from(token, 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  if (colon < 0) return refusal(400, 'Could not decode authorization token');
  const user = pair.slice(0, colon);
  const password = pair.slice(colon + 1);
  if (!Object.hasOwn(auth.users, user) || auth.users[user] !== password)
    return refusal(401, 'Incorrect username or password');
  return null;
}
