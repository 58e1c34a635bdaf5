// One run: folds machine events through XState's pure transition functions and
// executes the effects they ask for. Order of work for every step (write-ahead):
//   1. the effect's result, the machine event it becomes, the transition it causes and
//      the `effect.started` of whatever the new state invokes are committed together;
//   2. only then is the next effect started.
// A crash anywhere leaves a stream that resume can fold and continue from.
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import type { Logger } from 'pino';
import { machineStepper, type MachineStepper } from '../runlog/stepper.js';
import type { Scrubber } from '../store/scrub.js';
import { stateToString } from '../runlog/state.js';
import type { JsonObject, RunStatus } from '../store/types.js';
import type { Recorder } from './recorder.js';
import { decodeActions, type Spawn } from '../runlog/actions.js';
import { encodeEvents, type NewRunEvent } from '../runlog/events.js';
import { asObject } from '../runlog/json.js';
import {
  effectResult,
  endingOf,
  holdsError,
  recordedEvent,
  startedEvents,
  stepEvents,
  type StepCause,
} from '../runlog/record.js';
import { toEffectErrorJson } from '../machines/effect-error.js';
import { runFailureOf, type RunFailure } from './failure.js';
import { isUuid } from '../ironic/validate.js';
import { AUTH_FAILURE_CODES, type IronicErrorCode } from '../ironic/errors.js';

export interface EffectCall {
  runId: string;
  /** Started before a restart and run again by resume. */
  rerun: boolean;
  /** The run was resumed after a restart: the node may have moved on while nobody watched. */
  resumed: boolean;
  /** The run's instance, which every effect acting on a node must find on it. */
  instance: string | null;
  actorId: string;
  src: string;
  input: JsonObject;
  signal: AbortSignal;
  /**
   * Feeds the machine an event from this effect (a long-lived effect's report); resolves once
   * the step is recorded. Dropped once the machine has stopped the effect.
   */
  emit: (event: EventObject) => Promise<void>;
}

export type EffectRunner = (call: EffectCall) => Promise<unknown>;

export interface RunResult {
  runId: string;
  op: string;
  /**
   * `interrupted`: this engine stopped driving the run before it ended, because it was closed
   * (error code ENGINE_CLOSED) or could not record the run's progress (RUN_INTERRUPTED). The
   * run is still `running` in the store, and resume continues it from its last recorded step.
   */
  status: Exclude<RunStatus, 'running'> | 'interrupted';
  instance: string | null;
  node: string | null;
  /** Null when it succeeded; `error.code` is one of RunFailureCode (failure.ts). */
  error: RunFailure | null;
  /**
   * The machine state the failure happened in (e.g. `addInstanceInfo`), also when the machine
   * went on to clean up before ending; null when the run succeeded or the state is not known
   * (a failure found by the very first step, or set before a restart).
   */
  failedIn: string | null;
  warnings: string[];
  output: JsonObject | null;
  /** HTTP attempts this run sent to Ironic, retries included (the shared watcher's polls are not). */
  requests: number;
}

/**
 * One record per state a run enters, in order: `transition` for each state it moves to (the
 * first one included, or the state a resumed run continues from), `finished` for its final state.
 */
export interface RunProgress {
  runId: string;
  kind: 'transition' | 'finished';
  state: string;
  at: string;
  /** The effect the state started (the first, should it start several), if any. */
  effect?: string;
}

/** Told of a run's steps as they happen (the engine's event stream, metrics and spans). */
export interface RunObserver {
  /** The machine entered `to`; `from` null for the first state this engine drives it in. */
  transition(from: string | null, to: string): void;
  effectStarted(actorId: string, src: string, rerun: boolean): void;
  /** `code`: the effect error's code, for `error`. */
  effectEnded(
    actorId: string,
    src: string,
    outcome: 'ok' | 'error' | 'abandoned',
    code: string | null,
    ms: number,
  ): void;
}

