import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildConfigDrive, configDriveRequired } from '../../src/ironic/configdrive.js';
import { IronicInvalidInputError } from '../../src/ironic/errors.js';
import type { Json } from '../../src/ironic/types.js';

const INSTANCE = '8f7e2b1c-5a4d-4e3f-9b2a-1c0d9e8f7a6b';

describe('configDriveRequired (seed: configdrive.required_by in spawn)', () => {
  it('is required for user data, an admin password, injected files, or when forced', () => {
    expect(configDriveRequired({})).toBe(false);
    expect(configDriveRequired({ userData: '', adminPassword: '', injectedFiles: [] })).toBe(false);
    expect(configDriveRequired({ userData: '#cloud-config' })).toBe(true);
    expect(configDriveRequired({ adminPassword: 'pw' })).toBe(true);
    expect(configDriveRequired({ injectedFiles: [{ path: '/etc/motd', contents: 'hi' }] })).toBe(true);
    expect(configDriveRequired({ force: true })).toBe(true);
  });
});

describe('buildConfigDrive (seed: _generate_configdrive, as Ironic’s JSON config drive)', () => {
  it('puts identity, user metadata, keys, the admin password and files into meta_data', () => {
    const drive = buildConfigDrive({
      instance: INSTANCE,
      hostname: 'web-1',
      metadata: { role: 'web' },
      adminPassword: 'pw-1',
      injectedFiles: [{ path: '/etc/motd', contents: 'hello\n' }],
      publicKeys: { default: 'ssh-ed25519 AAAA user@host' },
      userData: '#cloud-config\n',
    });
    expect(drive).toEqual({
      meta_data: {
        uuid: INSTANCE,
        hostname: 'web-1',
        name: 'web-1',
        meta: { role: 'web' },
        public_keys: { default: 'ssh-ed25519 AAAA user@host' },
        files: [{ path: '/etc/motd', contents: Buffer.from('hello\n').toString('base64') }],
        admin_pass: 'pw-1',
      },
      user_data: '#cloud-config\n',
    });
  });

  it('leaves out what was not given: no admin_pass, files, keys, user data or network data', () => {
    const drive = buildConfigDrive({ instance: INSTANCE });
    expect(drive).toEqual({ meta_data: { uuid: INSTANCE, meta: {} } });
  });

  it('carries network_data as plain JSON', () => {
    const drive = buildConfigDrive({
      instance: INSTANCE,
      networkData: { links: [{ id: 'interface0', type: 'phy', mtu: undefined }], networks: [], services: [] },
    });
    expect(drive.network_data).toEqual({
      links: [{ id: 'interface0', type: 'phy' }],
      networks: [],
      services: [],
    });
  });

  it('refuses a relative file path without echoing the file contents', () => {
    let caught: unknown;
    try {
      buildConfigDrive({
        instance: INSTANCE,
        injectedFiles: [{ path: 'etc/x', contents: 'TOP-SECRET-CONTENTS' }],
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IronicInvalidInputError);
    expect(JSON.stringify((caught as IronicInvalidInputError).toJSON())).not.toContain('TOP-SECRET-CONTENTS');
  });

  it('encodes any file contents so that they decode back exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.nat({ max: 999 }).map((n) => `file${n}`),
            contents: fc.string({ unit: 'grapheme', maxLength: 200 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (files) => {
          const drive = buildConfigDrive({
            instance: INSTANCE,
            injectedFiles: files.map((f) => ({ path: `/etc/${f.name}`, contents: f.contents })),
          });
          const encoded = drive.meta_data['files'] as Array<{ [k: string]: Json }>;
          expect(encoded.map((f) => Buffer.from(f['contents'] as string, 'base64').toString('utf8'))).toEqual(
            files.map((f) => f.contents),
          );
          expect(JSON.parse(JSON.stringify(drive))).toEqual(drive);
        },
      ),
      { numRuns: 50 },
    );
  });
});
