// The CLI's logger runs every record through the event log's redaction step; the engine logs
// each run's transitions at debug level, through a child logger that names the run.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/engine/logger.js';
import { INSTANCE, makeWorld } from './helpers.js';

function sinkOf(lines: string[]): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
}

describe('createLogger', () => {
  it('redacts tokens, passwords, user data and config drives in any record, nested or not', () => {
    const lines: string[] = [];
    const log = createLogger('info', sinkOf(lines));
    log.child({ runId: 'r1' }).info(
      {
        token: 'tok-SECRET-1',
        request: { headers: { 'x-auth-token': 'tok-SECRET-2' } },
        input: {
          adminPassword: 'pw-SECRET-3',
          userData: 'ud-SECRET-4',
          configdrive: { meta_data: { admin_pass: 'x' } },
        },
        node: 'node-1',
      },
      'something happened',
    );
    const out = lines.join('');
    expect(out).toContain('something happened');
    expect(out).toContain('node-1');
    expect(out).toContain('r1');
    for (const secret of ['tok-SECRET-1', 'tok-SECRET-2', 'pw-SECRET-3', 'ud-SECRET-4', 'meta_data']) {
      expect(out).not.toContain(secret);
    }
  });

  it("logs each of a run's transitions at debug level with the run's id, and none at info", async () => {
    for (const level of ['debug', 'info'] as const) {
      const lines: string[] = [];
      const world = await makeWorld({ cleanMs: 60 }, { logger: createLogger(level, sinkOf(lines)) });
      try {
        world.sim.addNode({
          provisionState: 'active',
          powerState: 'power on',
          instanceUuid: INSTANCE(1),
          instanceInfo: { image_source: 'http://img/x.qcow2' },
          ports: [{ address: '52:54:00:00:01:00', vifId: 'vif-a' }],
        });
        const run = world.engine.destroy({ instance: INSTANCE(1), vifs: ['vif-a'] });
        expect((await run.done).status).toBe('succeeded');
        const transitions = lines
          .map((l) => JSON.parse(l) as { msg?: string; runId?: string; state?: string })
          .filter((r) => r.msg === 'transition');
        if (level === 'info') expect(transitions).toEqual([]);
        else {
          expect(transitions.every((t) => t.runId === run.id)).toBe(true);
          expect(transitions.map((t) => t.state)).toEqual(
            expect.arrayContaining(['lookup', 'cleanup.unplugVifs', 'unprovision.requestDeleted']),
          );
        }
      } finally {
        await world.close();
      }
    }
  });
});
