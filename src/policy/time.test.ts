import { describe, expect, it } from 'vitest';
import { cycleAround, localTime, nextWindow, nthWeekday, zonedToUtc } from './time.js';

const iso = (ms: number): string => new Date(ms).toISOString();

describe('calendar in time zones', () => {
  it('finds Patch Tuesday (the second Tuesday)', () => {
    expect(nthWeekday(2026, 11, 'tuesday', 2)).toBe(10);
    expect(nthWeekday(2026, 12, 'tuesday', 2)).toBe(8);
    expect(nthWeekday(2027, 2, 'monday', 1)).toBe(1);
  });

  it('turns wall times into instants across DST', () => {
    expect(iso(zonedToUtc(2026, 7, 1, 2, 0, 'Europe/Berlin'))).toBe('2026-07-01T00:00:00.000Z');
    expect(iso(zonedToUtc(2026, 12, 1, 2, 0, 'Europe/Berlin'))).toBe('2026-12-01T01:00:00.000Z');
    // 02:30 does not exist on 2026-03-29 in Berlin: it is taken as 03:30 CEST.
    expect(iso(zonedToUtc(2026, 3, 29, 2, 30, 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(zonedToUtc(2026, 11, 1, 1, 30, 'America/New_York'))).toMatch(/^2026-11-01T0[56]:30:00\.000Z$/);
    expect(localTime(Date.parse('2026-11-24T23:30:00Z'), 'Asia/Tokyo')).toMatchObject({ day: 25, hour: 8, weekday: 'wednesday' });
  });

  it('places a time between monthly cycle dates (Patch Tuesday + 7 days)', () => {
    const c = { weekday: 'tuesday' as const, week: 2, offsetDays: 7, timezone: 'UTC' };
    const r = cycleAround(c, Date.parse('2026-11-24T12:00:00Z'));
    expect([iso(r.previous), iso(r.next)]).toEqual(['2026-11-17T00:00:00.000Z', '2026-12-15T00:00:00.000Z']);
    expect(iso(cycleAround(c, Date.parse('2026-11-17T00:00:00Z')).next)).toBe('2026-12-15T00:00:00.000Z');
  });

  it('finds the next weekly maintenance window, or the open one', () => {
    const w = { days: ['saturday' as const], start: '02:00', durationHours: 4, timezone: 'Europe/Berlin' };
    const r = nextWindow(w, Date.parse('2026-11-24T12:00:00Z'));
    expect([iso(r.start), iso(r.end)]).toEqual(['2026-11-28T01:00:00.000Z', '2026-11-28T05:00:00.000Z']);
    const open = nextWindow(w, Date.parse('2026-11-28T03:00:00Z'));
    expect([iso(open.start), iso(open.end)]).toEqual(['2026-11-28T03:00:00.000Z', '2026-11-28T05:00:00.000Z']);
  });
});
