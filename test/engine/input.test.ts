// Bad input an embedder hands the engine is refused before a run exists.
import { describe, expect, it } from 'vitest';
import { assertRunInput } from '../../src/engine/input.js';
import { deployInput, INSTANCE } from './helpers.js';

describe('assertRunInput', () => {
  it('refuses a node name Ironic would not accept (non-ASCII, blank, over 255 characters)', () => {
    for (const node of ['nœud-1', 'rack 1', ' ', 'a'.repeat(256), 'n/1']) {
      const input = { ...deployInput(1, node) } as unknown as Parameters<typeof assertRunInput>[1];
      expect(() => assertRunInput('deploy', input), node).toThrow(
        expect.objectContaining({ code: 'ENGINE_INVALID_INPUT' }),
      );
      expect(() => assertRunInput('destroy', { instance: INSTANCE(1), node, vifs: [] }), node).toThrow(
        expect.objectContaining({ code: 'ENGINE_INVALID_INPUT' }),
      );
    }
  });

  it('takes a node UUID or an Ironic node name', () => {
    for (const node of ['a087eaf3-00b3-49c9-8706-c4ebfb2627fd', 'rack1-n07', 'a.b_c~d', 'a'.repeat(255)]) {
      expect(() => assertRunInput('destroy', { instance: INSTANCE(1), node, vifs: [] }), node).not.toThrow();
    }
  });
});
