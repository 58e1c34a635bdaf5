// The config drive in Ironic's JSON form (API >= 1.56): Ironic builds the ISO from
// meta_data, network_data and user_data itself. The content mirrors what Nova's metadata
// service put in openstack/latest/meta_data.json (seed: _generate_configdrive), with
// injected files carried inline, base64, since a JSON drive has no content/ directory.
import { Buffer } from 'node:buffer';
import { IronicInvalidInputError } from './errors.js';
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
  userData?: string;
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
  userData?: string;
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

export function buildConfigDrive(args: ConfigDriveArgs): ConfigDrive {
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
  const drive: ConfigDrive = { meta_data: meta };
  // A JSON round trip drops undefined optionals so the drive is plain JSON.
  if (args.networkData !== undefined)
    drive.network_data = JSON.parse(JSON.stringify(args.networkData)) as JsonObject;
  if (args.userData !== undefined) drive.user_data = args.userData;
  return drive;
}
