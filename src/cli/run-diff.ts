// `ironledger diff RUN_A RUN_B`: where two runs of one operation part ways. Each run is read as
// a path of steps: the machine states it entered, the Ironic answers it got (method, route,
// status) and the provision states it saw Ironic in. Repeats in a row are one step (a 409 retried
// twice, a node seen `cleaning` on ten polls). Steps that name a node, VIF or instance compare by
// route, so runs on different nodes line up. The first step that differs is where they part;
// after it, each side's own path, every step with its duration.
import type { JsonObject, RunRow, StoredEvent } from '../store/types.js';

export type StepKind = 'state' | 'request' | 'ironic' | 'end';

export interface DiffStep {
  kind: StepKind;
  /** What is compared: `cleanup.unplugVifs`, `DELETE /v1/nodes/{node}/vifs/{vif} -> 409`, `clean failed`. */
  label: string;
  at: string;
  /** state: until the next state; request: its answer's time (summed over repeats); ironic: until Ironic showed another state. */
  ms: number | null;
  /** How many in a row (retries, polls that saw the same state). */
  count: number;
}

export interface DiffSide {
  runId: string;
  status: string;
  node: string | null;
  instance: string | null;
  startedAt: string;
  /** From start to its end (or its last event, for a run not finished). */
  ms: number;
  failedIn: string | null;
  error: { code: string | null; message: string | null } | null;
}

export interface RunDiff {
  op: string;
  a: DiffSide;
  b: DiffSide;
  /** The steps both took, in order, with each side's duration. */
  common: Array<{
    kind: StepKind;
    label: string;
    a: { ms: number | null; count: number };
    b: { ms: number | null; count: number };
  }>;
  /** Whether they part at all (false: the same path, perhaps at other speeds). */
  parted: boolean;
  /** Each side's path from where they part (empty when it ends there). */
  aPath: DiffStep[];
  bPath: DiffStep[];
}

/** Collections whose next path segment is an id that differs from run to run. */
const ID_AFTER: Record<string, string> = {
  nodes: '{node}',
  vifs: '{vif}',
  ports: '{port}',
  portgroups: '{portgroup}',
  allocations: '{allocation}',
  chassis: '{chassis}',
};

/** `/v1/nodes/4364c3.../vifs/vif-2?fields=...` -> `/v1/nodes/{node}/vifs/{vif}`. */
export function routeOf(path: string): string {
  const bare = path.split('?')[0] ?? path;
  const parts = bare.split('/');
  for (let i = 1; i < parts.length; i++) {
    const id = ID_AFTER[parts[i - 1] ?? ''];
    if (id) parts[i] = id;
  }
  return parts.join('/');
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function provisionState(node: unknown): string | null {
  if (!node || typeof node !== 'object') return null;
  return str((node as Record<string, unknown>).provision_state);
}

/** A run's path: its steps, repeats folded. */
export function pathOf(events: readonly StoredEvent[]): DiffStep[] {
  const steps: DiffStep[] = [];
  let lastState: DiffStep | null = null;
  let lastIronic: DiffStep | null = null;
  const close = (step: DiffStep | null, at: string): void => {
    if (step && step.ms === null) step.ms = Date.parse(at) - Date.parse(step.at);
  };
  const push = (step: Omit<DiffStep, 'count'>): DiffStep => {
    const prev = steps[steps.length - 1];
    if (prev && prev.kind === step.kind && prev.label === step.label) {
      prev.count++;
      if (step.kind === 'request') prev.ms = (prev.ms ?? 0) + (step.ms ?? 0);
      return prev;
    }
    const s: DiffStep = { ...step, count: 1 };
    steps.push(s);
    return s;
  };
  const sawIronic = (state: string | null, at: string): void => {
    if (state === null || lastIronic?.label === state) return;
    close(lastIronic, at);
    lastIronic = push({ kind: 'ironic', label: state, at, ms: null });
  };
  for (const e of events) {
    switch (e.kind) {
      case 'transition':
        if (e.to === null || e.to === lastState?.label) break;
        close(lastState, e.at);
        lastState = push({ kind: 'state', label: e.to, at: e.at, ms: null });
        break;
      case 'http': {
        if (e.data.service === 'keystone') break; // token renewals are the credentials' story, not the run's
        const answer =
          typeof e.data.status === 'number' ? String(e.data.status) : (str(e.data.errorCode) ?? 'no answer');
        push({
          kind: 'request',
          label: `${str(e.data.method) ?? '?'} ${routeOf(str(e.data.path) ?? '')} -> ${answer}`,
          at: e.at,
          ms: typeof e.data.ms === 'number' ? e.data.ms : null,
        });
        break;
      }
      case 'machine.event': {
        const event = e.data.event as JsonObject | undefined;
        sawIronic(provisionState(event?.node) ?? provisionState(event?.output), e.at);
        break;
      }
      case 'run.finished': {
        close(lastState, e.at);
        close(lastIronic, e.at);
        const error = e.data.error as JsonObject | null | undefined;
        const code = error && typeof error.code === 'string' ? ` ${error.code}` : '';
        push({ kind: 'end', label: `${str(e.data.status) ?? '?'}${code}`, at: e.at, ms: null });
        break;
      }
      default:
        break;
    }
  }
  // A run not finished: its last state and Ironic state last until its last event.
  const last = events[events.length - 1];
  if (last) {
    close(lastState, last.at);
    close(lastIronic, last.at);
  }
  return steps;
}

function sideOf(run: RunRow, events: readonly StoredEvent[]): DiffSide {
  const finished = events.find((e) => e.kind === 'run.finished');
  const last = events[events.length - 1];
  const end = finished?.at ?? last?.at ?? run.updatedAt;
  const error = (finished?.data.error as JsonObject | null | undefined) ?? null;
  return {
    runId: run.id,
    status: run.status,
    node: run.nodeUuid,
    instance: run.instanceUuid,
    startedAt: run.createdAt,
    ms: Date.parse(end) - Date.parse(run.createdAt),
    failedIn: finished && typeof finished.data.failedIn === 'string' ? finished.data.failedIn : null,
    error: error ? { code: str(error.code), message: str(error.message) } : null,
  };
}

export function diffRuns(
  a: { run: RunRow; events: readonly StoredEvent[] },
  b: { run: RunRow; events: readonly StoredEvent[] },
): RunDiff {
  const pa = pathOf(a.events);
  const pb = pathOf(b.events);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i]!.kind === pb[i]!.kind && pa[i]!.label === pb[i]!.label) i++;
  return {
    op: a.run.op,
    a: sideOf(a.run, a.events),
    b: sideOf(b.run, b.events),
    common: pa.slice(0, i).map((s, k) => ({
      kind: s.kind,
      label: s.label,
      a: { ms: s.ms, count: s.count },
      b: { ms: pb[k]!.ms, count: pb[k]!.count },
    })),
    parted: i < pa.length || i < pb.length,
    aPath: pa.slice(i),
    bPath: pb.slice(i),
  };
}

