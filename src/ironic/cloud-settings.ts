// What it takes to reach one cloud's Ironic: the auth method, where Ironic is (or how to find it
// in Keystone's catalog), TLS and the microversion pin. clouds.yaml, OS_* variables, CLI flags
// and the library's options all resolve to this one shape (cloud-config.ts), and the client
// connects from it.

export type EndpointInterface = 'public' | 'internal' | 'admin';

/** Who authenticates with Keystone: by id, or by name within a domain (id or name). */
export interface KeystoneUser {
  userId?: string;
  username?: string;
  userDomainId?: string;
  userDomainName?: string;
}

/** The project a token is scoped to: by id, or by name within a domain (id or name). */
export interface KeystoneProject {
  projectId?: string;
  projectName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
}

export type IronicAuth =
  /** Ironic with auth_strategy = noauth. */
  | { type: 'noauth' }
  /** Ironic with auth_strategy = http_basic. */
  | { type: 'basic'; username: string; password: string }
  /** A token sent as it is (X-Auth-Token), never renewed: the endpoint must be given. */
  | { type: 'token'; token: string }
  /** Keystone v3 password auth, project-scoped (auth_type password / v3password). */
  | {
      type: 'password';
      authUrl: string;
      user: KeystoneUser;
      password: string;
      project: KeystoneProject;
    }
  /**
   * Keystone v3 application credential (auth_type v3applicationcredential): by id, or by name
   * with its user. Its scope is the credential's own project; Keystone refuses a scope with it.
   */
  | {
      type: 'applicationCredential';
      authUrl: string;
      id?: string;
      name?: string;
      user?: KeystoneUser;
      secret: string;
    }
  /** Keystone v3 token auth (auth_type v3token): a token exchanged for a project-scoped one. */
  | { type: 'keystoneToken'; authUrl: string; token: string; project: KeystoneProject };

export interface CloudTls {
  /** PEM bundle of the CAs that sign Ironic's and Keystone's certificates (cacert, OS_CACERT). */
  caFile?: string;
  /** Client certificate and key for mutual TLS (cert/key, OS_CERT/OS_KEY). */
  certFile?: string;
  keyFile?: string;
  /** Skip certificate verification (verify: false, insecure: true, --insecure). */
  insecure?: boolean;
}

export interface CloudSettings {
  auth: IronicAuth;
  /**
   * Ironic's URL (baremetal_endpoint_override, OS_ENDPOINT, OS_URL, IRONIC_URL, --ironic-url).
   * Absent: found in Keystone's catalog by service type `baremetal`, `interface` and `region`.
   */
  endpoint?: string;
  region?: string;
  /** Which catalog endpoint to use. Default public. */
  interface: EndpointInterface;
  /** Highest Ironic microversion to use (baremetal_api_version, OS_BAREMETAL_API_VERSION). */
  microversion?: string;
  tls: CloudTls;
  /** Where these settings came from, for messages: e.g. `cloud "prod" in /etc/openstack/clouds.yaml`. */
  origin: string;
}
