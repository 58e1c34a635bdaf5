import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/sim/scheduler.js';

describe('Scheduler (one timer for every node)', () => {
  it('runs 10,000 jobs in due order, ties in scheduling order, skipping cancelled ones', async () => {
    const s = new Scheduler();
    const ran: number[] = [];
    const jobs = Array.from({ length: 10_000 }, (_, i) => s.schedule((i * 7919) % 50, () => ran.push(i)));
    for (let i = 0; i < jobs.length; i += 10) jobs[i]!.cancelled = true;
    // Wait until the heap drains (scheduling 10,000 jobs may itself take a while on a loaded machine).
    for (let waited = 0; s.pending > 0 && waited < 5000; waited += 10)
      await new Promise((r) => setTimeout(r, 10));
    expect(ran).toHaveLength(9_000);
    for (let k = 1; k < ran.length; k++) {
      const [a, b] = [jobs[ran[k - 1]!]!, jobs[ran[k]!]!];
      expect(a.due < b.due || (a.due === b.due && ran[k - 1]! < ran[k]!)).toBe(true);
    }
    expect(ran.every((i) => i % 10 !== 0)).toBe(true);
    s.close();
  });

  it('runs a job scheduled from inside a job, and nothing after close', async () => {
    const s = new Scheduler();
    const ran: string[] = [];
    s.schedule(5, () => {
      ran.push('first');
      s.schedule(5, () => ran.push('second'));
    });
    s.schedule(500, () => ran.push('late'));
    await new Promise((r) => setTimeout(r, 60));
    s.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual(['first', 'second']);
    expect(s.pending).toBe(0);
  });
});
