import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lifecycles } from '../../src/machines/index.js';
import { renderMachineDiagram, renderMachinesDoc } from '../../src/machines/mermaid.js';

describe('docs/machines.md', () => {
  it('matches the machine definitions (regenerate with node scripts/render-machines.mjs)', () => {
    const onDisk = readFileSync(new URL('../../docs/machines.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderMachinesDoc(lifecycles));
  });

  it('draws the teardown cleanup before the unprovision request (seed: destroy)', () => {
    const diagram = renderMachineDiagram(lifecycles.destroy.machine);
    const edges = diagram.split('\n').filter((l) => l.includes('-->'));
    expect(edges).toContain('  cleanup_unplugVifs --> cleanup_stopFiltering : done');
    expect(edges).toContain('  cleanup_stopFiltering --> unprovision : done [provisionStarted]');
    expect(edges.some((l) => l.startsWith('  lookup --> unprovision'))).toBe(false);
    expect(diagram).toContain('unprovision_requestDeleted : invokes requestDeleted');
  });
});
