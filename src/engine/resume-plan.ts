// Where an unfinished run resumes: from its stored stream and the machine version it was recorded
// with, the state to continue from (folded by replay), the effects to run again, the input it
// started with and the node to lock. Refuses, with a typed error, a run this build cannot
// continue: an unknown operation, an unregistered version, a stream that diverges from the
// machine. Pure: reads no store and starts nothing.
import type { AnyMachineSnapshot } from 'xstate';
import type { Lifecycle, MachineRegistry } from '../machines/index.js';
import { decodeEvent } from '../runlog/events.js';
import { replayRun, type PendingEffect } from '../runlog/replay.js';
import type { JsonObject, RunRow, StoredEvent } from '../store/types.js';
import { EngineError } from './errors.js';

export interface ResumePlan {
  lifecycle: Lifecycle;
  /** The input the run started with (its `run.started`). */
  input: JsonObject;
  /** The state to continue from and the effects started and never finished; null before the first transition. */
  replay: { snapshot: AnyMachineSnapshot; pendingEffects: PendingEffect[] } | null;
  /**
   * The node the machine works on, which a teardown may have found by instance after a wrong
   * hint: that is the node to lock, not the one the run row was created with.
   */
  node: string | null;
}

export function planResume(
  row: RunRow,
  events: readonly StoredEvent[],
  machines: MachineRegistry,
): ResumePlan {
  const lifecycle = lifecycleOf(row, machines);
  const first = events[0] && decodeEvent(events[0]);
  const input = first?.kind === 'run.started' ? first.data.input : {};
  const replay = events.some((e) => e.kind === 'transition') ? replayRun(lifecycle.machine, events) : null;
  if (replay && !replay.matches) {
    const d = replay.divergence;
    const versions =
      row.machineVersion === lifecycle.version
        ? `v${lifecycle.version}`
        : `v${lifecycle.version} (the run was recorded with v${row.machineVersion})`;
    throw new EngineError(
      'RUN_DIVERGED',
      `Run ${row.id} no longer matches machine ${row.machine} ${versions} at seq ${d?.seq ?? '?'}: ${d?.reason ?? 'unknown'}; not resumed.`,
      {
        runId: row.id,
        divergence: d,
        recordedVersion: row.machineVersion,
        machineVersion: lifecycle.version,
      },
    );
  }
  const node = nodeOfContext(replay?.snapshot) ?? row.nodeUuid ?? row.nodeName;
  return {
    lifecycle,
    input,
    replay: replay ? { snapshot: replay.snapshot, pendingEffects: replay.pendingEffects } : null,
    node,
  };
}

/** The machine version the run was recorded with: a run resumes with the definition it ran. */
function lifecycleOf(row: RunRow, machines: MachineRegistry): Lifecycle {
  const registered = machines.versions(row.op);
  if (registered.length === 0) {
    throw new EngineError(
      'RUN_UNKNOWN_MACHINE',
      `Run ${row.id} uses an operation this version does not know: ${row.op}.`,
      {
        runId: row.id,
      },
    );
  }
  const lifecycle = machines.get(row.op, row.machineVersion);
  if (!lifecycle) {
    throw new EngineError(
      'RUN_VERSION_UNREGISTERED',
      `Run ${row.id} was recorded with ${row.machine} v${row.machineVersion}, which this build no longer registers (${row.op}: v${registered.join(', v')}); not resumed. Resume it with a build that has v${row.machineVersion}.`,
      { runId: row.id, op: row.op, recordedVersion: row.machineVersion, registeredVersions: registered },
    );
  }
  return lifecycle;
}

function nodeOfContext(snapshot: { context?: unknown } | null | undefined): string | null {
  const node = (snapshot?.context as { node?: unknown } | undefined)?.node;
  return typeof node === 'string' && node !== '' ? node : null;
}
