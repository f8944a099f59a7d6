import { describe, expect, it } from 'vitest';
import { placeInRings, windowSlots, type Placeable } from './schedule.js';
import type { Policy } from './schema.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();
const now = at('2026-11-24T12:00:00Z'); // a Tuesday
const weekend: Policy['windows'] = [{ name: 'weekend', days: ['saturday', 'sunday'], start: '02:00', durationHours: 4, timezone: 'UTC' }];
const rings = [{ name: 'canary' }, { name: 'early' }, { name: 'rest' }];
const item = (ring: number, over: Partial<Placeable> = {}): Placeable => ({
  ring,
  emergency: false,
  deadline: at('2026-12-31T00:00:00Z'),
  approved: true,
  urgent: false,
  ...over,
});

describe('ring and window placement', () => {
  it('the earliest of several windows; none: at once with no end', () => {
    const slot = windowSlots([...weekend, { name: 'friday', days: ['friday'], start: '22:00', durationHours: 2, timezone: 'UTC' }]);
    expect(slot(now)).toEqual({ start: at('2026-11-27T22:00:00Z'), end: at('2026-11-28T00:00:00Z'), name: 'friday' });
    expect(slot(at('2026-11-28T03:00:00Z'))).toEqual({ start: at('2026-11-28T03:00:00Z'), end: at('2026-11-28T06:00:00Z'), name: 'weekend' });
    expect(windowSlots([])(now)).toEqual({ start: now, end: null, name: null });
  });

  it('each ring in the next window after the previous ring started and soaked, naming the ring it waits for', () => {
    const items = [item(0), item(1), item(2)];
    const t = placeInRings(items, { rings, windows: weekend, soakHours: 24, nowMs: now });
    expect(items.map((x) => [iso(t.get(x)!.start), t.get(x)!.after ?? null])).toEqual([
      ['2026-11-28T02:00:00.000Z', null],
      ['2026-11-29T02:00:00.000Z', { ring: 'canary', soakHours: 24 }],
      ['2026-12-05T02:00:00.000Z', { ring: 'early', soakHours: 24 }],
    ]);
  });

  it('an empty ring is skipped, but the ring after it waits for the last ring that had hosts', () => {
    const items = [item(0), item(2)];
    const t = placeInRings(items, { rings, windows: [], soakHours: 6, nowMs: now });
    expect(items.map((x) => [iso(t.get(x)!.start), t.get(x)!.after ?? null])).toEqual([
      ['2026-11-24T12:00:00.000Z', null],
      ['2026-11-24T18:00:00.000Z', { ring: 'canary', soakHours: 6 }],
    ]);
  });

  it("counts from an earlier run's ring: its real end plus the soak, and no earlier than now while it is unfinished", () => {
    const x = item(1);
    const ended = placeInRings([x], {
      rings,
      windows: [],
      soakHours: 24,
      nowMs: now,
      ringHistory: new Map([[0, { ended: '2026-11-23T16:00:00.000Z', open: false }]]),
    });
    expect([iso(ended.get(x)!.start), ended.get(x)!.after]).toEqual(['2026-11-24T16:00:00.000Z', { ring: 'canary', soakHours: 24 }]);
    const open = placeInRings([x], { rings, windows: [], soakHours: 24, nowMs: now, ringHistory: new Map([[0, { ended: null, open: true }]]) });
    expect([iso(open.get(x)!.start), open.get(x)!.after]).toEqual(['2026-11-25T12:00:00.000Z', { ring: 'canary', soakHours: 24, unfinished: true }]);
    const long = placeInRings([x], {
      rings,
      windows: [],
      soakHours: 24,
      nowMs: now,
      ringHistory: new Map([[0, { ended: '2026-11-01T00:00:00.000Z', open: false }]]),
    });
    expect([iso(long.get(x)!.start), long.get(x)!.after]).toEqual(['2026-11-24T12:00:00.000Z', undefined]);
  });

  it('emergencies go at once, outside windows, ring after ring with the soak shortened to meet the deadline', () => {
    const deadline = at('2026-11-25T12:00:00Z'); // 24 h: one gap and the last ring share it
    const items = [item(0, { emergency: true, urgent: true, deadline }), item(1), item(2, { emergency: true, urgent: true, deadline })];
    const t = placeInRings(items, { rings, windows: weekend, soakHours: 48, nowMs: now });
    expect(items.map((x) => [iso(t.get(x)!.start), t.get(x)!.end, t.get(x)!.after ?? null])).toEqual([
      ['2026-11-24T12:00:00.000Z', null, null],
      ['2026-11-28T02:00:00.000Z', at('2026-11-28T06:00:00Z'), { ring: 'canary', soakHours: 48 }],
      ['2026-11-25T00:00:00.000Z', null, { ring: 'canary', soakHours: 12 }],
    ]);
  });
});
