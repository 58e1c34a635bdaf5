// better-sqlite3 12 objects finalized by the garbage collector abort the process on Node >= 24.19
// (see src/store/sqlite.ts). The child uses the store with collections forced in between and must
// exit 0 under whatever node runs this suite; CI also runs it on Node 24 (.ci/run).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/event-store.js';
import { keptObjectCount } from '../../src/store/sqlite.js';
import { compileStore, type CompiledStore } from './fixtures/compile-store.js';
import { tempDb } from './fixtures/temp-db.js';

const childScript = fileURLToPath(new URL('./fixtures/gc-child.mjs', import.meta.url));

let compiled: CompiledStore;
let tmp: ReturnType<typeof tempDb>;
beforeAll(() => {
  compiled = compileStore();
});
afterAll(() => compiled.cleanup());
beforeEach(() => {
  tmp = tempDb();
});
afterEach(() => tmp.cleanup());

describe('the store under garbage collection', () => {
  it(`a process that opens, uses and closes stores while collections run exits 0 (node ${process.version})`, async () => {
    const child = spawn(process.execPath, ['--expose-gc', childScript, compiled.eventStoreUrl, tmp.path]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    expect({ code, signal, stdout, stderr: stderr.split('\n').slice(0, 3).join('\n') }).toEqual({
      code: 0,
      signal: null,
      stdout: 'done\n',
      stderr: '',
    });
  });

  it('keeps a bounded number of SQLite objects: repeated reads and pragmas reuse their statements', () => {
    const store = EventStore.open(tmp.path, { checkpoint: 'inline' });
    try {
      store.liveOwners();
      store.verify();
      store.listRuns({ since: '2000-01-01T00:00:00Z' });
      const before = keptObjectCount();
      for (let i = 0; i < 50; i++) {
        store.liveOwners();
        store.verify();
        store.listRuns({ since: '2000-01-01T00:00:00Z' });
      }
      expect(keptObjectCount()).toBe(before);
    } finally {
      store.close();
    }
  });
});
