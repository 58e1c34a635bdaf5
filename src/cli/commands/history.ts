// runs, show, replay, resume: read the store (replay needs no Ironic at all).
import type { Command } from 'commander';
import { buildTimeline } from '../../runlog/timeline.js';
import { lifecycles, machines, type OpName } from '../../machines/index.js';
import type { RunStore } from '../../store/run-store.js';
import { assertDatabase, withReader } from '../reader.js';
import { replayRun } from '../../runlog/replay.js';
import type { RunFilters, RunRow, RunStatus } from '../../store/types.js';
import type { RunResult } from '../../engine/engine.js';
import { intOption, makeContext, MAX_COUNT, type GlobalOptions } from '../context.js';
import { CliError, EXIT_OK, EXIT_RUN_FAILED } from '../output.js';
import { renderRuns, renderTimeline } from '../render.js';
import { showHtml } from './show-html.js';
import {
  checkFormatOptions,
  printRecord,
  printRows,
  withFormatOptions,
  type Column,
  type FormatOptions,
} from '../format.js';
import type { Timeline } from '../../runlog/timeline.js';
import { followRun } from '../follow.js';
import {
  describeResult,
  exitCodeFor,
  follow,
  Interruption,
  ironicLastError,
  openEngineInterruptibly,
  resultDoc,
} from './lifecycle.js';

/** The stored statuses, and `interrupted`: running, but no process drives it (what results call it, what resume continues). */
const STATUSES: Array<RunStatus | 'interrupted'> = [
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
];

/** The CLI's command names and the op names runs are stored under. */
export const OP_BY_COMMAND: Readonly<Record<string, OpName>> = {
  deploy: 'deploy',
  destroy: 'destroy',
  rebuild: 'rebuild',
  reboot: 'reboot',
  'power-off': 'powerOff',
  'power-on': 'powerOn',
  console: 'console',
};

/** `--op` takes a command name (power-off) or a stored op name (powerOff); anything else is refused. */
export function parseOp(value: string): OpName {
  const op = Object.hasOwn(OP_BY_COMMAND, value)
    ? OP_BY_COMMAND[value]
    : Object.hasOwn(lifecycles, value)
      ? (value as OpName)
      : undefined;
  if (!op) {
    throw new CliError(
      `--op must be one of ${Object.keys(OP_BY_COMMAND).join(', ')}, got ${JSON.stringify(value)}.`,
    );
  }
  return op;
}

/** `runs -c`: the fields of `runs --json`; the table's headers name them too (RUN is id). */
const RUN_COLUMNS: ReadonlyArray<Column<RunRow>> = [
  { key: 'id', header: 'RUN', get: (r) => r.id },
  { key: 'op', header: 'OP', get: (r) => r.op },
  { key: 'status', header: 'STATUS', get: (r) => r.status },
  { key: 'state', header: 'STATE', get: (r) => r.state },
  { key: 'instanceUuid', header: 'INSTANCE', get: (r) => r.instanceUuid },
  { key: 'nodeUuid', header: 'NODE', get: (r) => r.nodeUuid },
  { key: 'nodeName', header: 'NODE NAME', get: (r) => r.nodeName },
  { key: 'owner', header: 'OWNER', get: (r) => (r.owner ? `pid ${r.owner.pid}@${r.owner.host}` : null) },
  { key: 'createdAt', header: 'STARTED', get: (r) => r.createdAt },
  { key: 'updatedAt', header: 'UPDATED', get: (r) => r.updatedAt },
  { key: 'machine', header: 'MACHINE', get: (r) => r.machine },
  { key: 'machineVersion', header: 'MACHINE VERSION', get: (r) => r.machineVersion },
  { key: 'lastSeq', header: 'LAST SEQ', get: (r) => r.lastSeq },
  { key: 'error', header: 'ERROR', get: (r) => r.error },
];

