// Every rule of cloud-config.ts: where clouds.yaml and secure.yaml are found, which cloud is
// used, flag > environment > file, each auth type and its aliases, domains, interface, region,
// endpoint, microversion and TLS keys, every error, and that no error ever shows a secret.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CloudConfigError,
  cloudSettingsFromConfig,
  resolveCloudSettings,
  searchDirs,
  type CloudFlags,
  type ResolveCloudOptions,
} from '../../src/ironic/cloud-config.js';
import type { CloudSettings } from '../../src/ironic/cloud-settings.js';

const IRONIC = 'http://ironic.example:6385';
const KEYSTONE = 'https://keystone.example:5000/v3';

let root: string;
let cwd: string;
let home: string;
let site: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ironledger-cloud-config-'));
  cwd = join(root, 'work');
  home = join(root, 'home');
  site = join(root, 'etc-openstack');
  for (const d of [cwd, home, site]) mkdirSync(d, { recursive: true });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const userDir = (): string => join(home, '.config', 'openstack');

function resolve(
  env: Record<string, string> = {},
  flags: CloudFlags = {},
  more: Partial<ResolveCloudOptions> = {},
): CloudSettings {
  return resolveCloudSettings({ env, flags, cwd, home, siteConfigDir: site, ...more });
}

function failure(fn: () => unknown): CloudConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CloudConfigError);
    return err as CloudConfigError;
  }
  throw new Error('expected a CloudConfigError, nothing was thrown');
}

const noauthCloud = (name: string, url: string): string =>
  `clouds:\n  ${name}:\n    auth_type: none\n    baremetal_endpoint_override: ${url}\n`;

describe('where clouds.yaml is found', () => {
  it('searches OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack, /etc/openstack; the first found wins alone', () => {
    write(
      join(site, 'clouds.yaml'),
      noauthCloud('c', 'http://site:1') + noauthCloud('only-site', 'http://x:1').replace('clouds:\n', ''),
    );
    expect(resolve({ OS_CLOUD: 'c' }).endpoint).toBe('http://site:1');
    write(join(userDir(), 'clouds.yaml'), noauthCloud('c', 'http://user:1'));
    expect(resolve({ OS_CLOUD: 'c' }).endpoint).toBe('http://user:1');
    write(join(cwd, 'clouds.yaml'), noauthCloud('c', 'http://cwd:1'));
    expect(resolve({ OS_CLOUD: 'c' }).endpoint).toBe('http://cwd:1');
    const named = write(join(root, 'elsewhere', 'my.yaml'), noauthCloud('c', 'http://named:1'));
    const s = resolve({ OS_CLOUD: 'c', OS_CLIENT_CONFIG_FILE: named });
    expect(s.endpoint).toBe('http://named:1');
    expect(s.origin).toContain(named);
    // First found wins: clouds of later files are not merged in.
    const err = failure(() => resolve({ OS_CLOUD: 'only-site' }));
    expect(err.code).toBe('CLOUD_NOT_FOUND');
  });

  it('takes clouds.yml and clouds.json too, and $XDG_CONFIG_HOME/openstack before ~/.config/openstack', () => {
    write(
      join(userDir(), 'clouds.json'),
      JSON.stringify({ clouds: { j: { auth_type: 'none', baremetal_endpoint_override: 'http://json:1' } } }),
    );
    expect(resolve({ OS_CLOUD: 'j' }).endpoint).toBe('http://json:1');
    write(join(userDir(), 'clouds.yml'), noauthCloud('j', 'http://yml:1'));
    expect(resolve({ OS_CLOUD: 'j' }).endpoint).toBe('http://yml:1');
    const xdg = join(root, 'xdg');
    write(join(xdg, 'openstack', 'clouds.yaml'), noauthCloud('j', 'http://xdg:1'));
    expect(resolve({ OS_CLOUD: 'j', XDG_CONFIG_HOME: xdg }).endpoint).toBe('http://xdg:1');
    expect(searchDirs({ env: { XDG_CONFIG_HOME: xdg }, cwd, home, siteConfigDir: site })).toEqual([
      cwd,
      join(xdg, 'openstack'),
      userDir(),
      site,
    ]);
    expect(searchDirs({ env: {}, cwd, home })).toEqual([cwd, userDir(), '/etc/openstack']);
  });

  it('a relative OS_CLIENT_CONFIG_FILE is relative to the working directory', () => {
    write(join(cwd, 'conf', 'c.yaml'), noauthCloud('c', 'http://rel:1'));
    expect(resolve({ OS_CLOUD: 'c', OS_CLIENT_CONFIG_FILE: 'conf/c.yaml' }).endpoint).toBe('http://rel:1');
  });
});

