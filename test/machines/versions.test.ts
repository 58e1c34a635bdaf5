// A machine's behaviour cannot change under a version number: the digest of every registered
// definition is checked against the committed table test/fixtures/machine-digests.json.
// After a deliberate version bump, record the new version's digest with:
//   UPDATE_MACHINE_DIGESTS=1 npx vitest run test/machines/versions.test.ts
// (it only ever adds rows for versions not in the table; a recorded row is never rewritten).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lifecycles, machineDigest, machines } from '../../src/machines/index.js';
import { variantOf, type StateConfig } from './variant.js';

const TABLE = fileURLToPath(new URL('../fixtures/machine-digests.json', import.meta.url));

interface Row {
  op: string;
  version: number;
  machine: string;
  digest: string;
}

function readTable(): Row[] {
  return JSON.parse(readFileSync(TABLE, 'utf8')) as Row[];
}

/** What is wrong with the registry against the table, one sentence per machine version. */
function problems(table: Row[], registered = machines.all()): string[] {
  const out: string[] = [];
  for (const l of registered) {
    const digest = machineDigest(l.machine);
    const row = table.find((r) => r.op === l.op && r.version === l.version);
    if (!row) {
      out.push(
        `${l.op} v${l.version} (machine ${l.machine.id}) has no digest in test/fixtures/machine-digests.json: record it with UPDATE_MACHINE_DIGESTS=1 npx vitest run test/machines/versions.test.ts`,
      );
    } else if (row.digest !== digest) {
      out.push(
        `machine ${l.machine.id} (${l.op} v${l.version}) changed without a version bump (digest ${digest}, recorded ${row.digest}): freeze v${l.version} under src/machines/released/ (see released/index.ts), bump ${l.op}'s version in src/machines/index.ts, then record the new digest with UPDATE_MACHINE_DIGESTS=1 npx vitest run test/machines/versions.test.ts`,
      );
    }
  }
  return out;
}

describe('machine versions', () => {
  it('every registered machine version has the digest recorded for it', () => {
    let table = readTable();
    if (process.env.UPDATE_MACHINE_DIGESTS === '1') {
      for (const l of machines.all()) {
        if (!table.some((r) => r.op === l.op && r.version === l.version))
          table.push({
            op: l.op,
            version: l.version,
            machine: l.machine.id,
            digest: machineDigest(l.machine),
          });
      }
      table.sort((a, b) => a.op.localeCompare(b.op) || a.version - b.version);
      writeFileSync(TABLE, `${JSON.stringify(table, null, 2)}\n`);
      table = readTable();
    }
    expect(problems(table)).toEqual([]);
  });

  it('a changed definition under the same version fails, saying which machine and what to do', () => {
    const table = readTable();
    const real = lifecycles.destroy.machine;
    // One more state, as an edit to teardown.ts would add it, left at the same version.
    const changed = variantOf(real, (c) => ({ ...c, states: { ...c.states, extra: {} } }));
    expect(machineDigest(changed)).not.toBe(machineDigest(real));
    const found = problems(table, [{ ...lifecycles.destroy, machine: changed }]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^machine teardown \(destroy v\d+\) changed without a version bump/);
    expect(found[0]).toContain('bump destroy');
  });

  it('the digest is stable: a machine built twice from the same definition digests the same', () => {
    for (const l of machines.all()) {
      const again = l.machine.provide({});
      expect(machineDigest(again), l.op).toBe(machineDigest(l.machine));
    }
  });

  it('the digest sees guards, actions, targets and invoked effects, not only state names', () => {
    const real = lifecycles.destroy.machine;
    const config = real.config as { states: Record<string, Record<string, unknown>> };
    const lookup = config.states.lookup as { invoke: Record<string, unknown> };
    const variants = [
      { ...lookup, invoke: { ...lookup.invoke, src: 'getNode' } },
      { ...lookup, invoke: { ...lookup.invoke, onDone: { target: 'cleanup' } } },
      {
        ...lookup,
        invoke: { ...lookup.invoke, onDone: { target: 'removeInstanceInfo', actions: 'recordNode' } },
      },
    ];
    const digests = new Set([machineDigest(real)]);
    for (const v of variants) {
      const changed = variantOf(real, (c) => ({ ...c, states: { ...c.states, lookup: v as StateConfig } }));
      digests.add(machineDigest(changed));
    }
    expect(digests.size).toBe(variants.length + 1);
  });
});
