// Recorded streams of every released machine version (test/fixtures/replay/, written by real
// runs of the engine and the CLI on the simulator: scripts/record-replay-fixtures.mjs) replay
// to exactly what was recorded, each with the machine version it was recorded with. A frozen
// version that drifted, or a version dropped while fixtures of it remain, fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { machines } from '../../src/machines/index.js';
import { replayRun } from '../../src/runlog/replay.js';
import type { RunRow, StoredEvent } from '../../src/store/types.js';

const DIR = fileURLToPath(new URL('../fixtures/replay/', import.meta.url));

interface Fixture {
  file: string;
  description: string;
  run: RunRow;
  events: StoredEvent[];
}

const fixtures: Fixture[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, ...(JSON.parse(readFileSync(DIR + file, 'utf8')) as Omit<Fixture, 'file'>) }));

const transitionsOf = (events: StoredEvent[]): string[] =>
  events.filter((e) => e.kind === 'transition').map((e) => e.to!);

describe('replay fixtures', () => {
  it('every registered machine version has recorded fixtures', () => {
    const missing = machines
      .all()
      .filter((l) => !fixtures.some((f) => f.run.op === l.op && f.run.machineVersion === l.version))
      .map(
        (l) =>
          `${l.op} v${l.version}: record its fixtures with npm run build && node scripts/record-replay-fixtures.mjs`,
      );
    expect(missing).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.file, f] as const))(
    '%s replays with the version it was recorded with',
    (_, f) => {
      const lifecycle = machines.get(f.run.op, f.run.machineVersion);
      expect(
        lifecycle,
        `${f.file} was recorded with ${f.run.op} v${f.run.machineVersion}, which is not registered (registered: ${machines.versions(f.run.op).join(', ')}): keep that version frozen under src/machines/released/ while its runs may exist`,
      ).toBeDefined();
      expect(lifecycle!.machine.id).toBe(f.run.machine);
      const result = replayRun(lifecycle!.machine, f.events);
      expect(result.divergence, f.description).toBeNull();
      expect(result.matches).toBe(true);
      expect(result.finished).toBe(f.run.status !== 'running');
      expect(result.transitions.map((t) => t.to)).toEqual(transitionsOf(f.events));
    },
  );

  it('cover a success of every op, a teardown through cleaning, failures and a run resumed after SIGKILL', () => {
    const ops = new Set(fixtures.filter((f) => f.run.status === 'succeeded').map((f) => f.run.op));
    expect([...ops].sort()).toEqual(machines.ops().sort());
    const codes = new Set(
      fixtures.map((f) => (f.run.error as { code?: string } | null)?.code).filter(Boolean),
    );
    expect([...codes].sort()).toEqual(['CLEAN_FAILED', 'DEPLOY_TIMEOUT', 'UNPROVISION_TIMEOUT']);
    const cleaning = fixtures.filter((f) =>
      transitionsOf(f.events).includes('unprovision.watching.cleaning'),
    );
    expect(cleaning.length).toBeGreaterThanOrEqual(3);
    const resumed = fixtures.find((f) => f.file.startsWith('sigkill-resumed-'))!;
    const note = resumed.events.findIndex((e) => e.kind === 'note' && e.type === 'resume');
    expect(note).toBeGreaterThan(0);
    // Killed while it waited in cleaning; the resumed engine took it to the end.
    expect(transitionsOf(resumed.events.slice(0, note)).at(-1)).toBe('unprovision.watching.cleaning');
    expect(transitionsOf(resumed.events).at(-1)).toBe('succeeded');
    expect(resumed.run.status).toBe('succeeded');
  });

  it('a fixture whose recorded path the machine does not take fails the replay', () => {
    const f = fixtures.find((x) => x.file.startsWith('cleaning-destroy-'))!;
    const machine = machines.get(f.run.op, f.run.machineVersion)!.machine;
    const tampered = f.events.map((e) =>
      e.kind === 'transition' && e.to === 'unprovision.watching.cleaning'
        ? { ...e, to: 'unprovision.watching.cleanWait' }
        : e,
    );
    expect(replayRun(machine, tampered).matches).toBe(false);
  });
});
