// The engine: runs lifecycle machines against Ironic, records every step in the
// event store, shares one client and one node watcher between all runs, and
// resumes unfinished runs from their streams.
import { randomUUID } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { SetProvisionStateOptions } from '../ironic/types.js';
import { clientOptionsOf, IronicClient, type IronicClientOptions } from '../ironic/client.js';
import { cloudSettingsFromConfig, type CloudConfigObject } from '../ironic/cloud-config.js';
import { isUuid } from '../ironic/validate.js';
import type { HttpAttempt, IronicApi } from '../ironic/types.js';
import { effects as defaultEffects } from '../machines/effects.js';
import type { EffectContext, EffectImpl, FilteringHooks, RunSecrets } from '../machines/effect-context.js';
import {
  ABORT,
  machines as defaultMachines,
  type Lifecycle,
  type MachineRegistry,
  type ConsoleInput,
  type DeployInput,
  type DestroyInput,
  type OpName,
  type PowerOffInput,
  type PowerOnInput,
  type RebootInput,
  type RebuildInput,
} from '../machines/index.js';
import type { StoreError } from '../store/errors.js';
import { EventStore } from '../store/event-store.js';
import { decodeEvent, encodeEvents, type RunEventData } from '../runlog/events.js';
import { finishedEvent } from '../runlog/record.js';
import { replayRun } from '../runlog/replay.js';
import { Scrubber } from '../store/scrub.js';
import type { JsonObject, RunRow } from '../store/types.js';
import { EngineError } from './errors.js';
import { Recorder } from './recorder.js';
import { Run, type EffectCall, type RunProgress, type RunResult } from './run.js';
import { NodeWatcher } from './watcher.js';
import { Replica, type ReplicaOptions } from './replica.js';
import type { EngineEventName, EngineListener } from './events.js';
import type { EngineMetrics } from './metrics.js';
import { EngineTelemetry, type TelemetryOptions } from './telemetry.js';
import { TRACE_NOTE } from './tracing.js';
import {
  assertInputHoldsNoSecret,
  assertInputStorable,
  assertRunInput,
  runSecretsOf,
  secretValuesOf,
  type DeploySecrets,
} from './input.js';

export type { RunResult, RunProgress };

/** Per command. */
export interface StartOptions {
  /**
   * The instance has an unfinished run in the store that no engine drives (left by a crash):
   * end it as cancelled (RUN_SUPERSEDED) and run this command instead. Without it the command
   * is refused with ENGINE_UNFINISHED_RUN naming that run.
   */
  supersede?: boolean;
}

export interface EngineOptions extends TelemetryOptions {
  /** Path of the SQLite event store. */
  db: string;
  /**
   * How to reach Ironic: options for a new client; an OpenStack cloud (`{ cloud: 'name' }` read
   * from clouds.yaml as openstacksdk finds it, or `{ cloud: { auth_type, auth, ... } }` given
   * inline as clouds.yaml holds it); or a client the embedder already holds.
   */
  ironic: IronicClientOptions | CloudIronicOptions | { client: IronicClient };
  logger?: Logger;
  /** Runs executing at once; more wait their turn (default 1000). */
  concurrency?: number;
  /** Node watcher tick (default 2000 ms, the seed's api_retry_interval). */
  pollIntervalMs?: number;
  hooks?: Partial<FilteringHooks>;
  /**
   * A second command for a node that has a run in this engine: refuse it (default) or wait for
   * the first. One another process drives is always refused (ENGINE_NODE_BUSY).
   */
  busy?: 'refuse' | 'wait';
  /** Resume every unfinished run once open (default false; see resumeAll()). */
  resume?: boolean;
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * Caps the event store at this many 4 KiB pages. A run whose progress no longer fits is
   * interrupted with STORE_DISK_FULL and stays resumable once the cap is raised or space freed.
   */
  maxDbPages?: number;
  /** Above this many watched nodes a watcher tick lists nodes instead of GETting each (default 16). */
  listThreshold?: number;
  /** Replaces effect implementations (tests of fault handling; never needed in production). */
  effects?: Record<string, EffectImpl>;
  /**
   * The machine versions to run (default: the package's `machines`). New runs use each op's
   * current version; a resumed run uses the version it was recorded with.
   */
  machines?: MachineRegistry;
  /**
   * Runs this engine as one replica of several sharing the store (README "Running replicas"):
   * liveness by heartbeat lease only, nodes split between the live replicas by the hash ring
   * (a command for another replica's node: ENGINE_NODE_NOT_OWNED), the runs of a replica whose
   * lease ran out taken over by the others, and no Ironic request once this replica's own lease
   * may have run out until it has re-validated its runs. Default: not a replica.
   */
  replica?: ReplicaOptions;
}

/** An OpenStack cloud, with the client's retry and timeout options beside it. */
export type CloudIronicOptions = { cloud: string | CloudConfigObject } & Omit<
  IronicClientOptions,
  'url' | 'auth' | 'tls' | 'microversion' | 'interface' | 'region'
>;

function connectOptionsOf(ironic: IronicClientOptions | CloudIronicOptions): IronicClientOptions {
  if (!('cloud' in ironic)) return ironic;
  const { cloud, ...rest } = ironic;
  const settings = cloudSettingsFromConfig(typeof cloud === 'string' ? { cloud } : cloud, {
    env: process.env,
    cwd: process.cwd(),
    home: homedir(),
  });
  return { ...clientOptionsOf(settings), ...rest };
}

