// The run events: what each kind of event in a run's stream holds, typed. The store keeps them as
// rows of plain JSON (`StoredEvent.data`); this is the one place that says what that JSON is, how
// a writer builds it and how a reader gets it back. Streams written by earlier versions read
// back through decodeEvent with the same defaults the readers always applied (a run.finished
// recorded before `failedIn` existed, an http attempt without `attempt`, ...).
import { EVENT_KINDS } from '../store/types.js';
import type { EventKind, JsonObject, JsonValue, NewEvent, StoredEvent } from '../store/types.js';

/** A machine event as recorded: plain JSON with its XState type. */
export type RecordedMachineEvent = JsonObject & { type: string };

/** How a run ended, as `run.finished` records it. */
export type FinishedStatus = 'succeeded' | 'failed' | 'cancelled';

/** The payload (`data`) of each kind of run event. */
export interface RunEventData {
  /** Written by the store when it creates the run (seq 1). */
  'run.started': { input: JsonObject; machine?: string; machineVersion?: number };
  'run.finished': {
    status: FinishedStatus;
    output: JsonObject | null;
    error: JsonObject | null;
    /** The state the failure happened in; null when unknown (runs recorded before it existed). */
    failedIn: string | null;
    nodeUuid: string | null;
  };
  /** `actorId`: the long-lived effect that reported it (one of its observations). */
  'machine.event': { event: RecordedMachineEvent; actorId?: string };
  /** `stopped`: the effects in flight the step stopped; `nodeUuid`: the node learned by this step. */
  transition: { stopped?: string[]; nodeUuid?: string };
  'effect.started': { actorId: string; src: string; input: JsonValue };
  /** The output is recorded once, in the machine event it becomes. */
  'effect.succeeded': { actorId: string; ms?: number; nodeUuid?: string };
  'effect.failed': { actorId: string; error: JsonObject | null; ms?: number };
  http: {
    method: string;
    path: string;
    status: number | null;
    ms: number;
    attempt: number;
    willRetry: boolean;
    errorCode?: string;
    retryInMs?: number;
    /** 'keystone' for a token request; absent for Ironic. */
    service?: string;
    /** Why a Keystone token was requested: initial, expiring or unauthorized. */
    authReason?: string;
  };
  /** An effect's remark, a resume, a supersede, an auth stop; effects may add their own facts. */
  note: {
    level: string;
    message: string;
    actorId?: string;
    code?: string;
    [fact: string]: JsonValue | undefined;
  };
}

export type RunEventKind = keyof RunEventData;

/** Columns every stored event has besides its payload. */
interface EventColumns {
  runId: string;
  seq: number;
  at: string;
  type: string | null;
  from: string | null;
  to: string | null;
  v: number;
}

/** A stored event, decoded: `kind` says what `data` holds. */
export type RunEvent = {
  [K in RunEventKind]: EventColumns & { kind: K; data: RunEventData[K] };
}[RunEventKind];

/** An event to append, typed by its kind. */
export type NewRunEvent = {
  [K in RunEventKind]: {
    kind: K;
    type?: string | null;
    from?: string | null;
    to?: string | null;
    at?: string;
    data: RunEventData[K];
  };
}[RunEventKind];

/** What the store takes: the same event, its payload as plain JSON (undefined fields are dropped). */
export function encodeEvent(event: NewRunEvent): NewEvent {
  return event as unknown as NewEvent;
}

export function encodeEvents(events: readonly NewRunEvent[]): NewEvent[] {
  return events.map(encodeEvent);
}

const str = (v: JsonValue | undefined, fallback: string): string =>
  v === undefined || v === null ? fallback : String(v);
const num = (v: JsonValue | undefined, fallback: number): number => (typeof v === 'number' ? v : fallback);
const obj = (v: JsonValue | undefined): JsonObject | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
const optStr = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function finishedStatus(v: JsonValue | undefined): FinishedStatus {
  return v === 'succeeded' || v === 'cancelled' ? v : 'failed';
}

