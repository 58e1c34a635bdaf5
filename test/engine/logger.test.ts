// The CLI's logger runs every record through the event log's redaction step.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/engine/logger.js';

describe('createLogger', () => {
  it('redacts tokens, passwords, user data and config drives in any record, nested or not', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('info', sink);
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
});