export interface RunSpec {
  id: string;
  op: string;
  machine: AnyStateMachine;
  instance: string | null;
  node: string | null;
  /** Told when the machine learns the run's node mid-run (a teardown looks it up by instance). */
  onNodeLearned?: (node: string) => void;
  /**
   * The run's live secrets by value (null: none). The result the run settles with is scrubbed of
   * them like its record: an error quoting Ironic's last_error is printed by the CLI.
   */
  scrub?: () => Scrubber | null;
  observer?: RunObserver;
}

export interface PendingEffectSpec {
  actorId: string;
  src: string;
  input: unknown;
}

export type RunPhase = 'starting' | 'running' | 'draining' | 'stopped' | 'ended';

const PHASE_ORDER: Record<RunPhase, number> = { starting: 0, running: 1, draining: 2, stopped: 3, ended: 4 };

export class Run {
  readonly id: string;
  readonly op: string;
  readonly instance: string | null;
  node: string | null;
  readonly done: Promise<RunResult>;
  private snapshot: AnyMachineSnapshot | null = null;
  /** XState's pure transitions with one inert actor scope per run instead of one per step. */
  private readonly stepper: MachineStepper;
  private readonly inFlight = new Map<string, AbortController>();
  /**
   * Effects whose result must not be recorded: aborted by close (still pending in the log, so
   * resume runs them again), or stopped by the machine leaving their state (XState ignores a
   * stopped child's result too).
   */
  private readonly abandoned = new Set<AbortController>();
  /**
   * Where the run is in its life in this engine:
   * - `starting`: created, its first step not yet recorded (events sent now wait in `early`);
   * - `running`: steps are taken and effects launched;
   * - `draining`: the engine is closing: in-flight effects may still finish and be recorded, no
   *   new effect starts;
   * - `stopped`: the engine stopped it (close's deadline passed): nothing more is recorded;
   * - `ended`: `done` is settled (finished, failed or interrupted); nothing more happens.
   * Only forward: starting -> running -> draining -> stopped -> ended, any step may be skipped.
   */
  private phase: RunPhase = 'starting';
  private chain: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(p: RunProgress) => void>();
  private resolveDone!: (r: RunResult) => void;
  private currentState = 'created';
  private requestCount = 0;
  /** The state the machine was in when its context first held an error. */
  private failedIn: string | null = null;
  /** Events sent before the first step was recorded; begin() hands them to the machine. */
  private readonly early: Array<EventObject & Record<string, unknown>> = [];
  private readonly onNodeLearned: ((node: string) => void) | undefined;
  private readonly scrub: () => Scrubber | null;
  private readonly observer: RunObserver | undefined;
  /** In-flight effects the observer has not been told the end of (kept only with an observer). */
  private readonly observed = new Map<AbortController, { actorId: string; src: string; started: number }>();
  private resumed = false;
  /** The node's UUID from the first node Ironic returned to an effect (a deploy may name it). */
  private ironicNode: string | null = null;

  constructor(
    spec: RunSpec,
    private readonly recorder: Recorder,
    private readonly runEffect: EffectRunner,
    private readonly log: Logger,
  ) {
    this.id = spec.id;
    this.op = spec.op;
    this.stepper = machineStepper(spec.machine);
    this.instance = spec.instance;
    this.node = spec.node;
    this.onNodeLearned = spec.onNodeLearned;
    this.scrub = spec.scrub ?? (() => null);
    this.observer = spec.observer;
    this.done = new Promise<RunResult>((resolve) => (this.resolveDone = resolve));
  }

  get state(): string {
    return this.currentState;
  }

  /** Counts one HTTP attempt made on this run's behalf. */
  countRequest(): void {
    this.requestCount++;
  }

  get requests(): number {
    return this.requestCount;
  }

  get isFinished(): boolean {
    return this.phase === 'ended';
  }

