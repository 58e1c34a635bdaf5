// Engine errors: a stable `code` and the facts an operator or a scheduler acts on.
export type EngineErrorCode =
  | 'ENGINE_NODE_BUSY'
  /** Replica mode: the node belongs to another live replica on the hash ring (facts: node, owner). */
  | 'ENGINE_NODE_NOT_OWNED'
  /** Replica mode: another replica took the run over; this one stopped driving it (facts: runId). */
  | 'ENGINE_RUN_TAKEN_OVER'
  /** The instance has an unfinished run in the store that no engine drives (resume or supersede it). */
  | 'ENGINE_UNFINISHED_RUN'
  | 'ENGINE_CLOSED'
  /** A synchronous method (resume, resumeAll) on a PostgreSQL store: use its async twin. */
  | 'ENGINE_STORE_ASYNC'
  | 'ENGINE_INVALID_INPUT'
  | 'USER_DATA_TOO_LARGE'
  | 'ENGINE_UNKNOWN_EFFECT'
  | 'RUN_NOT_FOUND'
  | 'RUN_DIVERGED'
  /** The run was recorded with a machine version this build no longer registers. */
  | 'RUN_VERSION_UNREGISTERED'
  | 'RUN_FINISHED'
  | 'RUN_UNKNOWN_MACHINE';

export interface EngineErrorFacts {
  runId?: string;
  node?: string | null;
  instance?: string | null;
  holder?: string;
  [key: string]: unknown;
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly facts: EngineErrorFacts;

  constructor(code: EngineErrorCode, message: string, facts: EngineErrorFacts = {}) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.facts = facts;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.facts };
  }
}
