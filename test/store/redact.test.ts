import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from '../../src/store/redact.js';

describe('redact', () => {
  it('replaces tokens, admin passwords, user data and config drives at any depth', () => {
    const input = {
      headers: { 'X-Auth-Token': 'gAAAA-token', Authorization: 'Bearer abc' },
      auth: { token: 't' },
      instance: { admin_pass: 'p1', adminPassword: 'p2', adminPass: 'p3' },
      userData: 'I2Nsb3VkLWNvbmZpZw==',
      user_data: '#cloud-config',
      configdrive: 'H4sIAAAA',
      configDrive: { meta_data: { x: 1 } },
      injectedFiles: [{ path: '/etc/motd', contents: 'aGVsbG8=' }],
      driver_info: { ipmi_password: 'calvin', ipmi_username: 'root' },
      clientSecret: 's',
    };
    const out = redact(input);
    expect(out).toEqual({
      headers: { 'X-Auth-Token': REDACTED, Authorization: REDACTED },
      auth: REDACTED,
      instance: { admin_pass: REDACTED, adminPassword: REDACTED, adminPass: REDACTED },
      userData: REDACTED,
      user_data: REDACTED,
      configdrive: REDACTED,
      configDrive: REDACTED,
      injectedFiles: REDACTED,
      driver_info: { ipmi_password: REDACTED, ipmi_username: 'root' },
      clientSecret: REDACTED,
    });
  });

  it('redacts the value of a JSON Patch op whose path names a secret (instance_info/configdrive)', () => {
    const patch = [
      { op: 'add', path: '/instance_info/configdrive', value: 'H4sI-secret' },
      { op: 'add', path: '/instance_info/image_source', value: 'http://img/x.qcow2' },
      { op: 'remove', path: '/instance_info/configdrive' },
    ];
    expect(redact(patch)).toEqual([
      { op: 'add', path: '/instance_info/configdrive', value: REDACTED },
      { op: 'add', path: '/instance_info/image_source', value: 'http://img/x.qcow2' },
      { op: 'remove', path: '/instance_info/configdrive' },
    ]);
  });

  it('keeps nulls (no user data is not withheld user data), leaves the input untouched and is idempotent', () => {
    const input = { userData: null, token: 'x', nested: [{ password: 'y' }] };
    const snapshot = JSON.stringify(input);
    const once = redact(input);
    expect(once).toEqual({ userData: null, token: REDACTED, nested: [{ password: REDACTED }] });
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(redact(once)).toEqual(once);
  });

  it('never lets a secret under a secret key through, wherever it is nested (property)', () => {
    const secret = 'S3CRET-VALUE-77';
    const secretKey = fc.constantFrom(
      'token',
      'x-auth-token',
      'admin_pass',
      'adminPassword',
      'user_data',
      'configdrive',
      'password',
    );
    const path = fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.nat(3)), { maxLength: 5 });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), path, secretKey, (base, steps, key) => {
        // Plant { [key]: secret } at the end of a random object/array path inside random JSON.
        let planted: unknown = { [key]: secret };
        for (const step of [...steps].reverse()) {
          planted =
            typeof step === 'number'
              ? [...Array.from({ length: step }, () => null), planted]
              : { [step]: planted };
        }
        const doc = { base, planted };
        const out = JSON.stringify(redact(doc));
        return !out.includes(secret) && JSON.stringify(redact(JSON.parse(out))) === out;
      }),
      { numRuns: 300 },
    );
  });
});
