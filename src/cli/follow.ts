// `ironledger show RUN --follow`: the timeline of a run another process is driving, printed as
// its events are committed, until the run ends. The store is only read (a reader connection, as
// `show`): every poll reads the run's row (status, live owner) and then its events after the last
// one printed. The row is read first, so a run seen finished has its last events in that read.
// A run that no live process owns any more (its driver was SIGKILLed, or stopped without
// finishing it) cannot end: that is said, and follow exits 1 instead of waiting forever.
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTimeline } from '../runlog/timeline.js';
import type { JsonObject, RunOwner, RunRow, StoredEvent } from '../store/types.js';
import { assertDatabase } from './reader.js';
import { openRunStore } from '../store/run-store.js';
import { CliError, EXIT_OK, EXIT_RUN_FAILED } from './output.js';
import { clock, dur, failureLine } from './render.js';

/** How often the store is read for new events. */
export const FOLLOW_INTERVAL_MS = 100;

const INDENT = ' '.repeat(14);

/** `cleaning (target available, power on)`, as `show` prints what an effect saw. */
function nodeState(node: unknown): string | null {
  if (!node || typeof node !== 'object') return null;
  const n = node as Record<string, unknown>;
  if (typeof n.provision_state !== 'string') return null;
  const extra: string[] = [];
  if (typeof n.target_provision_state === 'string') extra.push(`target ${n.target_provision_state}`);
  if (typeof n.power_state === 'string') extra.push(n.power_state);
  return extra.length ? `${n.provision_state} (${extra.join(', ')})` : n.provision_state;
}

/** Turns events into timeline lines; remembers what it printed so repeats stay quiet. */
class LiveTimeline {
  private state: { name: string; at: string } | null = null;
  private seen: string | null = null;
  private lastError: string | null = null;

  lines(e: StoredEvent): string[] {
    switch (e.kind) {
      case 'transition': {
        if (e.to === null || e.to === this.state?.name) return [];
        const prev = this.state
          ? `  (${this.state.name} ${dur(Date.parse(e.at) - Date.parse(this.state.at))})`
          : '';
        this.state = { name: e.to, at: e.at };
        return [`${clock(e.at)}  ${e.to.padEnd(34)}${prev}`];
      }
      case 'effect.started':
        return [`${INDENT}effect ${String(e.data.src ?? e.type)}`];
      case 'effect.succeeded':
        return [`${INDENT}effect ${String(e.data.actorId ?? e.type)} succeeded ${dur(num(e.data.ms))}`];
      case 'effect.failed': {
        const err = e.data.error as JsonObject | null | undefined;
        const why = err ? `  ${String(err.code ?? '')}: ${String(err.message ?? '')}` : '';
        return [`${INDENT}effect ${String(e.data.actorId ?? e.type)} FAILED ${dur(num(e.data.ms))}${why}`];
      }
      case 'http': {
        const status =
          typeof e.data.status === 'number' ? String(e.data.status) : String(e.data.errorCode ?? 'no answer');
        const retry = e.data.willRetry === true ? '  -> retry' : '';
        const keystone = e.data.service === 'keystone' ? '  Keystone token' : '';
        return [
          `${INDENT}${clock(e.at)}  ${String(e.data.method ?? '')} ${String(e.data.path ?? '')}  ${status}  #${num(e.data.attempt, 1)}  ${num(e.data.ms)}ms${retry}${keystone}`,
        ];
      }
      case 'machine.event': {
        const event = e.data.event as JsonObject | undefined;
        const node = event?.node ?? event?.output;
        const seen = nodeState(node);
        const out: string[] = [];
        if (seen !== null && seen !== this.seen) {
          this.seen = seen;
          out.push(`${INDENT}${clock(e.at)}  Ironic: ${seen}`);
        }
        if (node && typeof node === 'object' && 'last_error' in node) {
          const le = (node as { last_error: unknown }).last_error;
          const now = typeof le === 'string' && le !== '' ? le : null;
          if (now !== null && now !== this.lastError)
            out.push(`${INDENT}Ironic last_error: ${now.replace(/\s+/g, ' ')}`);
          this.lastError = now;
        }
        return out;
      }
      case 'note':
        return [
          `${clock(e.at)}  ${String(e.data.level ?? 'info').toUpperCase()}  ${String(e.data.message ?? '')}`,
        ];
      default:
        return [];
    }
  }
}

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

function ownerText(o: RunOwner): string {
  return `pid ${o.pid} on ${o.host}`;
}

/**
 * Follows run `id` in the database `db` until it ends; returns the exit code: 0 it succeeded,
 * 1 it failed, was cancelled, or is no longer driven by a live process.
 */
export async function followRun(
  db: string,
  id: string,
  write: (line: string) => void,
  intervalMs = FOLLOW_INTERVAL_MS,
): Promise<number> {
  assertDatabase(db);
  const store = await openRunStore(db, { mode: 'reader' });
  try {
    const first = await store.getRun(id);
    if (!first) {
      throw new CliError(
        `no run ${JSON.stringify(id)} in ${store.path} (list them with: ironledger runs; follow a run once its command has printed its id)`,
        2,
        'RUN_NOT_FOUND',
      );
    }
    write(
      `run ${first.id}  ${first.op}  instance ${first.instanceUuid ?? '-'}  node ${first.nodeUuid ?? '-'}${first.nodeName ? ` (${first.nodeName})` : ''}`,
    );
    write(
      first.owner
        ? `  driven by ${ownerText(first.owner)}; following until it ends`
        : `  started ${first.createdAt}`,
    );
    const live = new LiveTimeline();
    const events: StoredEvent[] = [];
    let lastOwner: RunOwner | null = first.owner;
    for (;;) {
      const row: RunRow = (await store.getRun(first.id)) ?? first;
      const fresh = await store.readStream(first.id, (events[events.length - 1]?.seq ?? 0) + 1);
      for (const e of fresh) {
        events.push(e);
        for (const line of live.lines(e)) write(line);
      }
      if (row.status !== 'running') {
        const t = buildTimeline(row, events);
        const took = dur(Date.parse(row.updatedAt) - Date.parse(row.createdAt));
        write('');
        write(`run ${row.id}: ${row.op} ${row.status.toUpperCase()} after ${took}`);
        if (t.failure) write(failureLine(t.failure));
        return row.status === 'succeeded' ? EXIT_OK : EXIT_RUN_FAILED;
      }
      if (row.owner === null) {
        // Nothing more can come: no live process owns the run. (A resume would take it again.)
        const who = lastOwner ? `its driver, ${ownerText(lastOwner)}, is gone` : 'no process drives it';
        write('');
        write(
          `run ${row.id}: no longer driven by a live process (${who}); it stopped in ${row.state ?? '?'} and stays resumable: ironledger resume ${row.id}`,
        );
        return EXIT_RUN_FAILED;
      }
      lastOwner = row.owner;
      await sleep(intervalMs);
    }
  } finally {
    await store.close();
  }
}
