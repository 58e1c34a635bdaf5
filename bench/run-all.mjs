// Runs every benchmark in turn with its default arguments and prints their numbers.
// Usage: npm run bench        (builds first; each bench also runs alone: node bench/NAME.mjs)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const benches = ['store', 'sim', 'inventory', 'teardown', 'reauth', 'telemetry'];
let failed = 0;
for (const name of benches) {
  const file = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url));
  if (!existsSync(file)) continue;
  process.stdout.write(`\n=== bench/${name}.mjs\n`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