describe('secure.yaml', () => {
  const clouds =
    'clouds:\n  prod:\n    auth_type: password\n    auth:\n      auth_url: ' +
    KEYSTONE +
    '\n      username: ops\n      project_name: infra\n      password: from-clouds\n';

  it('is found on the same search path, independently of clouds.yaml, and its keys win', () => {
    write(join(cwd, 'clouds.yaml'), clouds);
    write(join(userDir(), 'secure.yaml'), 'clouds:\n  prod:\n    auth:\n      password: from-secure\n');
    const s = resolve({ OS_CLOUD: 'prod' });
    expect(s.auth).toMatchObject({ type: 'password', password: 'from-secure' });
    // The rest of auth from clouds.yaml is kept: a deep merge, not a replacement of auth.
    expect(s.auth).toMatchObject({ authUrl: KEYSTONE, user: { username: 'ops' } });
    expect(s.origin).toContain(join(userDir(), 'secure.yaml'));
  });

  it('OS_CLIENT_SECURE_FILE comes first, and a cloud may live in secure.yaml alone', () => {
    write(join(cwd, 'clouds.yaml'), clouds);
    write(join(cwd, 'secure.yaml'), 'clouds:\n  prod:\n    auth:\n      password: cwd-secure\n');
    const named = write(
      join(root, 's.yaml'),
      'clouds:\n  prod:\n    auth:\n      password: named-secure\n  lab:\n    auth_type: none\n    baremetal_endpoint_override: http://lab:1\n',
    );
    const env = { OS_CLIENT_SECURE_FILE: named };
    expect(resolve({ ...env, OS_CLOUD: 'prod' }).auth).toMatchObject({ password: 'named-secure' });
    expect(resolve({ ...env, OS_CLOUD: 'lab' }).endpoint).toBe('http://lab:1');
  });
});

describe('which cloud, and precedence flag > environment > file', () => {
  const file = `clouds:
  prod:
    auth_type: token
    auth:
      token: file-token
    baremetal_endpoint_override: http://file:1
    region_name: file-region
    interface: internal
    baremetal_api_version: "1.70"
  lab:
    auth_type: none
    baremetal_endpoint_override: http://lab:1
`;

  it('--os-cloud (flags.cloud) beats OS_CLOUD, and an explicit cloud beats both', () => {
    write(join(cwd, 'clouds.yaml'), file);
    expect(resolve({ OS_CLOUD: 'prod' }, { cloud: 'lab' }).endpoint).toBe('http://lab:1');
    expect(resolve({ OS_CLOUD: 'lab' }, { cloud: 'lab' }, { cloud: 'prod' }).endpoint).toBe('http://file:1');
  });

  it('each key: the flag over OS_* over the file', () => {
    write(join(cwd, 'clouds.yaml'), file);
    const fileOnly = resolve({ OS_CLOUD: 'prod' });
    expect(fileOnly).toMatchObject({
      auth: { type: 'token', token: 'file-token' },
      endpoint: 'http://file:1',
      region: 'file-region',
      interface: 'internal',
      microversion: '1.70',
    });
    expect(fileOnly.origin).toBe(`cloud "prod" in ${join(cwd, 'clouds.yaml')}`);
    const env = {
      OS_CLOUD: 'prod',
      OS_TOKEN: 'env-token',
      OS_ENDPOINT: 'http://env:1',
      OS_REGION_NAME: 'env-region',
      OS_INTERFACE: 'admin',
      OS_BAREMETAL_API_VERSION: '1.75',
    };
    expect(resolve(env)).toMatchObject({
      auth: { token: 'env-token' },
      endpoint: 'http://env:1',
      region: 'env-region',
      interface: 'admin',
      microversion: '1.75',
    });
    const s = resolve(env, {
      token: 'flag-token',
      endpoint: 'http://flag:1',
      region: 'flag-region',
      interface: 'public',
      microversion: '1.80',
    });
    expect(s).toMatchObject({
      auth: { token: 'flag-token' },
      endpoint: 'http://flag:1',
      region: 'flag-region',
      interface: 'public',
      microversion: '1.80',
    });
    expect(s.origin).toContain('overridden by OS_* variables and flags');
    // A key given only in the file still comes from the file.
    expect(resolve({ OS_CLOUD: 'prod' }, { region: 'flag-region' }).auth).toMatchObject({
      token: 'file-token',
    });
  });

  it('an empty variable or flag counts as not set', () => {
    write(join(cwd, 'clouds.yaml'), file);
    expect(resolve({ OS_CLOUD: 'prod', OS_ENDPOINT: '', IRONIC_URL: ' ' }, { endpoint: '' }).endpoint).toBe(
      'http://file:1',
    );
  });

  it('OS_* variables form the envvars cloud when no cloud is named; files are then not read', () => {
    write(join(cwd, 'clouds.yaml'), 'clouds: [broken');
    const s = resolve({ OS_ENDPOINT: IRONIC, OS_TOKEN: 't' });
    expect(s).toMatchObject({ auth: { type: 'token', token: 't' }, endpoint: IRONIC });
    expect(s.origin).toBe('the envvars cloud (OS_* variables)');
    // OS_CLOUD=envvars names it; OS_CLOUD_NAME renames it.
    expect(resolve({ OS_CLOUD: 'envvars', OS_ENDPOINT: IRONIC }).auth).toEqual({ type: 'noauth' });
    expect(resolve({ OS_CLOUD_NAME: 'mine', OS_CLOUD: 'mine', OS_ENDPOINT: IRONIC }).origin).toContain(
      'the mine cloud',
    );
  });

  it('flags alone, with no cloud and no variables, are a cloud of their own', () => {
    const s = resolve({}, { endpoint: IRONIC, token: 't' });
    expect(s).toMatchObject({ auth: { type: 'token', token: 't' }, endpoint: IRONIC, origin: 'flags' });
  });

  it('with nothing given, the only cloud of clouds.yaml is used (openstacksdk); several is an error naming them', () => {
    write(join(cwd, 'clouds.yaml'), noauthCloud('solo', 'http://solo:1'));
    const s = resolve();
    expect(s.endpoint).toBe('http://solo:1');
    expect(s.origin).toContain('its only cloud');
    // A region alone is a selector, not a cloud of its own.
    expect(resolve({ OS_REGION_NAME: 'r1' })).toMatchObject({ endpoint: 'http://solo:1', region: 'r1' });
    write(join(cwd, 'clouds.yaml'), file);
    const err = failure(() => resolve());
    expect(err.code).toBe('CLOUD_NOT_FOUND');
    expect(err.clouds).toEqual(['prod', 'lab']);
    expect(err.message).toMatch(
      /No cloud chosen: .*clouds\.yaml defines "prod", "lab"; name one with --os-cloud/,
    );
  });

  it('a flag given in another name is named so in messages', () => {
    const err = failure(() =>
      resolve({}, { endpoint: 'not a url' }, { flagNames: { endpoint: '--ironic-url' } }),
    );
    expect(err.message).toContain('(--ironic-url) is not a URL: "not a url"');
  });
});

