// IronicClient: the one object that talks to Ironic. It owns the keep-alive pool; every
// run shares it through cheap observer views (withObserver), so a thousand concurrent
// runs open a handful of connections, not a thousand.
import type { CloudSettings, EndpointInterface } from './cloud-settings.js';
import { IronicInvalidInputError, IronicVersionError, isIronicError } from './errors.js';
import { isKeystoneAuth, KeystoneSession, type KeystoneStats } from './keystone.js';
import { negotiateMicroversion } from './microversion.js';
import { IronicOperations } from './nodes.js';
import { IronicTransport, type TransportOptions } from './transport.js';
import type { CallOptions, HttpObserver, IronicApi } from './types.js';
import { readVersionRange } from './wire.js';

export type { IronicAuth, IronicTlsOptions } from './transport.js';

export interface IronicClientOptions extends Omit<TransportOptions, 'url' | 'authSource'> {
  /**
   * Ironic's endpoint. Required for noauth, basic and token auth; with Keystone auth it
   * overrides the catalog (baremetal_endpoint_override).
   */
  url?: string;
  /** Highest microversion to use, e.g. "1.78" to pin an older behaviour. */
  microversion?: string;
  /** Keystone auth: which catalog endpoint (default public) and region. */
  interface?: EndpointInterface;
  region?: string;
  /** Keystone auth: renew a token when less than this is left (keystoneauth's 120 s). */
  renewBeforeMs?: number;
}

/** Client options from resolved cloud settings (clouds.yaml, OS_* variables, flags). */
export function clientOptionsOf(settings: CloudSettings): IronicClientOptions {
  return {
    auth: settings.auth,
    tls: settings.tls,
    interface: settings.interface,
    ...(settings.endpoint === undefined ? {} : { url: settings.endpoint }),
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.microversion === undefined ? {} : { microversion: settings.microversion }),
  };
}

export class IronicClient extends IronicOperations {
  private constructor(
    transport: IronicTransport,
    microversion: string,
    private readonly keystone: KeystoneSession | null,
  ) {
    super(transport, microversion, []);
  }

  /** Keystone token requests made and answered (null without Keystone auth). */
  get keystoneStats(): KeystoneStats | null {
    return this.keystone === null ? null : { ...this.keystone.stats };
  }

  /**
   * Connects and negotiates the microversion: reads the root document (`GET /`), falling
   * back to `GET /v1` when a proxy hides the root. A server below 1.56 fails here, once,
   * with IronicVersionError. Discovery is retried like any call (503, connection refused).
   */
  static async connect(opts: IronicClientOptions, call: CallOptions = {}): Promise<IronicClient> {
    const auth = opts.auth ?? { type: 'noauth' };
    let keystone: KeystoneSession | null = null;
    let transport: IronicTransport | null = null;
    try {
      let url = opts.url;
      if (isKeystoneAuth(auth)) {
        // Authenticate before anything else: wrong credentials fail here, before any run.
        keystone = new KeystoneSession({
          auth,
          tls: opts.tls,
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
          ...(opts.retryIntervalMs === undefined ? {} : { retryIntervalMs: opts.retryIntervalMs }),
          ...(opts.renewBeforeMs === undefined ? {} : { renewBeforeMs: opts.renewBeforeMs }),
        });
        const observers = [opts.observer, call.observer].filter((o) => o !== undefined);
        await keystone.authenticate({ signal: call.signal, observers });
        url ??= keystone.endpoint('baremetal', opts.interface ?? 'public', opts.region);
      }
      if (url === undefined) {
        throw new IronicInvalidInputError(
          `${auth.type} auth needs Ironic's URL (url, --ironic-url, OS_ENDPOINT): only Keystone auth finds it in a catalog`,
        );
      }
      transport = new IronicTransport({
        ...opts,
        url,
        ...(keystone === null ? {} : { authSource: keystone }),
      });
      const range = await discover(transport, call);
      return new IronicClient(transport, negotiateMicroversion(range, opts.microversion), keystone);
    } catch (err) {
      if (transport !== null) await transport.close();
      else await keystone?.close();
      throw err;
    }
  }

  /** A view that shares this client's pool and also reports every attempt to `observer`. */
  withObserver(observer: HttpObserver): IronicApi {
    return new IronicOperations(this.transport, this.microversion, [...this.observers, observer]);
  }

  /** Told of every auth secret the client starts sending later (a renewed Keystone token). */
  onNewSecret(listener: (value: string) => void): void {
    this.keystone?.onNewToken(listener);
  }

  /**
   * The credentials this client sends, as they are and as they travel (a Basic header's
   * base64): whoever records what Ironic answers must keep them out of the record.
   */
  secretValues(): readonly string[] {
    return this.transport.secretValues();
  }

  /** Closes the pool; views stop working too. */
  close(): Promise<void> {
    return this.transport.close();
  }
}

async function discover(
  transport: IronicTransport,
  call: CallOptions,
): Promise<{ min: string; max: string }> {
  const context = { microversion: null, observers: [], opts: call };
  const rangeAt = (path: string) =>
    transport.request({ method: 'GET', path }, context, (res) =>
      readVersionRange(JSON.parse(res.body) as unknown),
    );
  let fromRoot: { min: string; max: string } | null;
  try {
    fromRoot = await rangeAt('/');
  } catch (err) {
    // A proxy that only forwards /v1 answers 404 or an HTML page at the root.
    if (!isIronicError(err, 'IRONIC_NOT_FOUND') && !isIronicError(err, 'IRONIC_MALFORMED_RESPONSE'))
      throw err;
    fromRoot = null;
  }
  if (fromRoot !== null) return fromRoot;
  const fromV1 = await rangeAt('/v1');
  if (fromV1 !== null) return fromV1;
  throw new IronicVersionError('Ironic did not report its API versions at / or /v1');
}
