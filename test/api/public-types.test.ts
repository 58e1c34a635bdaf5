// What an embedder can name from the package's entry point: code written against `ironledger`
// that spells out the types of a deploy must compile.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** The built package (`npm run build`), as an embedder installs it: its declarations, not its sources. */
const INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** TypeScript's diagnostics for `source` compiled against dist/index.d.ts, as one line each. */
function diagnostics(source: string): string[] {
  const file = fileURLToPath(new URL('./embedder.ts', import.meta.url));
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? source : read(name));
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || exists(name);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

describe('public types', () => {
  it('exports ConfigDrivePlan, so a deploy input can be built in typed steps', () => {
    const index = JSON.stringify(INDEX);
    const errors = diagnostics(`
      import type { ConfigDrivePlan, DeployInput, RunProgress } from ${index};
      const plan: ConfigDrivePlan = { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 };
      export const input: DeployInput = {
        instance: '11111111-2222-4333-8444-555555555555',
        node: 'rack1-n07',
        vifs: [],
        image: { source: 'http://img/x.qcow2' },
        flavor: { vcpus: 1, memoryMb: 512, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
        configDrivePlan: plan,
      };
      export const states = (p: RunProgress): string => p.state;
    `);
    expect(errors).toEqual([]);
  });
});

describe('typed run failures', () => {
  it("RunResult.error.code is the RunFailureCode union: a scheduler's branch on a misspelt code does not compile", () => {
    const index = JSON.stringify(INDEX);
    const ok = diagnostics(`
      import type { RunFailure, RunFailureCode, RunResult } from ${index};
      export function next(r: RunResult): 'retry' | 'page' | 'done' {
        const error: RunFailure | null = r.error;
        if (error === null) return 'done';
        const code: RunFailureCode = error.code;
        return code === 'UNPROVISION_TIMEOUT' || code === 'IRONIC_NODE_LOCKED' ? 'retry' : 'page';
      }
    `);
    expect(ok).toEqual([]);
    const typo = diagnostics(`
      import type { RunResult } from ${index};
      export const late = (r: RunResult): boolean => r.error?.code === 'UNPROVISION_TIMEOUTT';
    `);
    expect(typo.join('\n')).toMatch(/no overlap/);
  });

  it('exports the machine registry for embedders who register their own versions', () => {
    const index = JSON.stringify(INDEX);
    const errors = diagnostics(`
      import { machines, MachineRegistry, type Lifecycle } from ${index};
      const registry: MachineRegistry = machines.clone();
      export const current: Lifecycle = registry.current('destroy');
      export const versions: number[] = registry.versions('destroy');
    `);
    expect(errors).toEqual([]);
  });
});
