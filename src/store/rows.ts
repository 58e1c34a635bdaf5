// What a `runs` and an `events` row hold, by column, and how each becomes the RunRow and
// StoredEvent every reader sees: the same on SQLite and PostgreSQL, so written once here.
import type { JsonObject, RunOwner, RunRow, RunStatus, StoredEvent } from './types.js';

/** The columns of a `runs` row that a RunRow is made of. */
export interface RunColumns {
  id: string;
  op: string;
  instance_uuid: string | null;
  node_uuid: string | null;
  node_name: string | null;
  machine: string;
  machine_version: number;
  status: RunStatus;
  state: string | null;
  last_seq: number;
  created_at: string;
  updated_at: string;
  /** The failure as JSON text; null while running or after success. */
  error: string | null;
}

/** The columns of an `events` row that a StoredEvent is made of. */
export interface EventColumns {
  seq: number;
  at: string;
  kind: string;
  type: string | null;
  from_state: string | null;
  to_state: string | null;
  /** The payload as JSON text, as written. */
  data: string;
  v: number;
}

/** A run row as readers see it; `owner` counts only while the run is running. */
export function runRowOf(r: RunColumns, owner: RunOwner | null): RunRow {
  return {
    id: r.id,
    op: r.op,
    instanceUuid: r.instance_uuid,
    nodeUuid: r.node_uuid,
    nodeName: r.node_name,
    machine: r.machine,
    machineVersion: r.machine_version,
    status: r.status,
    state: r.state,
    lastSeq: r.last_seq,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    error: r.error === null ? null : (JSON.parse(r.error) as JsonObject),
    owner: r.status === 'running' ? owner : null,
  };
}

export function storedEventOf(runId: string, e: EventColumns): StoredEvent {
  return {
    runId,
    seq: e.seq,
    at: e.at,
    kind: e.kind as StoredEvent['kind'],
    type: e.type,
    from: e.from_state,
    to: e.to_state,
    data: JSON.parse(e.data) as JsonObject,
    v: e.v,
  };
}
