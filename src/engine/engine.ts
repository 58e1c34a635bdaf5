// The engine: runs lifecycle machines against Ironic, records every step in the
// event store, shares one client and one node watcher between all runs, and
// resumes unfinished runs from their streams.
import { randomUUID } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { clientOptionsOf, IronicClient, type IronicClientOptions } from '../ironic/client.js';
import { cloudSettingsFromConfig, type CloudConfigObject } from '../ironic/cloud-config.js';
import { isUuid } from '../ironic/validate.js';
import { effects as defaultEffects } from '../machines/effects.js';
import type { EffectImpl, FilteringHooks, RunSecrets } from '../machines/effect-context.js';
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
import { maskDbUrl, openRunStore, type RunStore } from '../store/run-store.js';
import { encodeEvents } from '../runlog/events.js';
import { finishedEvent } from '../runlog/record.js';
import { Scrubber } from '../store/scrub.js';
import type { JsonObject, RunRow, StoredEvent } from '../store/types.js';
import type { EventStore } from '../store/event-store.js';
import { EngineError } from './errors.js';
import { Admission, lockKeys } from './admission.js';
import { EffectHost } from './effect-host.js';
import { Recorder } from './recorder.js';
import { planResume } from './resume-plan.js';
import { ReplicaFence } from './replica-fence.js';
import { Run, type RunProgress, type RunResult } from './run.js';
import { NodeWatcher } from './watcher.js';
import { Replica, type ReplicaOptions } from './replica.js';
import type { EngineEventName, EngineListener } from './events.js';
import type { EngineMetrics } from './metrics.js';
import { EngineTelemetry, type TelemetryOptions } from './telemetry.js';
import {
  assertInputHoldsNoSecret,
  assertInputStorable,
  assertRunInput,
  runSecretsOf,
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
  /**
   * The event store: a SQLite file path, or a PostgreSQL URL (postgres:// or postgresql://,
   * `?schema=NAME` to use a schema of its own). On PostgreSQL resume with resumeRun() and
   * resumeAllRuns() (resume() and resumeAll() read the store synchronously: SQLite only).
   */
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

const noHooks: FilteringHooks = {
  setupFiltering: async () => undefined,
  teardownFiltering: async () => undefined,
};

export class Engine {
  private readonly runs = new Map<string, Run>();
  /** Node and instance locks, and the concurrency slots. */
  private readonly admission: Admission<Run>;
  /** The effects' context: per-run client views, secrets and scrubbers. */
  private readonly host: EffectHost;
  private closing = false;
  private closed: Promise<void> | null = null;
  private storeVerified = false;
  private totalRequests = 0;
  private readonly recorder: Recorder;
  private readonly watcher: NodeWatcher;
  private get machines(): MachineRegistry {
    return this.opts.machines ?? defaultMachines;
  }
  private readonly telemetry: EngineTelemetry;
  /** Replica mode's heartbeat, ring and takeover; null for a plain engine. */
  private readonly replica: Replica | null;
  /** Replica mode's fencing of this engine's runs and requests; null for a plain engine. */
  private readonly fence: ReplicaFence | null;

  private constructor(
    private readonly store: RunStore,
    private readonly client: IronicClient,
    private readonly ownsClient: boolean,
    private readonly log: Logger,
    private readonly opts: EngineOptions,
  ) {
    this.recorder = new Recorder(store);
    this.admission = new Admission<Run>(opts.concurrency ?? 1000);
    this.telemetry = new EngineTelemetry(
      log,
      opts,
      {
        inFlight: () => this.admission.executing,
        queued: () => this.admission.waiting,
        waiting: () => this.host.waitingCount,
      },
      (runId, span) => this.host.recordSpan(runId, span),
    );
    // The replica protocol and the engine's side of its fencing need each other.
    let fence: ReplicaFence | null = null;
    this.replica =
      opts.replica === undefined
        ? null
        : new Replica(opts.replica, {
            store,
            log,
            driven: (all) => fence?.driven(all) ?? [],
            check: (runIds, message) => fence?.check(runIds, message) ?? Promise.resolve(new Map()),
            fence: (runId, err) => fence?.fence(runId, err),
            resumeTaken: (rows) => void this.resumeTakenOver(rows),
          });
    this.fence = fence =
      this.replica === null ? null : new ReplicaFence(this.replica, this.runs, this.recorder);
    const watched = client.withObserver((a) => {
      this.totalRequests++;
      this.telemetry.request(null, a);
    });
    this.watcher = new NodeWatcher({
      ironic: this.fence === null ? watched : this.fence.guard(watched, null),
      ...(this.replica === null ? {} : { beforeTick: () => this.replica?.guard() ?? null }),
      intervalMs: opts.pollIntervalMs ?? 2000,
      listThreshold: opts.listThreshold ?? 16,
      onTick: (tick) => this.telemetry.sweep(tick),
    });
    this.host = new EffectHost({
      client,
      watcher: this.watcher,
      recorder: this.recorder,
      hooks: { ...noHooks, ...opts.hooks },
      effects: { ...defaultEffects, ...opts.effects },
      log,
      onRequest: (runId, a) => {
        this.totalRequests++;
        this.runs.get(runId)?.countRequest();
        this.telemetry.request(runId, a);
      },
      ...(fence === null ? {} : { wrapApi: (api, runId) => fence.guard(api, runId) }),
    });
    // A Keystone token renewed later joins every scrubber in use, shared or a run's own.
    client.onNewSecret((token) => {
      this.telemetry.renewed();
      this.host.addSecret(token);
    });
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    const log = opts.logger ?? pino({ level: 'silent' });
    // Until the engine exists nothing runs to stop; a failure by then is still store.failure.
    let onStoreFailure = (_err: StoreError): void => undefined;
    let onCommit = (_c: { events: number; runs: number; ms: number }): void => undefined;
    const replica = opts.replica === undefined ? null : Replica.validate(opts.replica);
    const store = await openRunStore(opts.db, {
      mode: 'writer',
      ...(replica === null ? {} : { replica }),
      synchronous: opts.synchronous ?? 'NORMAL',
      ...(opts.maxDbPages !== undefined ? { maxPageCount: opts.maxDbPages } : {}),
      onCheckpointError: (message) =>
        log.warn({ db: maskDbUrl(opts.db), message }, 'background WAL checkpoint failed'),
      onFailure: (err) => onStoreFailure(err),
      onCommit: (c) => onCommit(c),
    });
    let client: IronicClient;
    let owns = false;
    try {
      if ('client' in opts.ironic) client = opts.ironic.client;
      else {
        const connect = connectOptionsOf(opts.ironic);
        // A replica names itself in its User-Agent: the simulator's request log shows it (the real
        // Ironic's access log does not: it logs the client address).
        if (replica !== null && connect.userAgent === undefined)
          connect.userAgent = `ironledger (replica ${replica.id})`;
        client = await IronicClient.connect(connect);
        owns = true;
      }
    } catch (err) {
      await store.close();
      throw err;
    }
    const engine = new Engine(store, client, owns, log, opts);
    onStoreFailure = (err) => engine.storeFailed(err);
    onCommit = (c) => engine.telemetry.commit(c);
    log.info(
      {
        db: store.path,
        backend: store.backend,
        microversion: client.microversion,
        host: hostname(),
        pid: process.pid,
        ...(replica === null ? {} : { replica: replica.id, leaseMs: replica.leaseMs }),
      },
      'engine open',
    );
    await engine.replica?.start();
    if (opts.resume) {
      try {
        await engine.resumeAllRuns();
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
   * Returns their handles. Reads the store synchronously: a SQLite store only (any store:
   * resumeAllRuns()).
   */
  resumeAll(): RunHandle[] {
    this.assertOpen();
    const local = this.syncStore('resumeAll', 'resumeAllRuns');
    this.verifyStore();
    // A replica takes only the runs of gone owners whose node the ring gives it.
    return this.resumeRows(local, this.replica?.takeOverRowsLocal(local) ?? local.claimUnfinishedRuns());
  }

  /** A replica's takeover round: resumes what it took; a store found unusable stops the engine's runs. */
  private async resumeTakenOver(rows: RunRow[]): Promise<void> {
    try {
      if (this.store.local !== null) {
        this.verifyStore();
        this.resumeRows(this.store.local, rows);
      } else {
        await this.verifyStoreAsync();
        await this.resumeRowsAsync(rows);
      }
    } catch (err) {
      this.log.error({ err, runs: rows.length }, 'replica: could not resume the runs it took over');
    }
  }

  /** Resumes runs this engine has just taken; one that cannot go on is skipped and given back. */
  private resumeRows(local: EventStore, rows: RunRow[]): RunHandle[] {
    const handles: RunHandle[] = [];
    for (const row of rows) {
      if (this.runs.has(row.id)) continue;
      try {
        handles.push(this.resumeTaken(row, () => local.readStream(row.id)));
      } catch (err) {
        // One run that cannot go on is skipped (and given back); a store that cannot is not.
        if (this.store.failure) throw this.store.failure;
        this.log.error({ runId: row.id, err }, 'could not resume run');
      }
    }
    return handles;
  }

  /** resumeAll() on any store (SQLite or PostgreSQL). */
  async resumeAllRuns(): Promise<RunHandle[]> {
    this.assertOpen();
    if (this.store.local !== null) return this.resumeAll();
    await this.verifyStoreAsync();
    // A replica takes only the runs of gone owners whose node the ring gives it.
    return this.resumeRowsAsync(
      this.replica !== null ? await this.replica.takeOverRows() : await this.store.claimUnfinishedRuns(),
    );
  }

  /** resumeRows() reading each stream asynchronously (any store). */
  private async resumeRowsAsync(rows: RunRow[]): Promise<RunHandle[]> {
    const handles: RunHandle[] = [];
    for (const row of rows) {
      if (this.runs.has(row.id)) continue;
      try {
        const events = await this.store.readStream(row.id);
        handles.push(this.resumeTaken(row, () => events));
      } catch (err) {
        if (this.store.failure) throw this.store.failure;
        this.log.error({ runId: row.id, err }, 'could not resume run');
      }
    }
    return handles;
  }

  /**
   * Continues one unfinished run from its last recorded state. A run another live process
   * drives is not taken: StoreRunOwnedError (STORE_RUN_OWNED) names that process. Reads the
   * store synchronously: a SQLite store only (any store: resumeRun()).
   */
  resume(runId: string): RunHandle {
    this.assertOpen();
    const local = this.syncStore('resume', 'resumeRun');
    this.verifyStore();
    const found = local.getRun(runId);
    if (!found) throw new EngineError('RUN_NOT_FOUND', `No run ${runId} in ${this.store.path}.`, { runId });
    const live = this.runs.get(found.id);
    if (live) return this.toHandle(live);
    const row = found.status === 'running' ? local.claimRun(found.id) : found;
    this.assertUnfinished(row);
    return this.resumeTaken(row, () => local.readStream(row.id));
  }

  /** resume() on any store (SQLite or PostgreSQL). */
  async resumeRun(runId: string): Promise<RunHandle> {
    this.assertOpen();
    if (this.store.local !== null) return this.resume(runId);
    await this.verifyStoreAsync();
    const found = await this.store.getRun(runId);
    if (!found) throw new EngineError('RUN_NOT_FOUND', `No run ${runId} in ${this.store.path}.`, { runId });
    const live = this.runs.get(found.id);
    if (live) return this.toHandle(live);
    const row = found.status === 'running' ? await this.store.claimRun(found.id) : found;
    this.assertUnfinished(row);
    let events: StoredEvent[];
    try {
      events = await this.store.readStream(row.id);
    } catch (err) {
      await this.store.releaseRun(row.id).catch(() => undefined);
      throw err;
    }
    return this.resumeTaken(row, () => events);
  }

  private assertUnfinished(row: RunRow): void {
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
  }

  /** The SQLite store, for the synchronous API; on PostgreSQL an error naming the async twin. */
  private syncStore(method: string, twin: string): EventStore {
    const local = this.store.local;
    if (local === null) {
      throw new EngineError(
        'ENGINE_STORE_ASYNC',
        `engine.${method}() reads the store synchronously, which only a SQLite store can; on ${this.store.path} use await engine.${twin}().`,
      );
    }
    return local;
  }

  /** Resumes a run this engine has just taken; gives it back when it cannot. */
  private resumeTaken(row: RunRow, read: () => StoredEvent[]): RunHandle {
    try {
      return this.resumeOwned(row, read());
    } catch (err) {
      void this.store.releaseRun(row.id).catch(() => undefined);
      throw err;
    }
  }

  private resumeOwned(row: RunRow, events: StoredEvent[]): RunHandle {
    const { lifecycle, input, replay, node } = planResume(row, events, this.machines);
    const run = this.newRun(row.id, lifecycle, row.instanceUuid, node);
    this.recorder.track(row.id, row.lastSeq);
    // The run's own secrets died with the process that had them; the client's are live.
    this.recorder.protect(row.id, this.host.clientScrub);
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
      runsActive: this.admission.executing,
      runsQueued: this.admission.waitingForSlot,
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
    this.admission.close();
    this.replica?.stop();
    const running = [...this.runs.values()].filter((r) => !r.isFinished);
    for (const run of running) run.drain();
    // A wait cut short is not a failure: abandon it unrecorded so resume waits again.
    for (const [runId, actorId] of this.host.waitingEffects()) this.runs.get(runId)?.abandon(actorId);
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
    await this.recorder.flush();
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
    await this.store.close();
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
    // transaction that creates the run, should two processes start at once. On SQLite these
    // checks are made now, synchronously; on PostgreSQL before the run's first step (below).
    const claim = {
      instance,
      nodeUuid: node !== null && isUuid(node) ? node : null,
      nodeName: node !== null && !isUuid(node) ? node : null,
    };
    const local = this.store.local;
    let stale: RunRow[] = [];
    if (local !== null) {
      this.refuseHeld(local.heldBy(claim), instance, node);
      stale = this.staleRuns(local.listRuns({ instance, status: 'running' }), instance, opts);
    }
    // Every value the run's record could hold a secret in is scrubbed of it, so the input, which
    // is recorded as given, may hold none.
    const scrub = this.host.scrubberOf(secrets);
    assertInputHoldsNoSecret(op, input, scrub);
    const keys = lockKeys(instance, node);
    const preempted = op === 'destroy' ? this.preemptDeploy(instance) : null;
    if ((this.opts.busy ?? 'refuse') === 'refuse') {
      for (const key of keys) {
        const holder = this.admission.holderOf(key);
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
    for (const r of stale) {
      // Taken first: should another process have resumed it meanwhile, this throws (STORE_RUN_OWNED).
      (local as EventStore).claimRun(r.id);
      this.supersede(r, id);
    }
    // Each machine has the seed's wait budget for its operation (teardown 120 s, the others none);
    // the caller's `timeoutS` replaces it.
    const withDefaults: JsonObject = { ...input };
    assertInputStorable(op, withDefaults);
    const spec = {
      id,
      op,
      instanceUuid: instance,
      // A name is kept as the name; the UUID follows once Ironic names the node (Run).
      nodeUuid: claim.nodeUuid,
      nodeName: claim.nodeName,
      machine: lifecycle.machine.id,
      machineVersion: lifecycle.version,
      input: withDefaults,
    };
    this.host.adopt(id, secrets, scrub);
    this.recorder.protect(id, scrub);
    const run = this.newRun(id, lifecycle, instance, node);
    if (local !== null) {
      // Stored with the next commit, ahead of the run's first step; a failure to store it fails
      // the run's first append with the same error, which ends the run with that cause.
      this.recorder.create(spec).catch(() => undefined);
      return this.admit(run, () => run.begin(withDefaults));
    }
    return this.admit(run, async () => {
      try {
        this.refuseHeld(await this.store.heldBy(claim), instance, node);
        const unfinished = await this.store.listRuns({ instance, status: 'running' });
        for (const r of this.staleRuns(unfinished, instance, opts)) {
          await this.store.claimRun(r.id);
          this.supersede(r, id);
        }
      } catch (err) {
        // Refused before anything was stored: the run ends as failed, nothing sent to Ironic.
        this.recorder.refuse(id, err);
        throw err;
      }
      this.recorder.create(spec).catch(() => undefined);
      await run.begin(withDefaults);
    });
  }

  private refuseHeld(held: RunRow | undefined, instance: string, node: string | null): void {
    if (!held) return;
    const what = held.instanceUuid === instance ? `Instance ${instance}` : `Node ${node ?? '?'}`;
    const owner = held.owner;
    throw new EngineError(
      'ENGINE_NODE_BUSY',
      `${what} already has run ${held.id} in progress, driven by ${owner ? `pid ${owner.pid} on ${owner.host} (since ${owner.since})` : 'another process'}; wait for it or retry later.`,
      { node, instance, holder: held.id, owner },
    );
  }

  /** The instance's unfinished runs no engine drives; refused unless the command supersedes them. */
  private staleRuns(running: RunRow[], instance: string, opts: StartOptions): RunRow[] {
    const stale = running.filter((r) => !this.runs.has(r.id));
    if (stale.length > 0 && opts.supersede !== true) {
      const r = stale[0]!;
      throw new EngineError(
        'ENGINE_UNFINISHED_RUN',
        `Instance ${instance} has an unfinished ${r.op} run ${r.id} (last state ${r.state ?? '?'}) in ${this.store.path}; resume it (ironledger resume ${r.id}), or start this one with { supersede: true } to cancel it.`,
        { instance, holder: r.id, op: r.op },
      );
    }
    return stale;
  }

  /**
   * Ends an unfinished run no engine drives (left by a crash) as cancelled, before the run that
   * replaces it is created: the two never both act on the instance, and the log says which won.
   */
  private supersede(row: RunRow, by: string): void {
    const message = `superseded by run ${by}: a new command for instance ${row.instanceUuid ?? '?'} replaced this unfinished run`;
    this.recorder.track(row.id, row.lastSeq);
    this.recorder.protect(row.id, this.host.clientScrub);
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
    const holder = this.admission.holderOf(`instance:${instance}`);
    const run = holder ? this.runs.get(holder) : undefined;
    if (!run || run.isFinished || (run.op !== 'deploy' && run.op !== 'rebuild')) return null;
    run.send({ type: ABORT, reason: `instance ${instance} is being destroyed` });
    this.log.info({ runId: run.id, instance }, 'aborting deploy: its instance is being destroyed');
    return run.id;
  }

  private newRun(id: string, lifecycle: Lifecycle, instance: string | null, node: string | null): Run {
    const op = lifecycle.op;
    const scrub = (): Scrubber | null => this.host.scrubOf(id);
    const log = this.host.runLogger({ runId: id, op, instance, node }, scrub);
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
      (call) => this.host.run(call),
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
   * Takes the node/instance locks and a concurrency slot (Admission), then begins; when the run
   * ends, frees them and forgets it.
   */
  private admit(run: Run, begin: () => Promise<void>, resumed = false): RunHandle {
    this.telemetry.runStarted(run, resumed);
    void run.done.then((result) => {
      this.telemetry.runFinished(run, result);
      if (result.status === 'interrupted' && result.error?.cause === 'STORE_RUN_NOT_OWNED') {
        this.log.warn(
          { runId: run.id, replica: this.replica?.id ?? null, code: 'STORE_RUN_NOT_OWNED', state: run.state },
          'stopped driving the run: its append was refused (another owner took it over); nothing more is sent for it',
        );
      }
      // Stopped without ending (the store failed under it, or close): anyone may resume it now.
      if (result.status === 'interrupted' && !this.closing) {
        // A failed store: the run is ownerless anyway once this process is gone.
        void this.store.releaseRun(run.id).catch(() => undefined);
      }
      this.host.forget(run.id);
      this.recorder.forget(run.id); // also after an interruption, which leaves its tracking behind
      this.runs.delete(run.id);
      this.log.info(
        { runId: run.id, op: run.op, status: result.status, error: result.error },
        'run finished',
      );
      // A run ends holding a slot, or (interrupted by close) still waiting for keys or a slot.
      this.admission.leave(run);
    });
    this.admission.admit(run, () => {
      // A first step that cannot be recorded interrupts the run, which frees its slot and keys;
      // a run the store never took at all ends as failed: there is nothing to resume.
      begin().catch((err: unknown) => {
        if (this.recorder.unstored(run.id)) run.failUnrecorded(err);
        else run.fail(err);
      });
    });
    return this.toHandle(run);
  }

  /**
   * A run learned its node mid-run (a teardown looks it up by instance): from now on the node is
   * its, so a command for that node waits or is refused. Should another run hold it already,
   * both act on the node; Ironic's own locking arbitrates, and the log says so.
   */
  private claimLearnedNode(runId: string, node: string): void {
    const holder = this.admission.learnNode(runId, node);
    if (holder !== null)
      this.log.warn({ runId, node, holder }, 'node learned mid-run already has another run');
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
    this.syncStore('resume', 'resumeRun').verify();
    this.storeVerified = true;
  }

  private async verifyStoreAsync(): Promise<void> {
    if (this.storeVerified) return;
    await this.store.verify();
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

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
