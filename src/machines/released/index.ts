// Frozen earlier versions of the lifecycle machines, kept registered while runs recorded with
// them may still be in a store (to resume or replay them with the definition they ran).
//
// To change a machine's behaviour: copy its current file here as <machine>-v<N>.ts (N its
// current version; fix the relative imports to '../'), add `{ op, machine, version: N }` below,
// then change the live file and bump its version in ../index.ts. The frozen file is never edited
// again; drop it (and its entry) only once no store can hold an unfinished run recorded with it.
// Helpers it shares with the live machine (wait-budget.ts, lifecycle-output.ts, effects) must
// keep their behaviour for it, or be copied here as well.
//
// Nothing is frozen yet: the versions in ../index.ts are the only ones released so far.
import type { Lifecycle } from '../registry.js';

export const released: Lifecycle[] = [];