describe('auth types', () => {
  const keystone = (authType: string, auth: Record<string, string>, extra = ''): void => {
    const lines = Object.entries(auth)
      .map(([k, v]) => `      ${k}: ${v}\n`)
      .join('');
    write(join(cwd, 'clouds.yaml'), `clouds:\n  c:\n    auth_type: ${authType}\n    auth:\n${lines}${extra}`);
  };

  it('none and noauth: Ironic noauth at the endpoint', () => {
    for (const t of ['none', 'noauth', 'None']) {
      write(
        join(cwd, 'clouds.yaml'),
        `clouds:\n  c:\n    auth_type: ${t}\n    baremetal_endpoint_override: ${IRONIC}\n`,
      );
      expect(resolve({ OS_CLOUD: 'c' })).toMatchObject({ auth: { type: 'noauth' }, endpoint: IRONIC });
    }
  });

  it('http_basic: username and password sent to the endpoint', () => {
    keystone('http_basic', { username: 'admin', password: 'pw', endpoint: IRONIC });
    expect(resolve({ OS_CLOUD: 'c' })).toMatchObject({
      auth: { type: 'basic', username: 'admin', password: 'pw' },
      endpoint: IRONIC,
    });
  });

  it('token without auth_url, admin_token and token_endpoint: a static token against the endpoint', () => {
    for (const t of ['token', 'admin_token', 'token_endpoint']) {
      keystone(t, { token: 'tok', endpoint: IRONIC });
      expect(resolve({ OS_CLOUD: 'c' })).toEqual({
        auth: { type: 'token', token: 'tok' },
        endpoint: IRONIC,
        interface: 'public',
        tls: {},
        origin: expect.any(String),
      });
    }
    // OS_TOKEN + OS_URL: the classic static-token pair.
    expect(resolve({ OS_TOKEN: 'tok', OS_URL: IRONIC })).toMatchObject({
      auth: { type: 'token' },
      endpoint: IRONIC,
    });
  });

  it('token with auth_url and v3token: a Keystone token exchanged for a project-scoped one', () => {
    for (const t of ['token', 'v3token']) {
      keystone(t, { auth_url: KEYSTONE, token: 'tok', project_name: 'infra' });
      expect(resolve({ OS_CLOUD: 'c' }).auth).toEqual({
        type: 'keystoneToken',
        authUrl: KEYSTONE,
        token: 'tok',
        project: { projectName: 'infra', projectDomainId: 'default' },
      });
    }
  });

  it('password and v3password: Keystone password auth, project-scoped', () => {
    for (const t of ['password', 'v3password', 'PASSWORD']) {
      keystone(t, {
        auth_url: KEYSTONE,
        username: 'ops',
        password: 'pw',
        project_name: 'infra',
        user_domain_name: 'Ops',
        project_domain_id: 'pd',
      });
      expect(resolve({ OS_CLOUD: 'c' }).auth).toEqual({
        type: 'password',
        authUrl: KEYSTONE,
        user: { username: 'ops', userDomainName: 'Ops' },
        password: 'pw',
        project: { projectName: 'infra', projectDomainId: 'pd' },
      });
    }
    keystone('password', { auth_url: KEYSTONE, user_id: 'u1', password: 'pw', project_id: 'p1' });
    expect(resolve({ OS_CLOUD: 'c' }).auth).toMatchObject({
      user: { userId: 'u1' },
      project: { projectId: 'p1' },
    });
  });

  it('v3applicationcredential: by id, or by name with its user; never scoped', () => {
    keystone('v3applicationcredential', {
      auth_url: KEYSTONE,
      application_credential_id: 'ac1',
      application_credential_secret: 's3',
    });
    expect(resolve({ OS_CLOUD: 'c' }).auth).toEqual({
      type: 'applicationCredential',
      authUrl: KEYSTONE,
      id: 'ac1',
      secret: 's3',
    });
    keystone('v3applicationcredential', {
      auth_url: KEYSTONE,
      application_credential_name: 'ci',
      application_credential_secret: 's3',
      username: 'ops',
      project_name: 'ignored',
    });
    expect(resolve({ OS_CLOUD: 'c' }).auth).toEqual({
      type: 'applicationCredential',
      authUrl: KEYSTONE,
      name: 'ci',
      user: { username: 'ops', userDomainId: 'default' },
      secret: 's3',
    });
  });

  it('without auth_type, chosen as the openstack CLI does (user: password, token: token), plus app creds and noauth', () => {
    const base = { OS_AUTH_URL: KEYSTONE, OS_PROJECT_NAME: 'p' };
    expect(resolve({ ...base, OS_USERNAME: 'u', OS_PASSWORD: 'pw' }).auth.type).toBe('password');
    expect(resolve({ ...base, OS_USER_ID: 'u', OS_PASSWORD: 'pw' }).auth.type).toBe('password');
    expect(resolve({ ...base, OS_TOKEN: 't' }).auth.type).toBe('keystoneToken');
    expect(resolve({ OS_TOKEN: 't', OS_ENDPOINT: IRONIC }).auth.type).toBe('token');
    expect(
      resolve({
        OS_AUTH_URL: KEYSTONE,
        OS_APPLICATION_CREDENTIAL_ID: 'a',
        OS_APPLICATION_CREDENTIAL_SECRET: 's',
      }).auth.type,
    ).toBe('applicationCredential');
    expect(resolve({ IRONIC_URL: IRONIC }).auth).toEqual({ type: 'noauth' });
    // An auth_url alone means password (the CLI's ultimate default), which then says what it lacks.
    expect(failure(() => resolve({ OS_AUTH_URL: KEYSTONE })).missing).toEqual([
      'a user',
      'password',
      'a project',
    ]);
  });

  it("a lower layer's auth_type stays when a higher one only adds credentials", () => {
    keystone('password', { auth_url: KEYSTONE, username: 'ops', project_name: 'p' });
    // The password comes from the environment, the auth type from the file.
    expect(resolve({ OS_CLOUD: 'c', OS_PASSWORD: 'pw' }).auth).toMatchObject({
      type: 'password',
      password: 'pw',
    });
    // OS_AUTH_TYPE and --os-auth-type override it.
    expect(resolve({ OS_CLOUD: 'c', OS_AUTH_TYPE: 'none', OS_ENDPOINT: IRONIC }).auth.type).toBe('noauth');
    expect(
      resolve({ OS_CLOUD: 'c', OS_PASSWORD: 'pw' }, { authType: 'http_basic', endpoint: IRONIC }).auth,
    ).toEqual({
      type: 'basic',
      username: 'ops',
      password: 'pw',
    });
  });
});