export interface RunHandle {
  readonly id: string;
  readonly op: OpName;
  /** Resolves when the run ends, successful or not: check `status`. Never rejects. */
  readonly done: Promise<RunResult>;
  /** Follows the run's transitions and effects; returns an unsubscribe function. */
  subscribe(listener: (p: RunProgress) => void): () => void;
  /** The run's current state (dotted), e.g. `unprovision.watching.cleaning`. */
  readonly state: string;
}

export interface EngineStats {
  runsActive: number;
  runsQueued: number;
  ironicRequests: number;
  eventsAppended: number;
  watcher: NodeWatcher['stats'];
}

interface Ticket {
  run: Run;
  start: () => Promise<void>;
}

/** A run waiting for its node and instance to be free. */
interface Claim extends Ticket {
  keys: string[];
}

const noHooks: FilteringHooks = {
  setupFiltering: async () => undefined,
  teardownFiltering: async () => undefined,
};

export class Engine {
  private readonly runs = new Map<string, Run>();
  /** Lock key (`node:X`, `instance:Y`) to the run holding it. */
  private readonly holders = new Map<string, string>();
  /** The keys each admitted run holds, released together when it ends. */
  private readonly held = new Map<string, string[]>();
  /** Runs waiting for keys, in the order they were asked for: a later one never overtakes. */
  private readonly claims: Claim[] = [];
  private readonly queue: Ticket[] = [];
  private readonly secrets = new Map<string, RunSecrets>();
  /** The client's credentials by value, scrubbed from every run's record; null under noauth. */
  private readonly clientScrub: Scrubber | null;
  /** Runs with secrets of their own: the client's and theirs, scrubbed from their record. */
  private readonly scrubs = new Map<string, Scrubber>();
  private readonly apis = new Map<string, IronicApi>();
  /** Effects currently inside observeNode/sleep, by `runId/actorId`. */
  private readonly waiting = new Map<string, number>();
  /** Runs holding a concurrency slot. */
  private readonly started = new Set<Run>();
  private closing = false;
  private closed: Promise<void> | null = null;
  private storeVerified = false;
  private totalRequests = 0;
  private readonly recorder: Recorder;
  private readonly watcher: NodeWatcher;
  private readonly hooks: FilteringHooks;
  private readonly effects: Record<string, EffectImpl>;
  private get machines(): MachineRegistry {
    return this.opts.machines ?? defaultMachines;
  }
  private readonly telemetry: EngineTelemetry;
  /** Replica mode's heartbeat, ring and takeover; null for a plain engine. */
  private readonly replica: Replica | null;

  private constructor(
    private readonly store: EventStore,
    private readonly client: IronicClient,
    private readonly ownsClient: boolean,
    private readonly log: Logger,
    private readonly opts: EngineOptions,
  ) {
    this.recorder = new Recorder(store);
    this.telemetry = new EngineTelemetry(
      log,
      opts,
      {
        inFlight: () => this.started.size,
        queued: () => this.claims.length + this.queue.length,
        waiting: () => this.waiting.size,
      },
      (runId, span) => this.recordSpan(runId, span),
    );
    this.replica =
      opts.replica === undefined
        ? null
        : new Replica(opts.replica, {
            store,
            log,
            driven: (all) => this.drivenRuns(all),
            check: (runIds, message) => this.checkOwnership(runIds, message),
            fence: (runId, err) => this.fenced(runId, err),
            resumeTaken: (rows) => this.resumeTakenOver(rows),
          });
    const watched = client.withObserver((a) => {
      this.totalRequests++;
      this.telemetry.request(null, a);
    });
    this.watcher = new NodeWatcher({
      ironic: this.replica === null ? watched : this.guarded(watched, null),
      ...(this.replica === null ? {} : { beforeTick: () => this.replica?.guard() ?? null }),
      intervalMs: opts.pollIntervalMs ?? 2000,
      listThreshold: opts.listThreshold ?? 16,
      onTick: (tick) => this.telemetry.sweep(tick),
    });
    this.hooks = { ...noHooks, ...opts.hooks };
    this.effects = { ...defaultEffects, ...opts.effects };
    this.clientScrub = Scrubber.of(client.secretValues());
    // A Keystone token renewed later joins every scrubber in use, shared or a run's own.
    client.onNewSecret((token) => {
      this.telemetry.renewed();
      this.clientScrub?.add(token);
      for (const scrub of this.scrubs.values()) scrub.add(token);
    });
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    const log = opts.logger ?? pino({ level: 'silent' });
    // Until the engine exists nothing runs to stop; a failure by then is still store.failure.
    let onStoreFailure = (_err: StoreError): void => undefined;
    let onCommit = (_c: { events: number; runs: number; ms: number }): void => undefined;
    const replica = opts.replica === undefined ? null : Replica.validate(opts.replica);
    const store = EventStore.open(opts.db, {
      mode: 'writer',
      ...(replica === null ? {} : { replica }),
      synchronous: opts.synchronous ?? 'NORMAL',
      ...(opts.maxDbPages !== undefined ? { maxPageCount: opts.maxDbPages } : {}),
      onCheckpointError: (message) => log.warn({ db: opts.db, message }, 'background WAL checkpoint failed'),
      onFailure: (err) => onStoreFailure(err),
      onCommit: (c) => onCommit(c),
    });
    let client: IronicClient;
    let owns = false;
    try {
      if ('client' in opts.ironic) client = opts.ironic.client;
      else {
        const connect = connectOptionsOf(opts.ironic);
        // A replica names itself in Ironic's logs (and the simulator's request log).
        if (replica !== null && connect.userAgent === undefined)
          connect.userAgent = `ironledger (replica ${replica.id})`;
        client = await IronicClient.connect(connect);
        owns = true;
      }
    } catch (err) {
      store.close();
      throw err;
    }
    const engine = new Engine(store, client, owns, log, opts);
    onStoreFailure = (err) => engine.storeFailed(err);
    onCommit = (c) => engine.telemetry.commit(c);
    log.info(
      {
        db: opts.db,
        microversion: client.microversion,
        host: hostname(),
        pid: process.pid,
        ...(replica === null ? {} : { replica: replica.id, leaseMs: replica.leaseMs }),
      },
      'engine open',
    );
    engine.replica?.start();
    if (opts.resume) {
      try {
        engine.resumeAll();
      } catch (err) {
        // A store found corrupt before anything resumed: nothing of this engine is left open.
        await engine.close();
        throw err;
      }
    }
    return engine;
  }

