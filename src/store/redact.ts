// The one redaction step every payload passes before it reaches the event log.
// Secrets in our domain: Keystone/noauth tokens (X-Auth-Token), the instance admin password,
// user data, config drive contents (they embed both) and injected file contents.

export const REDACTED = '[REDACTED]';

/** Keys compared after lower-casing and dropping '-' and '_' (so x-auth-token, adminPass, admin_pass all match). */
const SECRET_KEYS = new Set([
  'auth',
  'authorization',
  'adminpass',
  'adminpassword',
  'userdata',
  'configdrive',
  'injectedfiles',
  'cookie',
  'setcookie',
  'privatekey',
]);

/** Any key containing one of these is a secret: authToken, x-auth-token, db_password, clientSecret. */
const SECRET_FRAGMENTS = ['token', 'password', 'passwd', 'secret', 'credential'];

function normalize(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** Payload keys repeat endlessly (every event has the same few): each is judged once. */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 10_000;

export function isSecretKey(key: string): boolean {
  let secret = verdicts.get(key);
  if (secret === undefined) {
    secret = judgeKey(key);
    if (verdicts.size < MAX_VERDICTS) verdicts.set(key, secret);
  }
  return secret;
}

function judgeKey(key: string): boolean {
  const k = normalize(key);
  if (SECRET_KEYS.has(k)) return true;
  return SECRET_FRAGMENTS.some((f) => k.includes(f));
}

/**
 * A JSON Patch operation on Ironic's instance_info, e.g.
 * `{ op: 'add', path: '/instance_info/configdrive', value: '...' }`: the key naming the secret
 * is in `path`, the secret itself in `value`.
 */
function patchTargetsSecret(obj: Record<string, unknown>): boolean {
  const path = obj['path'];
  if (typeof path !== 'string' || !('value' in obj)) return false;
  const last = path.split('/').pop() ?? '';
  return isSecretKey(last);
}

/** True when redactValue would replace something: most payloads hold no secret and are not copied. */
function holdsSecret(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsSecret);
  if (value === null || typeof value !== 'object') return false;
  const obj = value as Record<string, unknown>;
  const patchSecret = patchTargetsSecret(obj);
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    const carriesText = typeof v !== 'boolean' && typeof v !== 'number';
    if (carriesText && (isSecretKey(key) || (patchSecret && key === 'value'))) return true;
    if (typeof v === 'object' && holdsSecret(v)) return true;
  }
  return false;
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const patchSecret = patchTargetsSecret(obj);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    // A flag or a count (hasAdminPassword: true) says that a secret exists, not what it is.
    const carriesText = v !== null && typeof v !== 'boolean' && typeof v !== 'number';
    if (carriesText && (isSecretKey(key) || (patchSecret && key === 'value'))) {
      out[key] = REDACTED;
    } else {
      out[key] = redactValue(v);
    }
  }
  return out;
}

/**
 * Returns a copy of `value` with every secret replaced by '[REDACTED]' (nulls stay null, so
 * "no user data" remains distinguishable from "user data withheld"), or `value` itself when it
 * holds no secret. Never mutates its input.
 * Idempotent: redact(redact(x)) equals redact(x), which replay relies on when it compares a
 * recomputed context with the recorded (already redacted) one.
 */
export function redact<T>(value: T): T {
  return (holdsSecret(value) ? redactValue(value) : value) as T;
}
