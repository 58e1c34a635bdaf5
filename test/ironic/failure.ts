// The typed error a client call fails with; a call that succeeds, or fails with anything else,
// fails the test.
import { IronicError } from '../../src/ironic/errors.js';

export async function failure(promise: Promise<unknown>): Promise<IronicError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof IronicError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