  /**
   * Asks a running deploy or rebuild to stop waiting for `active` (seed: _wait_for_active
   * aborts when the instance is being deleted). Returns false when there is no such run.
   */
  abort(runId: string, reason: string): boolean {
    const run = this.runs.get(runId);
    if (!run || run.isFinished) return false;
    run.send({ type: ABORT, reason });
    return true;
  }

  /**
   * Teardown (seed: destroy). A deploy or rebuild of the same instance still waiting for
   * `active` is aborted, and the teardown runs as soon as it has stopped.
   */
  destroy(input: DestroyInput, opts: StartOptions = {}): RunHandle {
    return this.start(
      'destroy',
      input as unknown as JsonObject,
      {},
      input.instance,
      input.node ?? null,
      opts,
    );
  }

  /** Deploy (seed: spawn). Secrets stay in memory; they never reach the store or the logs. */
  deploy(input: DeployInput, secrets: DeploySecrets = {}, opts: StartOptions = {}): RunHandle {
    const run = runSecretsOf(secrets);
    return this.start('deploy', input as unknown as JsonObject, run, input.instance, input.node, opts);
  }

  rebuild(input: RebuildInput, opts: StartOptions = {}): RunHandle {
    return this.start(
      'rebuild',
      input as unknown as JsonObject,
      {},
      input.instance,
      input.node ?? null,
      opts,
    );
  }

  reboot(input: RebootInput, opts: StartOptions = {}): RunHandle {
    return this.start('reboot', input as unknown as JsonObject, {}, input.instance, null, opts);
  }

  powerOff(input: PowerOffInput, opts: StartOptions = {}): RunHandle {
    return this.start('powerOff', input as unknown as JsonObject, {}, input.instance, null, opts);
  }

  powerOn(input: PowerOnInput, opts: StartOptions = {}): RunHandle {
    return this.start('powerOn', input as unknown as JsonObject, {}, input.instance, null, opts);
  }

  console(input: ConsoleInput, opts: StartOptions = {}): RunHandle {
    return this.start('console', input as unknown as JsonObject, {}, input.instance, null, opts);
  }

  /**
   * Replica mode: this replica's name and the live replicas on its hash ring (as of its last
   * tick), which decide which nodes are its own; null for a plain engine.
   */
  get replicas(): { id: string; live: readonly string[]; leaseMs: number } | null {
    const r = this.replica;
    return r === null ? null : { id: r.id, live: [...r.live], leaseMs: r.leaseMs };
  }

  /** The handle of a run this engine is executing. */
  handle(runId: string): RunHandle | undefined {
    const run = this.runs.get(runId);
    return run ? this.toHandle(run) : undefined;
  }

  /**
   * Continues every unfinished run no live process drives (its process was killed, or closed
   * before the run ended). They are taken for this engine in one transaction: of two engines
   * resuming at once, each run goes to one. Runs another live process drives are left alone.
   * Returns their handles.
   */
  resumeAll(): RunHandle[] {
    this.assertOpen();
    this.verifyStore();
    // A replica takes only the runs of gone owners whose node the ring gives it.
    return this.resumeRows(this.replica?.takeOverRows() ?? this.store.claimUnfinishedRuns());
  }

  /** A replica's takeover round: resumes what it took; a store found unusable stops the engine's runs. */
  private resumeTakenOver(rows: RunRow[]): void {
    try {
      this.verifyStore();
      this.resumeRows(rows);
    } catch (err) {
      this.log.error({ err, runs: rows.length }, 'replica: could not resume the runs it took over');
    }
  }

  /** Replica mode: the runs this engine drives (started and not ended; `all`: any it holds). */
  private drivenRuns(all = false): string[] {
    const out: string[] = [];
    for (const run of this.runs.values()) {
      if (all || (!run.isFinished && this.recorder.lastSeq(run.id) !== undefined)) out.push(run.id);
    }
    return out;
  }

