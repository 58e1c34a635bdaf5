// `show RUN --html FILE` (or `-` for stdout): the run's timeline as one self-contained HTML page.
import { writeFileSync } from 'node:fs';
import { buildTimeline } from '../../runlog/timeline.js';
import { renderTimelineHtml } from '../../report/html.js';
import { observedProvisionStates } from '../../report/observations.js';
import type { RunStore } from '../../store/run-store.js';
import type { RunRow } from '../../store/types.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT_OK, oneLine } from '../output.js';
import { withReader } from '../reader.js';

export async function showHtml(
  ctx: CliContext,
  id: string,
  file: string,
  findRun: (store: RunStore, id: string) => Promise<RunRow>,
): Promise<number> {
  if (file === '') throw new CliError('--html needs a file name, or - for stdout.');
  if (file === '-' && ctx.out.json)
    throw new CliError('--html - writes the page to stdout, where --json would write its document: use one.');
  const html = await withReader(ctx.opts.db, async (store) => {
    const row = await findRun(store, id);
    const events = await store.readStream(row.id);
    return renderTimelineHtml({
      timeline: buildTimeline(row, events),
      observed: observedProvisionStates(events),
    });
  });
  if (file === '-') {
    process.stdout.write(html);
    return EXIT_OK;
  }
  try {
    writeFileSync(file, html);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot write the HTML timeline to ${file}: ${oneLine(why)}`, 2, 'CLI_OUTPUT_FILE');
  }
  const bytes = Buffer.byteLength(html);
  ctx.out.result(`wrote ${file} (${bytes} bytes)`, { file, bytes });
  return EXIT_OK;
}
