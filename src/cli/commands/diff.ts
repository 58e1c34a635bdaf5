// `ironledger diff RUN_A RUN_B`: where two runs of one operation part ways (see ../run-diff.ts).
import type { Command } from 'commander';
import { withReader } from '../reader.js';
import { makeContext, type GlobalOptions } from '../context.js';
import { CliError, EXIT_OK } from '../output.js';
import { diffRuns, renderDiff } from '../run-diff.js';
import { formatOf, type Format } from '../format.js';
import { stringify as toYaml } from 'yaml';
import { Option } from 'commander';

export function registerDiffCommand(
  program: Command,
  run: (fn: (g: GlobalOptions) => Promise<number>) => Promise<void>,
): void {
  program
    .command('diff')
    .description(
      'where two runs of one operation part ways: the first different state or Ironic answer, then each path, with durations side by side',
    )
    .argument('<run-a>', 'run id (or a unique prefix)')
    .argument('<run-b>', 'run id (or a unique prefix)')
    .addOption(
      new Option('-f, --format <format>', 'output format (--json is -f json)').choices([
        'table',
        'json',
        'yaml',
      ]),
    )
    .action(async (idA: string, idB: string, o: { format?: Format }) =>
      run(async (g) => {
        const ctx = makeContext(g);
        const format = formatOf(ctx, { ...o, column: [] });
        const diff = await withReader(ctx.opts.db, async (store) => {
          const read = async (id: string) => {
            const row = await store.getRun(id);
            if (!row)
              throw new CliError(
                `no run ${JSON.stringify(id)} in ${store.path} (list them with: ironledger runs)`,
                2,
                'RUN_NOT_FOUND',
              );
            return { run: row, events: await store.readStream(row.id) };
          };
          const a = await read(idA);
          const b = await read(idB);
          if (a.run.op !== b.run.op) {
            throw new CliError(
              `diff compares runs of one operation: ${a.run.id} is a ${a.run.op}, ${b.run.id} a ${b.run.op}`,
              2,
              'DIFF_OPS_DIFFER',
            );
          }
          return diffRuns(a, b);
        });
        if (format === 'yaml') process.stdout.write(toYaml(diff));
        else if (format === 'json') ctx.out.result('', diff);
        else ctx.out.result(renderDiff(diff), diff);
        return EXIT_OK;
      }),
    );
}