/** `show -c`: the run's fields, its counts and where it failed. */
const SHOW_COLUMNS: ReadonlyArray<Column<Timeline>> = [
  ...RUN_COLUMNS.filter((c) => c.key !== 'error').map((c) => ({
    key: c.key,
    header: c.header,
    get: (t: Timeline) => c.get(t.run),
  })),
  { key: 'events', header: 'EVENTS', get: (t) => t.events },
  { key: 'requests', header: 'REQUESTS', get: (t) => t.requests },
  { key: 'retries', header: 'RETRIES', get: (t) => t.retries },
  { key: 'reauthentications', header: 'REAUTHENTICATIONS', get: (t) => t.reauthentications },
  { key: 'failedIn', header: 'FAILED IN', get: (t) => t.failure?.state ?? null },
  { key: 'ironicState', header: 'IRONIC STATE', get: (t) => t.failure?.ironicState ?? null },
  { key: 'ironicLastError', header: 'IRONIC LAST ERROR', get: (t) => t.failure?.ironicLastError ?? null },
  { key: 'errorCode', header: 'ERROR CODE', get: (t) => t.failure?.error?.code ?? null },
  { key: 'errorMessage', header: 'ERROR MESSAGE', get: (t) => t.failure?.error?.message ?? null },
];

async function findRun(store: RunStore, id: string): Promise<RunRow> {
  const row = await store.getRun(id);
  if (!row)
    throw new CliError(
      `no run ${JSON.stringify(id)} in ${store.path} (list them with: ironledger runs)`,
      2,
      'RUN_NOT_FOUND',
    );
  return row;
}