function dur(ms: number | null): string {
  if (ms === null) return '…';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

const KIND: Record<StepKind, string> = { state: 'state', request: 'Ironic', ironic: 'saw', end: 'ended' };

function stepText(s: { kind: StepKind; label: string; count: number }): string {
  return `${KIND[s.kind]} ${s.label}${s.count > 1 ? ` x${s.count}` : ''}`;
}

function sideLine(tag: string, s: DiffSide): string {
  const failure = s.error
    ? `  ${s.error.code ?? '?'} in ${s.failedIn ?? '?'}: ${(s.error.message ?? '').replace(/\s+/g, ' ')}`
    : '';
  return `${tag} ${s.runId}  ${s.status.toUpperCase()}  ${dur(s.ms)}  node ${s.node ?? '-'}${failure}`;
}

export function renderDiff(d: RunDiff): string {
  const out: string[] = [`diff of two ${d.op} runs`, sideLine('A', d.a), sideLine('B', d.b), ''];
  const rows: string[][] = [['', 'A', 'B']];
  for (const c of d.common) {
    const counts =
      c.a.count === c.b.count ? (c.a.count > 1 ? ` x${c.a.count}` : '') : ` x${c.a.count} | x${c.b.count}`;
    rows.push([`  ${KIND[c.kind]} ${c.label}${counts}`, dur(c.a.ms), dur(c.b.ms)]);
  }
  const width = Math.max(...rows.map((r) => r[0]!.length));
  const common = rows.map((r) => `${r[0]!.padEnd(width)}  ${r[1]!.padStart(7)}  ${r[2]!.padStart(7)}`);
  out.push(`the same ${d.common.length} step${d.common.length === 1 ? '' : 's'}:`, ...common, '');
  if (!d.parted) {
    out.push('they never part: the same path (durations above)');
    return out.join('\n');
  }
  const first = d.common.length + 1;
  const aFirst = d.aPath[0];
  const bFirst = d.bPath[0];
  out.push(
    `they part at step ${first}: A ${aFirst ? stepText(aFirst) : '(no more steps)'}, B ${bFirst ? stepText(bFirst) : '(no more steps)'}`,
  );
  const cellOf = (s: DiffStep): readonly [string, string] => [stepText(s), s.kind === 'end' ? '' : dur(s.ms)];
  const left = d.aPath.map(cellOf);
  const right = d.bPath.map(cellOf);
  const lw = Math.max(3, ...left.map(([t]) => t.length));
  const n = Math.max(left.length, right.length);
  out.push(`  ${'A'.padEnd(lw)}  ${''.padStart(7)} | B`);
  for (let k = 0; k < n; k++) {
    const [lt, lm] = left[k] ?? ['', ''];
    const [rt, rm] = right[k] ?? ['', ''];
    out.push(`  ${lt.padEnd(lw)}  ${lm.padStart(7)} | ${rt}${rm ? `  ${rm}` : ''}`.trimEnd());
  }
  return out.join('\n');
}
