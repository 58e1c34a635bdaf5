// The ISO 9660 writer beyond what a config drive uses today: directories spanning sectors and
// names that cannot be written. Images are read back by isoinfo and pycdlib.
import { describe, expect, it } from 'vitest';
import { buildIso9660 } from '../../src/ironic/iso9660.js';
import { itWithIsoReaders, readIso } from './iso-reader.js';

describe('buildIso9660', () => {
  itWithIsoReaders('writes a directory of many long names over several sectors, every file readable', () => {
    const files = Array.from({ length: 120 }, (_, i) => ({
      path: `openstack/content/file-with-a-long-name-${String(i).padStart(4, '0')}.json`,
      data: Buffer.from(`{"n": ${i}}`),
    }));
    // One directory per file (8.3 names that shorten alike would collide in one directory):
    // /openstack then holds 120 subdirectories, several sectors in both trees.
    const iso = buildIso9660({
      volumeId: 'config-2',
      files: files.map((f, i) => ({ ...f, path: `openstack/d${i}/${f.path.split('/').pop()!}` })),
    });
    readIso(iso, (view) => {
      expect(view.jolietPaths.filter((p) => p.endsWith('.json'))).toHaveLength(120);
      for (const i of [0, 57, 119]) {
        const path = `/openstack/d${i}/file-with-a-long-name-${String(i).padStart(4, '0')}.json`;
        expect(view.joliet(path).toString()).toBe(`{"n": ${i}}`);
        expect(view.pycdlib(path).toString()).toBe(`{"n": ${i}}`);
      }
    });
  });

  it('refuses names that would collide once shortened, and names Joliet cannot hold', () => {
    const data = Buffer.from('x');
    expect(() =>
      buildIso9660({
        volumeId: 'v',
        files: [
          { path: 'a/meta_data_one.json', data },
          { path: 'a/meta_data_two.json', data },
        ],
      }),
    ).toThrow(/shorten to the same/);
    expect(() => buildIso9660({ volumeId: 'v', files: [{ path: 'a/b:c', data }] })).toThrow(
      /not a Joliet name/,
    );
    expect(() => buildIso9660({ volumeId: 'v', files: [{ path: 'a/../b', data }] })).toThrow(/relative/);
    expect(() => buildIso9660({ volumeId: 'v', files: [{ path: `a/${'n'.repeat(65)}`, data }] })).toThrow(
      /not a Joliet name/,
    );
  });
});
