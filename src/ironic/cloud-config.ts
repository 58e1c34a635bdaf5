// Where a cloud's settings come from, resolved the way openstacksdk and the openstack CLI do:
// clouds.yaml (+ secure.yaml) found on the openstacksdk search path, the cloud picked by name,
// OS_* variables (the `envvars` cloud when no cloud is named), and flags, with flag > environment
// > file for each key. Everything resolves to one CloudSettings (cloud-settings.ts).
//
// Pure apart from reading files: the environment, the working directory and the home directory
// are passed in. No secret value (password, token, application-credential secret) ever appears
// in an error message: messages name keys and where they were read, never secret values.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import type {
  CloudSettings,
  CloudTls,
  EndpointInterface,
  IronicAuth,
  KeystoneProject,
  KeystoneUser,
} from './cloud-settings.js';

// ---------------------------------------------------------------------------------------------
// Errors

export type CloudConfigErrorCode =
  /** A file, key or value is wrong, or something an auth type needs is missing. */
  | 'CLOUD_CONFIG_INVALID'
  /** The cloud named (--os-cloud, OS_CLOUD, `{ cloud }`) is not in clouds.yaml, or none was chosen among several. */
  | 'CLOUD_NOT_FOUND'
  /** Nothing says where Ironic is: no endpoint, no cloud, no OS_* variables. */
  | 'CLOUD_CONFIG_MISSING';

export interface CloudConfigErrorFacts {
  /** The file at fault, or the clouds.yaml the cloud was read from. */
  file?: string;
  cloud?: string;
  /** The key (or variable, or flag) whose value is wrong. */
  key?: string;
  /** What an auth type needs and was not given. */
  missing?: readonly string[];
  /** The clouds that do exist, when the one named does not. */
  clouds?: readonly string[];
}

export class CloudConfigError extends Error {
  readonly file?: string;
  readonly cloud?: string;
  readonly key?: string;
  readonly missing?: readonly string[];
  readonly clouds?: readonly string[];

