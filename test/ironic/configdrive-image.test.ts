// User data is bytes. Text (valid UTF-8) travels in Ironic's JSON config drive, which Ironic
// writes back as UTF-8, exact; anything else (gzip, binary) travels as the seed sends a
// config drive: an ISO 9660 image labelled config-2, gzipped and base64-encoded. Each image is
// read back by isoinfo and pycdlib, not by our own code.
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  buildConfigDrive,
  exactConfigDrive,
  MAX_USER_DATA_BYTES,
  MAX_USER_DATA_ENCODED,
} from '../../src/ironic/configdrive.js';
import { IronicInvalidInputError } from '../../src/ironic/errors.js';
import type { NetworkData } from '../../src/ironic/types.js';
import { isoOf, itWithIsoReaders, readIso } from './iso-reader.js';

const INSTANCE = '8f7e2b1c-5a4d-4e3f-9b2a-1c0d9e8f7a6b';
const NETWORK: NetworkData = {
  links: [{ id: 'interface0', type: 'phy', ethernet_mac_address: '52:54:00:00:00:01', mtu: 1500 }],
  networks: [{ id: 'network0', link: 'interface0', type: 'ipv4_dhcp', network_id: 'net-1' }],
  services: [],
};
const GZIP = gzipSync(Buffer.from('#cloud-config\nruncmd:\n  - echo hi\n'));

describe('Nova limit on user data', () => {
  it('is 65535 bytes once base64-encoded, which is 49149 raw bytes', () => {
    expect(MAX_USER_DATA_ENCODED).toBe(65535);
    expect(MAX_USER_DATA_BYTES).toBe(49149);
    expect(Buffer.alloc(MAX_USER_DATA_BYTES).toString('base64').length).toBeLessThanOrEqual(65535);
    expect(Buffer.alloc(MAX_USER_DATA_BYTES + 1).toString('base64').length).toBeGreaterThan(65535);
  });

  it('the builders refuse more, without echoing the data', () => {
    const big = Buffer.alloc(MAX_USER_DATA_BYTES + 1, 0x41);
    for (const build of [buildConfigDrive, exactConfigDrive]) {
      expect(() => build({ instance: INSTANCE, userData: big })).toThrow(IronicInvalidInputError);
      expect(() => build({ instance: INSTANCE, userData: big })).toThrow(/65535 bytes once base64-encoded/);
      expect(() => build({ instance: INSTANCE, userData: big })).not.toThrow(/AAAA/);
    }
  });
});

describe('exactConfigDrive: the form that carries user data byte for byte', () => {
  it('keeps text in the JSON form, byte-exact once Ironic writes it as UTF-8 (a BOM included)', () => {
    for (const text of ['#cloud-config\n', '\uFEFF#!/bin/sh\r\necho "é ✓ 𝄞"\n', 'a\u0000b']) {
      const bytes = Buffer.from(text, 'utf8');
      const drive = exactConfigDrive({ instance: INSTANCE, userData: bytes });
      expect(typeof drive).toBe('object');
      const userData = (drive as { user_data?: unknown }).user_data;
      expect(typeof userData).toBe('string');
      expect(Buffer.from(userData as string, 'utf8').equals(bytes)).toBe(true);
    }
  });

  it('a string from a library caller means its UTF-8 bytes', () => {
    const drive = exactConfigDrive({ instance: INSTANCE, userData: 'héllo' });
    expect(drive).toMatchObject({ user_data: 'héllo' });
  });

  it('sends bytes that are not UTF-8 (gzip, a lone surrogate, a stray 0xff) as an image string', () => {
    for (const bytes of [GZIP, Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0x41, 0xff])]) {
      expect(typeof exactConfigDrive({ instance: INSTANCE, userData: bytes })).toBe('string');
    }
  });

  it('the JSON form refuses bytes it cannot carry exactly, instead of replacing them', () => {
    expect(() => buildConfigDrive({ instance: INSTANCE, userData: GZIP })).toThrow(IronicInvalidInputError);
    expect(() => buildConfigDrive({ instance: INSTANCE, userData: GZIP })).toThrow(/not UTF-8/);
  });
});

describe('the config drive image (seed: _generate_configdrive: ISO 9660, gzip, base64)', () => {
  itWithIsoReaders(
    'is labelled config-2 and holds openstack/latest/{meta_data.json,network_data.json,user_data}',
    () => {
      const args = {
        instance: INSTANCE,
        hostname: 'web-1',
        metadata: { role: 'web' },
        adminPassword: 'pw-1',
        publicKeys: { default: 'ssh-ed25519 AAAA user@host' },
        networkData: NETWORK,
        userData: GZIP,
      };
      const drive = exactConfigDrive(args);
      expect(typeof drive).toBe('string');
      const { user_data: _text, ...json } = buildConfigDrive({ ...args, userData: 'x' });
      readIso(isoOf(drive as string), (iso) => {
        expect(iso.describe).toMatch(/^Volume id:\s+config-2$/m);
        expect(iso.blkid).toBe('LABEL=config-2 TYPE=iso9660');
        expect(iso.describe).toMatch(/Joliet with UCS level 3 found/);
        expect(iso.jolietPaths).toEqual(
          expect.arrayContaining([
            '/openstack/latest/meta_data.json',
            '/openstack/latest/network_data.json',
            '/openstack/latest/user_data',
          ]),
        );
        expect(iso.joliet('/openstack/latest/user_data').equals(GZIP)).toBe(true);
        expect(iso.pycdlib('/openstack/latest/user_data').equals(GZIP)).toBe(true);
        expect(JSON.parse(iso.joliet('/openstack/latest/meta_data.json').toString('utf8'))).toEqual(
          json.meta_data,
        );
        expect(JSON.parse(iso.joliet('/openstack/latest/network_data.json').toString('utf8'))).toEqual(
          json.network_data,
        );
      });
    },
  );

  itWithIsoReaders('carries every byte value, and user data up to the limit spanning many sectors', () => {
    const every = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7 + 0xff) % 256));
    for (const bytes of [every, randomBytes(MAX_USER_DATA_BYTES), randomBytes(2049), Buffer.from([0xff])]) {
      const drive = exactConfigDrive({ instance: INSTANCE, userData: bytes });
      expect(typeof drive).toBe('string');
      readIso(isoOf(drive as string), (iso) => {
        expect(iso.joliet('/openstack/latest/user_data').equals(bytes)).toBe(true);
        expect(iso.pycdlib('/openstack/latest/user_data').equals(bytes)).toBe(true);
      });
    }
  });

  itWithIsoReaders('has a plain ISO 9660 tree too, for readers without Joliet', () => {
    const drive = exactConfigDrive({ instance: INSTANCE, userData: GZIP, networkData: NETWORK });
    readIso(isoOf(drive as string), (iso) => {
      const userData = iso.primaryPaths.find((p) => /^\/OPENSTAC\/LATEST\/USER_DAT/.test(p));
      expect(userData, iso.primaryPaths.join('\n')).toBeDefined();
      expect(iso.primary(userData!).equals(GZIP)).toBe(true);
    });
  });

  it('is sent gzipped and base64-encoded, as the seed does', () => {
    const drive = exactConfigDrive({ instance: INSTANCE, userData: GZIP });
    expect(drive).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const iso = isoOf(drive as string);
    expect(iso.length % 2048).toBe(0);
    // The primary volume descriptor at sector 16.
    expect(iso.subarray(16 * 2048 + 1, 16 * 2048 + 6).toString('latin1')).toBe('CD001');
  });
});
