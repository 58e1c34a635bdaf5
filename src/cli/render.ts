// Text renderings for people; `--json` prints the same data as JSON instead.
import type { JsonObject, RunRow } from '../store/types.js';
import type { Timeline, TimelineEffect } from '../runlog/timeline.js';
import { oneLine } from './output.js';

export function clock(iso: string): string {
  return iso.slice(11, 23);
}

export function dur(ms: number | null): string {
  if (ms === null) return '…';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** Runs, newest first: STARTED is the time they are sorted by (--json also has updatedAt). */
export function renderRuns(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs';
  const head = ['RUN', 'OP', 'STATUS', 'STATE', 'INSTANCE', 'NODE', 'NODE NAME', 'OWNER', 'STARTED'];
  const lines = rows.map((r) => [
    r.id,
    r.op,
    r.status,
    r.state ?? '-',
    r.instanceUuid ?? '-',
    r.nodeUuid ?? '-',
    r.nodeName ?? '-',
    // The live process driving a running run; '-' when nobody does (resume takes it) or it ended.
    r.owner ? `pid ${r.owner.pid}@${r.owner.host}` : '-',
    r.createdAt.replace('T', ' ').slice(0, 19),
  ]);
  return table([head, ...lines]);
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** Consecutive polls of the same effect that succeeded without requests of their own print as one line. */
function groupEffects(effects: TimelineEffect[]): TimelineEffect[][] {
  const groups: TimelineEffect[][] = [];
  for (const e of effects) {
    const prev = groups[groups.length - 1];
    const quiet = e.outcome === 'succeeded' && e.requests.length === 0;
    const head = prev?.[0];
    if (
      prev &&
      head &&
      quiet &&
      head.src === e.src &&
      head.outcome === 'succeeded' &&
      head.requests.length === 0
    )
      prev.push(e);
    else groups.push([e]);
  }
  return groups;
}

function lastErrorOf(e: TimelineEffect): string {
  return e.lastError ? `  last_error: ${oneLine(e.lastError)}` : '';
}

/**
 * Ironic's last_error for a failure line, unless the error's message already quotes it (a deploy
 * that saw `deploy failed` says it in its own words).
 */
export function ironicWords(error: JsonObject | null, lastError: string | null): string | null {
  if (!lastError) return null;
  return String(error?.message ?? '').includes(lastError) ? null : oneLine(lastError);
}

function sumMs(effects: TimelineEffect[]): number {
  return effects.reduce((n, e) => n + (e.ms ?? 0), 0);
}

const REAUTH_WHY: Record<string, string> = {
  initial: 'first token',
  expiring: 'renewed before expiry',
  unauthorized: 'renewed after a 401',
};

export function renderTimeline(t: Timeline): string {
  const r = t.run;
  const out: string[] = [];
  out.push(`run ${r.id}  ${r.op}  ${r.status.toUpperCase()}`);
  out.push(
    `  instance ${r.instanceUuid ?? '-'}  node ${r.nodeUuid ?? '-'}${r.nodeName ? ` (${r.nodeName})` : ''}  machine ${r.machine} v${r.machineVersion}`,
  );
  out.push(
    `  started ${r.createdAt}  updated ${r.updatedAt}  ${t.events} events, ${t.requests} Ironic requests, ${t.retries} retries` +
      (t.reauthentications > 0 ? `, ${t.reauthentications} Keystone token requests` : ''),
  );
  out.push('');
  for (const s of t.states) {
    out.push(`${clock(s.enteredAt)}  ${s.state.padEnd(34)} ${dur(s.ms)}`);
    for (const group of groupEffects(s.effects)) {
      const e = group[0]!;
      const last = group[group.length - 1]!;
      if (group.length > 1) {
        const states = [...new Set(group.map((g) => g.observed).filter((o): o is string => o !== null))];
        const seen = states.length ? `  saw ${states.join(' -> ')}` : '';
        out.push(
          `              effect ${e.src.padEnd(26)} ${group.length} times over ${dur(sumMs(group))}${seen}${lastErrorOf(last)}`,
        );
        continue;
      }
      const outcome = last.outcome === 'unfinished' ? 'UNFINISHED' : last.outcome;
      const err = e.error ? `  ${String(e.error.code ?? '')}: ${String(e.error.message ?? '')}` : '';
      const times =
        e.observations > 0 ? `  ${e.observations} observation${e.observations === 1 ? '' : 's'}` : '';
      const seen = e.observed ? `${times}  saw ${e.observed}` : times;
      out.push(
        `              effect ${e.src.padEnd(26)} ${outcome} ${dur(e.ms)}${seen}${lastErrorOf(e)}${err}`,
      );
      for (const q of e.requests) {
        const status = q.status === null ? (q.errorCode ?? 'no answer') : String(q.status);
        const retry = q.willRetry ? '  -> retry' : '';
        const why = q.reauth === null ? '' : `  Keystone token (${REAUTH_WHY[q.reauth] ?? q.reauth})`;
        out.push(
          `              ${clock(q.at)}  ${q.method} ${q.path}  ${status}  #${q.attempt}  ${q.ms}ms${retry}${why}`,
        );
      }
    }
  }
  if (t.notes.length > 0) {
    out.push('');
    for (const n of t.notes) out.push(`${clock(n.at)}  ${n.level.toUpperCase()}  ${n.message}`);
  }
  if (t.failure) {
    out.push('');
    out.push(failureLine(t.failure));
  }
  return out.join('\n');
}

/** `FAILED in STATE (Ironic: clean failed): message (CODE); Ironic last_error: ...` */
export function failureLine(f: NonNullable<Timeline['failure']>): string {
  const e = f.error;
  const words = ironicWords(e, f.ironicLastError);
  return `FAILED in ${f.state ?? '?'}${f.ironicState ? ` (Ironic: ${f.ironicState})` : ''}: ${e ? `${String(e.message ?? '')} (${String(e.code ?? '')})` : 'no error recorded'}${words ? `; Ironic last_error: ${words}` : ''}`;
}