  /**
   * Replica mode, after a gap in its heartbeats: appends a `lease-check` note to each run, now,
   * and answers with the error of each append the store refused (its fence: another replica took
   * the run over meanwhile).
   */
  private async checkOwnership(runIds: string[], message: string): Promise<Map<string, unknown>> {
    const appends = runIds.map((runId) =>
      this.recorder.append(
        runId,
        encodeEvents([{ kind: 'note', type: 'lease-check', data: { level: 'warn', message } }]),
      ),
    );
    this.recorder.flush();
    const settled = await Promise.allSettled(appends);
    const refused = new Map<string, unknown>();
    settled.forEach((s, i) => {
      if (s.status === 'rejected' && this.runs.get(runIds[i]!)?.isFinished === false)
        refused.set(runIds[i]!, s.reason);
    });
    return refused;
  }

  /** Replica mode: another replica took this run over; it is stopped now (no further request). */
  private fenced(runId: string, err: unknown): void {
    const run = this.runs.get(runId);
    // Interrupted with the store's refusal as its cause; admit() logs why it stopped.
    if (run && !run.isFinished) run.fail(err);
  }

  /**
   * Replica mode: a view of the client that sends nothing while this replica's lease may have run
   * out (replica.guard), and nothing more for a run once it was stopped as taken over.
   */
  private guarded(api: IronicApi, runId: string | null): IronicApi {
    const replica = this.replica;
    if (replica === null) return api;
    const assertStillOurs = (): void => {
      const run = runId === null ? undefined : this.runs.get(runId);
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

  /** Resumes runs this engine has just taken; one that cannot go on is skipped and given back. */
  private resumeRows(rows: RunRow[]): RunHandle[] {
    const handles: RunHandle[] = [];
    for (const row of rows) {
      if (this.runs.has(row.id)) continue;
      try {
        handles.push(this.resumeTaken(row));
      } catch (err) {
        // One run that cannot go on is skipped (and given back); a store that cannot is not.
        if (this.store.failure) throw this.store.failure;
        this.log.error({ runId: row.id, err }, 'could not resume run');
      }
    }
    return handles;
  }

  /**
   * Continues one unfinished run from its last recorded state. A run another live process
   * drives is not taken: StoreRunOwnedError (STORE_RUN_OWNED) names that process.
   */
  resume(runId: string): RunHandle {
    this.assertOpen();
    this.verifyStore();
    const found = this.store.getRun(runId);
    if (!found) throw new EngineError('RUN_NOT_FOUND', `No run ${runId} in ${this.store.path}.`, { runId });
    const live = this.runs.get(found.id);
    if (live) return this.toHandle(live);
    const row = found.status === 'running' ? this.store.claimRun(found.id) : found;
    if (row.status !== 'running') {
      throw new EngineError(
        'RUN_FINISHED',
        `Run ${row.id} already ended (${row.status}); nothing to resume.`,
        {
          runId: row.id,
          status: row.status,
        },
      );
    }
    return this.resumeTaken(row);
  }

  /** Resumes a run this engine has just taken; gives it back when it cannot. */
  private resumeTaken(row: RunRow): RunHandle {
    try {
      return this.resumeOwned(row);
    } catch (err) {
      try {
        this.store.releaseRun(row.id);
      } catch {
        // The store failed: the run is ownerless anyway once this process is gone.
      }
      throw err;
    }
  }

  private resumeOwned(row: RunRow): RunHandle {
    const lifecycle = this.lifecycleOf(row);
    const events = this.store.readStream(row.id);
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
    // The node the machine works on, which a teardown may have found by instance after a wrong
    // hint: that is the node to lock, not the one the run row was created with.
    const node = nodeOfContext(replay?.snapshot) ?? row.nodeUuid ?? row.nodeName;
    const run = this.newRun(row.id, lifecycle, row.instanceUuid, node);
    this.recorder.track(row.id, row.lastSeq);
    // The run's own secrets died with the process that had them; the client's are live.
    this.recorder.protect(row.id, this.clientScrub);
    const begin = replay ? () => run.resume(replay.snapshot, replay.pendingEffects) : () => run.begin(input);
    this.log.info({ runId: row.id, op: lifecycle.op, state: row.state }, 'resuming run');
    this.telemetry.resuming(row.id, events);
    return this.admit(run, begin, true);
  }

  /**
   * The engine-wide event stream: every run's start, transitions, effects and end, every Ironic
   * attempt, watcher sweep and store commit, as they happen. Returns an unsubscribe function. A
   * listener that throws is logged and ignored.
   */
  on<K extends EngineEventName>(name: K, listener: EngineListener<K>): () => void {
    return this.telemetry.events.on(name, listener);
  }

  off<K extends EngineEventName>(name: K, listener: EngineListener<K>): void {
    this.telemetry.events.off(name, listener);
  }

  /** The Prometheus metrics (`engine.metrics.registry`), null when opened with `metrics: false`. */
  get metrics(): EngineMetrics | null {
    return this.telemetry.metrics;
  }

  stats(): EngineStats {
    return {
      runsActive: this.started.size,
      runsQueued: this.queue.length,
      ironicRequests: this.totalRequests,
      eventsAppended: this.recorder.eventsAppended,
      watcher: { ...this.watcher.stats },
    };
  }

  /** Requests sent to Ironic so far on behalf of a run still executing (attempts included); a finished run reports them in its result. */
  requestsFor(runId: string): number {
    return this.runs.get(runId)?.requests ?? 0;
  }

  /**
   * Graceful close: starts no new effect, lets in-flight requests finish up to the
   * deadline, abandons waits (they are repeated on resume), then closes everything.
   * Runs left unfinished stay `running` in the store and resume later; their `done`
   * settles with status `interrupted` (error code ENGINE_CLOSED). Calling it again
   * returns the same promise.
   */
  close(opts: { deadlineMs?: number } = {}): Promise<void> {
    this.closed ??= this.shutdown(opts.deadlineMs ?? 5000);
    return this.closed;
  }

  private async shutdown(deadlineMs: number): Promise<void> {
    this.closing = true;
    this.replica?.stop();
    const running = [...this.runs.values()].filter((r) => !r.isFinished);
    for (const run of running) run.drain();
    // A wait cut short is not a failure: abandon it unrecorded so resume waits again.
    for (const [key, n] of this.waiting)
      if (n > 0) this.runs.get(key.slice(0, key.indexOf('/')))?.abandon(key.slice(key.indexOf('/') + 1));
    this.watcher.close();
    const settled = Promise.all(running.map((r) => r.settled()));
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    await Promise.race([
      (async () => {
        while (!over && running.some((r) => r.inFlightCount > 0)) await delay(10);
        await settled;
      })(),
      new Promise((r) => (timer = setTimeout(r, deadlineMs))),
    ]);
    over = true;
    clearTimeout(timer);
    for (const run of running) run.stop();
    this.recorder.flush();
    // Let the steps that commit just made run their continuations: a run whose run.finished
    // went in with that commit ends with its real status, not as interrupted.
    await new Promise((resolve) => setImmediate(resolve));
    for (const run of [...this.runs.values()]) {
      run.interrupt({
        code: 'ENGINE_CLOSED',
        message: `The engine closed before run ${run.id} ended; it stays resumable from ${this.store.path}.`,
      });
    }
    if (this.ownsClient) await this.client.close();
    this.store.close();
  }

  private start(
    op: OpName,
    input: JsonObject,
    secrets: RunSecrets,
    instance: string,
    node: string | null,
    opts: StartOptions,
  ): RunHandle {
    this.assertOpen();
    assertRunInput(op, input);
    const lifecycle = this.machines.current(op);
    if (this.replica !== null) {
      // The node as the command names it (the instance when it names none) is the ring's key.
      const key = node ?? instance;
      const owner = this.replica.ownerOf(key);
      if (owner !== this.replica.id) {
        throw new EngineError(
          'ENGINE_NODE_NOT_OWNED',
          `${node !== null ? `Node ${node}` : `Instance ${instance}`} belongs to replica ${owner} on the hash ring, not to ${this.replica.id}; send the command to ${owner}.`,
          { node, instance, owner, replica: this.replica.id },
        );
      }
    }
    // Another live process drives this instance or node: it is refused, whatever `busy` says
    // (that process's runs cannot be waited for from here). The store refuses it again in the
    // transaction that creates the run, should two processes start at once.
    const held = this.store.heldBy({
      instance,
      nodeUuid: node !== null && isUuid(node) ? node : null,
      nodeName: node !== null && !isUuid(node) ? node : null,
    });
    if (held) {
      const what = held.instanceUuid === instance ? `Instance ${instance}` : `Node ${node ?? '?'}`;
      const owner = held.owner;
      throw new EngineError(
        'ENGINE_NODE_BUSY',
        `${what} already has run ${held.id} in progress, driven by ${owner ? `pid ${owner.pid} on ${owner.host} (since ${owner.since})` : 'another process'}; wait for it or retry later.`,
        { node, instance, holder: held.id, owner },
      );
    }
    const stale = this.store.listRuns({ instance, status: 'running' }).filter((r) => !this.runs.has(r.id));
    if (stale.length > 0 && opts.supersede !== true) {
      const r = stale[0]!;
      throw new EngineError(
        'ENGINE_UNFINISHED_RUN',
        `Instance ${instance} has an unfinished ${r.op} run ${r.id} (last state ${r.state ?? '?'}) in ${this.store.path}; resume it (ironledger resume ${r.id}), or start this one with { supersede: true } to cancel it.`,
        { instance, holder: r.id, op: r.op },
      );
    }
    // Every value the run's record could hold a secret in is scrubbed of it, so the input, which
    // is recorded as given, may hold none.
    const scrub = this.scrubberOf(secrets);
    assertInputHoldsNoSecret(op, input, scrub);
    const keys = lockKeys(instance, node);
    const preempted = op === 'destroy' ? this.preemptDeploy(instance) : null;
    if ((this.opts.busy ?? 'refuse') === 'refuse') {
      for (const key of keys) {
        const holder = this.holderOf(key);
        if (holder && holder === preempted) continue;
        if (holder) {
          throw new EngineError(
            'ENGINE_NODE_BUSY',
            `${key.startsWith('node:') ? 'Node' : 'Instance'} ${key.slice(key.indexOf(':') + 1)} already has run ${holder} in progress; wait for it or retry later.`,
            { node, instance, holder },
          );
        }
      }
    }
    const id = randomUUID();
    for (const r of stale) this.supersede(r, id);
    // Each machine has the seed's wait budget for its operation (teardown 120 s, the others none);
    // the caller's `timeoutS` replaces it.
    const withDefaults: JsonObject = { ...input };
    assertInputStorable(op, withDefaults);
    // Stored with the next commit, ahead of the run's first step; a failure to store it fails
    // the run's first append with the same error, which ends the run with that cause.
    this.recorder
      .create({
        id,
        op,
        instanceUuid: instance,
        // A name is kept as the name; the UUID follows once Ironic names the node (Run).
        nodeUuid: node !== null && isUuid(node) ? node : null,
        nodeName: node !== null && !isUuid(node) ? node : null,
        machine: lifecycle.machine.id,
        machineVersion: lifecycle.version,
        input: withDefaults,
      })
      .catch(() => undefined);
    if (Object.keys(secrets).length > 0) this.secrets.set(id, secrets);
    if (scrub !== this.clientScrub && scrub !== null) this.scrubs.set(id, scrub);
    this.recorder.protect(id, scrub);
    const run = this.newRun(id, lifecycle, instance, node);
    return this.admit(run, () => run.begin(withDefaults));
  }

  /**
   * Ends an unfinished run no engine drives (left by a crash) as cancelled, before the run that
   * replaces it is created: the two never both act on the instance, and the log says which won.
   */
  private supersede(row: RunRow, by: string): void {
    // Taken first: should another process have resumed it meanwhile, this throws (STORE_RUN_OWNED).
    this.store.claimRun(row.id);
    const message = `superseded by run ${by}: a new command for instance ${row.instanceUuid ?? '?'} replaced this unfinished run`;
    this.recorder.track(row.id, row.lastSeq);
    this.recorder.protect(row.id, this.clientScrub);
    this.recorder
      .append(
        row.id,
        encodeEvents([
          { kind: 'note', type: 'superseded', data: { level: 'warn', message, by } },
          finishedEvent({
            status: 'cancelled',
            output: null,
            error: { code: 'RUN_SUPERSEDED', message, by },
            failedIn: row.state,
            nodeUuid: row.nodeUuid,
          }),
        ]),
      )
      .catch((err: unknown) => this.log.error({ runId: row.id, err }, 'could not record the superseded run'))
      .finally(() => this.recorder.forget(row.id));
    this.log.warn({ runId: row.id, by }, 'unfinished run superseded');
  }

  /** Aborts a deploy or rebuild of `instance`; returns its run id, which the teardown then waits for. */
  private preemptDeploy(instance: string): string | null {
    const holder = this.holderOf(`instance:${instance}`);
    const run = holder ? this.runs.get(holder) : undefined;
    if (!run || run.isFinished || (run.op !== 'deploy' && run.op !== 'rebuild')) return null;
    run.send({ type: ABORT, reason: `instance ${instance} is being destroyed` });
    this.log.info({ runId: run.id, instance }, 'aborting deploy: its instance is being destroyed');
    return run.id;
  }

  private newRun(id: string, lifecycle: Lifecycle, instance: string | null, node: string | null): Run {
    const op = lifecycle.op;
    const scrub = (): Scrubber | null => this.scrubs.get(id) ?? this.clientScrub;
    const log = this.runLogger({ runId: id, op, instance, node }, scrub);
    const run = new Run(
      {
        id,
        op,
        machine: lifecycle.machine,
        instance,
        node,
        onNodeLearned: (learned) => this.claimLearnedNode(id, learned),
        scrub,
        observer: this.telemetry.observerFor(id, op),
      },
      this.recorder,
      (call) => this.runEffect(call),
      log,
    );
    this.runs.set(id, run);
    // A run with no listener builds no progress records: subscribe only when they are logged.
    if (log.isLevelEnabled('debug')) {
      run.subscribe((p) => {
        if (p.kind === 'transition') log.debug({ state: p.state }, 'transition');
      });
    }
    return run;
  }

  /**
   * Takes the node/instance locks and a concurrency slot, then begins. The locks are taken
   * together and at once when free, so two commands given in the same tick run in the order given.
   */
  private admit(run: Run, begin: () => Promise<void>, resumed = false): RunHandle {
    this.claims.push({ run, start: begin, keys: lockKeys(run.instance, run.node) });
    this.telemetry.runStarted(run, resumed);
    void run.done.then((result) => {
      this.telemetry.runFinished(run, result);
      this.releaseAll(run.id);
      if (result.status === 'interrupted' && result.error?.cause === 'STORE_RUN_NOT_OWNED') {
        this.log.warn(
          { runId: run.id, replica: this.replica?.id ?? null, code: 'STORE_RUN_NOT_OWNED', state: run.state },
          'stopped driving the run: its append was refused (another owner took it over); nothing more is sent for it',
        );
      }
      // Stopped without ending (the store failed under it, or close): anyone may resume it now.
      if (result.status === 'interrupted' && !this.closing) {
        try {
          this.store.releaseRun(run.id);
        } catch {
          // The store failed: the run is ownerless anyway once this process is gone.
        }
      }
      // A run ends holding a slot, or (interrupted by close) still waiting for keys or a slot.
      if (!this.started.delete(run)) {
        const waiting = this.claims.findIndex((c) => c.run === run);
        if (waiting >= 0) this.claims.splice(waiting, 1);
        const queued = this.queue.findIndex((t) => t.run === run);
        if (queued >= 0) this.queue.splice(queued, 1);
      }
      this.secrets.delete(run.id);
      this.scrubs.delete(run.id);
      this.apis.delete(run.id);
      this.recorder.forget(run.id); // also after an interruption, which leaves its tracking behind
      this.runs.delete(run.id);
      this.log.info(
        { runId: run.id, op: run.op, status: result.status, error: result.error },
        'run finished',
      );
      this.grant();
    });
    this.grant();
    return this.toHandle(run);
  }

  /**
   * Moves every waiting run whose keys are all free into the start queue, oldest first. A key
   * wanted by an older waiting run counts as taken, so no run overtakes an older one on a key.
   */
  private grant(): void {
    let wanted: Set<string> | null = null;
    for (let i = 0; i < this.claims.length;) {
      const claim = this.claims[i]!;
      const free = claim.keys.every(
        (k) => !wanted?.has(k) && (this.holders.get(k) ?? claim.run.id) === claim.run.id,
      );
      if (!free) {
        wanted ??= new Set();
        for (const k of claim.keys) wanted.add(k);
        i++;
        continue;
      }
      this.claims.splice(i, 1);
      for (const k of claim.keys) this.holders.set(k, claim.run.id);
      this.held.set(claim.run.id, claim.keys);
      this.queue.push(claim);
    }
    this.pump();
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 1000;
    while (this.started.size < limit && this.queue.length > 0 && !this.closing) {
      const ticket = this.queue.shift()!;
      this.started.add(ticket.run);
      // A first step that cannot be recorded interrupts the run, which frees its slot and keys;
      // a run the store never took at all ends as failed: there is nothing to resume.
      ticket.start().catch((err: unknown) => {
        if (this.recorder.unstored(ticket.run.id)) ticket.run.failUnrecorded(err);
        else ticket.run.fail(err);
      });
    }
  }

  /** Who holds `key`, or failing that the oldest run waiting for it. */
  private holderOf(key: string): string | undefined {
    return this.holders.get(key) ?? this.claims.find((c) => c.keys.includes(key))?.run.id;
  }

  /**
   * A run learned its node mid-run (a teardown looks it up by instance): from now on the node is
   * its, so a command for that node waits or is refused. Should another run hold it already,
   * both act on the node; Ironic's own locking arbitrates, and the log says so.
   */
  private claimLearnedNode(runId: string, node: string): void {
    const key = `node:${node}`;
    const holder = this.holders.get(key);
    if (holder === runId) return;
    if (holder !== undefined) {
      this.log.warn({ runId, node, holder }, 'node learned mid-run already has another run');
      return;
    }
    const keys = this.held.get(runId);
    if (!keys) return; // not admitted (finished or interrupted meanwhile)
    this.holders.set(key, runId);
    keys.push(key);
  }

  private releaseAll(runId: string): void {
    for (const key of this.held.get(runId) ?? []) {
      if (this.holders.get(key) === runId) this.holders.delete(key);
    }
    this.held.delete(runId);
  }

  private async runEffect(call: EffectCall): Promise<unknown> {
    const impl = this.effects[call.src];
    if (!impl)
      throw new EngineError('ENGINE_UNKNOWN_EFFECT', `No implementation for effect ${call.src}.`, {
        runId: call.runId,
      });
    const ctx: EffectContext = {
      ironic: this.apiFor(call.runId),
      signal: call.signal,
      hooks: this.hooks,
      secrets: this.secrets.get(call.runId) ?? {},
      rerun: call.rerun,
      resumed: call.resumed,
      instance: call.instance,
      observeNode: (node) =>
        this.waitingOn(
          call,
          this.watcher.observe(node, call.signal, (a) => this.recordHttp(call.runId, a, false)),
        ),
      sleep: (ms) => this.waitingOn(call, sleep(ms, call.signal)),
      emit: (event) => call.emit(event),
      note: (level, message, data) => {
        void this.recorder
          .append(
            call.runId,
            encodeEvents([
              { kind: 'note', type: call.src, data: { level, message, ...(data as JsonObject | undefined) } },
            ]),
          )
          .catch(() => undefined);
      },
    };
    return impl(call.input, ctx);
  }

  /** Marks an effect as waiting (not talking to Ironic) while `p` is pending. */
  private waitingOn<T>(call: EffectCall, p: Promise<T>): Promise<T> {
    const key = `${call.runId}/${call.actorId}`;
    this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
    const done = (): void => {
      const n = (this.waiting.get(key) ?? 1) - 1;
      if (n > 0) this.waiting.set(key, n);
      else this.waiting.delete(key);
    };
    return p.finally(done);
  }

  /** A per-run view of the shared client that records every HTTP attempt in the run's stream. */
  private apiFor(runId: string): IronicApi {
    const known = this.apis.get(runId);
    if (known) return known;
    const view = this.client.withObserver((a: HttpAttempt) => this.recordHttp(runId, a));
    // A config drive image (gzip + base64, built with the time in it) is known only once built:
    // whatever effect sends one, it becomes one of the run's secrets before it leaves.
    const api: IronicApi = Object.create(view) as IronicApi;
    api.setProvisionState = (node, target, opts?: SetProvisionStateOptions) => {
      if (typeof opts?.configdrive === 'string') this.protectValue(runId, opts.configdrive);
      return view.setProvisionState(node, target, opts);
    };
    const out = this.guarded(api, runId);
    this.apis.set(runId, out);
    return out;
  }

  /** The client's secrets and the run's, in every form they could be echoed in; null when none. */
  private scrubberOf(secrets: RunSecrets): Scrubber | null {
    const values = secretValuesOf(secrets);
    if (values.length === 0) return this.clientScrub;
    return this.clientScrub === null ? Scrubber.of(values) : this.clientScrub.with(values);
  }

  /** Adds a value to what the run's record is scrubbed of (the shared client scrubber is copied first). */
  private protectValue(runId: string, value: string): void {
    let scrub = this.scrubs.get(runId);
    if (scrub === undefined) {
      scrub = (this.clientScrub ?? new Scrubber()).with([]);
      this.scrubs.set(runId, scrub);
    }
    scrub.add(value);
    this.recorder.protect(runId, scrub);
  }

  /**
   * The run's child logger. With secrets in play its records are scrubbed of them after the
   * parent's own formatting (key redaction): an error Ironic echoed a password in is logged
   * without it.
   */
  private runLogger(bindings: Record<string, unknown>, scrub: () => Scrubber | null): Logger {
    // A run with no secret at the start gains none later (a config drive image needs user data).
    if (scrub() === null) return this.log.child(bindings);
    const parent = (this.log as unknown as Record<symbol, { log?: (o: object) => object } | undefined>)[
      pino.symbols.formattersSym
    ]?.log;
    return this.log.child(bindings, {
      formatters: {
        log: (record: object): object => {
          const formatted = parent ? parent(record) : record;
          return scrub()?.value(formatted) ?? formatted;
        },
      },
    });
  }

  /** `count`: false for the watcher's attempts, which the engine already counted once for all runs. */
  private recordHttp(runId: string, a: HttpAttempt, count = true): void {
    // Keystone attempts are reported to every run that waited for them; Ironic did not see them.
    if (count && a.service === undefined) {
      this.totalRequests++;
      this.runs.get(runId)?.countRequest();
      this.telemetry.request(runId, a);
    }
    if (this.recorder.lastSeq(runId) === undefined) return;
    const data: RunEventData['http'] = {
      method: a.method,
      path: a.path,
      status: a.status,
      ms: Math.round(a.ms),
      attempt: a.attempt,
      willRetry: a.willRetry,
    };
    if (a.errorCode) data.errorCode = a.errorCode;
    if (a.retryInMs !== undefined) data.retryInMs = a.retryInMs;
    if (a.service !== undefined) data.service = a.service;
    if (a.authReason !== undefined) data.authReason = a.authReason;
    void this.recorder
      .append(
        runId,
        encodeEvents([{ kind: 'http', type: `${a.method} ${a.path.split('?')[0]}`, at: a.at, data }]),
      )
      .catch(() => undefined);
  }

  /** The run span's context, in the run's log: a resumed run's span links to it. */
  private recordSpan(runId: string, span: { traceId: string; spanId: string }): void {
    void this.recorder
      .append(
        runId,
        encodeEvents([
          {
            kind: 'note',
            type: TRACE_NOTE,
            data: { level: 'info', message: `trace ${span.traceId} span ${span.spanId}`, ...span },
          },
        ]),
      )
      .catch(() => undefined);
  }

  /** The machine version the run was recorded with: a run resumes with the definition it ran. */
  private lifecycleOf(row: RunRow): Lifecycle {
    const registered = this.machines.versions(row.op);
    if (registered.length === 0) {
      throw new EngineError(
        'RUN_UNKNOWN_MACHINE',
        `Run ${row.id} uses an operation this version does not know: ${row.op}.`,
        {
          runId: row.id,
        },
      );
    }
    const lifecycle = this.machines.get(row.op, row.machineVersion);
    if (!lifecycle) {
      throw new EngineError(
        'RUN_VERSION_UNREGISTERED',
        `Run ${row.id} was recorded with ${row.machine} v${row.machineVersion}, which this build no longer registers (${row.op}: v${registered.join(', v')}); not resumed. Resume it with a build that has v${row.machineVersion}.`,
        { runId: row.id, op: row.op, recordedVersion: row.machineVersion, registeredVersions: registered },
      );
    }
    return lifecycle;
  }

  private toHandle(run: Run): RunHandle {
    return {
      id: run.id,
      op: run.op as OpName,
      done: run.done,
      subscribe: (l) => run.subscribe(l),
      get state() {
        return run.state;
      },
    };
  }

  private assertOpen(): void {
    if (this.closing) throw new EngineError('ENGINE_CLOSED', 'The engine is closing; no new runs start.');
    if (this.store.failure) throw this.store.failure;
  }

  /**
   * Before the first resume: a record damaged where no query has looked yet would resume runs
   * from states they were never in. Reads the whole file once per engine.
   */
  private verifyStore(): void {
    if (this.storeVerified) return;
    this.store.verify();
    this.storeVerified = true;
  }

  /**
   * The store is corrupt or its file is gone: nothing a run does can be recorded any more, so
   * every run stops now, its effects aborted, rather than at its next step (a wait may be
   * minutes away from one, a retrying request goes on sending). Runs the store never took end
   * first, as not recorded, in this turn.
   */
  private storeFailed(err: StoreError): void {
    this.log.error(
      { db: this.store.path, code: err.code, message: err.message },
      'event store unusable; stopping every run',
    );
    setImmediate(() => {
      for (const run of this.runs.values()) run.fail(err);
    });
  }
}

function lockKeys(instance: string | null, node: string | null): string[] {
  const keys: string[] = [];
  if (node) keys.push(`node:${node}`);
  if (instance) keys.push(`instance:${instance}`);
  return keys;
}

function nodeOfContext(snapshot: { context?: unknown } | null | undefined): string | null {
  const node = (snapshot?.context as { node?: unknown } | undefined)?.node;
  return typeof node === 'string' && node !== '' ? node : null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
