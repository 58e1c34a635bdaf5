// The config drive, in one of two forms Ironic accepts. The JSON form (API >= 1.56): Ironic
// builds the ISO from meta_data, network_data and user_data itself. The image form, as the
// seed sends it (_generate_configdrive): an ISO 9660 volume labelled config-2, gzipped and
// base64-encoded. The content mirrors what Nova's metadata service put in
// openstack/latest/meta_data.json, with injected files carried inline, base64, since a JSON
// drive has no content/ directory. User data is bytes: the JSON form carries only text
// (Ironic writes the string back as UTF-8), so anything else goes as an image.
import { Buffer } from 'node:buffer';
import { gzipSync } from 'node:zlib';
import { IronicInvalidInputError } from './errors.js';
import { buildIso9660, type IsoFile } from './iso9660.js';
import type { ConfigDrive, Json, JsonObject, NetworkData, Uuid } from './types.js';
import { assertUuid } from './validate.js';

export interface InjectedFile {
  path: string;
  contents: string;
}

export interface ConfigDriveArgs {
  instance: Uuid;
  hostname?: string;
  /** The instance's display name; defaults to the hostname. */
  name?: string;
  /** User metadata (Nova's `meta`). */
  metadata?: Record<string, string>;
  adminPassword?: string;
  injectedFiles?: readonly InjectedFile[];
  /** Bytes, sent unaltered; a string means its UTF-8 bytes. */
  userData?: string | Uint8Array;
  networkData?: NetworkData;
  /** Key name -> public key. */
  publicKeys?: Record<string, string>;
}

/**
 * Whether the deploy must carry a config drive (seed: configdrive.required_by). Without
 * a metadata service on the provisioning network, the config drive is the only way user
 * data, the admin password and injected files reach the instance.
 */
export function configDriveRequired(args: {
  userData?: string | Uint8Array;
  adminPassword?: string;
  injectedFiles?: readonly InjectedFile[];
  /** The instance asked for one (Nova's config_drive=True), or the operator forces them. */
  force?: boolean;
}): boolean {
  return (
    args.force === true ||
    (args.userData !== undefined && args.userData.length > 0) ||
    (args.adminPassword !== undefined && args.adminPassword.length > 0) ||
    (args.injectedFiles !== undefined && args.injectedFiles.length > 0)
  );
}

/** Nova refuses user data longer than this once base64-encoded (MAX_USERDATA_SIZE). */
export const MAX_USER_DATA_ENCODED = 65535;
/** The most raw bytes whose base64 fits Nova's limit: 4 characters per 3 bytes. */
export const MAX_USER_DATA_BYTES = Math.floor(MAX_USER_DATA_ENCODED / 4) * 3;

/** The volume label cloud-init and Ignition look for. */
const CONFIG_DRIVE_LABEL = 'config-2';

export function userDataBytes(userData: string | Uint8Array): Uint8Array {
  return typeof userData === 'string' ? Buffer.from(userData, 'utf8') : userData;
}

/** The sentence every layer refuses oversized user data with; it names sizes, never content. */
export function userDataTooLargeMessage(bytes: number, source?: string): string {
  const what = source === undefined ? 'user data' : `user data file ${source}`;
  const size = bytes > MAX_USER_DATA_BYTES ? `more than ${MAX_USER_DATA_BYTES} bytes` : `${bytes} bytes`;
  return `${what} is ${size}; Nova's limit is ${MAX_USER_DATA_ENCODED} bytes once base64-encoded (${MAX_USER_DATA_BYTES} bytes of data)`;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as a string when they are valid UTF-8 (a BOM kept), so that re-encoding gives them back exactly. */
function utf8Text(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

function checkedUserData(userData: string | Uint8Array | undefined): Uint8Array | undefined {
  if (userData === undefined) return undefined;
  const bytes = userDataBytes(userData);
  if (bytes.length > MAX_USER_DATA_BYTES) {
    throw new IronicInvalidInputError(userDataTooLargeMessage(bytes.length));
  }
  return bytes;
}

/** The JSON form. Refuses user data that is not UTF-8 text: that would reach the instance altered. */
export function buildConfigDrive(args: ConfigDriveArgs): ConfigDrive {
  const bytes = checkedUserData(args.userData);
  const text = bytes === undefined ? undefined : utf8Text(bytes);
  if (text === null) {
    throw new IronicInvalidInputError(
      'user data is not UTF-8 text, which a JSON config drive cannot carry unaltered; send it as a config drive image (exactConfigDrive)',
    );
  }
  const drive: ConfigDrive = { meta_data: metaData(args) };
  // A JSON round trip drops undefined optionals so the drive is plain JSON.
  if (args.networkData !== undefined)
    drive.network_data = JSON.parse(JSON.stringify(args.networkData)) as JsonObject;
  if (text !== undefined) drive.user_data = text;
  return drive;
}

/**
 * The image form, as the seed builds it: ISO 9660 labelled config-2 with a Joliet tree for the
 * long names, holding openstack/latest/{meta_data.json,network_data.json,user_data}, gzipped
 * and base64-encoded. User data goes in as bytes, whatever they are.
 */
export function buildConfigDriveImage(args: ConfigDriveArgs, opts: { now?: Date } = {}): string {
  const bytes = checkedUserData(args.userData);
  const files: IsoFile[] = [
    { path: 'openstack/latest/meta_data.json', data: Buffer.from(JSON.stringify(metaData(args)), 'utf8') },
  ];
  if (args.networkData !== undefined) {
    files.push({
      path: 'openstack/latest/network_data.json',
      data: Buffer.from(JSON.stringify(args.networkData), 'utf8'),
    });
  }
  if (bytes !== undefined) files.push({ path: 'openstack/latest/user_data', data: bytes });
  const iso = buildIso9660({
    volumeId: CONFIG_DRIVE_LABEL,
    publisher: 'ironledger',
    files,
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  return gzipSync(iso).toString('base64');
}

/**
 * The form that carries the user data byte for byte: the JSON form for UTF-8 text (what
 * Ironic's API documents and its own ISO builder writes back exactly), the image otherwise.
 */
export function exactConfigDrive(args: ConfigDriveArgs): ConfigDrive | string {
  const bytes = checkedUserData(args.userData);
  if (bytes !== undefined && utf8Text(bytes) === null) return buildConfigDriveImage(args);
  return buildConfigDrive(args);
}

function metaData(args: ConfigDriveArgs): JsonObject {
  assertUuid(args.instance, 'instance');
  const meta: JsonObject = { uuid: args.instance };
  const name = args.name ?? args.hostname;
  if (args.hostname !== undefined) meta['hostname'] = args.hostname;
  if (name !== undefined) meta['name'] = name;
  meta['meta'] = { ...(args.metadata ?? {}) };
  if (args.publicKeys !== undefined && Object.keys(args.publicKeys).length > 0) {
    meta['public_keys'] = { ...args.publicKeys };
  }
  if (args.injectedFiles !== undefined && args.injectedFiles.length > 0) {
    meta['files'] = args.injectedFiles.map((file, i): Json => {
      if (typeof file.path !== 'string' || !file.path.startsWith('/')) {
        // Never echo contents: they may hold credentials.
        throw new IronicInvalidInputError(`injected file ${i} needs an absolute path`);
      }
      return { path: file.path, contents: Buffer.from(file.contents, 'utf8').toString('base64') };
    });
  }
  // Nova merges extra metadata, the admin password among it, into meta_data.json.
  if (args.adminPassword !== undefined && args.adminPassword.length > 0)
    meta['admin_pass'] = args.adminPassword;
  return meta;
}
