import { describe, expect, it } from 'vitest';
import { Admission, lockKeys } from '../../src/engine/admission.js';

interface R {
  id: string;
  instance: string | null;
  node: string | null;
}

function run(id: string, instance: string | null, node: string | null = null): R {
  return { id, instance, node };
}

function harness(concurrency: number) {
  const admission = new Admission<R>(concurrency);
  const started: string[] = [];
  const admit = (r: R) => admission.admit(r, () => started.push(r.id));
  return { admission, started, admit };
}

describe('Admission', () => {
  it('names a node and an instance key, either may be unknown', () => {
    expect(lockKeys('i1', 'n1')).toEqual(['node:n1', 'instance:i1']);
    expect(lockKeys('i1', null)).toEqual(['instance:i1']);
    expect(lockKeys(null, null)).toEqual([]);
  });

  it('starts a second run for the same node only once the first leaves', () => {
    const { admission, started, admit } = harness(10);
    const a = run('a', 'i1', 'n1');
    const b = run('b', 'i2', 'n1');
    admit(a);
    admit(b);
    expect(started).toEqual(['a']);
    expect(admission.holderOf('node:n1')).toBe('a');
    admission.leave(a);
    expect(started).toEqual(['a', 'b']);
    expect(admission.holderOf('node:n1')).toBe('b');
  });

  it('never lets a later run overtake an older one waiting for one of its keys', () => {
    const { admission, started, admit } = harness(10);
    const a = run('a', 'i1', 'n1');
    const b = run('b', 'i2', 'n1'); // waits for n1
    const c = run('c', 'i2', 'n2'); // its n2 is free, but b (older) wants i2
    admit(a);
    admit(b);
    admit(c);
    expect(started).toEqual(['a']);
    expect(admission.holderOf('instance:i2')).toBe('b');
    admission.leave(a);
    expect(started).toEqual(['a', 'b']);
    admission.leave(b);
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('keeps at most `concurrency` runs executing, in the order admitted', () => {
    const { admission, started, admit } = harness(2);
    const runs = ['a', 'b', 'c', 'd'].map((id) => run(id, `i-${id}`));
    for (const r of runs) admit(r);
    expect(started).toEqual(['a', 'b']);
    expect(admission.executing).toBe(2);
    expect(admission.waitingForSlot).toBe(2);
    admission.leave(runs[1]!);
    expect(started).toEqual(['a', 'b', 'c']);
    expect(admission.waiting).toBe(1);
  });

  it('a run that leaves while still waiting gives up its place and takes no slot', () => {
    const { admission, started, admit } = harness(1);
    const a = run('a', 'i1');
    const b = run('b', 'i2');
    const c = run('c', 'i3');
    admit(a);
    admit(b);
    admit(c);
    admission.leave(b);
    admission.leave(a);
    expect(started).toEqual(['a', 'c']);
  });

  it('starts nothing more once closed', () => {
    const { admission, started, admit } = harness(1);
    const a = run('a', 'i1');
    admit(a);
    admit(run('b', 'i2'));
    admission.close();
    admission.leave(a);
    expect(started).toEqual(['a']);
  });

  it('gives a node learned mid-run to its run, unless another run holds it', () => {
    const { admission, admit } = harness(10);
    const a = run('a', 'i1'); // a teardown that knows only its instance
    const b = run('b', 'i2', 'n2');
    admit(a);
    admit(b);
    expect(admission.learnNode('a', 'n1')).toBeNull();
    expect(admission.holderOf('node:n1')).toBe('a');
    expect(admission.learnNode('a', 'n2')).toBe('b');
    expect(admission.holderOf('node:n2')).toBe('b');
    admission.leave(a);
    expect(admission.holderOf('node:n1')).toBeUndefined();
  });
});
