// A minimal ISO 9660 writer for config drives: a primary tree with short 8.3 names and a
// Joliet tree (UCS-2 names up to 64 characters) over the same file extents, which is what
// `genisoimage -J` produces and what Linux, cloud-init and Ignition read. Only what a config
// drive needs: a few small files in a few directories, one volume, no Rock Ridge, no El Torito.
// ECMA-119 (ISO 9660) and the Joliet specification give the layout used below.
import { Buffer } from 'node:buffer';

export const SECTOR = 2048;
/** Sectors 0-15 are the system area, unused here; the volume descriptors start at 16. */
const FIRST_DESCRIPTOR = 16;
/** Joliet's longest identifier, in UCS-2 characters. */
const JOLIET_MAX_NAME = 64;

export interface IsoFile {
  /** Relative, '/'-separated: `openstack/latest/user_data`. */
  path: string;
  data: Uint8Array;
}

export interface IsoOptions {
  volumeId: string;
  files: readonly IsoFile[];
  publisher?: string;
  /** Recorded as every date of the volume; defaults to now. */
  now?: Date;
}

interface DirNode {
  name: string;
  dirs: DirNode[];
  files: FileNode[];
}

interface FileNode {
  name: string;
  data: Uint8Array;
  extent: number;
}

/** One of the two directory trees: its names, and where its directories and path tables lie. */
interface Tree {
  identifier(name: string, isDir: boolean): Buffer;
  /** Directories in path-table order (root first), with their parent's 1-based number. */
  order: Array<{ dir: DirNode; parent: number; id: Buffer }>;
  extent: Map<DirNode, number>;
  sectors: Map<DirNode, number>;
  pathTableSize: number;
  lTable: number;
  mTable: number;
}

export function buildIso9660(opts: IsoOptions): Buffer {
  const root = treeOf(opts.files);
  const now = opts.now ?? new Date();
  const primary = newTree(primaryIdentifier);
  const joliet = newTree(jolietIdentifier);
  const trees = [primary, joliet];
  for (const tree of trees) orderDirs(tree, root);

  // Layout: descriptors (primary, Joliet, terminator), path tables, directories, file data.
  let next = FIRST_DESCRIPTOR + 3;
  for (const tree of trees) {
    tree.pathTableSize = tree.order.reduce((n, d) => n + 8 + d.id.length + (d.id.length % 2), 0);
    const tableSectors = Math.ceil(tree.pathTableSize / SECTOR);
    tree.lTable = next;
    tree.mTable = next + tableSectors;
    next += 2 * tableSectors;
  }
  for (const tree of trees) {
    for (const { dir } of tree.order) {
      const sectors = dirSectors(tree, dir);
      tree.extent.set(dir, next);
      tree.sectors.set(dir, sectors);
      next += sectors;
    }
  }
  for (const file of allFiles(root)) {
    file.extent = next;
    next += Math.ceil(file.data.length / SECTOR);
  }
  const image = Buffer.alloc(next * SECTOR);

  const recorded = dirDate(now);
  image.set(
    volumeDescriptor(1, opts, next, primary, rootRecord(primary, root, recorded), now),
    FIRST_DESCRIPTOR * SECTOR,
  );
  image.set(
    volumeDescriptor(2, opts, next, joliet, rootRecord(joliet, root, recorded), now),
    (FIRST_DESCRIPTOR + 1) * SECTOR,
  );
  image.set(terminator(), (FIRST_DESCRIPTOR + 2) * SECTOR);
  for (const tree of trees) {
    image.set(pathTable(tree, 'L'), tree.lTable * SECTOR);
    image.set(pathTable(tree, 'M'), tree.mTable * SECTOR);
    tree.order.forEach(({ dir, parent }) => {
      const parentDir = tree.order[parent - 1]!.dir;
      image.set(directory(tree, dir, parentDir, recorded), tree.extent.get(dir)! * SECTOR);
    });
  }
  for (const file of allFiles(root)) image.set(file.data, file.extent * SECTOR);
  return image;
}

function treeOf(files: readonly IsoFile[]): DirNode {
  const root: DirNode = { name: '', dirs: [], files: [] };
  for (const file of files) {
    const parts = file.path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw new RangeError(`ISO path must be relative with no empty, . or .. parts: ${file.path}`);
    }
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let sub = dir.dirs.find((d) => d.name === part);
      if (!sub) {
        sub = { name: part, dirs: [], files: [] };
        dir.dirs.push(sub);
      }
      dir = sub;
    }
    const name = parts[parts.length - 1]!;
    if (dir.files.some((f) => f.name === name) || dir.dirs.some((d) => d.name === name)) {
      throw new RangeError(`ISO path given twice: ${file.path}`);
    }
    dir.files.push({ name, data: file.data, extent: 0 });
  }
  return root;
}

function allFiles(dir: DirNode): FileNode[] {
  return [...dir.files, ...dir.dirs.flatMap(allFiles)];
}

