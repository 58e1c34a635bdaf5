// The value scrubber: which strings it replaces, in which forms, what it never touches, and the
// store applying it to every event of a run that has secrets.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_SECRET_CHARS as TRANSPORT_MIN } from '../../src/ironic/transport.js';
import { EventStore } from '../../src/store/event-store.js';
import { MIN_SECRET_CHARS, SCRUBBED, Scrubber } from '../../src/store/scrub.js';
import type { NewEvent } from '../../src/store/types.js';

const must = (values: string[]): Scrubber => {
  const s = Scrubber.of(values);
  if (s === null) throw new Error('expected a scrubber');
  return s;
};

describe('Scrubber', () => {
  it('replaces every occurrence of each secret in any string, keeping the words around it', () => {
    const s = must(['hunter2', 'tok-abc']);
    expect(s.text('pw hunter2, again hunter2; token tok-abc.')).toBe('pw ***, again ***; token ***.');
  });

  it('a secret inside a longer one goes with it (longest first)', () => {
    const s = must(['abc', 'xxabcxx']);
    expect(s.text('1 xxabcxx 2 abc')).toBe('1 *** 2 ***');
  });

  it('finds the JSON-escaped and the ASCII-escaped (Python json.dumps) forms too', () => {
    const pw = 'p"ä\\w\n1';
    const s = must([pw]);
    const escaped = JSON.stringify(pw).slice(1, -1); // p\"ä\\w\n1
    const ascii = escaped.replace('ä', '\\u00e4');
    expect(s.text(`raw ${pw} json ${escaped} python ${ascii}`)).toBe('raw *** json *** python ***');
  });

  it(`ignores values shorter than ${MIN_SECRET_CHARS} characters, the transport's rule too`, () => {
    expect(MIN_SECRET_CHARS).toBe(TRANSPORT_MIN);
    expect(Scrubber.of(['a', 'ab', '', undefined])).toBeNull();
    const s = must(['ab', 'abc']);
    expect(s.size).toBe(1);
    expect(s.text('ab abc')).toBe('ab ***');
  });

  it('walks any payload: nested objects, arrays, errors; keys and whole UUIDs are kept', () => {
    const s = must(['s3cr3t', 'abcd']);
    const uuid = 'abcd1234-0000-4000-8000-0000000abcd0';
    const input = {
      last_error: 'failed: s3cr3t',
      s3cr3t: 'the key stays',
      list: ['ok', { deep: ['x s3cr3t y'] }],
      node: uuid,
      path: `/v1/nodes/${uuid}`,
      n: 5,
      flag: true,
      none: null,
    };
    const out = s.value(input);
    expect(out).toEqual({
      last_error: 'failed: ***',
      s3cr3t: 'the key stays',
      list: ['ok', { deep: ['x *** y'] }],
      node: uuid,
      path: '/v1/nodes/***1234-0000-4000-8000-0000000***0',
      n: 5,
      flag: true,
      none: null,
    });
    expect(input.last_error).toBe('failed: s3cr3t'); // never mutates
    const err = Object.assign(new Error('boom s3cr3t'), { code: 'X', status: 400 });
    const e = s.value({ err }).err as unknown as Record<string, unknown>;
    expect(e).toMatchObject({ type: 'Error', message: 'boom ***', code: 'X', status: 400 });
    expect(String(e['stack'])).not.toContain('s3cr3t');
  });

  it('returns the very payload when it holds no secret (nothing is copied)', () => {
    const s = must(['s3cr3t']);
    const payload = { a: 'x', b: [1, 'y', { c: 'z' }], e: new Error('fine') };
    expect(s.value(payload)).toBe(payload);
  });

  it('is idempotent, and its JSON test never misses a secret a string holds', () => {
    const secrets = ['pa"ss\\wd', 'ünïcode-pw', 'line1\nline2', 'plain-secret'];
    const s = must(secrets);
    for (const secret of secrets) {
      for (const around of ['', 'x', '"', '\\', '\n', 'é', '\u2028']) {
        const value = { m: `${around}${secret}${around}` };
        expect(s.foundInJson(JSON.stringify(value))).toBe(true);
        const once = s.value(value);
        expect(once.m).not.toContain(secret);
        expect(s.value(once)).toEqual(once);
      }
    }
    expect(s.foundInJson(JSON.stringify({ m: 'nothing here' }))).toBe(false);
  });

  it('with() adds values without changing the original; add() extends in place', () => {
    const base = must(['token-1']);
    const run = base.with(['password-2']);
    expect(base.text('token-1 password-2')).toBe('*** password-2');
    expect(run.text('token-1 password-2')).toBe('*** ***');
    run.add('later-3');
    expect(run.text('later-3')).toBe(SCRUBBED);
    expect(base.text('later-3')).toBe('later-3');
  });
});

describe('the store scrubs an append by value', () => {
  it('event data and the run row error column hold no secret; other runs are untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ironledger-scrub-'));
    const path = join(dir, 'runs.db');
    const store = EventStore.open(path, { mode: 'writer' });
    try {
      const run = (id: string) => ({
        id,
        op: 'deploy',
        machine: 'deploy',
        machineVersion: 1,
        input: { instance: id },
      });
      store.createRun(run('r1'));
      store.createRun(run('r2'));
      const scrub = must(['Pw-secret-1']);
      const events: NewEvent[] = [
        { kind: 'note', type: 'x', data: { message: 'echo Pw-secret-1', nested: ['Pw-secret-1'] } },
        {
          kind: 'run.finished',
          data: { status: 'failed', error: { code: 'E', message: 'Ironic: Pw-secret-1' } },
        },
      ];
      store.appendBatch([{ runId: 'r1', expectedSeq: 1, events, scrub }]);
      store.appendBatch([{ runId: 'r2', expectedSeq: 1, events }]);
      expect(store.readStream('r1').map((e) => e.data)).toEqual([
        expect.anything(),
        { message: 'echo ***', nested: ['***'] },
        { status: 'failed', error: { code: 'E', message: 'Ironic: ***' } },
      ]);
      expect(store.getRun('r1')?.error).toEqual({ code: 'E', message: 'Ironic: ***' });
      // Without a scrubber the store writes what it is given (the engine passes one per run).
      expect(JSON.stringify(store.readStream('r2'))).toContain('Pw-secret-1');
    } finally {
      store.close();
    }
    const bytes = Buffer.concat([readFileSync(path)]);
    expect(bytes.includes(Buffer.from('Ironic: ***'))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});
