// What the real-Keystone global setup hands to the test files (vitest `provide`/`inject`).
// null: python3-keystone or python3-ironic is not installed outside CI, and the suites skip.

/** A user with a password, and the project their password tokens are scoped to. */
export interface KeystoneUserCredentials {
  username: string;
  password: string;
  projectName: string;
  userId: string;
  projectId: string;
}

/** Everything about the pair scripts/keystone-standalone.sh started (its KEY=VALUE lines). */
export interface KeystonePair {
  /** The script's directory for this pair: give it to its appcred / stop-keystone / start-keystone. */
  dir: string;
  /** Keystone's auth_url, ending in /v3. */
  keystoneUrl: string;
  keystoneLog: string;
  /** Pid of the Keystone started with the pair (start-keystone makes a new one). */
  keystonePid: number;
  /** Ironic with auth_strategy = keystone; also the catalog's baremetal endpoint (public, internal). */
  ironicUrl: string;
  ironicLog: string;
  ironicPid: number;
  /** Ironic with auth_strategy = http_basic. */
  ironicBasicUrl: string;
  ironicBasicLog: string;
  ironicBasicPid: number;
  region: string;
  userDomainName: string;
  projectDomainName: string;
  /** admin: role admin on project admin (and on the system). */
  admin: KeystoneUserCredentials;
  /** demo: role member on project demo. */
  demo: KeystoneUserCredentials;
  /** An application credential of admin's on project admin, never expiring. */
  appCredential: { id: string; secret: string };
  /** The user in Ironic-basic's htpasswd. */
  basic: { username: string; password: string };
  /** clouds.yaml with clouds ironledger-admin, ironledger-demo, ironledger-appcred, ironledger-basic. */
  cloudsYaml: string;
  /** admin's OS_* variables, one KEY=VALUE a line. */
  envFile: string;
  /** Keystone's [token] expiration, in seconds, when the pair started. */
  tokenExpiration: number;
  /** Ironic's keystone_authtoken token_cache_time (-1: every token is validated with Keystone). */
  tokenCacheTime: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    keystone: KeystonePair | null;
  }
}