  constructor(
    readonly code: CloudConfigErrorCode,
    message: string,
    facts: CloudConfigErrorFacts = {},
  ) {
    super(message);
    this.name = 'CloudConfigError';
    Object.assign(this, facts);
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** One auth section of clouds.yaml (openstacksdk / keystoneauth key names). */
export interface CloudConfigAuth {
  auth_url?: string;
  username?: string;
  user_id?: string;
  password?: string;
  project_name?: string;
  project_id?: string;
  /** Keystone v2 names of project_name / project_id, accepted as aliases. */
  tenant_name?: string;
  tenant_id?: string;
  user_domain_name?: string;
  user_domain_id?: string;
  project_domain_name?: string;
  project_domain_id?: string;
  /** Both the user's and the project's domain, when they are the same (openstacksdk). */
  domain_name?: string;
  domain_id?: string;
  token?: string;
  application_credential_id?: string;
  application_credential_name?: string;
  application_credential_secret?: string;
  /** Ironic's URL (keystoneauth's admin_token / http_basic / none plugins); also `url`. */
  endpoint?: string;
  url?: string;
}

/**
 * One cloud as clouds.yaml holds it, which is also what the library takes inline, or with
 * `cloud: 'name'` to read that cloud from clouds.yaml and override some of its keys.
 */
export interface CloudConfigObject {
  /** A cloud of clouds.yaml; the other keys override its values. */
  cloud?: string;
  /** none, http_basic, token, v3token, admin_token, password, v3password, v3applicationcredential. */
  auth_type?: string;
  auth?: CloudConfigAuth;
  region_name?: string;
  /** Per-region values (openstacksdk): names, or `{ name, values }` whose values override the cloud's. */
  regions?: ReadonlyArray<string | { name: string; values?: Omit<CloudConfigObject, 'cloud' | 'regions'> }>;
  /** public, internal or admin (also publicURL, ...). `endpoint_type` is the old name. */
  interface?: string;
  endpoint_type?: string;
  baremetal_interface?: string;
  baremetal_endpoint_override?: string;
  baremetal_api_version?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  verify?: boolean;
  insecure?: boolean;
  /** Domain of a user or project given by name with no domain of its own. Default `default`. */
  default_domain?: string;
}

/** What the CLI's flags set (one per `--os-*` option); each overrides the same key from anywhere else. */
export interface CloudFlags {
  cloud?: string;
  authType?: string;
  authUrl?: string;
  username?: string;
  userId?: string;
  password?: string;
  projectName?: string;
  projectId?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  defaultDomain?: string;
  token?: string;
  appCredId?: string;
  appCredName?: string;
  appCredSecret?: string;
  endpoint?: string;
  region?: string;
  interface?: string;
  microversion?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
}

export interface CloudSources {
  /** The process environment (OS_*, IRONIC_URL, OS_CLIENT_CONFIG_FILE, XDG_CONFIG_HOME). */
  env: Readonly<Record<string, string | undefined>>;
  /** Where ./clouds.yaml is looked for, and what relative file paths are relative to. */
  cwd: string;
  /** For ~/.config/openstack and `~/` in file paths. */
  home: string;
  /** The system-wide directory; default /etc/openstack. Tests point it elsewhere. */
  siteConfigDir?: string;
}

export interface ResolveCloudOptions extends CloudSources {
  flags?: CloudFlags;
  /** How messages name a flag that was given under another name (e.g. endpoint: '--ironic-url'). */
  flagNames?: Partial<Record<keyof CloudFlags, string>>;
  /** A cloud name that beats flags.cloud and OS_CLOUD. */
  cloud?: string;
}

export const SITE_CONFIG_DIR = '/etc/openstack';
/** The name of the cloud OS_* variables form when no cloud is named (openstacksdk; OS_CLOUD_NAME renames it). */
export const ENVVARS_CLOUD = 'envvars';
export const DEFAULT_DOMAIN = 'default';

// ---------------------------------------------------------------------------------------------
// The keys: where each setting may be given

type Field = keyof Omit<CloudFlags, 'cloud'>;

interface FieldSpec {
  /** Keys inside a cloud's `auth:`; also accepted at the cloud's top level (which wins, as in openstacksdk). */
  auth?: readonly string[];
  /** Keys at a cloud's top level only. */
  top?: readonly string[];
  /** Environment variables, the first set one wins. */
  env: readonly string[];
  flag: string;
  secret?: true;
}

const FIELDS: Record<Field, FieldSpec> = {
  authType: { top: ['auth_type', 'auth_plugin'], env: ['OS_AUTH_TYPE'], flag: '--os-auth-type' },
  authUrl: { auth: ['auth_url'], env: ['OS_AUTH_URL'], flag: '--os-auth-url' },
  username: { auth: ['username'], env: ['OS_USERNAME'], flag: '--os-username' },
  userId: { auth: ['user_id'], env: ['OS_USER_ID'], flag: '--os-user-id' },
  password: { auth: ['password'], env: ['OS_PASSWORD'], flag: '--os-password', secret: true },
  projectName: {
    auth: ['project_name', 'tenant_name'],
    env: ['OS_PROJECT_NAME', 'OS_TENANT_NAME'],
    flag: '--os-project-name',
  },
  projectId: {
    auth: ['project_id', 'tenant_id'],
    env: ['OS_PROJECT_ID', 'OS_TENANT_ID'],
    flag: '--os-project-id',
  },
  userDomainName: { auth: ['user_domain_name'], env: ['OS_USER_DOMAIN_NAME'], flag: '--os-user-domain-name' },
  userDomainId: { auth: ['user_domain_id'], env: ['OS_USER_DOMAIN_ID'], flag: '--os-user-domain-id' },
  projectDomainName: {
    auth: ['project_domain_name'],
    env: ['OS_PROJECT_DOMAIN_NAME'],
    flag: '--os-project-domain-name',
  },
  projectDomainId: {
    auth: ['project_domain_id'],
    env: ['OS_PROJECT_DOMAIN_ID'],
    flag: '--os-project-domain-id',
  },
  defaultDomain: { top: ['default_domain'], env: ['OS_DEFAULT_DOMAIN'], flag: '--os-default-domain' },
  token: {
    auth: ['token', 'auth_token'],
    env: ['OS_TOKEN', 'OS_AUTH_TOKEN'],
    flag: '--os-token',
    secret: true,
  },
  appCredId: {
    auth: ['application_credential_id'],
    env: ['OS_APPLICATION_CREDENTIAL_ID'],
    flag: '--os-application-credential-id',
  },
  appCredName: {
    auth: ['application_credential_name'],
    env: ['OS_APPLICATION_CREDENTIAL_NAME'],
    flag: '--os-application-credential-name',
  },
  appCredSecret: {
    auth: ['application_credential_secret'],
    env: ['OS_APPLICATION_CREDENTIAL_SECRET'],
    flag: '--os-application-credential-secret',
    secret: true,
  },
  endpoint: {
    top: ['baremetal_endpoint_override'],
    auth: ['endpoint', 'url'],
    env: ['IRONIC_URL', 'OS_BAREMETAL_ENDPOINT_OVERRIDE', 'OS_ENDPOINT', 'OS_URL'],
    flag: '--os-endpoint',
  },
  region: { top: ['region_name'], env: ['OS_REGION_NAME'], flag: '--os-region-name' },
  interface: {
    top: ['baremetal_interface', 'interface', 'endpoint_type'],
    env: ['OS_BAREMETAL_INTERFACE', 'OS_INTERFACE', 'OS_ENDPOINT_TYPE'],
    flag: '--os-interface',
  },
  microversion: {
    top: ['baremetal_api_version'],
    env: ['OS_BAREMETAL_API_VERSION'],
    flag: '--os-baremetal-api-version',
  },
  cacert: { top: ['cacert'], env: ['OS_CACERT'], flag: '--os-cacert' },
  cert: { top: ['cert'], env: ['OS_CERT'], flag: '--os-cert' },
  key: { top: ['key'], env: ['OS_KEY'], flag: '--os-key' },
  insecure: { top: ['insecure'], env: ['OS_INSECURE'], flag: '--insecure' },
};

/** `domain_name` / `domain_id`: both domains at once (openstacksdk), only in files and OS_DOMAIN_*. */
const SHARED_DOMAIN = {
  name: { auth: ['domain_name'], env: ['OS_DOMAIN_NAME'] },
  id: { auth: ['domain_id'], env: ['OS_DOMAIN_ID'] },
} as const;

const FIELD_NAMES = Object.keys(FIELDS) as Field[];
const KNOWN_AUTH_KEYS = new Set<string>([
  ...FIELD_NAMES.flatMap((f) => FIELDS[f].auth ?? []),
  ...SHARED_DOMAIN.name.auth,
  ...SHARED_DOMAIN.id.auth,
]);

/** A value and where it was read, for messages: `OS_INTERFACE`, `--os-interface`, `interface in cloud "x" (file)`. */
interface Sourced<T = string> {
  value: T;
  from: string;
}

type Values = { [F in Exclude<Field, 'insecure'>]?: Sourced } & {
  insecure?: Sourced<boolean>;
  domainName?: Sourced;
  domainId?: Sourced;
};

/** One layer of settings (a file's cloud, the environment, the flags, an inline object). */
interface Layer {
  values: Values;
  /** Keys under `auth:` that no auth type reads (likely typos), for the hint of a "missing" error. */
  unknownAuthKeys: string[];
}

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * The settings the CLI uses: flags, then OS_* variables, then the cloud of clouds.yaml named by
 * `cloud`, flags.cloud or OS_CLOUD. Without a name, OS_* variables form the `envvars` cloud; with
 * no flags and no variables either, the only cloud of clouds.yaml (when it holds just one).
 */
export function resolveCloudSettings(opts: ResolveCloudOptions): CloudSettings {
  const env = opts.env;
  const flagLayer = layerOfFlags(opts.flags ?? {}, opts.flagNames ?? {});
  const envLayer = layerOfEnv(env);
  const envName = nonEmpty(env.OS_CLOUD_NAME) ?? ENVVARS_CLOUD;
  const name = nonEmpty(opts.cloud) ?? nonEmpty(opts.flags?.cloud) ?? nonEmpty(env.OS_CLOUD);
  const fromFlags = hasSettings(flagLayer);
  const fromEnv = hasSettings(envLayer);

  if (name !== undefined && !(name === envName && fromEnv)) {
    const files = loadCloudFiles(opts);
    const region = flagLayer.values.region?.value ?? envLayer.values.region?.value;
    const base = fileCloud(files, name, region, envName, fromEnv);
    return settingsOf(merge(base.layer, envLayer, flagLayer), {
      origin: `cloud "${name}" in ${files.describe()}${overridden(fromEnv, fromFlags)}`,
      file: files.cloudsFile,
      cloud: name,
      sources: opts,
    });
  }
  if (name !== undefined || fromEnv) {
    return settingsOf(merge(envLayer, flagLayer), {
      origin: `the ${envName} cloud (OS_* variables)${fromFlags ? ' and flags' : ''}`,
      cloud: envName,
      sources: opts,
    });
  }
  if (fromFlags) return settingsOf(flagLayer, { origin: 'flags', sources: opts });

  // Nothing given: openstacksdk's default, the only cloud clouds.yaml defines.
  const files = loadCloudFiles(opts);
  const names = Object.keys(files.clouds);
  if (names.length === 1) {
    const only = names[0]!;
    const region = flagLayer.values.region?.value ?? envLayer.values.region?.value;
    const base = fileCloud(files, only, region, envName, false);
    return settingsOf(merge(base.layer, envLayer, flagLayer), {
      origin: `cloud "${only}" in ${files.describe()} (its only cloud)`,
      file: files.cloudsFile,
      cloud: only,
      sources: opts,
    });
  }
  if (names.length > 1) {
    throw new CloudConfigError(
      'CLOUD_NOT_FOUND',
      `No cloud chosen: ${files.cloudsFile} defines ${names.map((n) => `"${n}"`).join(', ')}; name one with --os-cloud NAME or OS_CLOUD.`,
      { file: files.cloudsFile, clouds: names },
    );
  }
  throw new CloudConfigError(
    'CLOUD_CONFIG_MISSING',
    `No Ironic endpoint: pass --ironic-url URL (or set IRONIC_URL / OS_ENDPOINT), or name a cloud of clouds.yaml with --os-cloud NAME (OS_CLOUD); looked for clouds.yaml in ${searchDirs(opts).join(', ')}. For a local simulator: \`ironledger sim\`.`,
  );
}

/**
 * The library's form: a cloud given inline as clouds.yaml holds it, or `{ cloud: 'name', ... }`
 * to read that cloud from clouds.yaml (found as openstacksdk finds it) with the other keys as
 * overrides. OS_* variables are not read (only OS_CLIENT_CONFIG_FILE / OS_CLIENT_SECURE_FILE
 * and XDG_CONFIG_HOME, to find the files), as openstacksdk's `connect(cloud=...)`.
 */
export function cloudSettingsFromConfig(config: CloudConfigObject, sources: CloudSources): CloudSettings {
  if (!isMapping(config)) {
    throw new CloudConfigError('CLOUD_CONFIG_INVALID', 'The cloud options must be an object.');
  }
  const name = config.cloud === undefined ? undefined : nonEmpty(String(config.cloud));
  const entry = config as Record<string, unknown>;
  const where = (key: string): string => `option ${key}`;
  const own = layerOfEntry(entry, where);
  if (name === undefined) {
    const region = regionValues(entry, where, undefined, {});
    return settingsOf(region === undefined ? own : merge(own, region), {
      origin: 'the cloud options',
      sources,
    });
  }
  const files = loadCloudFiles(sources);
  const base = fileCloud(files, name, own.values.region?.value, ENVVARS_CLOUD, false);
  const overrides = Object.keys(own.values).length > 0;
  return settingsOf(merge(base.layer, own), {
    origin: `cloud "${name}" in ${files.describe()}${overrides ? ', overridden by the options given' : ''}`,
    file: files.cloudsFile,
    cloud: name,
    sources,
  });
}

/** The directories clouds.yaml and secure.yaml are looked for in, in order (after the *_FILE variables). */
export function searchDirs(sources: CloudSources): string[] {
  const dirs = [sources.cwd];
  const xdg = nonEmpty(sources.env.XDG_CONFIG_HOME);
  if (xdg !== undefined && isAbsolute(xdg)) dirs.push(join(xdg, 'openstack'));
  dirs.push(join(sources.home, '.config', 'openstack'), sources.siteConfigDir ?? SITE_CONFIG_DIR);
  return [...new Set(dirs)];
}

// ---------------------------------------------------------------------------------------------
// Files

const SUFFIXES = ['.yaml', '.yml', '.json'];

interface CloudFiles {
  cloudsFile?: string;
  secureFile?: string;
  /** Every cloud of clouds.yaml with secure.yaml merged in. */
  clouds: Record<string, unknown>;
  /** Files found but not readable (permission), skipped as openstacksdk skips them. */
  skipped: string[];
  searched: string[];
  describe(): string;
}

function loadCloudFiles(sources: CloudSources): CloudFiles {
  const dirs = searchDirs(sources);
  const skipped: string[] = [];
  const clouds = findFile('clouds', 'OS_CLIENT_CONFIG_FILE', dirs, sources, skipped);
  const secure = findFile('secure', 'OS_CLIENT_SECURE_FILE', dirs, sources, skipped);
  const cloudsDoc = clouds === undefined ? {} : readConfigFile(clouds);
  const secureDoc = secure === undefined ? {} : readConfigFile(secure);
  const merged = deepMerge(cloudsDoc, secureDoc);
  const all = merged.clouds ?? {};
  if (!isMapping(all)) {
    const file = isMapping(secureDoc.clouds) || secureDoc.clouds === undefined ? clouds : secure;
    throw new CloudConfigError(
      'CLOUD_CONFIG_INVALID',
      `${file}: "clouds" must be a mapping of cloud names.`,
      {
        file,
        key: 'clouds',
      },
    );
  }
  return {
    cloudsFile: clouds,
    secureFile: secure,
    clouds: all,
    skipped,
    searched: dirs,
    describe() {
      if (clouds === undefined && secure === undefined) return 'no clouds.yaml';
      const main = clouds ?? 'no clouds.yaml';
      return secure === undefined ? main : `${main} (with ${secure})`;
    },
  };
}

/** The first `base`.{yaml,yml,json} in the override variable, then in each directory. */
function findFile(
  base: string,
  variable: string,
  dirs: readonly string[],
  sources: CloudSources,
  skipped: string[],
): string | undefined {
  const override = nonEmpty(sources.env[variable]);
  if (override !== undefined) {
    const path = resolvePath(sources.cwd, expandHome(override, sources.home));
    // openstacksdk silently falls through to the other files; a file named on purpose that is not
    // there is far more likely a mistake than a wish for ~/.config/openstack/clouds.yaml.
    if (!isFile(path)) {
      throw new CloudConfigError('CLOUD_CONFIG_INVALID', `${variable} names ${path}, which is not a file.`, {
        file: path,
        key: variable,
      });
    }
    return path;
  }
  for (const dir of dirs) {
    for (const suffix of SUFFIXES) {
      const path = join(dir, `${base}${suffix}`);
      if (!isFile(path)) continue;
      try {
        accessSync(path, constants.R_OK);
      } catch {
        skipped.push(path);
        continue;
      }
      return path;
    }
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

let yamlModule: typeof import('yaml') | undefined;

/**
 * The YAML parser, loaded on first use: importing it costs 70-240 ms here, which every CLI
 * command would pay at start although most read no file (and a signal test counts on a quick start).
 */
function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}

/** A clouds.yaml, secure.yaml or .json file as a mapping; numbers keep their text (`1.80` stays "1.80"). */
function readConfigFile(path: string): Record<string, unknown> {
  const { LineCounter, parseDocument, visit, YAMLParseError } = yaml();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CloudConfigError('CLOUD_CONFIG_INVALID', `${path} cannot be read (${errnoOf(err)}).`, {
      file: path,
    });
  }
  const lineCounter = new LineCounter();
  // prettyErrors: false keeps the source text (which may hold a password) out of the error.
  const doc = parseDocument(text, { merge: true, prettyErrors: false, lineCounter, uniqueKeys: true });
  const err = doc.errors[0];
  if (err !== undefined) {
    const { line, col } = lineCounter.linePos(err.pos[0]);
    const code = err instanceof YAMLParseError ? err.code : 'BAD_YAML';
    throw new CloudConfigError(
      'CLOUD_CONFIG_INVALID',
      `${path} is not valid YAML: ${code} at line ${line}, column ${col}.`,
      { file: path },
    );
  }
  visit(doc, {
    Scalar(_key, node) {
      // YAML reads `1.80` as the number 1.8 and `0123` as 123: keep what was written.
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new CloudConfigError(
      'CLOUD_CONFIG_INVALID',
      `${path} is not valid YAML (${e instanceof Error ? e.name : 'error'}).`,
      { file: path },
    );
  }
  if (!isMapping(data)) {
    throw new CloudConfigError('CLOUD_CONFIG_INVALID', `${path} is empty or not a mapping.`, { file: path });
  }
  return data;
}

/** The cloud `name` from the files, with its region's values applied. */
function fileCloud(
  files: CloudFiles,
  name: string,
  wantedRegion: string | undefined,
  envName: string,
  envCloud: boolean,
): { layer: Layer } {
  const entry = Object.hasOwn(files.clouds, name) ? files.clouds[name] : undefined;
  if (entry === undefined) {
    const names = Object.keys(files.clouds);
    if (envCloud) names.push(envName);
    const where =
      files.cloudsFile === undefined && files.secureFile === undefined
        ? `no clouds.yaml found (looked in ${files.searched.join(', ')})`
        : `not in ${files.describe()}`;
    const skipped = files.skipped.length ? `; skipped, not readable: ${files.skipped.join(', ')}` : '';
    const known = names.length ? `; clouds defined: ${names.map((n) => `"${n}"`).join(', ')}` : '';
    throw new CloudConfigError('CLOUD_NOT_FOUND', `Cloud "${name}": ${where}${known}${skipped}.`, {
      ...(files.cloudsFile === undefined ? {} : { file: files.cloudsFile }),
      cloud: name,
      clouds: names,
    });
  }
  const file = files.cloudsFile ?? files.secureFile;
  const where = (key: string): string => `${key} of cloud "${name}" (${file})`;
  if (!isMapping(entry)) {
    throw new CloudConfigError('CLOUD_CONFIG_INVALID', `Cloud "${name}" in ${file} is not a mapping.`, {
      file,
      cloud: name,
    });
  }
  const facts = { ...(file === undefined ? {} : { file }), cloud: name };
  const layer = layerOfEntry(entry, where, facts);
  const region = regionValues(entry, where, wantedRegion, facts);
  return { layer: region === undefined ? layer : merge(layer, region) };
}

/**
 * openstacksdk's `regions:` list: the region asked for (region_name, OS_REGION_NAME) or the first,
 * whose `values` override the cloud's own.
 */
function regionValues(
  entry: Record<string, unknown>,
  where: (key: string) => string,
  wantedRegion: string | undefined,
  facts: { file?: string | undefined; cloud?: string },
): Layer | undefined {
  const regions = entry.regions;
  if (regions === undefined || regions === null) return undefined;
  if (!Array.isArray(regions)) {
    throw new CloudConfigError('CLOUD_CONFIG_INVALID', `${where('regions')} must be a list.`, {
      ...facts,
      key: 'regions',
    });
  }
  const list = regions.map((r: unknown, i) => {
    if (typeof r === 'string') return { name: r, values: {} as Record<string, unknown> };
    if (isMapping(r) && typeof r.name === 'string' && (r.values === undefined || isMapping(r.values)))
      return { name: r.name, values: (r.values ?? {}) as Record<string, unknown> };
    throw new CloudConfigError(
      'CLOUD_CONFIG_INVALID',
      `${where(`regions[${i}]`)} must be a name or { name, values }.`,
      { ...facts, key: 'regions' },
    );
  });
  if (list.length === 0) return undefined;
  const wanted =
    wantedRegion ?? (typeof entry.region_name === 'string' ? nonEmpty(entry.region_name) : undefined);
  const region = wanted === undefined ? list[0]! : list.find((r) => r.name === wanted);
  if (region === undefined) {
    throw new CloudConfigError(
      'CLOUD_CONFIG_INVALID',
      `${where('regions')} has no region "${wanted}"; its regions: ${list.map((r) => `"${r.name}"`).join(', ')}.`,
      { ...facts, key: 'region_name' },
    );
  }
  const layer = layerOfEntry(region.values, (key) => where(`regions[${region.name}].${key}`), facts);
  layer.values.region ??= { value: region.name, from: where('regions') };
  return layer;
}

// ---------------------------------------------------------------------------------------------
// Layers

function layerOfEntry(
  entry: Record<string, unknown>,
  where: (key: string) => string,
  facts: CloudConfigErrorFacts = {},
): Layer {
  const auth = entry.auth;
  if (auth !== undefined && auth !== null && !isMapping(auth)) {
    throw invalidKey(where('auth'), 'must be a mapping', facts);
  }
  const authMap: Record<string, unknown> = isMapping(auth) ? auth : {};
  const values: Values = {};
  const pick = (spec: { auth?: readonly string[]; top?: readonly string[] }): Sourced | undefined => {
    // Top-level keys win over auth's, as in openstacksdk (they may hold overrides).
    for (const key of [...(spec.top ?? []), ...(spec.auth ?? [])]) {
      const v = stringValue(entry[key], where(key), facts);
      if (v !== undefined) return { value: v, from: where(key) };
    }
    for (const key of spec.auth ?? []) {
      const v = stringValue(authMap[key], where(`auth.${key}`), facts);
      if (v !== undefined) return { value: v, from: where(`auth.${key}`) };
    }
    return undefined;
  };
  for (const field of FIELD_NAMES) {
    if (field === 'insecure') continue;
    const v = pick(FIELDS[field]);
    if (v !== undefined) values[field] = v;
  }
  const domainName = pick(SHARED_DOMAIN.name);
  const domainId = pick(SHARED_DOMAIN.id);
  if (domainName) values.domainName = domainName;
  if (domainId) values.domainId = domainId;
  // insecure: true and verify: false both skip verification; insecure wins when both are set.
  const insecure = boolValue(entry.insecure, where('insecure'), facts);
  const verify = boolValue(entry.verify, where('verify'), facts);
  if (insecure !== undefined) values.insecure = { value: insecure, from: where('insecure') };
  else if (verify !== undefined) values.insecure = { value: !verify, from: where('verify') };
  const unknownAuthKeys = Object.keys(authMap).filter((k) => !KNOWN_AUTH_KEYS.has(k));
  return { values, unknownAuthKeys };
}

function layerOfEnv(env: CloudSources['env']): Layer {
  const values: Values = {};
  const pick = (names: readonly string[]): Sourced | undefined => {
    for (const name of names) {
      const v = nonEmpty(env[name]);
      if (v !== undefined) return { value: v, from: name };
    }
    return undefined;
  };
  for (const field of FIELD_NAMES) {
    const v = pick(FIELDS[field].env);
    if (v === undefined) continue;
    if (field === 'insecure') {
      values.insecure = { value: parseBool(v.value, v.from), from: v.from };
    } else values[field] = v;
  }
  const domainName = pick(SHARED_DOMAIN.name.env);
  const domainId = pick(SHARED_DOMAIN.id.env);
  if (domainName) values.domainName = domainName;
  if (domainId) values.domainId = domainId;
  return { values, unknownAuthKeys: [] };
}

function layerOfFlags(flags: CloudFlags, names: Partial<Record<keyof CloudFlags, string>>): Layer {
  const values: Values = {};
  for (const field of FIELD_NAMES) {
    const from = names[field] ?? FIELDS[field].flag;
    if (field === 'insecure') {
      if (flags.insecure === true) values.insecure = { value: true, from };
      continue;
    }
    const v = flags[field];
    const text = typeof v === 'string' ? nonEmpty(v) : undefined;
    if (text !== undefined) values[field] = { value: text, from };
  }
  return { values, unknownAuthKeys: [] };
}

/** Whether a layer says anything beyond the region (a selector, as in openstacksdk). */
function hasSettings(layer: Layer): boolean {
  return Object.keys(layer.values).some((k) => k !== 'region');
}

/** Later layers win, key by key. */
function merge(...layers: Layer[]): Layer {
  const values: Values = {};
  for (const layer of layers) Object.assign(values, layer.values);
  return { values, unknownAuthKeys: layers.flatMap((l) => l.unknownAuthKeys) };
}

function overridden(env: boolean, flags: boolean): string {
  if (env && flags) return ', overridden by OS_* variables and flags';
  if (env) return ', overridden by OS_* variables';
  if (flags) return ', overridden by flags';
  return '';
}

// ---------------------------------------------------------------------------------------------
// From merged values to CloudSettings

interface Context {
  origin: string;
  file?: string;
  cloud?: string;
  sources: CloudSources;
}

const AUTH_TYPES = [
  'none',
  'noauth',
  'http_basic',
  'admin_token',
  'token_endpoint',
  'token',
  'v3token',
  'password',
  'v3password',
  'v3applicationcredential',
] as const;
type AuthTypeName = (typeof AUTH_TYPES)[number];

function settingsOf(layer: Layer, ctx: Context): CloudSettings {
  const v = applySharedDomain(layer.values);
  const facts = { ...(ctx.file ? { file: ctx.file } : {}), ...(ctx.cloud ? { cloud: ctx.cloud } : {}) };
  const fail = (message: string, more: CloudConfigErrorFacts = {}): CloudConfigError =>
    new CloudConfigError('CLOUD_CONFIG_INVALID', `${ctx.origin}: ${message}`, { ...facts, ...more });

  const authType = authTypeOf(v, fail);
  const endpoint = v.endpoint === undefined ? undefined : checkUrl(v.endpoint, 'endpoint', fail);
  const need = (present: boolean, what: string, field: Field | 'user' | 'project' | 'appCred'): string[] =>
    present ? [] : [`${what} (${whereToSet(field)})`];
  const missingError = (kind: string, needs: string, missing: string[], hint = ''): CloudConfigError => {
    const typos = layer.unknownAuthKeys.length
      ? `; unknown keys under auth: ${layer.unknownAuthKeys.join(', ')}`
      : '';
    return fail(`${kind} needs ${needs}; missing: ${missing.join(', ')}${typos}${hint}.`, {
      missing: missing.map((m) => m.replace(/ \(.*$/, '')),
    });
  };
  const defaultDomain = v.defaultDomain?.value ?? DEFAULT_DOMAIN;

  let auth: IronicAuth;
  switch (authType) {
    case 'none':
    case 'noauth': {
      auth = { type: 'noauth' };
      if (endpoint === undefined)
        throw missingError(
          'auth_type none (Ironic noauth)',
          'the Ironic endpoint',
          need(false, 'endpoint', 'endpoint'),
        );
      break;
    }
    case 'http_basic': {
      const missing = [
        ...need(v.username !== undefined, 'username', 'username'),
        ...need(v.password !== undefined, 'password', 'password'),
        ...need(endpoint !== undefined, 'endpoint', 'endpoint'),
      ];
      if (missing.length)
        throw missingError('http_basic auth', 'a username, a password and the Ironic endpoint', missing);
      auth = { type: 'basic', username: v.username!.value, password: v.password!.value };
      break;
    }
    case 'admin_token':
    case 'token_endpoint': {
      const missing = [
        ...need(v.token !== undefined, 'token', 'token'),
        ...need(endpoint !== undefined, 'endpoint', 'endpoint'),
      ];
      if (missing.length) throw missingError(`${authType} auth`, 'a token and the Ironic endpoint', missing);
      auth = { type: 'token', token: v.token!.value };
      break;
    }
    case 'token':
    case 'v3token': {
      // With auth_url: a Keystone token exchanged for a project-scoped one. `token` without
      // auth_url: the token is sent as it is to the endpoint given (OS_TOKEN + OS_URL).
      if (authType === 'token' && v.authUrl === undefined) {
        const missing = [
          ...need(v.token !== undefined, 'token', 'token'),
          ...need(endpoint !== undefined, 'endpoint', 'endpoint'),
        ];
        if (missing.length)
          throw missingError(
            'token auth',
            'a token and either the Ironic endpoint (the token is sent as it is) or auth_url (Keystone)',
            missing,
          );
        auth = { type: 'token', token: v.token!.value };
        break;
      }
      const missing = [
        ...need(v.authUrl !== undefined, 'auth_url', 'authUrl'),
        ...need(v.token !== undefined, 'token', 'token'),
        ...need(hasProject(v), 'a project', 'project'),
      ];
      if (missing.length)
        throw missingError(`${authType} auth (Keystone)`, 'auth_url, a token and a project', missing);
      auth = {
        type: 'keystoneToken',
        authUrl: checkUrl(v.authUrl!, 'auth_url', fail),
        token: v.token!.value,
        project: projectOf(v, defaultDomain),
      };
      break;
    }
    case 'password':
    case 'v3password': {
      const missing = [
        ...need(v.authUrl !== undefined, 'auth_url', 'authUrl'),
        ...need(v.username !== undefined || v.userId !== undefined, 'a user', 'user'),
        ...need(v.password !== undefined, 'password', 'password'),
        ...need(hasProject(v), 'a project', 'project'),
      ];
      if (missing.length) {
        const hint =
          v.authUrl === undefined && endpoint !== undefined && v.username !== undefined
            ? '; for an Ironic with http_basic, set auth_type http_basic'
            : '';
        throw missingError(
          `${authType} auth (Keystone)`,
          'auth_url, a user, a password and a project',
          missing,
          hint,
        );
      }
      auth = {
        type: 'password',
        authUrl: checkUrl(v.authUrl!, 'auth_url', fail),
        user: userOf(v, defaultDomain),
        password: v.password!.value,
        project: projectOf(v, defaultDomain),
      };
      break;
    }
    case 'v3applicationcredential': {
      const byName = v.appCredId === undefined && v.appCredName !== undefined;
      const missing = [
        ...need(v.authUrl !== undefined, 'auth_url', 'authUrl'),
        ...need(
          v.appCredId !== undefined || v.appCredName !== undefined,
          'application_credential_id',
          'appCred',
        ),
        ...need(v.appCredSecret !== undefined, 'application_credential_secret', 'appCredSecret'),
        ...(byName ? need(v.username !== undefined || v.userId !== undefined, 'a user', 'user') : []),
      ];
      if (missing.length)
        throw missingError(
          'v3applicationcredential auth (Keystone)',
          'auth_url, the credential (its id, or its name and user) and its secret',
          missing,
        );
      auth = {
        type: 'applicationCredential',
        authUrl: checkUrl(v.authUrl!, 'auth_url', fail),
        ...(v.appCredId ? { id: v.appCredId.value } : { name: v.appCredName!.value }),
        ...(byName ? { user: userOf(v, defaultDomain) } : {}),
        secret: v.appCredSecret!.value,
      };
      break;
    }
  }

  const settings: CloudSettings = {
    auth,
    interface: interfaceOf(v.interface, fail),
    tls: tlsOf(v, ctx.sources, fail),
    origin: ctx.origin,
  };
  if (endpoint !== undefined) settings.endpoint = endpoint;
  if (v.region !== undefined) settings.region = v.region.value;
  const microversion = microversionOf(v.microversion, fail);
  if (microversion !== undefined) settings.microversion = microversion;
  return settings;
}

/**
 * auth_type as given, or chosen as the openstack CLI chooses it (osc-lib's
 * _auth_select_default_plugin): a user means password, a token means token, and otherwise
 * password, except that an application credential means v3applicationcredential and nothing
 * at all (only an endpoint) means none, Ironic's standalone noauth.
 */
function authTypeOf(
  v: Values,
  fail: (m: string, f?: CloudConfigErrorFacts) => CloudConfigError,
): AuthTypeName {
  if (v.authType !== undefined) {
    const t = v.authType.value.trim().toLowerCase();
    if ((AUTH_TYPES as readonly string[]).includes(t)) return t as AuthTypeName;
    throw fail(
      `${v.authType.from} "${v.authType.value}" is not an auth type we know; use one of none, http_basic, token, v3token, admin_token, password, v3password, v3applicationcredential.`,
      { key: v.authType.from },
    );
  }
  const user = v.username !== undefined || v.userId !== undefined;
  if ((v.appCredId !== undefined || v.appCredSecret !== undefined) && v.password === undefined)
    return 'v3applicationcredential';
  if (user) return 'password';
  if (v.token !== undefined) return 'token';
  if (v.authUrl !== undefined || v.password !== undefined) return 'password';
  return 'none';
}

/**
 * openstacksdk: `domain_name` / `domain_id` stand for the user's and the project's domain when
 * a project is named; a domain set for one of them (by id or name) is kept.
 */
function applySharedDomain(values: Values): Values {
  const v = { ...values };
  if (!hasProject(v)) return v;
  if (v.domainId !== undefined) {
    if (v.userDomainId === undefined && v.userDomainName === undefined) v.userDomainId = v.domainId;
    if (v.projectDomainId === undefined && v.projectDomainName === undefined) v.projectDomainId = v.domainId;
  }
  if (v.domainName !== undefined) {
    if (v.userDomainId === undefined && v.userDomainName === undefined) v.userDomainName = v.domainName;
    if (v.projectDomainId === undefined && v.projectDomainName === undefined)
      v.projectDomainName = v.domainName;
  }
  return v;
}

function hasProject(v: Values): boolean {
  return v.projectId !== undefined || v.projectName !== undefined;
}

/** A user by id, or by name in its domain (default_domain when none is given, as the openstack CLI). */
function userOf(v: Values, defaultDomain: string): KeystoneUser {
  if (v.userId !== undefined && v.username === undefined) return { userId: v.userId.value };
  const user: KeystoneUser = { username: v.username!.value };
  if (v.userId !== undefined) user.userId = v.userId.value;
  if (v.userDomainId !== undefined) user.userDomainId = v.userDomainId.value;
  else if (v.userDomainName !== undefined) user.userDomainName = v.userDomainName.value;
  else user.userDomainId = defaultDomain;
  return user;
}

function projectOf(v: Values, defaultDomain: string): KeystoneProject {
  if (v.projectId !== undefined) return { projectId: v.projectId.value };
  const project: KeystoneProject = { projectName: v.projectName!.value };
  if (v.projectDomainId !== undefined) project.projectDomainId = v.projectDomainId.value;
  else if (v.projectDomainName !== undefined) project.projectDomainName = v.projectDomainName.value;
  else project.projectDomainId = defaultDomain;
  return project;
}

function whereToSet(field: Field | 'user' | 'project' | 'appCred'): string {
  const one = (f: Field): string => {
    const spec = FIELDS[f];
    const key = spec.auth ? `auth.${spec.auth[0]}` : spec.top![0];
    return `${key}, ${spec.env[0]}, ${spec.flag}`;
  };
  switch (field) {
    case 'user':
      return `${one('username')}, or user_id`;
    case 'project':
      return `${one('projectName')}, or project_id`;
    case 'appCred':
      return `${one('appCredId')}, or application_credential_name with a user`;
    case 'endpoint':
      return `baremetal_endpoint_override, OS_ENDPOINT, IRONIC_URL, --ironic-url`;
    default:
      return one(field);
  }
}

function checkUrl(
  s: Sourced,
  what: string,
  fail: (m: string, f?: CloudConfigErrorFacts) => CloudConfigError,
): string {
  let url: URL;
  try {
    url = new URL(s.value);
  } catch {
    throw fail(`${what} (${s.from}) is not a URL: ${JSON.stringify(s.value)}.`, { key: s.from });
  }
  if (url.username !== '' || url.password !== '') {
    // Never echo it: the credentials in it are secrets.
    throw fail(`${what} (${s.from}) must not carry credentials; give them as auth settings.`, {
      key: s.from,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail(`${what} (${s.from}) must be an http or https URL, got ${JSON.stringify(s.value)}.`, {
      key: s.from,
    });
  }
  return s.value;
}

function interfaceOf(
  s: Sourced | undefined,
  fail: (m: string, f?: CloudConfigErrorFacts) => CloudConfigError,
): EndpointInterface {
  if (s === undefined) return 'public';
  // keystoneauth also takes the old catalog names publicURL, internalURL, adminURL.
  const name = s.value.trim().toLowerCase().replace(/url$/, '');
  if (name === 'public' || name === 'internal' || name === 'admin') return name;
  throw fail(`interface (${s.from}) must be public, internal or admin, got ${JSON.stringify(s.value)}.`, {
    key: s.from,
  });
}

function microversionOf(
  s: Sourced | undefined,
  fail: (m: string, f?: CloudConfigErrorFacts) => CloudConfigError,
): string | undefined {
  if (s === undefined) return undefined;
  const text = s.value.trim();
  if (text.toLowerCase() === 'latest') return undefined; // the highest both sides know: the default
  if (/^1\.\d+$/.test(text)) return text;
  throw fail(
    `baremetal_api_version (${s.from}) must be a microversion such as 1.78, or latest, got ${JSON.stringify(s.value)}.`,
    { key: s.from },
  );
}

function tlsOf(
  v: Values,
  sources: CloudSources,
  fail: (m: string, f?: CloudConfigErrorFacts) => CloudConfigError,
): CloudTls {
  const tls: CloudTls = {};
  const insecure = v.insecure?.value === true;
  const file = (s: Sourced, what: string): string => {
    const path = resolvePath(sources.cwd, expandHome(s.value, sources.home));
    try {
      accessSync(path, constants.R_OK);
      if (!statSync(path).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (err) {
      throw fail(`${what} (${s.from}) ${path} cannot be read (${errnoOf(err)}).`, { key: s.from });
    }
    return path;
  };
  // As openstacksdk: skipping verification wins over a CA bundle, which is then not used.
  if (insecure) tls.insecure = true;
  else if (v.cacert !== undefined) tls.caFile = file(v.cacert, 'cacert');
  // Node's TLS takes the certificate and its key as two PEMs: one without the other cannot work.
  if ((v.key === undefined) !== (v.cert === undefined)) {
    const given = (v.key ?? v.cert)!;
    const [has, lacks] = v.key === undefined ? ['cert', 'key'] : ['key', 'cert'];
    throw fail(`${has} (${given.from}) is given without ${lacks}: a client certificate needs both files.`, {
      key: given.from,
      missing: [lacks],
    });
  }
  if (v.cert !== undefined) tls.certFile = file(v.cert, 'cert');
  if (v.key !== undefined) tls.keyFile = file(v.key, 'key');
  return tls;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function invalidKey(where: string, what: string, facts: CloudConfigErrorFacts = {}): CloudConfigError {
  return new CloudConfigError('CLOUD_CONFIG_INVALID', `${where} ${what}.`, { ...facts, key: where });
}

/** A string setting from a file or the options: text or a number's text; never echoes the value. */
function stringValue(v: unknown, where: string, facts: CloudConfigErrorFacts): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string')
    throw invalidKey(where, `must be a string, not ${Array.isArray(v) ? 'a list' : typeof v}`, facts);
  return nonEmpty(v);
}

function boolValue(v: unknown, where: string, facts: CloudConfigErrorFacts): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return parseBool(v, where, facts);
  throw invalidKey(where, 'must be true or false', facts);
}

/** true/false as YAML 1.1 and oslo read them: true, yes, on, 1 / false, no, off, 0. */
function parseBool(text: string, where: string, facts: CloudConfigErrorFacts = {}): boolean {
  const t = text.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(t)) return true;
  if (['false', 'no', 'off', '0'].includes(t)) return false;
  throw invalidKey(where, `must be true or false, got ${JSON.stringify(text)}`, facts);
}

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const old = out[k];
    out[k] = isMapping(v) && isMapping(old) ? deepMerge(old, v) : v;
  }
  return out;
}

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}