describe('aliases', () => {
  it('tenant_*, auth_token, auth_plugin, endpoint_type, url, top-level auth keys', () => {
    write(
      join(cwd, 'clouds.yaml'),
      `clouds:
  c:
    auth_plugin: password
    endpoint_type: internalURL
    username: top-user
    auth:
      auth_url: ${KEYSTONE}
      username: auth-user
      password: pw
      tenant_name: legacy
      url: ${IRONIC}
`,
    );
    const s = resolve({ OS_CLOUD: 'c' });
    expect(s).toMatchObject({
      auth: { type: 'password', user: { username: 'top-user' }, project: { projectName: 'legacy' } },
      endpoint: IRONIC,
      interface: 'internal',
    });
    write(
      join(cwd, 'clouds.yaml'),
      `clouds:\n  c:\n    auth:\n      auth_token: t\n      endpoint: ${IRONIC}\n`,
    );
    expect(resolve({ OS_CLOUD: 'c' }).auth).toEqual({ type: 'token', token: 't' });
  });

  it('OS_TENANT_*, OS_AUTH_TOKEN, OS_ENDPOINT_TYPE, IRONIC_URL before OS_ENDPOINT', () => {
    expect(
      resolve({
        OS_AUTH_URL: KEYSTONE,
        OS_AUTH_TOKEN: 't',
        OS_TENANT_ID: 'tid',
        OS_ENDPOINT_TYPE: 'adminURL',
        IRONIC_URL: 'http://ironic-url:1',
        OS_ENDPOINT: 'http://os-endpoint:1',
      }),
    ).toMatchObject({
      auth: { type: 'keystoneToken', token: 't', project: { projectId: 'tid' } },
      interface: 'admin',
      endpoint: 'http://ironic-url:1',
    });
    // The project variables win over their tenant aliases.
    expect(
      resolve({ OS_AUTH_URL: KEYSTONE, OS_TOKEN: 't', OS_TENANT_NAME: 'a', OS_PROJECT_NAME: 'b' }).auth,
    ).toMatchObject({ project: { projectName: 'b' } });
    // baremetal_interface beats interface.
    expect(
      resolve({ IRONIC_URL: IRONIC, OS_INTERFACE: 'public', OS_BAREMETAL_INTERFACE: 'internal' }).interface,
    ).toBe('internal');
  });
});

