// Crash on the real Ironic: the `ironledger` CLI tearing down a deployed node is killed with
// SIGKILL in the middle (once `requestDeleted` is durably started, and again while Ironic is
// unprovisioning), then `ironledger resume` finishes the run. Ironic's own log shows the
// teardown order held across the crashes, and the node ends `available`.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openConnection } from '../../src/store/sqlite.js';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CLI, cli } from '../e2e/cli.js';
import {
  availableNode,
  between,
  describeRequest,
  hasStarted,
  logMark,
  peekRun,
  readStream,
  replay,
  tempDir,
} from './engine-helpers.js';
import { deployFakeNode, getNode } from './helpers.js';

const url = inject('ironicUrl');
const log = inject('ironicLog');
const tmp = tempDir('ironledger-real-crash-');
afterAll(() => tmp.cleanup());

/** Runs the CLI and SIGKILLs it as soon as `ready()` holds; fails if it exits on its own first. */
async function killWhen(argv: string[], ready: () => boolean, timeoutMs = 60_000): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exit: number | null | undefined;
  const closed = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      exit = code;
      resolve();
    }),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit !== undefined) throw new Error(`the CLI exited (${exit}) before the kill point:\n${stderr}`);
    if (ready()) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await closed;
      throw new Error(`the kill point was not reached within ${timeoutMs} ms:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  await closed;
}

/** Whether the run recorded a 409 to `PUT .../states/provision` (the node reserved by its tear down). */
function provisionRefusedAsLocked(db: string): boolean {
  const conn = openConnection(db, { readonly: true, fileMustExist: true });
  try {
    const row = conn
      .prepare(
        "SELECT COUNT(*) AS n FROM events WHERE kind = 'http' AND type LIKE 'PUT %/states/provision' AND json_extract(data, '$.status') = 409",
      )
      .get() as { n: number };
    return row.n > 0;
  } finally {
    conn.close();
  }
}

/** How many `resume` notes the store holds: one per effect a resume ran again. */
function resumeNotes(db: string): number {
  const conn = openConnection(db, { readonly: true, fileMustExist: true });
  try {
    const row = conn
      .prepare("SELECT COUNT(*) AS n FROM events WHERE kind = 'note' AND type = 'resume'")
      .get() as {
      n: number;
    };
    return row.n;
  } finally {
    conn.close();
  }
}

describe.skipIf(url === null || log === null)(
  'kill -9 of the CLI during a teardown on the real Ironic',
  () => {
    const base = url!;
    const logPath = log!;

    it('resumes after SIGKILL at requestDeleted and again while unprovisioning: the run succeeds, its stream is gap-free, and the node ends available', async () => {
      const node = await availableNode(base);
      const instance = randomUUID();
      const vifs = [randomUUID(), randomUUID()];
      await deployFakeNode(base, node, { instanceUuid: instance, vifs });
      const db = join(tmp.dir, 'crash.db');
      const global = ['--ironic-url', base, '--db', db, '--poll-interval', '200', '--retry-interval', '200'];
      const m0 = await logMark(base, logPath, node);

      // Kill 1: `effect.started` of requestDeleted is durable; its PUT may or may not be sent.
      await killWhen(
        [
          ...global,
          'destroy',
          '--instance',
          instance,
          ...vifs.flatMap((v) => ['--vif', v]),
          '--wait-for-available',
        ],
        () => hasStarted(db, 'requestDeleted'),
      );
      const afterFirst = peekRun(db);
      // On a loaded machine the answer to the PUT may be recorded before the kill lands.
      expect(afterFirst?.status).toBe('running');
      expect(afterFirst?.state).toMatch(/^unprovision\./);
      const resumesBefore = resumeNotes(db);

      // Kill 2: the resumed run is busy with Ironic's unprovisioning: either waiting on it, or (when
      // the first PUT had gone out) re-sending `deleted` and being told the node is locked.
      await killWhen([...global, 'resume'], () => {
        // Only once this resume has started again what the kill interrupted.
        if (resumeNotes(db) === resumesBefore) return false;
        const state = peekRun(db)?.state ?? '';
        return (
          (state.startsWith('unprovision.') && state !== 'unprovision.requestDeleted') ||
          provisionRefusedAsLocked(db)
        );
      });
      expect(peekRun(db)?.status).toBe('running');

      const final = await cli([...global, '--json', 'resume'], {}, 90_000);
      expect(final.code, `resume: ${final.stderr}${final.stdout}`).toBe(0);

      const runId = afterFirst!.id;
      const events = readStream(db, runId);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)).toMatchObject({ kind: 'run.finished', data: { status: 'succeeded' } });
      expect(events.filter((e) => e.kind === 'note' && e.type === 'resume').length).toBeGreaterThanOrEqual(2);
      expect(replay(db, runId, 'destroy')).toMatchObject({ matches: true, finished: true });

      expect(await getNode(base, node)).toMatchObject({
        provision_state: 'available',
        instance_uuid: null,
        instance_info: {},
        last_error: null,
      });
      const requests = await between(logPath, node, m0, await logMark(base, logPath, node));
      const changes = requests.filter((r) => r.method !== 'GET').map((r) => describeRequest(r, node));
      // Each VIF detached once, before Ironic accepted `deleted` exactly once; a provision request
      // repeated by a resume is refused by Ironic (already past deleted) and counts as done.
      expect(changes.slice(0, 3)).toEqual([
        `DELETE /v1/nodes/N/vifs/${vifs[0]} 204`,
        `DELETE /v1/nodes/N/vifs/${vifs[1]} 204`,
        'PUT /v1/nodes/N/states/provision 202',
      ]);
      expect(changes.filter((c) => c.startsWith('DELETE'))).toHaveLength(2);
      for (const later of changes.slice(3))
        expect(later).toMatch(/^PUT \/v1\/nodes\/N\/states\/provision (400|409)$/);
    }, 180_000);
  },
);
