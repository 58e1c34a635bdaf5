// What a machine's effects run with: the context each effect call gets (a per-run view of the
// Ironic client that records every attempt in the run's stream, the shared node watcher, sleeps,
// the run's secrets, notes), and the scrubbers that keep those secrets out of the run's record
// and log lines. One host per engine; it keeps per-run state until the engine forgets the run.
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { IronicClient } from '../ironic/client.js';
import type { HttpAttempt, IronicApi, SetProvisionStateOptions } from '../ironic/types.js';
import type { EffectContext, EffectImpl, FilteringHooks, RunSecrets } from '../machines/effect-context.js';
import { encodeEvents, type RunEventData } from '../runlog/events.js';
import { Scrubber } from '../store/scrub.js';
import type { JsonObject } from '../store/types.js';
import { EngineError } from './errors.js';
import { secretValuesOf } from './input.js';
import type { Recorder } from './recorder.js';
import type { EffectCall } from './run.js';
import { TRACE_NOTE } from './tracing.js';
import type { NodeWatcher } from './watcher.js';

export interface EffectHostOptions {
  client: IronicClient;
  watcher: NodeWatcher;
  recorder: Recorder;
  hooks: FilteringHooks;
  effects: Record<string, EffectImpl>;
  log: Logger;
  /** Told once of every Ironic attempt made on a run's behalf (the watcher's are counted apart). */
  onRequest: (runId: string, attempt: HttpAttempt) => void;
  /** Wraps each run's client view (replica mode: no request while its lease may have run out). */
  wrapApi?: (api: IronicApi, runId: string) => IronicApi;
}

export class EffectHost {
  /** The client's credentials by value, scrubbed from every run's record; null under noauth. */
  readonly clientScrub: Scrubber | null;
  private readonly secrets = new Map<string, RunSecrets>();
  /** Runs with secrets of their own: the client's and theirs, scrubbed from their record. */
  private readonly scrubs = new Map<string, Scrubber>();
  private readonly apis = new Map<string, IronicApi>();
  /** Effects currently inside observeNode/sleep, by `runId/actorId`. */
  private readonly waiting = new Map<string, number>();

  constructor(private readonly opts: EffectHostOptions) {
    this.clientScrub = Scrubber.of(opts.client.secretValues());
  }

  /** Effects waiting (on the watcher or a sleep), not talking to Ironic. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** The waiting effects as [runId, actorId]: a close abandons them (resume waits again). */
  waitingEffects(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [key, n] of this.waiting) {
      if (n > 0) out.push([key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)]);
    }
    return out;
  }

  /** A Keystone token renewed later joins every scrubber in use, shared or a run's own. */
  addSecret(value: string): void {
    this.clientScrub?.add(value);
    for (const scrub of this.scrubs.values()) scrub.add(value);
  }

  /** The client's secrets and the run's, in every form they could be echoed in; null when none. */
  scrubberOf(secrets: RunSecrets): Scrubber | null {
    const values = secretValuesOf(secrets);
    if (values.length === 0) return this.clientScrub;
    return this.clientScrub === null ? Scrubber.of(values) : this.clientScrub.with(values);
  }

  /** A new run's secrets (kept in memory only) and its scrubber, from scrubberOf(). */
  adopt(runId: string, secrets: RunSecrets, scrub: Scrubber | null): void {
    if (Object.keys(secrets).length > 0) this.secrets.set(runId, secrets);
    if (scrub !== this.clientScrub && scrub !== null) this.scrubs.set(runId, scrub);
  }

  /** What the run's record and log lines are scrubbed of now. */
  scrubOf(runId: string): Scrubber | null {
    return this.scrubs.get(runId) ?? this.clientScrub;
  }

  /** The run has ended: its secrets, scrubber and client view are dropped. */
  forget(runId: string): void {
    this.secrets.delete(runId);
    this.scrubs.delete(runId);
    this.apis.delete(runId);
  }

  /** Runs one effect of a run with its context. */
  async run(call: EffectCall): Promise<unknown> {
    const impl = this.opts.effects[call.src];
    if (!impl)
      throw new EngineError('ENGINE_UNKNOWN_EFFECT', `No implementation for effect ${call.src}.`, {
        runId: call.runId,
      });
    const { recorder, watcher } = this.opts;
    const ctx: EffectContext = {
      ironic: this.apiFor(call.runId),
      signal: call.signal,
      hooks: this.opts.hooks,
      secrets: this.secrets.get(call.runId) ?? {},
      rerun: call.rerun,
      resumed: call.resumed,
      instance: call.instance,
      observeNode: (node) =>
        this.waitingOn(
          call,
          watcher.observe(node, call.signal, (a) => this.recordHttp(call.runId, a, false)),
        ),
      sleep: (ms) => this.waitingOn(call, sleep(ms, call.signal)),
      emit: (event) => call.emit(event),
      note: (level, message, data) => {
        void recorder
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

  /**
   * The run's child logger. With secrets in play its records are scrubbed of them after the
   * parent's own formatting (key redaction): an error Ironic echoed a password in is logged
   * without it.
   */
  runLogger(bindings: Record<string, unknown>, scrub: () => Scrubber | null): Logger {
    const log = this.opts.log;
    // A run with no secret at the start gains none later (a config drive image needs user data).
    if (scrub() === null) return log.child(bindings);
    const parent = (log as unknown as Record<symbol, { log?: (o: object) => object } | undefined>)[
      pino.symbols.formattersSym
    ]?.log;
    return log.child(bindings, {
      formatters: {
        log: (record: object): object => {
          const formatted = parent ? parent(record) : record;
          return scrub()?.value(formatted) ?? formatted;
        },
      },
    });
  }

  /** The run span's context, in the run's log: a resumed run's span links to it. */
  recordSpan(runId: string, span: { traceId: string; spanId: string }): void {
    void this.opts.recorder
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
    const view = this.opts.client.withObserver((a: HttpAttempt) => this.recordHttp(runId, a));
    // A config drive image (gzip + base64, built with the time in it) is known only once built:
    // whatever effect sends one, it becomes one of the run's secrets before it leaves.
    const api: IronicApi = Object.create(view) as IronicApi;
    api.setProvisionState = (node, target, opts?: SetProvisionStateOptions) => {
      if (typeof opts?.configdrive === 'string') this.protectValue(runId, opts.configdrive);
      return view.setProvisionState(node, target, opts);
    };
    const out = this.opts.wrapApi ? this.opts.wrapApi(api, runId) : api;
    this.apis.set(runId, out);
    return out;
  }

  /** Adds a value to what the run's record is scrubbed of (the shared client scrubber is copied first). */
  private protectValue(runId: string, value: string): void {
    let scrub = this.scrubs.get(runId);
    if (scrub === undefined) {
      scrub = (this.clientScrub ?? new Scrubber()).with([]);
      this.scrubs.set(runId, scrub);
    }
    scrub.add(value);
    this.opts.recorder.protect(runId, scrub);
  }

  /** `count`: false for the watcher's attempts, which the engine already counted once for all runs. */
  private recordHttp(runId: string, a: HttpAttempt, count = true): void {
    // Keystone attempts are reported to every run that waited for them; Ironic did not see them.
    if (count && a.service === undefined) this.opts.onRequest(runId, a);
    const recorder = this.opts.recorder;
    if (recorder.lastSeq(runId) === undefined) return;
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
    void recorder
      .append(
        runId,
        encodeEvents([{ kind: 'http', type: `${a.method} ${a.path.split('?')[0]}`, at: a.at, data }]),
      )
      .catch(() => undefined);
  }
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