describe('domains', () => {
  const pw = { OS_AUTH_URL: KEYSTONE, OS_USERNAME: 'u', OS_PASSWORD: 'pw', OS_PROJECT_NAME: 'p' };

  it('a user or project by name with no domain is in the default domain, `default` unless default_domain says', () => {
    expect(resolve(pw).auth).toMatchObject({
      user: { username: 'u', userDomainId: 'default' },
      project: { projectName: 'p', projectDomainId: 'default' },
    });
    expect(resolve({ ...pw, OS_DEFAULT_DOMAIN: 'corp' }).auth).toMatchObject({
      user: { userDomainId: 'corp' },
      project: { projectDomainId: 'corp' },
    });
    // By id: no domain is added.
    expect(resolve({ ...pw, OS_PROJECT_NAME: '', OS_PROJECT_ID: 'pid' }).auth).toMatchObject({
      project: { projectId: 'pid' },
    });
    expect(
      (resolve({ ...pw, OS_PROJECT_NAME: '', OS_PROJECT_ID: 'pid' }).auth as { project: object }).project,
    ).toEqual({
      projectId: 'pid',
    });
  });

  it('domain_name / domain_id stand for both domains when a project is named, without overriding one given', () => {
    expect(resolve({ ...pw, OS_DOMAIN_NAME: 'D' }).auth).toMatchObject({
      user: { userDomainName: 'D' },
      project: { projectDomainName: 'D' },
    });
    expect(resolve({ ...pw, OS_DOMAIN_ID: 'd1', OS_USER_DOMAIN_NAME: 'Users' }).auth).toMatchObject({
      user: { username: 'u', userDomainName: 'Users' },
      project: { projectDomainId: 'd1' },
    });
    write(
      join(cwd, 'clouds.yaml'),
      `clouds:\n  c:\n    auth:\n      auth_url: ${KEYSTONE}\n      username: u\n      password: pw\n      project_name: p\n      domain_id: shared\n`,
    );
    expect(resolve({ OS_CLOUD: 'c' }).auth).toMatchObject({
      user: { userDomainId: 'shared' },
      project: { projectDomainId: 'shared' },
    });
  });
});

describe('interface, region, endpoint, microversion', () => {
  it('interface defaults to public and takes public, internal, admin and their URL forms', () => {
    expect(resolve({ IRONIC_URL: IRONIC }).interface).toBe('public');
    for (const [given, want] of [
      ['internal', 'internal'],
      ['publicURL', 'public'],
      ['ADMIN', 'admin'],
    ]) {
      expect(resolve({ IRONIC_URL: IRONIC, OS_INTERFACE: given! }).interface).toBe(want);
    }
  });

  it('regions: the one named (region_name, OS_REGION_NAME, flag) or the first, its values over the cloud', () => {
    write(
      join(cwd, 'clouds.yaml'),
      `clouds:
  c:
    auth_type: none
    baremetal_endpoint_override: http://default:1
    regions:
      - name: r1
        values:
          baremetal_endpoint_override: http://r1:1
      - r2
`,
    );
    expect(resolve({ OS_CLOUD: 'c' })).toMatchObject({ region: 'r1', endpoint: 'http://r1:1' });
    expect(resolve({ OS_CLOUD: 'c', OS_REGION_NAME: 'r2' })).toMatchObject({
      region: 'r2',
      endpoint: 'http://default:1',
    });
    expect(resolve({ OS_CLOUD: 'c' }, { region: 'r2' })).toMatchObject({ region: 'r2' });
    const err = failure(() => resolve({ OS_CLOUD: 'c', OS_REGION_NAME: 'r9' }));
    expect(err.message).toMatch(/has no region "r9"; its regions: "r1", "r2"/);
  });

  it('the microversion keeps what was written (1.80 is not 1.8); latest means the highest', () => {
    write(
      join(cwd, 'clouds.yaml'),
      `clouds:\n  c:\n    auth_type: none\n    baremetal_endpoint_override: ${IRONIC}\n    baremetal_api_version: 1.80\n`,
    );
    expect(resolve({ OS_CLOUD: 'c' }).microversion).toBe('1.80');
    expect(resolve({ OS_CLOUD: 'c', OS_BAREMETAL_API_VERSION: 'latest' }).microversion).toBeUndefined();
  });

  it('numbers in files keep their text everywhere (a password 0123 stays 0123)', () => {
    write(
      join(cwd, 'clouds.yaml'),
      `clouds:\n  c:\n    auth_type: http_basic\n    auth:\n      username: 42\n      password: 0123\n      endpoint: ${IRONIC}\n`,
    );
    expect(resolve({ OS_CLOUD: 'c' }).auth).toEqual({ type: 'basic', username: '42', password: '0123' });
  });
});

describe('TLS', () => {
  it('cacert, cert and key: paths with ~ and relative ones resolved, checked readable', () => {
    write(join(home, 'ca.pem'), 'x');
    write(join(cwd, 'tls', 'client.pem'), 'x');
    write(join(cwd, 'tls', 'client.key'), 'x');
    const s = resolve({
      IRONIC_URL: IRONIC,
      OS_CACERT: '~/ca.pem',
      OS_CERT: 'tls/client.pem',
      OS_KEY: 'tls/client.key',
    });
    expect(s.tls).toEqual({
      caFile: join(home, 'ca.pem'),
      certFile: join(cwd, 'tls', 'client.pem'),
      keyFile: join(cwd, 'tls', 'client.key'),
    });
  });

  it('insecure: true, verify: false, OS_INSECURE and --insecure skip verification; that wins over cacert', () => {
    write(join(cwd, 'ca.pem'), 'x');
    const cloud = (extra: string): void =>
      void write(
        join(cwd, 'clouds.yaml'),
        `clouds:\n  c:\n    auth_type: none\n    baremetal_endpoint_override: ${IRONIC}\n    cacert: ca.pem\n${extra}`,
      );
    cloud('    verify: false\n');
    expect(resolve({ OS_CLOUD: 'c' }).tls).toEqual({ insecure: true });
    cloud('    insecure: true\n');
    expect(resolve({ OS_CLOUD: 'c' }).tls).toEqual({ insecure: true });
    cloud('    insecure: "yes"\n');
    expect(resolve({ OS_CLOUD: 'c' }).tls).toEqual({ insecure: true });
    cloud('');
    expect(resolve({ OS_CLOUD: 'c' }).tls).toEqual({ caFile: join(cwd, 'ca.pem') });
    expect(resolve({ OS_CLOUD: 'c', OS_INSECURE: 'True' }).tls).toEqual({ insecure: true });
    expect(resolve({ OS_CLOUD: 'c' }, { insecure: true }).tls).toEqual({ insecure: true });
    cloud('    insecure: true\n');
    expect(resolve({ OS_CLOUD: 'c', OS_INSECURE: 'false' }).tls).toEqual({ caFile: join(cwd, 'ca.pem') });
  });
});