function newTree(identifier: Tree['identifier']): Tree {
  return {
    identifier,
    order: [],
    extent: new Map(),
    sectors: new Map(),
    pathTableSize: 0,
    lTable: 0,
    mTable: 0,
  };
}

/**
 * Breadth first with siblings sorted by identifier: the order ECMA-119 requires of a path
 * table (by level, then parent number, then identifier). Identifiers that collide once
 * shortened are refused rather than renamed: a config drive's names are fixed and few.
 */
function orderDirs(tree: Tree, root: DirNode): void {
  tree.order.push({ dir: root, parent: 1, id: Buffer.from([0]) });
  for (let i = 0; i < tree.order.length; i++) {
    const { dir } = tree.order[i]!;
    assertDistinct(tree, dir);
    const subs = dir.dirs
      .map((d) => ({ dir: d, parent: i + 1, id: tree.identifier(d.name, true) }))
      .sort((a, b) => Buffer.compare(a.id, b.id));
    tree.order.push(...subs);
  }
}

function assertDistinct(tree: Tree, dir: DirNode): void {
  const seen = new Set<string>();
  for (const [name, isDir] of [
    ...dir.dirs.map((d) => [d.name, true] as const),
    ...dir.files.map((f) => [f.name, false] as const),
  ]) {
    const id = tree.identifier(name, isDir).toString('hex');
    if (seen.has(id)) throw new RangeError(`two ISO names in one directory shorten to the same: ${name}`);
    seen.add(id);
  }
}

/** ISO 9660 level 1: d-characters (A-Z 0-9 _), 8 for a name, 3 for an extension, version ;1. */
function primaryIdentifier(name: string, isDir: boolean): Buffer {
  const d = (s: string, max: number): string =>
    s
      .toUpperCase()
      .replace(/[^A-Z0-9_]/g, '_')
      .slice(0, max);
  if (isDir) return Buffer.from(d(name, 8), 'ascii');
  const dot = name.lastIndexOf('.');
  const base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  return Buffer.from(`${d(base, 8)}.${d(ext, 3)};1`, 'ascii');
}

/** Without a version suffix, as genisoimage -J writes them (readers accept both). */
function jolietIdentifier(name: string): Buffer {
  // Joliet forbids control characters and these; a code point above U+FFFF does not fit UCS-2.
  const forbidden = Array.from(name, (c) => c.charCodeAt(0)).some(
    (code) =>
      code < 0x20 || (code >= 0xd800 && code <= 0xdfff) || '*/:;?\\'.includes(String.fromCharCode(code)),
  );
  if (name.length > JOLIET_MAX_NAME || forbidden) {
    throw new RangeError(`not a Joliet name: ${name}`);
  }
  return ucs2(name);
}

function ucs2(s: string): Buffer {
  return Buffer.from(s, 'utf16le').swap16();
}

function recordLength(id: Buffer): number {
  return 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
}

/** Records never straddle a sector: one that does not fit starts the next sector. */
function packRecords(lengths: number[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const len of lengths) {
    if (Math.floor(at / SECTOR) !== Math.floor((at + len - 1) / SECTOR)) at = Math.ceil(at / SECTOR) * SECTOR;
    offsets.push(at);
    at += len;
  }
  return offsets;
}

interface Entry {
  id: Buffer;
  extent: () => number;
  size: () => number;
  isDir: boolean;
}

function entriesOf(tree: Tree, dir: DirNode, parent: DirNode): Entry[] {
  const dirSize = (d: DirNode) => () => tree.sectors.get(d)! * SECTOR;
  const children: Entry[] = [
    ...dir.dirs.map((d) => ({
      id: tree.identifier(d.name, true),
      extent: () => tree.extent.get(d)!,
      size: dirSize(d),
      isDir: true,
    })),
    ...dir.files.map((f) => ({
      id: tree.identifier(f.name, false),
      extent: () => f.extent,
      size: () => f.data.length,
      isDir: false,
    })),
  ].sort((a, b) => Buffer.compare(a.id, b.id));
  return [
    { id: Buffer.from([0]), extent: () => tree.extent.get(dir)!, size: dirSize(dir), isDir: true },
    { id: Buffer.from([1]), extent: () => tree.extent.get(parent)!, size: dirSize(parent), isDir: true },
    ...children,
  ];
}

function dirSectors(tree: Tree, dir: DirNode): number {
  // The parent does not change a record's length: any directory stands in for it here.
  const lengths = entriesOf(tree, dir, dir).map((e) => recordLength(e.id));
  const offsets = packRecords(lengths);
  return Math.ceil((offsets[offsets.length - 1]! + lengths[lengths.length - 1]!) / SECTOR);
}

function directory(tree: Tree, dir: DirNode, parent: DirNode, recorded: Buffer): Buffer {
  const entries = entriesOf(tree, dir, parent);
  const offsets = packRecords(entries.map((e) => recordLength(e.id)));
  const out = Buffer.alloc(tree.sectors.get(dir)! * SECTOR);
  entries.forEach((e, i) => out.set(dirRecord(e.id, e.extent(), e.size(), e.isDir, recorded), offsets[i]!));
  return out;
}

