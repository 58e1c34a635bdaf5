// Output conventions of `openstack baremetal ...`: `-f table|json|yaml|value` and `-c COLUMN`
// (repeatable) on the commands that print rows (runs, nodes, instances) or one record (show).
// `--json` is `-f json`. Without -c, json and yaml print the whole document (what --json always
// printed) and table the command's own rendering; with -c, only the columns asked for.
import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { CliContext } from './context.js';
import { CliError } from './output.js';
import { table } from './render.js';

export const FORMATS = ['table', 'json', 'yaml', 'value'] as const;
export type Format = (typeof FORMATS)[number];

export interface FormatOptions {
  format?: Format;
  column: string[];
}

/** One column a command offers to -c: its key (the name in json/yaml), table header and value. */
export interface Column<T> {
  key: string;
  header: string;
  get(row: T): unknown;
}

/** Adds -f and -c to a command. */
export function withFormatOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-f, --format <format>', 'output format (--json is -f json)').choices([...FORMATS]))
    .option(
      '-c, --column <column>',
      'print this column (repeat for more; names as in -f json, or the table header)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
}

/**
 * The format asked for: -f, else --json, else table. `--json` with another -f is a usage error:
 * it cannot mean both.
 */
export function formatOf(ctx: CliContext, o: FormatOptions): Format {
  if (o.format !== undefined && ctx.opts.json && o.format !== 'json') {
    throw new CliError(`--json is -f json; it cannot be combined with -f ${o.format}.`);
  }
  return o.format ?? (ctx.opts.json ? 'json' : 'table');
}

/** `provisionState`, `provision_state`, `PROVISION STATE` and `provision-state` name one column. */
function norm(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The columns named by -c, in the order given; an unknown name is a usage error listing the known ones. */
export function pickColumns<T>(command: string, all: ReadonlyArray<Column<T>>, names: string[]): Column<T>[] {
  return names.map((name) => {
    const wanted = norm(name);
    const found =
      all.find((c) => c.key === name) ??
      all.find((c) => norm(c.key) === wanted) ??
      all.find((c) => norm(c.header) === wanted);
    if (!found) {
      throw new CliError(
        `unknown column ${JSON.stringify(name)} for ${command}; columns: ${all.map((c) => c.key).join(', ')}`,
      );
    }
    return found;
  });
}

/** Refuses a bad -c or -f/--json mix before the command does any work (reads Ironic, say). */
export function checkFormatOptions<T>(
  ctx: CliContext,
  command: string,
  o: FormatOptions,
  columns: ReadonlyArray<Column<T>>,
): void {
  formatOf(ctx, o);
  pickColumns(command, columns, o.column);
}

/** A cell for table and value: '-' for nothing (as the tables print it), compact JSON for objects. */
function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function project<T>(row: T, columns: ReadonlyArray<Column<T>>): Record<string, unknown> {
  return Object.fromEntries(columns.map((c) => [c.key, c.get(row) ?? null]));
}

function print(ctx: CliContext, format: Format, text: string, doc: unknown): void {
  if (format === 'json') {
    // ctx.out prints --json documents (and knows one was printed, for a later error).
    if (ctx.out.json) ctx.out.result('', doc);
    else process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else if (format === 'yaml') {
    process.stdout.write(toYaml(doc));
  } else if (text !== '') process.stdout.write(`${text}\n`);
}

/**
 * Prints rows. `doc`: the --json document (rows as the command always printed them); `human`:
 * the command's own table. With -c: the columns asked for, in every format.
 */
export function printRows<T>(
  ctx: CliContext,
  command: string,
  o: FormatOptions,
  spec: { columns: ReadonlyArray<Column<T>>; rows: readonly T[]; doc: unknown; human: () => string },
): void {
  const format = formatOf(ctx, o);
  const picked = o.column.length > 0 ? pickColumns(command, spec.columns, o.column) : null;
  const cols = picked ?? spec.columns;
  switch (format) {
    case 'json':
    case 'yaml':
      print(ctx, format, '', picked ? spec.rows.map((r) => project(r, picked)) : spec.doc);
      return;
    case 'value':
      print(ctx, format, spec.rows.map((r) => cols.map((c) => cell(c.get(r))).join(' ')).join('\n'), null);
      return;
    case 'table':
      print(
        ctx,
        format,
        picked
          ? spec.rows.length > 0
            ? table([cols.map((c) => c.header), ...spec.rows.map((r) => cols.map((c) => cell(c.get(r))))])
            : ''
          : spec.human(),
        null,
      );
  }
}

/**
 * Prints one record (show). Without -c: the command's own rendering (table) or its whole
 * document (json, yaml); value prints every field. With -c: the fields asked for, as a
 * Field/Value table, an object, or one value per line (openstack's `show -f value -c ...`).
 */
export function printRecord<T>(
  ctx: CliContext,
  command: string,
  o: FormatOptions,
  spec: { columns: ReadonlyArray<Column<T>>; record: T; doc: unknown; human: () => string },
): void {
  const format = formatOf(ctx, o);
  const picked = o.column.length > 0 ? pickColumns(command, spec.columns, o.column) : null;
  const cols = picked ?? spec.columns;
  switch (format) {
    case 'json':
    case 'yaml':
      print(ctx, format, '', picked ? project(spec.record, picked) : spec.doc);
      return;
    case 'value':
      print(ctx, format, cols.map((c) => cell(c.get(spec.record))).join('\n'), null);
      return;
    case 'table':
      print(
        ctx,
        format,
        picked
          ? table([['FIELD', 'VALUE'], ...cols.map((c) => [c.key, cell(c.get(spec.record))])])
          : spec.human(),
        null,
      );
  }
}