export function registerHistoryCommands(
  program: Command,
  run: (fn: (g: GlobalOptions) => Promise<number>) => Promise<void>,
): void {
  withFormatOptions(program.command('runs'))
    .description('list runs, newest first (by start time)')
    .option(
      '--status <status>',
      `one of ${STATUSES.join(', ')} (interrupted: running, but no process drives it; what resume continues)`,
    )
    .option('--op <op>', `one of ${Object.keys(OP_BY_COMMAND).join(', ')}`)
    .option('--node <node>', 'node UUID or name')
    .option('--instance <uuid>', 'instance UUID')
    .option('--limit <k>', 'at most this many', '50')
    .action(
      async (
        o: { status?: string; op?: string; node?: string; instance?: string; limit: string } & FormatOptions,
      ) =>
        run(async (g) => {
          const ctx = makeContext(g);
          checkFormatOptions(ctx, 'runs', o, RUN_COLUMNS);
          if (o.status && !STATUSES.includes(o.status as RunStatus | 'interrupted')) {
            throw new CliError(
              `--status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(o.status)}.`,
            );
          }
          const filters: RunFilters = { limit: intOption('--limit', o.limit, 1, MAX_COUNT) };
          if (o.status) filters.status = o.status as RunStatus | 'interrupted';
          if (o.op !== undefined) filters.op = parseOp(o.op);
          if (o.node) filters.node = o.node;
          if (o.instance) filters.instance = o.instance;
          const rows = await withReader(ctx.opts.db, (store) => store.listRuns(filters));
          printRows(ctx, 'runs', o, { columns: RUN_COLUMNS, rows, doc: rows, human: () => renderRuns(rows) });
          return EXIT_OK;
        }),
    );

  withFormatOptions(program.command('show'))
    .description("a run's timeline: states, effects, Ironic requests, retries, and where it failed")
    .argument('<run>', 'run id (or a unique prefix of at least 6 characters)')
    .option('--follow', 'print the timeline of a run another process drives as it is recorded, until it ends')
    .option('--html <file>', 'write the timeline as one self-contained HTML page (- for stdout)')
    .action(async (id: string, o: FormatOptions & { follow?: boolean; html?: string }) =>
      run(async (g) => {
        const ctx = makeContext(g);
        checkFormatOptions(ctx, 'show', o, SHOW_COLUMNS);
        if (o.html !== undefined) {
          if (o.follow || ctx.opts.json || o.format !== undefined || o.column.length > 0)
            throw new CliError('--html writes a page; it takes no --follow, --json, -f or -c.');
          return showHtml(ctx, id, o.html, findRun);
        }
        if (o.follow) {
          if (ctx.opts.json || o.format !== undefined || o.column.length > 0)
            throw new CliError('--follow prints a live text timeline; it takes no --json, -f or -c.');
          return followRun(ctx.opts.db, id, (line) => process.stdout.write(`${line}\n`));
        }
        const timeline = await withReader(ctx.opts.db, async (store) => {
          const row = await findRun(store, id);
          return buildTimeline(row, await store.readStream(row.id));
        });
        printRecord(ctx, 'show', o, {
          columns: SHOW_COLUMNS,
          record: timeline,
          doc: timeline,
          human: () => renderTimeline(timeline),
        });
        return EXIT_OK;
      }),
    );

  program
    .command('replay')
    .description('fold a run offline through its machine and check it against the record (no Ironic needed)')
    .argument('<run>', 'run id (or a unique prefix)')
    .action(async (id: string) =>
      run(async (g) => {
        const ctx = makeContext(g);
        const { row, events } = await withReader(ctx.opts.db, async (store) => {
          const found = await findRun(store, id);
          return { row: found, events: await store.readStream(found.id) };
        });
        const registered = machines.versions(row.op);
        if (registered.length === 0)
          throw new CliError(`run ${row.id} uses an unknown operation ${row.op}.`, 2, 'RUN_UNKNOWN_MACHINE');
        // Folded through the version the run was recorded with. One this build no longer
        // registers is folded through the current one, and the verdict says so.
        const lifecycle = machines.get(row.op, row.machineVersion) ?? machines.current(row.op as OpName);
        const result = replayRun(lifecycle.machine, events);
        const lines = result.transitions.map(
          (t) => `${String(t.seq).padStart(5)}  ${t.at.slice(11, 23)}  ${t.from ?? '(start)'} -> ${t.to}`,
        );
        const d = result.divergence;
        const versions =
          row.machineVersion === lifecycle.version
            ? ''
            : `; recorded with ${row.machine} v${row.machineVersion}, this build has v${lifecycle.version} (v${row.machineVersion} is not registered)`;
        lines.push(
          result.matches
            ? `replay of ${row.id}: matches the record (${result.transitions.length} transitions${result.finished ? ', finished' : ', unfinished'})`
            : `replay of ${row.id}: DIVERGES at seq ${d?.seq}: recorded ${d?.recorded.from ?? '(start)'} -> ${d?.recorded.to}, recomputed ${d?.recomputed ? `${d.recomputed.from ?? '(start)'} -> ${d.recomputed.to}` : 'nothing'} (${d?.reason}${versions})`,
        );
        ctx.out.result(lines.join('\n'), {
          runId: row.id,
          matches: result.matches,
          machine: row.machine,
          recordedVersion: row.machineVersion,
          machineVersion: lifecycle.version,
          registeredVersions: registered,
          divergence: result.divergence,
          transitions: result.transitions,
          pendingEffects: result.pendingEffects,
        });
        return result.matches ? EXIT_OK : EXIT_RUN_FAILED;
      }),
    );

  program
    .command('resume')
    .description('continue unfinished runs (all of them, or one) from their last recorded state')
    .argument('[run]', 'run id (or a unique prefix)')
    .action(async (id: string | undefined) =>
      run(async (g) => {
        const ctx = makeContext(g);
        // Resuming from a mistyped path would create an empty database and find nothing.
        assertDatabase(ctx.opts.db);
        const engine = await openEngineInterruptibly(ctx);
        try {
          // RUN given: one run, one result object. Without: always a list (of 0, 1 or more).
          if (id) return await follow(ctx, engine, await engine.resumeRun(id));
          const handles = await engine.resumeAllRuns();
          if (handles.length === 0) {
            ctx.out.result('nothing to resume', []);
            return EXIT_OK;
          }
          ctx.out.info(`resuming ${handles.length} run${handles.length === 1 ? '' : 's'}`);
          const started = Date.now();
          const interruption = new Interruption(engine, () =>
            ctx.out.info(`\ninterrupted: unfinished runs stay resumable (ironledger resume)`),
          );
          let results: RunResult[];
          try {
            results = await Promise.all(handles.map((h) => h.done)); // a signal's close settles them
          } finally {
            await interruption.dispose();
          }
          const ms = Date.now() - started;
          const lastErrors = await Promise.all(results.map((r) => ironicLastError(ctx.opts.db, r)));
          ctx.out.result(
            results.map((r, i) => describeResult(r, ms, lastErrors[i])).join('\n'),
            results.map((r, i) => resultDoc(r, lastErrors[i])),
          );
          const codes = results.map((r) => exitCodeFor(r, interruption.signal));
          const bySignal = codes.find((c) => c > EXIT_RUN_FAILED);
          return bySignal ?? (codes.every((c) => c === EXIT_OK) ? EXIT_OK : EXIT_RUN_FAILED);
        } finally {
          await engine.close();
        }
      }),
    );
}
