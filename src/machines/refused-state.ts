// Ironic refuses a provision verb the node's state machine cannot take with a 400
// (InvalidStateRequested): `The requested action "deleted" can not be performed on node
// "<uuid>" while it is in state "cleaning".` When that state is already where the verb
// leads, the request was in effect already made: the seed's `_unprovision` treats it so,
// and a resumed run that re-sends a request meets exactly this answer.
import type { EffectErrorJson } from './effect-error.js';

// Quotes may arrive backslash-escaped when the faultstring was read from a nested JSON body.
const REFUSED_STATE = /can ?not be performed on node \\?"[^"\\]*\\?" while it is in state \\?"([^"\\]*)\\?"/i;

/** The node's state named in an InvalidStateRequested 400, or null for any other answer. */
export function refusedInState(
  err: Pick<EffectErrorJson, 'code' | 'faultstring' | 'message'>,
): string | null {
  if (err.code !== 'IRONIC_BAD_REQUEST') return null;
  const match = REFUSED_STATE.exec(err.faultstring ?? err.message);
  return match?.[1] ?? null;
}
