// A WAL checkpoint copies committed pages into the database file and then fsyncs it: several
// milliseconds on this VM's disk. Left to SQLite's auto-checkpoint, that work lands on the
// writer's thread inside whichever append crossed the threshold, and every append behind it waits
// (about 40% of the wall time of single-event appends here). The writer therefore raises its own
// auto-checkpoint threshold to a backstop, and a worker thread with its own connection runs PASSIVE
// checkpoints on a timer: it never blocks the writer, and SQLite restarts the WAL from its start
// once everything in it has been copied. Durability does not depend on checkpoints: a committed
// WAL frame survives a killed process either way.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Runs in the worker (CommonJS, evaluated from this string so it works from src/ and dist/). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface CheckpointerOptions {
  path: string;
  /** Time between PASSIVE checkpoints. */
  intervalMs: number;
  /** Told when a checkpoint fails (the writer's backstop auto-checkpoint still bounds the WAL). */
  onError?: (message: string) => void;
}

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopped = false;

  constructor(opts: CheckpointerOptions) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: opts.path, intervalMs: opts.intervalMs, sqlite },
    });
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => {
      if (m.error !== undefined) opts.onError?.(m.error);
    });
    this.worker.on('error', (err: Error) => opts.onError?.(err.message));
  }

  /** Asks the worker to close its connection and exit; returns at once. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.postMessage('stop');
  }
}