function rootRecord(tree: Tree, root: DirNode, recorded: Buffer): Buffer {
  return dirRecord(
    Buffer.from([0]),
    tree.extent.get(root)!,
    tree.sectors.get(root)! * SECTOR,
    true,
    recorded,
  );
}

function dirRecord(id: Buffer, extent: number, size: number, isDir: boolean, recorded: Buffer): Buffer {
  const rec = Buffer.alloc(recordLength(id));
  rec[0] = rec.length;
  rec[1] = 0; // no extended attribute record
  both32(rec, 2, extent);
  both32(rec, 10, size);
  rec.set(recorded, 18);
  rec[25] = isDir ? 0x02 : 0x00;
  rec[26] = 0; // not interleaved
  rec[27] = 0;
  both16(rec, 28, 1); // volume sequence number
  rec[32] = id.length;
  rec.set(id, 33);
  return rec;
}

function pathTable(tree: Tree, endian: 'L' | 'M'): Buffer {
  const out = Buffer.alloc(Math.ceil(tree.pathTableSize / SECTOR) * SECTOR);
  let at = 0;
  for (const { dir, parent, id } of tree.order) {
    out[at] = id.length;
    out[at + 1] = 0;
    if (endian === 'L') {
      out.writeUInt32LE(tree.extent.get(dir)!, at + 2);
      out.writeUInt16LE(parent, at + 6);
    } else {
      out.writeUInt32BE(tree.extent.get(dir)!, at + 2);
      out.writeUInt16BE(parent, at + 6);
    }
    out.set(id, at + 8);
    at += 8 + id.length + (id.length % 2);
  }
  return out;
}

/** Type 1 is the primary volume descriptor, type 2 the Joliet supplementary one (UCS-2 level 3). */
function volumeDescriptor(
  type: 1 | 2,
  opts: IsoOptions,
  volumeSectors: number,
  tree: Tree,
  root: Buffer,
  now: Date,
): Buffer {
  const vd = Buffer.alloc(SECTOR);
  const text = (at: number, length: number, value: string): void => {
    const field =
      type === 1
        ? Buffer.from(value.padEnd(length, ' ').slice(0, length), 'ascii')
        : ucs2Field(value, length);
    vd.set(field, at);
  };
  vd[0] = type;
  vd.write('CD001', 1, 'ascii');
  vd[6] = 1;
  text(8, 32, ''); // system identifier
  text(40, 32, opts.volumeId);
  both32(vd, 80, volumeSectors);
  if (type === 2) vd.write('%/E', 88, 'ascii');
  both16(vd, 120, 1); // volume set size
  both16(vd, 124, 1); // volume sequence number
  both16(vd, 128, SECTOR);
  both32(vd, 132, tree.pathTableSize);
  vd.writeUInt32LE(tree.lTable, 140);
  vd.writeUInt32BE(tree.mTable, 148);
  vd.set(root, 156);
  text(190, 128, ''); // volume set
  text(318, 128, opts.publisher ?? '');
  text(446, 128, ''); // data preparer
  text(574, 128, 'IRONLEDGER');
  text(702, 37, ''); // copyright file
  text(739, 37, ''); // abstract file
  text(776, 37, ''); // bibliographic file
  vd.set(volumeDate(now), 813); // created
  vd.set(volumeDate(now), 830); // modified
  vd.set(volumeDate(null), 847); // never expires
  vd.set(volumeDate(null), 864); // effective at once
  vd[881] = 1; // file structure version
  return vd;
}

function ucs2Field(value: string, length: number): Buffer {
  const field = Buffer.alloc(length);
  const chars = Math.floor(length / 2);
  field.set(ucs2(value.padEnd(chars, ' ').slice(0, chars)));
  return field;
}

function terminator(): Buffer {
  const vd = Buffer.alloc(SECTOR);
  vd[0] = 255;
  vd.write('CD001', 1, 'ascii');
  vd[6] = 1;
  return vd;
}

/** A directory record's 7-byte date, in UTC. */
function dirDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ]);
}

/** A volume descriptor's 17-byte date ("YYYYMMDDHHMMSScc" and a zone), or all zeros for none. */
function volumeDate(d: Date | null): Buffer {
  const out = Buffer.alloc(17, 0);
  if (d === null) {
    out.write('0'.repeat(16), 0, 'ascii');
    return out;
  }
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const digits =
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1) +
    p(d.getUTCDate()) +
    p(d.getUTCHours()) +
    p(d.getUTCMinutes()) +
    p(d.getUTCSeconds()) +
    p(Math.floor(d.getUTCMilliseconds() / 10));
  out.write(digits, 0, 'ascii');
  return out;
}

/** ISO 9660 writes many numbers twice: little-endian, then big-endian. */
function both32(buf: Buffer, at: number, value: number): void {
  buf.writeUInt32LE(value, at);
  buf.writeUInt32BE(value, at + 4);
}

function both16(buf: Buffer, at: number, value: number): void {
  buf.writeUInt16LE(value, at);
  buf.writeUInt16BE(value, at + 2);
}