function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (base as Record<string, unknown>)[k] = v;
  return base;
}

/**
 * The payload of a stored event, typed by its kind. Fields a stream of an earlier version may lack
 * get the defaults readers always gave them; a field of the wrong type counts as missing.
 */
export function decodeData<K extends RunEventKind>(
  kind: K,
  type: string | null,
  d: JsonObject,
): RunEventData[K] {
  return decoders[kind](d, type) as RunEventData[K];
}

const decoders: { [K in RunEventKind]: (d: JsonObject, type: string | null) => RunEventData[K] } = {
  'run.started': (d) =>
    withOptional(
      { input: obj(d.input) ?? {} },
      {
        machine: optStr(d.machine),
        machineVersion: typeof d.machineVersion === 'number' ? d.machineVersion : undefined,
      },
    ),
  'run.finished': (d) => ({
    status: finishedStatus(d.status),
    output: obj(d.output),
    error: obj(d.error),
    failedIn: typeof d.failedIn === 'string' ? d.failedIn : null,
    nodeUuid: typeof d.nodeUuid === 'string' ? d.nodeUuid : null,
  }),
  // An event without a type (never written by the engine) decodes with type '': replay reports it.
  'machine.event': (d) => {
    const event = obj(d.event);
    const recorded: RecordedMachineEvent =
      event && typeof event.type === 'string'
        ? (event as RecordedMachineEvent)
        : { ...(event ?? {}), type: '' };
    return withOptional({ event: recorded }, { actorId: optStr(d.actorId) });
  },
  transition: (d) =>
    withOptional(
      {},
      {
        stopped: Array.isArray(d.stopped) ? d.stopped.map((id) => String(id)) : undefined,
        nodeUuid: optStr(d.nodeUuid),
      },
    ),
  'effect.started': (d, type) => ({
    actorId: str(d.actorId, type ?? 'null'),
    src: str(d.src, type ?? 'null'),
    input: d.input ?? null,
  }),
  'effect.succeeded': (d) =>
    withOptional(
      { actorId: str(d.actorId, '') },
      { ms: typeof d.ms === 'number' ? d.ms : undefined, nodeUuid: optStr(d.nodeUuid) },
    ),
  'effect.failed': (d) =>
    withOptional(
      { actorId: str(d.actorId, ''), error: obj(d.error) },
      { ms: typeof d.ms === 'number' ? d.ms : undefined },
    ),
  http: (d) =>
    withOptional(
      {
        method: str(d.method, ''),
        path: str(d.path, ''),
        status: typeof d.status === 'number' ? d.status : null,
        ms: num(d.ms, 0),
        attempt: num(d.attempt, 1),
        willRetry: d.willRetry === true,
      },
      {
        errorCode: optStr(d.errorCode),
        retryInMs: typeof d.retryInMs === 'number' ? d.retryInMs : undefined,
        service: optStr(d.service),
        authReason: d.authReason === undefined || d.authReason === null ? undefined : String(d.authReason),
      },
    ),
  note: (d) => ({ ...d, level: str(d.level, 'info'), message: str(d.message, '') }),
};

// The store's kinds are the run log's: a kind added on one side only does not compile.
const sameKinds: [EventKind, RunEventKind] extends [RunEventKind, EventKind] ? true : never = true;
const KINDS: ReadonlySet<EventKind> = new Set(sameKinds ? EVENT_KINDS : []);

/** A stored event with its payload typed by kind. */
export function decodeEvent(e: StoredEvent): RunEvent {
  if (!KINDS.has(e.kind)) throw new Error(`unknown run event kind ${String(e.kind)} (seq ${e.seq})`);
  return {
    runId: e.runId,
    seq: e.seq,
    at: e.at,
    kind: e.kind,
    type: e.type,
    from: e.from,
    to: e.to,
    v: e.v,
    data: decodeData(e.kind, e.type, e.data),
  } as RunEvent;
}
