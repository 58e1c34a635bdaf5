// TLS for Ironic and Keystone alike: the CA bundle, a client certificate and key (mutual TLS),
// and verification, read once when a client is made so a missing file fails at start, not mid-run.
import { readFileSync } from 'node:fs';
import type { CloudTls } from './cloud-settings.js';
import { IronicInvalidInputError } from './errors.js';

export interface TlsConnectOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

export function tlsConnectOptions(tls: CloudTls | undefined): TlsConnectOptions {
  if ((tls?.certFile === undefined) !== (tls?.keyFile === undefined)) {
    throw new IronicInvalidInputError(
      'a client certificate needs both files: tls.certFile and tls.keyFile (cert and key, OS_CERT and OS_KEY)',
    );
  }
  return {
    ...(tls?.caFile === undefined ? {} : { ca: readPem(tls.caFile, 'tls.caFile') }),
    ...(tls?.certFile === undefined ? {} : { cert: readPem(tls.certFile, 'tls.certFile') }),
    ...(tls?.keyFile === undefined ? {} : { key: readPem(tls.keyFile, 'tls.keyFile') }),
    rejectUnauthorized: tls?.insecure !== true,
  };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new IronicInvalidInputError(
      `${what} ${file} cannot be read (${typeof code === 'string' ? code : 'error'})`,
    );
  }
}
