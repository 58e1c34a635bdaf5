// A WAL checkpoint copies committed pages into the database file and then fsyncs it: several
// milliseconds on this VM's disk. Left to SQLite's auto-checkpoint, that work lands on the
// writer's thread inside whichever append crossed the threshold, and every append behind it waits
// (about 40% of the wall time of single-event appends here). The writer therefore raises its own
// auto-checkpoint threshold to a backstop, and a worker thread with its own connection runs PASSIVE
// checkpoints on a timer: it never blocks the writer, and SQLite restarts the WAL from its start
// once everything in it has been copied. Durability does not depend on checkpoints: a committed
// WAL frame survives a killed process either way.
//
// Before each checkpoint the worker also looks at the file itself. A file deleted, moved or
// replaced under the writer would take every later append into an inode no one can open; a file
// cut short would have its holes filled with zeros by the next checkpoint, which writes the pages
// it holds at their offsets and hides the cut. Either is reported, and the worker stops.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Runs in the worker (CommonJS, evaluated from this string so it works from src/ and dist/). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.sqlite);
const { path, file } = workerData;
// Opened at the first tick, after the file has been checked: never a file put in its place. The
// connection and its statements stay reachable until the thread ends, and the checkpoint is
// prepared once: better-sqlite3 objects must never be finalized by the collector (see sqlite.ts).
let db = null;
let checkpoint = null;
let largest = file.size;
let lastError = null;
function fileProblem() {
  let now;
  try {
    now = statSync(path);
  } catch (err) {
    return err && (err.code === 'ENOENT' || err.code === 'ENOTDIR') ? { problem: 'deleted' } : null;
  }
  if (now.ino !== file.ino || now.dev !== file.dev) return { problem: 'replaced' };
  if (now.size < largest) return { problem: 'truncated', from: largest, to: now.size };
  largest = now.size;
  return null;
}
function reported(problem) {
  if (problem === null) return false;
  clearInterval(timer);
  parentPort.postMessage({ file: problem });
  return true;
}
const timer = setInterval(() => {
  if (reported(fileProblem())) return;
  try {
    if (db === null) db = new Database(path, { fileMustExist: true, timeout: 1000 });
    if (checkpoint === null) checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
    checkpoint.all();
    lastError = null;
    // The size this checkpoint left: a cut before the next tick must show as a shrink then.
    if (reported(fileProblem())) return;
  } catch (err) {
    const message = String((err && err.message) || err);
    // A full disk fails every checkpoint until space is freed: say so once, not ten times a second.
    if (message !== lastError) {
      parentPort.postMessage({ error: { message, code: typeof err.code === 'string' ? err.code : null } });
    }
    lastError = message;
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  if (db !== null) db.close();
  parentPort.close();
});
`;

/** The database file as the writer opened it. */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** Its size then; SQLite only ever grows it. */
  size: number;
}

export type FileProblem =
  { problem: 'deleted' } | { problem: 'replaced' } | { problem: 'truncated'; from: number; to: number };

export interface CheckpointerOptions {
  path: string;
  file: FileIdentity;
  /** Time between PASSIVE checkpoints. */
  intervalMs: number;
  /**
   * Told when a checkpoint fails (the writer's backstop auto-checkpoint still bounds the WAL),
   * once per distinct failure. `code` is SQLite's (SQLITE_CORRUPT...), null for others.
   */
  onError: (message: string, code: string | null) => void;
  /** Told once when the file is no longer the one the writer opened, or shrank; no checkpoint follows. */
  onFileProblem: (problem: FileProblem) => void;
}

interface WorkerMessage {
  error?: { message: string; code: string | null };
  file?: FileProblem;
}

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopped = false;

  constructor(opts: CheckpointerOptions) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: opts.path, file: opts.file, intervalMs: opts.intervalMs, sqlite },
    });
    this.worker.unref();
    this.worker.on('message', (m: WorkerMessage) => {
      if (m.error !== undefined) opts.onError(m.error.message, m.error.code);
      if (m.file !== undefined) opts.onFileProblem(m.file);
    });
    this.worker.on('error', (err: Error) => opts.onError(err.message, null));
  }

  /** Asks the worker to close its connection and exit; returns at once. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.postMessage('stop');
  }
}
