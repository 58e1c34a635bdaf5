// The provision states a run saw, repeats collapsed: thousands of observations stay a few rows.
import { describe, expect, it } from 'vitest';
import { observedProvisionStates } from '../../src/report/observations.js';
import { renderTimelineHtml, thousands } from '../../src/report/html.js';
import { buildTimeline } from '../../src/runlog/timeline.js';
import type { RunRow, StoredEvent } from '../../src/store/types.js';

const RUN = 'aaaaaaaa-0000-4000-8000-000000000001';
const T0 = Date.parse('2026-12-07T12:00:00.000Z');

function observation(
  seq: number,
  atMs: number,
  provisionState: string,
  lastError: string | null = null,
): StoredEvent {
  const at = new Date(atMs).toISOString();
  return {
    runId: RUN,
    seq,
    at,
    kind: 'machine.event',
    type: 'node.observed',
    from: null,
    to: null,
    data: {
      actorId: 'observeNode',
      event: {
        type: 'node.observed',
        at,
        node: {
          uuid: 'n1',
          provision_state: provisionState,
          target_provision_state: 'available',
          power_state: 'power off',
          target_power_state: null,
          last_error: lastError,
          maintenance: false,
        },
      },
    },
    v: 1,
  };
}

/** A teardown that saw deleting once, then cleaning, 3,000 polls of clean wait a second apart, then available. */
function longClean(): StoredEvent[] {
  const events: StoredEvent[] = [observation(1, T0, 'deleting'), observation(2, T0 + 500, 'cleaning')];
  for (let i = 0; i < 3000; i++)
    events.push(observation(events.length + 1, T0 + 1000 + i * 1000, 'clean wait'));
  events.push(observation(events.length + 1, T0 + 3_001_000, 'available'));
  return events;
}

describe('observedProvisionStates', () => {
  it('collapses 3,000 consecutive clean wait observations into one span with its count and times', () => {
    const spans = observedProvisionStates(longClean());
    expect(spans.map((s) => [s.provisionState, s.count])).toEqual([
      ['deleting', 1],
      ['cleaning', 1],
      ['clean wait', 3000],
      ['available', 1],
    ]);
    expect(spans[2]).toMatchObject({
      label: 'clean wait (target available, power off)',
      firstAt: '2026-12-07T12:00:01.000Z',
      lastAt: '2026-12-07T12:50:00.000Z',
    });
  });

  it('starts a new span when the state comes back after another, and keeps the last last_error', () => {
    const spans = observedProvisionStates([
      observation(1, T0, 'clean wait'),
      observation(2, T0 + 1, 'cleaning'),
      observation(3, T0 + 2, 'clean wait', 'first'),
      observation(4, T0 + 3, 'clean wait', 'second'),
    ]);
    expect(spans.map((s) => `${s.provisionState}×${s.count}:${s.lastError}`)).toEqual([
      'clean wait×1:null',
      'cleaning×1:null',
      'clean wait×2:second',
    ]);
  });

  it('the page shows the collapsed row, not 3,000 of them', () => {
    const events = longClean();
    const run: RunRow = {
      id: RUN,
      op: 'destroy',
      instanceUuid: 'i1',
      nodeUuid: 'n1',
      nodeName: null,
      machine: 'teardown',
      machineVersion: 3,
      status: 'succeeded',
      state: 'succeeded',
      lastSeq: events.length,
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0 + 3_001_000).toISOString(),
      error: null,
      owner: null,
    };
    const html = renderTimelineHtml({
      timeline: buildTimeline(run, events),
      observed: observedProvisionStates(events),
    });
    const rows = [
      ...html.matchAll(
        /<tr class="ps-[a-z]+"><td class="ps">([^<]*)<\/td><td class="num">([^<]*)<\/td><td class="when">([^<]*)<\/td>/g,
      ),
    ];
    expect(rows.map((r) => `${r[1]} ${r[2]}, ${r[3]}`)).toEqual([
      'deleting (target available, power off) ×1, 12:00:00.000–12:00:00.000',
      'cleaning (target available, power off) ×1, 12:00:00.500–12:00:00.500',
      'clean wait (target available, power off) ×3,000, 12:00:01.000–12:50:00.000',
      'available (target available, power off) ×1, 12:50:01.000–12:50:01.000',
    ]);
    expect(html).toContain('deleting → cleaning → clean wait → available');
  });

  it('thousands() separates thousands whatever the locale', () => {
    expect([0, 999, 1000, 3000, 1234567].map(thousands)).toEqual(['0', '999', '1,000', '3,000', '1,234,567']);
  });
});
