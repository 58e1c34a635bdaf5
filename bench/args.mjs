// Command-line options for the benchmarks. A typo in a flag must not silently run the
// default benchmark for minutes and print numbers for something that was not asked, so
// unknown options and bad values stop with one line and exit 2; --help prints the usage.
import { parseArgs } from 'node:util';

/**
 * @typedef {{ kind: 'int' | 'ints' | 'list' | 'string' | 'flag', default?: unknown, min?: number, values?: string[] }} Spec
 * @param {string} usage the lines printed by --help and under an error
 * @param {Record<string, Spec>} specs option name (without --) to its kind and default
 * @returns {Record<string, unknown>}
 */
export function benchArgs(usage, specs, argv = process.argv.slice(2)) {
  const options = { help: { type: 'boolean', short: 'h' } };
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.kind === 'flag' ? 'boolean' : 'string' };
  }
  const fail = (reason) => {
    process.stderr.write(`${reason}\n${usage}\n`);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const out = {};
  for (const [name, s] of Object.entries(specs)) {
    const raw = values[name];
    if (raw === undefined) {
      out[name] = s.kind === 'flag' ? false : s.default;
      continue;
    }
    const int = (text) => {
      const n = Number(text);
      const min = s.min ?? 0;
      if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
        fail(`--${name}: expected a whole number >= ${min}, got '${text}'`);
      }
      return n;
    };
    if (s.kind === 'int') out[name] = int(raw);
    else if (s.kind === 'ints') out[name] = raw.split(',').map(int);
    else if (s.kind === 'list') {
      const items = raw.split(',').filter(Boolean);
      const bad = s.values ? items.filter((x) => !s.values.includes(x)) : [];
      if (items.length === 0 || bad.length > 0) {
        fail(
          `--${name}: expected a comma-separated list of ${s.values?.join(', ') ?? 'names'}, got '${raw}'`,
        );
      }
      out[name] = items;
    } else out[name] = raw;
  }
  return out;
}
