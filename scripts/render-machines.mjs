// Writes docs/machines.md: a Mermaid diagram per lifecycle machine, generated from the machine
// definitions in src/machines. Needs no build: src/ is transpiled (types stripped, no checking)
// into node_modules/.cache so that `xstate` resolves. `--check` exits 1 when the file is stale.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'node_modules', '.cache', 'ironledger-render-machines');
const docPath = join(root, 'docs', 'machines.md');

function transpileTree(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      transpileTree(path);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const { outputText } = ts.transpileModule(readFileSync(path, 'utf8'), {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: false,
        },
      });
      const target = join(out, relative(root, path)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, outputText);
    }
  }
}

rmSync(out, { recursive: true, force: true });
transpileTree(join(root, 'src', 'machines'));
transpileTree(join(root, 'src', 'ironic'));
writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');

const { lifecycles } = await import(pathToFileURL(join(out, 'src', 'machines', 'index.js')).href);
const { renderMachinesDoc } = await import(pathToFileURL(join(out, 'src', 'machines', 'mermaid.js')).href);
const doc = renderMachinesDoc(lifecycles);

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(docPath, 'utf8');
  } catch {
    current = '';
  }
  if (current !== doc) {
    console.error('docs/machines.md is out of date: run node scripts/render-machines.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(docPath, doc);
  console.log(`wrote ${relative(root, docPath)}`);
}
