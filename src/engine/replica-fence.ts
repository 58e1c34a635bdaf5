// Replica mode, the engine's side of fencing (replica.ts keeps the heartbeat, the ring and the
// takeover): which runs this replica drives, the lease check that asks the store whether it still
// owns them, stopping a run another replica took, and the client views that send nothing while
// this replica's lease may have run out.
import type { IronicApi } from '../ironic/types.js';
import { encodeEvents } from '../runlog/events.js';
import { EngineError } from './errors.js';
import type { Recorder } from './recorder.js';
import type { Replica } from './replica.js';
import type { Run } from './run.js';

export class ReplicaFence {
  constructor(
    private readonly replica: Replica,
    private readonly runs: ReadonlyMap<string, Run>,
    private readonly recorder: Recorder,
  ) {}

  /** The runs this engine drives (started and not ended; `all`: any it holds). */
  driven(all = false): string[] {
    const out: string[] = [];
    for (const run of this.runs.values()) {
      if (all || (!run.isFinished && this.recorder.lastSeq(run.id) !== undefined)) out.push(run.id);
    }
    return out;
  }

  /**
   * After a gap in the heartbeats: appends a `lease-check` note to each run, now, and answers with
   * the error of each append the store refused (its fence: another replica took the run over
   * meanwhile).
   */
  async check(runIds: string[], message: string): Promise<Map<string, unknown>> {
    const appends = runIds.map((runId) =>
      this.recorder.append(
        runId,
        encodeEvents([{ kind: 'note', type: 'lease-check', data: { level: 'warn', message } }]),
      ),
    );
    void this.recorder.flush();
    const settled = await Promise.allSettled(appends);
    const refused = new Map<string, unknown>();
    settled.forEach((s, i) => {
      if (s.status === 'rejected' && this.runs.get(runIds[i]!)?.isFinished === false)
        refused.set(runIds[i]!, s.reason);
    });
    return refused;
  }

  /** Another replica took this run over; it is stopped now (no further request). */
  fence(runId: string, err: unknown): void {
    const run = this.runs.get(runId);
    // Interrupted with the store's refusal as its cause; the engine logs why it stopped.
    if (run && !run.isFinished) run.fail(err);
  }

  /**
   * A view of the client that sends nothing while this replica's lease may have run out
   * (replica.guard), and nothing more for a run once it was stopped as taken over.
   */
  guard(api: IronicApi, runId: string | null): IronicApi {
    const { replica, runs } = this;
    const assertStillOurs = (): void => {
      const run = runId === null ? undefined : runs.get(runId);
      if (runId !== null && (run === undefined || run.isFinished)) {
        throw new EngineError(
          'ENGINE_RUN_TAKEN_OVER',
          `Run ${runId} is no longer driven by replica ${replica.id}; nothing sent.`,
          { runId },
        );
      }
    };
    return new Proxy(api, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          const gate = replica.guard();
          if (gate === null) return (value as (...a: unknown[]) => unknown).apply(target, args);
          return gate.then(() => {
            assertStillOurs();
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          });
        };
      },
    });
  }
}
