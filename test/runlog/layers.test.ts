// The layers point one way: cli -> engine -> machines / store / ironic / runlog. The run log may
// use the machines, XState and the store's rows; the store knows rows and SQL (no XState, no run
// log); the Ironic client knows neither XState, SQLite nor pino. Read from the import lines of src/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Which layers each layer may import (src/index.ts, the package's entry, may import any). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  cli: ['engine', 'inventory', 'ironic', 'machines', 'report', 'runlog', 'sim', 'store'],
  // The HTML page of a run: reads a timeline and stored events, knows no SQLite.
  report: ['runlog', 'store'],
  engine: ['inventory', 'ironic', 'machines', 'runlog', 'store'],
  runlog: ['machines', 'store'],
  machines: ['ironic'],
  inventory: ['ironic'],
  sim: ['ironic'],
  store: [],
  ironic: [],
};

/** Packages a layer must not use. */
const MUST_NOT_USE: Record<string, readonly string[]> = {
  store: ['xstate'],
  ironic: ['xstate', 'better-sqlite3', 'pino'],
  machines: ['better-sqlite3'],
  report: ['better-sqlite3', 'xstate'],
};

interface Source {
  file: string;
  layer: string;
  local: string[];
  packages: string[];
}

function sources(): Source[] {
  const files = (readdirSync(SRC, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(SRC, f));
  return files.map((file) => {
    const text = readFileSync(file, 'utf8');
    const specs = [
      ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm),
      ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1] as string);
    const rel = relative(SRC, file).split('/');
    return {
      file,
      layer: rel.length > 1 ? (rel[0] as string) : '(entry)',
      local: specs
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts')),
      packages: specs.filter((s) => !s.startsWith('.')).map((s) => s.split('/')[0] as string),
    };
  });
}

const layerOf = (file: string): string => {
  const rel = relative(SRC, file).split('/');
  return rel.length > 1 ? (rel[0] as string) : '(entry)';
};

describe('layers of src/', () => {
  const all = sources();

  it('import only the layers below them', () => {
    const upward: string[] = [];
    for (const s of all) {
      if (s.layer === '(entry)') continue;
      const allowed = MAY_IMPORT[s.layer];
      expect(allowed, `layer ${s.layer} has no rule here`).toBeDefined();
      for (const dep of s.local) {
        const to = layerOf(dep);
        if (to !== s.layer && !allowed?.includes(to))
          upward.push(`${relative(SRC, s.file)} -> ${relative(SRC, dep)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('keep XState out of the store and SQLite, XState and pino out of the Ironic client', () => {
    const used: string[] = [];
    for (const s of all)
      for (const p of s.packages)
        if (MUST_NOT_USE[s.layer]?.includes(p)) used.push(`${relative(SRC, s.file)} uses ${p}`);
    expect(used).toEqual([]);
  });

  it('have no import cycle between files', () => {
    const edges = new Map(all.map((s) => [s.file, s.local]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const d of edges.get(f) ?? []) {
        if (state.get(d) === 'open')
          cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)).join(' -> '));
        else if (!state.has(d)) visit(d, stack);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const s of all) if (!state.has(s.file)) visit(s.file, []);
    expect(cycles).toEqual([]);
  });
});