describe('the library form', () => {
  const sources = (): { env: Record<string, string>; cwd: string; home: string; siteConfigDir: string } => ({
    env: { OS_TOKEN: 'env-token-not-read', OS_ENDPOINT: 'http://not-read:1' },
    cwd,
    home,
    siteConfigDir: site,
  });

  it('takes a cloud inline, as clouds.yaml holds it, and reads no OS_* variable', () => {
    const s = cloudSettingsFromConfig(
      {
        auth_type: 'password',
        auth: { auth_url: KEYSTONE, username: 'u', password: 'pw', project_id: 'p' },
        region_name: 'RegionOne',
        interface: 'internal',
        cacert: undefined,
      },
      sources(),
    );
    expect(s).toMatchObject({
      auth: { type: 'password', password: 'pw' },
      region: 'RegionOne',
      interface: 'internal',
    });
    expect(s.endpoint).toBeUndefined();
    expect(s.origin).toBe('the cloud options');
  });

  it('{ cloud: name } reads clouds.yaml (found through OS_CLIENT_CONFIG_FILE too), the other keys override', () => {
    const file = write(join(root, 'c.yaml'), noauthCloud('lab', 'http://lab:1'));
    const s = cloudSettingsFromConfig(
      { cloud: 'lab', region_name: 'r' },
      { ...sources(), env: { ...sources().env, OS_CLIENT_CONFIG_FILE: file } },
    );
    expect(s).toMatchObject({ auth: { type: 'noauth' }, endpoint: 'http://lab:1', region: 'r' });
    expect(s.origin).toBe(`cloud "lab" in ${file}, overridden by the options given`);
    const err = failure(() =>
      cloudSettingsFromConfig({ cloud: 'nope' }, { ...sources(), env: { OS_CLIENT_CONFIG_FILE: file } }),
    );
    expect(err).toMatchObject({ code: 'CLOUD_NOT_FOUND', cloud: 'nope', clouds: ['lab'] });
  });
});

