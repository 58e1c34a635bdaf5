// Reads our config drive images with tools we did not write: isoinfo (Debian's genisoimage)
// and pycdlib (python3-pycdlib). On CI a missing tool fails the test instead of skipping it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { it } from 'vitest';

const ISOINFO = '/usr/bin/isoinfo';
const PYTHON = '/usr/bin/python3';
/** util-linux's prober: cloud-init finds the drive by the label it reports. */
const BLKID = ['/usr/sbin/blkid', '/sbin/blkid'].find((p) => existsSync(p)) ?? '/usr/sbin/blkid';

function hasPycdlib(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import pycdlib'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const HAVE_READERS = existsSync(ISOINFO) && existsSync(BLKID) && hasPycdlib();
const ON_CI = process.env.CI === 'true';

/** `it` when the readers are here or on CI (where their absence must fail), `it.skip` elsewhere. */
export const itWithIsoReaders = HAVE_READERS || ON_CI ? it : it.skip;

function requireReaders(): void {
  if (!HAVE_READERS) {
    throw new Error(
      `${ISOINFO}, ${BLKID} and ${PYTHON} with pycdlib are required to check config drive images: apt-get install genisoimage python3-pycdlib`,
    );
  }
}

/** The ISO inside a config drive string as Nova and Ironic send it: base64 of gzip. */
export function isoOf(configdrive: string): Buffer {
  return gunzipSync(Buffer.from(configdrive, 'base64'));
}

export interface IsoView {
  /** `isoinfo -d` output (volume id, Joliet level, sizes). */
  describe: string;
  /** What blkid says: `iso9660 config-2`. */
  blkid: string;
  /** Every path of the Joliet tree, as isoinfo lists it. */
  jolietPaths: string[];
  /** A file's bytes by its Joliet path, read by isoinfo. */
  joliet(path: string): Buffer;
  /** A file's bytes by its Joliet path, read by pycdlib (which also parses the whole image). */
  pycdlib(path: string): Buffer;
  /** A file's bytes by its ISO 9660 (primary tree) path, read by isoinfo. */
  primary(path: string): Buffer;
  primaryPaths: string[];
}

export function readIso(iso: Buffer, fn: (view: IsoView) => void): void {
  requireReaders();
  const dir = mkdtempSync(join(tmpdir(), 'ironledger-iso-'));
  const file = join(dir, 'drive.iso');
  writeFileSync(file, iso);
  const run = (args: string[]): Buffer =>
    execFileSync(ISOINFO, [...args, '-i', file], { maxBuffer: 1 << 26 });
  const lines = (b: Buffer): string[] =>
    b
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '');
  try {
    fn({
      describe: run(['-d']).toString('utf8'),
      blkid: execFileSync(BLKID, ['-p', '-o', 'export', file])
        .toString('utf8')
        .split('\n')
        .filter((l) => /^(TYPE|LABEL)=/.test(l))
        .sort()
        .join(' '),
      jolietPaths: lines(run(['-J', '-f'])),
      joliet: (path) => run(['-J', '-x', path]),
      primaryPaths: lines(run(['-f'])),
      primary: (path) => run(['-x', path]),
      pycdlib: (path) =>
        execFileSync(
          PYTHON,
          [
            '-c',
            [
              'import io, sys, pycdlib',
              'iso = pycdlib.PyCdlib()',
              'iso.open(sys.argv[1])',
              'out = io.BytesIO()',
              'iso.get_file_from_iso_fp(out, joliet_path=sys.argv[2])',
              'sys.stdout.buffer.write(out.getvalue())',
              'iso.close()',
            ].join('\n'),
            file,
            path,
          ],
          { maxBuffer: 1 << 26 },
        ),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