  /** Moves the run forward to `to`; never back (a later phase already reached stays). */
  private enter(to: RunPhase): void {
    if (PHASE_ORDER[to] > PHASE_ORDER[this.phase]) this.phase = to;
  }

  /** Steps may be taken and results recorded (running, or draining what is in flight). */
  private get live(): boolean {
    return this.phase === 'running' || this.phase === 'draining';
  }

  subscribe(listener: (p: RunProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** First step of a new run: its `run.started` is already stored (seq 1). */
  async begin(input: JsonObject): Promise<void> {
    const [snapshot, actions] = this.stepper.initialTransition(input);
    const { spawns } = decodeActions(actions);
    const events = stepEvents({ from: null, cause: null, next: snapshot, spawns });
    await this.commit(snapshot, events, spawns, null);
    // Events sent before this first step was recorded (an ABORT from a teardown given in the
    // same tick): the machine takes them now, in the order they came.
    for (const event of this.early.splice(0)) this.send(event);
  }

  /**
   * Continues a run folded from its stream. Effects that were started and never
   * finished run again: each is idempotent against Ironic.
   */
  async resume(snapshot: AnyMachineSnapshot, pending: PendingEffectSpec[]): Promise<void> {
    this.resumed = true;
    this.snapshot = snapshot;
    this.enter('running');
    this.currentState = stateToString(snapshot.value);
    const spawns = pending.map((p) => ({ actorId: p.actorId, src: p.src, input: asObject(p.input) }));
    const notes: NewRunEvent[] = spawns.map((s) => ({
      kind: 'note',
      type: 'resume',
      data: {
        level: 'info',
        message: `resumed: running ${s.src} again (started before the restart, never finished)`,
        actorId: s.actorId,
      },
    }));
    await this.recorder.append(this.id, encodeEvents([...notes, ...startedEvents(spawns)]));
    if (snapshot.status === 'done') {
      await this.finish(snapshot);
      return;
    }
    this.observer?.transition(null, this.currentState);
    this.emitState(spawns);
    for (const s of spawns) this.launch(s, true);
  }

  /** Starts no further effect; in-flight ones may still finish and be recorded. */
  drain(): void {
    this.enter('draining');
  }

  /** Aborts one in-flight effect without recording its result; resume runs it again. */
  abandon(actorId: string): void {
    const ac = this.inFlight.get(actorId);
    if (!ac) return;
    this.abandoned.add(ac);
    this.ended(ac, 'abandoned', null);
    ac.abort(new Error('engine closing'));
  }

  /** Stops everything now; the run stays resumable from its stream. */
  stop(): void {
    this.enter('stopped');
    this.abandonAll();
  }

  private abandonAll(): void {
    for (const id of [...this.inFlight.keys()]) this.abandon(id);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get inFlightIds(): string[] {
    return [...this.inFlight.keys()];
  }

  /** Waits for queued steps (used by a graceful close). */
  settled(): Promise<void> {
    return this.chain;
  }

  /**
   * Sends the machine an event from outside (the engine's ABORT). Recorded like any
   * machine event, so replay folds it too. An event the current state ignores is
   * recorded as a stay.
   */
  send(event: EventObject & Record<string, unknown>): void {
    // Before the first step is recorded (even while closing) the machine cannot take it yet.
    if (!this.snapshot && this.phase !== 'ended') {
      this.early.push(event);
      return;
    }
    this.enqueue(async () => {
      if (!this.live || !this.snapshot) return;
      const from = stateToString(this.snapshot.value);
      await this.step(event, { event: recordedEvent(event) }, from);
    });
  }

  /**
   * One machine step for an event that is not an effect's result: its machine.event, the
   * transition (with the in-flight effects it stopped) and the effects it starts, recorded together.
   */
  private async step(
    event: EventObject,
    cause: StepCause,
    from: string,
    result?: NewRunEvent,
  ): Promise<void> {
    const [next, actions] = this.stepper.transition(this.snapshot as AnyMachineSnapshot, event);
    const { spawns, stops } = decodeActions(actions);
    const stopped = this.stopEffects(stops);
    const nodeUuid = this.learnNode(next);
    const events = stepEvents({
      from,
      cause,
      next,
      spawns,
      stopped,
      ...(result ? { result } : {}),
      ...(nodeUuid !== null ? { nodeUuid } : {}),
    });
    await this.commit(next, events, spawns, from);
  }

  /**
   * Aborts the in-flight effects a step stops (their state was left); their results are dropped.
   * Returns their actor ids, recorded with the transition so the log shows where each ended.
   */
  private stopEffects(stops: readonly string[]): string[] {
    const stopped: string[] = [];
    for (const id of stops) {
      const ac = this.inFlight.get(id);
      if (!ac) continue;
      this.inFlight.delete(id);
      this.abandoned.add(ac);
      this.ended(ac, 'abandoned', null);
      ac.abort(new Error('state left'));
      stopped.push(id);
    }
    return stopped;
  }

  /** An event reported by a running effect: taken only while the machine still runs that effect. */
  private report(spawn: Spawn, ac: AbortController, event: EventObject): Promise<void> {
    return new Promise<void>((resolve) => {
      this.enqueue(async () => {
        try {
          if (this.inFlight.get(spawn.actorId) !== ac || !this.live || !this.snapshot) return;
          const from = stateToString(this.snapshot.value);
          await this.step(event, { event: recordedEvent(event), actorId: spawn.actorId }, from);
          // Closing: a long-lived effect goes no further than the report in hand; it stays
          // pending in the log and resume starts it again.
          if (this.phase === 'draining') this.abandon(spawn.actorId);
        } finally {
          resolve();
        }
      });
    });
  }

  private launch(spawn: Spawn, rerun = false): void {
    if (this.phase !== 'running') return;
    const ac = new AbortController();
    this.inFlight.set(spawn.actorId, ac);
    const started = performance.now();
    if (this.observer) {
      this.observed.set(ac, { actorId: spawn.actorId, src: spawn.src, started });
      this.observer.effectStarted(spawn.actorId, spawn.src, rerun);
    }
    this.runEffect({
      runId: this.id,
      rerun,
      resumed: this.resumed,
      instance: this.instance,
      actorId: spawn.actorId,
      src: spawn.src,
      input: spawn.input,
      signal: ac.signal,
      emit: (event) => this.report(spawn, ac, event),
    }).then(
      (output) =>
        this.enqueue(() => this.onResult(spawn, ac, { ok: true, output }, performance.now() - started)),
      (error: unknown) =>
        this.enqueue(() => this.onResult(spawn, ac, { ok: false, error }, performance.now() - started)),
    );
  }

  /** Tells the observer, once, that an effect ended. */
  private ended(ac: AbortController, outcome: 'ok' | 'error' | 'abandoned', code: string | null): void {
    const effect = this.observed.get(ac);
    if (effect === undefined) return;
    this.observed.delete(ac);
    this.observer?.effectEnded(effect.actorId, effect.src, outcome, code, performance.now() - effect.started);
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((err: unknown) => this.fail(err));
  }

  private async onResult(
    spawn: Spawn,
    ac: AbortController,
    outcome: { ok: true; output: unknown } | { ok: false; error: unknown },
    ms: number,
  ): Promise<void> {
    if (this.inFlight.get(spawn.actorId) === ac) this.inFlight.delete(spawn.actorId);
    // An effect cut short by close() is not recorded: it stays pending and resume runs it again.
    if (this.abandoned.delete(ac) || !this.live || !this.snapshot) {
      this.ended(ac, 'abandoned', null);
      return;
    }
    if (!outcome.ok && isAuthFailure(outcome.error)) {
      this.ended(ac, 'error', codeOf(outcome.error));
      await this.stopOnAuthFailure(spawn, outcome.error);
      return;
    }
    const roundMs = Math.round(ms);
    let recorded: ReturnType<typeof effectResult>;
    if (outcome.ok) {
      const uuid = this.ironicNode === null ? nodeUuidOf(outcome.output) : null;
      if (uuid !== null) this.ironicNode = uuid;
      recorded = effectResult(spawn, outcome, roundMs, uuid ?? undefined);
      this.ended(ac, 'ok', null);
    } else {
      const error = toEffectErrorJson(outcome.error) as unknown as JsonObject;
      recorded = effectResult(spawn, { ok: false, error }, roundMs);
      this.log.debug({ effect: spawn.src, code: error.code }, 'effect failed');
      this.ended(ac, 'error', codeOf(error));
    }
    const from = stateToString(this.snapshot.value);
    await this.step(recorded.event, { event: recorded.event }, from, recorded.result);
  }

  /**
   * The node the machine learned in this step (teardown looks it up by instance), to be named in
   * the stream at once; null when it learned none.
   */
  private learnNode(next: AnyMachineSnapshot): string | null {
    const node = (next.context as { node?: unknown } | undefined)?.node;
    if (typeof node !== 'string' || node === this.node) return null;
    this.node = node;
    this.onNodeLearned?.(node);
    return node;
  }

  private async commit(
    next: AnyMachineSnapshot,
    events: NewRunEvent[],
    spawns: readonly Spawn[],
    from: string | null,
  ): Promise<void> {
    const to = stateToString(next.value);
    if (this.failedIn === null && from !== null && holdsError(next) && !holdsError(this.snapshot))
      this.failedIn = from;
    // The step that ends the run commits its run.finished with it: one commit, not two.
    const ending = next.status === 'done' ? this.ending(next) : null;
    await this.recorder.append(this.id, encodeEvents(ending ? [...events, ending.event] : events));
    this.snapshot = next;
    this.enter('running');
    this.currentState = to;
    if (from !== to) this.observer?.transition(from, to);
    // The final state is reported once, by conclude(), as `finished`.
    if (ending) {
      this.conclude(ending.result);
      return;
    }
    if (from !== to) this.emitState(spawns);
    for (const s of spawns) this.launch(s);
  }

  /** Ends a run whose recorded state is already final (resumed after its last transition). */
  private async finish(snapshot: AnyMachineSnapshot): Promise<void> {
    const { event, result } = this.ending(snapshot);
    await this.recorder.append(this.id, encodeEvents([event]));
    this.conclude(result);
  }

  /** The run.finished event and the result of a run whose machine reached a final state. */
  private ending(snapshot: AnyMachineSnapshot): { event: NewRunEvent; result: RunResult } {
    const { status, output, error, node, warnings, event } = endingOf(
      snapshot,
      this.failedIn,
      this.node,
      (n) => this.byUuid(n),
    );
    return {
      event,
      result: {
        runId: this.id,
        op: this.op,
        status,
        instance: this.instance,
        node,
        error: error ? runFailureOf(error) : null,
        failedIn: error ? this.failedIn : null,
        warnings,
        output,
        requests: this.requestCount,
      },
    };
  }

  /** A node given by name is reported by the UUID Ironic gave for it, once known. */
  private byUuid(node: string | null): string | null {
    return node !== null && !isUuid(node) ? (this.ironicNode ?? node) : node;
  }

  private conclude(result: RunResult): void {
    this.node = result.node;
    this.enter('ended');
    this.recorder.forget(this.id);
    this.emit({ kind: 'finished' });
    this.settle(result);
  }

  /**
   * A bug or a store failure, inside the step chain or in the first step: the run cannot go on
   * safely and is interrupted; it stays resumable.
   */
  fail(err: unknown): void {
    if (this.phase === 'ended') return;
    const error = toEffectErrorJson(err);
    this.log.error({ err: error }, 'run stopped: could not record its progress');
    this.interrupt({ ...error, code: 'RUN_INTERRUPTED', cause: error.code });
  }

  /**
   * The store refused to create the run, so it never started: nothing reached Ironic and there
   * is nothing to resume. Ends it as failed (RUN_NOT_RECORDED, with the store's reason).
   */
  failUnrecorded(err: unknown): void {
    if (this.phase === 'ended') return;
    const cause = toEffectErrorJson(err);
    this.log.error({ err: cause }, 'run not started: the store could not record it');
    this.endUnfinished('failed', null, {
      code: 'RUN_NOT_RECORDED',
      message: `Run ${this.id} could not be stored (${cause.message}); nothing was sent to Ironic.`,
      cause: cause.code,
    });
  }

  /**
   * Stops driving the run and settles `done` with status `interrupted` and `error`; the store
   * still holds it as running, so resume continues it. A run that already ended is left alone.
   */
  interrupt(error: JsonObject): void {
    if (this.phase === 'ended') return;
    this.endUnfinished('interrupted', this.currentState, { state: this.currentState, ...error });
  }

  /** Ends a run its machine did not finish: stops its effects and settles `done` without output. */
  private endUnfinished(status: 'failed' | 'interrupted', failedIn: string | null, error: JsonObject): void {
    this.enter('ended');
    this.abandonAll();
    this.settle({
      runId: this.id,
      op: this.op,
      status,
      instance: this.instance,
      node: this.byUuid(this.node),
      error: runFailureOf(error),
      failedIn,
      warnings: [],
      output: null,
      requests: this.requestCount,
    });
  }

  /**
   * The cloud's credentials or Keystone failed, not the node: the effect's failure is not fed to
   * the machine (it would end the run for good). The run stops as interrupted with the reason
   * in its log; the effect stays pending, and resume runs it again once auth works.
   */
  private async stopOnAuthFailure(spawn: Spawn, err: unknown): Promise<void> {
    const error = toEffectErrorJson(err) as unknown as JsonObject;
    const message = `stopped, resumable: ${String(error.message)} (fix the credentials or Keystone, then: ironledger resume ${this.id})`;
    this.log.error({ code: error.code, effect: spawn.src }, 'run stopped: authentication failed');
    await this.recorder.append(
      this.id,
      encodeEvents([
        {
          kind: 'note',
          type: spawn.src,
          data: { level: 'error', message, code: error.code as string, actorId: spawn.actorId, error },
        },
      ]),
    );
    this.interrupt({ ...error, code: error.code as string, message: error.message as string });
  }

  private settle(result: RunResult): void {
    const scrub = this.scrub();
    this.resolveDone(scrub === null ? result : scrub.value(result));
  }

  /** The state just entered, with the effect it starts. */
  private emitState(spawns: readonly Spawn[]): void {
    const effect = spawns[0]?.src;
    this.emit(effect === undefined ? { kind: 'transition' } : { kind: 'transition', effect });
  }

  private emit(p: Omit<RunProgress, 'runId' | 'at' | 'state'>): void {
    if (this.listeners.size === 0) return;
    const progress: RunProgress = {
      runId: this.id,
      at: new Date().toISOString(),
      state: this.currentState,
      ...p,
    };
    // A listener belongs to the embedder: its exception must not stop or leak the run.
    for (const l of this.listeners) {
      try {
        l(progress);
      } catch (err) {
        this.log.warn({ err, kind: p.kind }, 'a run listener threw; ignored');
      }
    }
  }
}

function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

function isAuthFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && AUTH_FAILURE_CODES.has(code as IronicErrorCode);
}

/** The UUID of an Ironic node (a Node or NodeView an effect returned), or null for anything else. */
function nodeUuidOf(value: unknown): string | null {
  if (!value || typeof value !== 'object' || !('provision_state' in value)) return null;
  const uuid = (value as { uuid?: unknown }).uuid;
  return isUuid(uuid) ? uuid : null;
}