describe('errors', () => {
  it('a cloud not found lists the clouds that exist, the file, and unreadable files skipped', () => {
    write(join(cwd, 'clouds.yaml'), noauthCloud('a', 'http://a:1') + '  b:\n    auth_type: none\n');
    const err = failure(() => resolve({ OS_CLOUD: 'prod' }));
    expect(err).toMatchObject({
      code: 'CLOUD_NOT_FOUND',
      cloud: 'prod',
      clouds: ['a', 'b'],
      file: join(cwd, 'clouds.yaml'),
    });
    expect(err.message).toBe(`Cloud "prod": not in ${join(cwd, 'clouds.yaml')}; clouds defined: "a", "b".`);
    rmSync(join(cwd, 'clouds.yaml'));
    const none = failure(() => resolve({ OS_CLOUD: 'prod' }));
    expect(none.message).toContain(`no clouds.yaml found (looked in ${cwd}, ${userDir()}, ${site})`);
    if (process.getuid?.() !== 0) {
      write(join(site, 'clouds.yaml'), noauthCloud('prod', 'http://p:1'));
      chmodSync(join(site, 'clouds.yaml'), 0o000);
      expect(failure(() => resolve({ OS_CLOUD: 'prod' })).message).toContain(
        `skipped, not readable: ${join(site, 'clouds.yaml')}`,
      );
    }
  });

  it('nothing configured at all: CLOUD_CONFIG_MISSING, saying what to pass', () => {
    const err = failure(() => resolve());
    expect(err.code).toBe('CLOUD_CONFIG_MISSING');
    expect(err.message).toMatch(/^No Ironic endpoint: pass --ironic-url URL .* --os-cloud NAME/);
  });

  it('OS_CLIENT_CONFIG_FILE naming no file is an error, not a silent fall-through', () => {
    const err = failure(() => resolve({ OS_CLOUD: 'c', OS_CLIENT_CONFIG_FILE: join(root, 'nope.yaml') }));
    expect(err).toMatchObject({
      code: 'CLOUD_CONFIG_INVALID',
      key: 'OS_CLIENT_CONFIG_FILE',
      file: join(root, 'nope.yaml'),
    });
  });

  it('a file that is not YAML, not a mapping, or has clouds/auth of the wrong shape', () => {
    const cases: Array<[string, RegExp]> = [
      ['clouds:\n  c: [\n', /is not valid YAML: \w+ at line \d+, column \d+\.$/],
      ['clouds:\n  c:\n    a: 1\n    a: 2\n', /is not valid YAML: DUPLICATE_KEY at line 4/],
      ['', /is empty or not a mapping/],
      ['- a\n- b\n', /is empty or not a mapping/],
      ['clouds: [a]\n', /"clouds" must be a mapping of cloud names/],
      ['clouds:\n  c: 3\n', /Cloud "c" in .* is not a mapping/],
      ['clouds:\n  c:\n    auth: [x]\n', /auth of cloud "c" \(.*\) must be a mapping/],
      [
        'clouds:\n  c:\n    auth:\n      username: [x]\n',
        /auth\.username of cloud "c" .* must be a string, not a list/,
      ],
      ['clouds:\n  c:\n    region_name: true\n', /region_name of cloud "c" .* must be a string, not boolean/],
      ['clouds:\n  c:\n    verify: maybe\n', /verify of cloud "c" .* must be true or false/],
      ['clouds:\n  c:\n    regions: r1\n', /regions of cloud "c" .* must be a list/],
      [
        'clouds:\n  c:\n    regions: [{ values: {} }]\n',
        /regions\[0\] of cloud "c" .* must be a name or \{ name, values \}/,
      ],
    ];
    for (const [text, message] of cases) {
      const file = write(join(cwd, 'clouds.yaml'), text);
      const err = failure(() => resolve({ OS_CLOUD: 'c' }));
      expect(err.code, text).toBe('CLOUD_CONFIG_INVALID');
      expect(err.message, text).toMatch(message);
      expect(err.file, text).toBe(file);
    }
  });

  it('each auth type names what it lacks and where to set it', () => {
    const cases: Array<[Record<string, string>, string, string[]]> = [
      [{ OS_AUTH_TYPE: 'none' }, 'auth_type none (Ironic noauth) needs the Ironic endpoint', ['endpoint']],
      [{ OS_AUTH_TYPE: 'http_basic', OS_USERNAME: 'u' }, 'http_basic auth needs', ['password', 'endpoint']],
      [{ OS_AUTH_TYPE: 'admin_token', OS_TOKEN: 't' }, 'admin_token auth needs', ['endpoint']],
      [
        { OS_AUTH_TYPE: 'token' },
        'token auth needs a token and either the Ironic endpoint',
        ['token', 'endpoint'],
      ],
      [
        { OS_AUTH_TYPE: 'v3token', OS_TOKEN: 't' },
        'v3token auth (Keystone) needs auth_url, a token and a project',
        ['auth_url', 'a project'],
      ],
      [
        { OS_AUTH_TYPE: 'password', OS_AUTH_URL: KEYSTONE },
        'password auth (Keystone) needs auth_url, a user, a password and a project',
        ['a user', 'password', 'a project'],
      ],
      [
        { OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_NAME: 'n' },
        'v3applicationcredential auth (Keystone) needs',
        ['auth_url', 'application_credential_secret', 'a user'],
      ],
    ];
    for (const [env, needs, missing] of cases) {
      const err = failure(() => resolve(env));
      expect(err.code).toBe('CLOUD_CONFIG_INVALID');
      expect(err.message).toContain(needs);
      expect(err.missing, err.message).toEqual(missing);
    }
    const pw = failure(() => resolve({ OS_AUTH_TYPE: 'password' }));
    expect(pw.message).toContain('auth_url (auth.auth_url, OS_AUTH_URL, --os-auth-url)');
    expect(pw.message).toContain('password (auth.password, OS_PASSWORD, --os-password)');
    // A username and an endpoint but no auth_url: probably an http_basic Ironic.
    expect(
      failure(() => resolve({ OS_USERNAME: 'u', OS_PASSWORD: 'p', IRONIC_URL: IRONIC })).message,
    ).toContain('set auth_type http_basic');
  });

  it('a typo under auth is pointed out when something is missing', () => {
    write(
      join(cwd, 'clouds.yaml'),
      `clouds:\n  c:\n    auth_type: password\n    auth:\n      auth_ulr: ${KEYSTONE}\n      username: u\n      password: p\n      project_name: x\n`,
    );
    const err = failure(() => resolve({ OS_CLOUD: 'c' }));
    expect(err.message).toMatch(/missing: auth_url .*; unknown keys under auth: auth_ulr\.$/);
    expect(err).toMatchObject({ cloud: 'c', file: join(cwd, 'clouds.yaml') });
  });

  it('bad values: auth type, URLs, interface, microversion, booleans, TLS files', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { OS_AUTH_TYPE: 'v2password' },
        /OS_AUTH_TYPE "v2password" is not an auth type we know; use one of none, http_basic/,
      ],
      [{ IRONIC_URL: 'ironic:6385:x' }, /endpoint \(IRONIC_URL\) must be an http or https URL/],
      [{ IRONIC_URL: 'nope' }, /endpoint \(IRONIC_URL\) is not a URL: "nope"/],
      [
        { OS_AUTH_URL: 'ftp://k', OS_TOKEN: 't', OS_PROJECT_ID: 'p' },
        /auth_url \(OS_AUTH_URL\) must be an http or https URL/,
      ],
      [
        { IRONIC_URL: IRONIC, OS_INTERFACE: 'external' },
        /interface \(OS_INTERFACE\) must be public, internal or admin, got "external"/,
      ],
      [
        { IRONIC_URL: IRONIC, OS_BAREMETAL_API_VERSION: '2.1' },
        /baremetal_api_version \(OS_BAREMETAL_API_VERSION\) must be a microversion such as 1\.78, or latest/,
      ],
      [
        { IRONIC_URL: IRONIC, OS_INSECURE: 'sometimes' },
        /OS_INSECURE must be true or false, got "sometimes"/,
      ],
      [
        { IRONIC_URL: IRONIC, OS_CACERT: 'missing.pem' },
        /cacert \(OS_CACERT\) .*missing\.pem cannot be read \(ENOENT\)/,
      ],
      [{ IRONIC_URL: IRONIC, OS_CERT: '/', OS_KEY: '/' }, /cert \(OS_CERT\) \/ cannot be read \(EISDIR\)/],
      [
        { IRONIC_URL: IRONIC, OS_KEY: 'k.pem' },
        /key \(OS_KEY\) is given without cert: a client certificate needs both/,
      ],
      [{ IRONIC_URL: IRONIC, OS_CERT: 'c.pem' }, /cert \(OS_CERT\) is given without key/],
    ];
    for (const [env, message] of cases) {
      const err = failure(() => resolve(env));
      expect(err.code).toBe('CLOUD_CONFIG_INVALID');
      expect(err.message).toMatch(message);
      expect(err.message).toMatch(/^the envvars cloud \(OS_\* variables\): |^OS_INSECURE/);
    }
  });
});

