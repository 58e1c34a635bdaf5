// Replica mode runs on a SQLite store for now: on a PostgreSQL URL it is refused before anything
// is opened or connected, with a clear code and the URL's password masked.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';

describe('replica mode and the store', () => {
  it('refuses a PostgreSQL store (ENGINE_REPLICA_STORE), naming it without its password', async () => {
    const secret = 's3cr3t-pw';
    const open = Engine.open({
      db: `postgres://ironledger:${secret}@127.0.0.1:1/ironledger`,
      ironic: { url: 'http://127.0.0.1:1' },
      replica: { id: 'r1' },
    });
    const err = await open.then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe('ENGINE_REPLICA_STORE');
    expect(err!.message).toContain('postgres://ironledger:***@127.0.0.1:1/ironledger');
    expect(`${err!.message} ${JSON.stringify(err)}`).not.toContain(secret);
  });
});
