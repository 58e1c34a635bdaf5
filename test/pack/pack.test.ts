// The package as people install it (issue 19): `npm pack` of a clean copy of the tracked files,
// installed into a fresh project (`npm install ./ironledger-X.tgz`, from the registry or npm's
// cache, better-sqlite3 built there), and then what the README tells a user to run: the CLI with
// npx, and the library imported with its types from a .ts file compiled with tsc. The tarball
// carries the Apache-2.0 LICENSE and no source maps pointing at sources it does not ship.
// Slow (an npm install that compiles better-sqlite3): run by `npm run test:pack`, from .ci/run.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  engines: { node: string };
  devDependencies: Record<string, string>;
};

let work: string;
let tarball: string;
let files: string[];
let project: string;

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      ...env,
    },
    timeout: 15 * 60_000,
  });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ironledger-pack-'));
  // A clean copy of what git tracks, as a fresh clone: no stale dist/ from another build. It
  // borrows this tree's node_modules only for the `prepare` build (tsc) that `npm pack` runs.
  const tree = join(work, 'tree');
  mkdirSync(tree);
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const f of tracked) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the work tree, not yet committed
    cpSync(join(ROOT, f), join(tree, f), { recursive: false });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  const packed = JSON.parse(
    ok(run('npm', ['pack', '--json', '--pack-destination', work], tree), 'npm pack'),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);

  // A fresh project that installs the tarball, as a user would, and TypeScript to compile against it.
  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  ok(
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        tarball,
        `typescript@${pkg.devDependencies.typescript}`,
        `@types/node@${pkg.devDependencies['@types/node']}`,
      ],
      project,
    ),
    'npm install of the tarball',
  );
}, 20 * 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships dist, README, LICENSE (Apache-2.0) and package.json; no source maps, no references to unshipped sources', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files.filter((f) => !f.startsWith('dist/')).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    expect(pkg.license).toBe('Apache-2.0');
    const installed = join(project, 'node_modules', pkg.name);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(
      /Apache License\s+Version 2\.0, January 2004[\s\S]*TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION[\s\S]*END OF TERMS AND CONDITIONS/,
    );
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const dist = join(installed, 'dist');
    const all = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? all(join(dir, e.name)) : [join(dir, e.name)],
      );
    for (const f of all(dist)) {
      expect(readFileSync(f, 'utf8'), f).not.toMatch(/sourceMappingURL|\.\.\/src\//);
    }
  });

  it('states the Node versions it supports: undici 7.30 needs >= 20.18.1', () => {
    expect(pkg.engines.node).toBe('>=20.18.1');
    const undici = JSON.parse(
      readFileSync(join(project, 'node_modules', 'undici', 'package.json'), 'utf8'),
    ) as { engines: { node: string } };
    expect(undici.engines.node).toBe('>=20.18.1');
  });
});

describe('installed in a fresh project', () => {
  it('npx ironledger --version, completion, and the demo the README runs, then runs and show', () => {
    expect(ok(run('npx', ['--no-install', 'ironledger', '--version'], project), '--version')).toBe(
      `${pkg.version}\n`,
    );
    expect(
      ok(run('npx', ['--no-install', 'ironledger', 'completion', 'bash'], project), 'completion'),
    ).toMatch(/complete -F _ironledger_complete ironledger/);
    const demo = ok(
      run('npx', ['--no-install', 'ironledger', 'demo', '--nodes', '2', '--clean-seconds', '1'], project),
      'demo',
    );
    expect(demo).toMatch(/succeeded/);
    expect(existsSync(join(project, 'ironledger.db'))).toBe(true);
    const ids = ok(
      run('npx', ['--no-install', 'ironledger', 'runs', '-f', 'value', '-c', 'id'], project),
      'runs',
    )
      .trim()
      .split('\n');
    expect(ids.length).toBeGreaterThanOrEqual(4);
    const shown = ok(run('npx', ['--no-install', 'ironledger', 'show', ids[0]!], project), 'show');
    expect(shown).toMatch(new RegExp(`^run ${ids[0]}`));
  });

  it("the library: a .ts file compiled with tsc against the package's types, then run", () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    writeFileSync(
      join(project, 'main.ts'),
      `import { Engine, EngineError, startSimulator, type RunRow, type Timeline } from 'ironledger';

const instance = '12345678-0000-4000-8000-000000000001';
const sim = await startSimulator({ deleteMs: 20, cleanMs: 20, seed: 1 });
sim.addNode({ provisionState: 'active', instanceUuid: instance });
const engine = await Engine.open({ db: 'library.db', ironic: { url: sim.url }, pollIntervalMs: 20 });
const run = engine.destroy({ instance, vifs: [] });
const result = await run.done;
const status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted' = result.status;
// The types are real ones, not any: this line must not compile.
// @ts-expect-error a run's status is not a number
const wrong: number = result.status;
void wrong;
const rows: RunRow[] = [];
const timeline: Timeline | null = null;
void rows;
void timeline;
void EngineError;
await engine.close();
await sim.close();
console.log(JSON.stringify({ status, runId: result.runId }));
`,
    );
    ok(
      run(
        process.execPath,
        [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
        project,
      ),
      'tsc',
    );
    const out = JSON.parse(ok(run(process.execPath, ['out/main.js'], project), 'node out/main.js')) as {
      status: string;
      runId: string;
    };
    expect(out.status).toBe('succeeded');
    expect(out.runId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