describe('secrets never reach an error message', () => {
  const PASSWORD = 'pw-S3CRET-1';
  const TOKEN = 'tok-S3CRET-2';
  const APP_SECRET = 'app-S3CRET-3';
  const SECRETS = [PASSWORD, TOKEN, APP_SECRET, 'S3CRET'];

  function expectClean(err: CloudConfigError, label: string): void {
    const everything = `${err.message} ${JSON.stringify({ ...err })} ${String(err.stack)}`;
    for (const s of SECRETS) expect(everything, `${label}: ${err.message}`).not.toContain(s);
  }

  it('for every failure, with secrets in files, variables and flags', () => {
    const failures: Array<[string, () => unknown]> = [];
    const env = { OS_PASSWORD: PASSWORD, OS_TOKEN: TOKEN, OS_APPLICATION_CREDENTIAL_SECRET: APP_SECRET };
    const flags: CloudFlags = { password: PASSWORD, token: TOKEN, appCredSecret: APP_SECRET };
    for (const authType of [
      'password',
      'v3token',
      'v3applicationcredential',
      'http_basic',
      'admin_token',
      'token',
      'bogus',
    ]) {
      failures.push([`env ${authType}`, () => resolve({ ...env, OS_AUTH_TYPE: authType })]);
      failures.push([`flags ${authType}`, () => resolve({}, { ...flags, authType })]);
    }
    failures.push(['bad interface', () => resolve({ ...env, IRONIC_URL: IRONIC, OS_INTERFACE: 'x' })]);
    failures.push([
      'url with credentials',
      () => resolve({ ...env, IRONIC_URL: `http://u:${PASSWORD}@h:1` }),
    ]);
    failures.push([
      'auth_url with credentials',
      () =>
        resolve({ ...env, OS_USERNAME: 'u', OS_PROJECT_ID: 'p', OS_AUTH_URL: `https://u:${PASSWORD}@k/v3` }),
    ]);
    const yamlCases = [
      // A syntax error on the very line that holds the password.
      `clouds:\n  c:\n    auth:\n      password: ${PASSWORD}: [\n`,
      `clouds:\n  c:\n    auth:\n      password: "${PASSWORD}\n`,
      `clouds:\n  c:\n    auth:\n      password: ${PASSWORD}\n      password: ${TOKEN}\n`,
      `clouds:\n  c:\n    auth_type: password\n    auth:\n      password: ${PASSWORD}\n      token: ${TOKEN}\n`,
      `clouds:\n  c:\n    auth_type: v3applicationcredential\n    auth:\n      application_credential_secret: ${APP_SECRET}\n`,
      `clouds:\n  c:\n    auth:\n      password: ${PASSWORD}\n    interface: nope\n`,
      `clouds:\n  c:\n    auth:\n      password: [${PASSWORD}]\n`,
      `clouds:\n  c:\n    auth:\n      password: {a: ${PASSWORD}}\n`,
    ];
    yamlCases.forEach((text, i) => {
      failures.push([
        `yaml ${i}`,
        () => {
          write(join(cwd, 'clouds.yaml'), text);
          return resolve({ OS_CLOUD: 'c' });
        },
      ]);
      failures.push([
        `secure yaml ${i}`,
        () => {
          write(join(cwd, 'clouds.yaml'), 'clouds:\n  c:\n    auth_type: password\n');
          write(join(cwd, 'secure.yaml'), text);
          return resolve({ OS_CLOUD: 'c' });
        },
      ]);
    });
    failures.push([
      'library',
      () =>
        cloudSettingsFromConfig(
          { auth_type: 'password', auth: { password: PASSWORD, token: TOKEN } },
          { env: {}, cwd, home },
        ),
    ]);
    for (const [label, fn] of failures) {
      const err = failure(fn);
      expectClean(err, label);
      rmSync(join(cwd, 'secure.yaml'), { force: true });
    }
    expect(failures.length).toBeGreaterThan(30);
  });
});
