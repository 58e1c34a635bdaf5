// IronicClient: the one object that talks to Ironic. It owns the keep-alive pool; every
// run shares it through cheap observer views (withObserver), so a thousand concurrent
// runs open a handful of connections, not a thousand.
import { IronicVersionError, isIronicError } from './errors.js';
import { negotiateMicroversion } from './microversion.js';
import { IronicOperations } from './nodes.js';
import { IronicTransport, type TransportOptions } from './transport.js';
import type { CallOptions, HttpObserver, IronicApi } from './types.js';
import { readVersionRange } from './wire.js';

export type { IronicAuth, IronicTlsOptions } from './transport.js';

export interface IronicClientOptions extends TransportOptions {
  /** Highest microversion to use, e.g. "1.78" to pin an older behaviour. */
  microversion?: string;
}

export class IronicClient extends IronicOperations {
  private constructor(transport: IronicTransport, microversion: string) {
    super(transport, microversion, []);
  }

  /**
   * Connects and negotiates the microversion: reads the root document (`GET /`), falling
   * back to `GET /v1` when a proxy hides the root. A server below 1.56 fails here, once,
   * with IronicVersionError. Discovery is retried like any call (503, connection refused).
   */
  static async connect(opts: IronicClientOptions, call: CallOptions = {}): Promise<IronicClient> {
    const transport = new IronicTransport(opts);
    try {
      const range = await discover(transport, call);
      return new IronicClient(transport, negotiateMicroversion(range, opts.microversion));
    } catch (err) {
      await transport.close();
      throw err;
    }
  }

  /** A view that shares this client's pool and also reports every attempt to `observer`. */
  withObserver(observer: HttpObserver): IronicApi {
    return new IronicOperations(this.transport, this.microversion, [...this.observers, observer]);
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
