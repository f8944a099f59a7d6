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
    expect(iso(zonedToUtc(2026, 11, 1, 1, 30, 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z');
    expect(localTime(Date.parse('2026-11-24T23:30:00Z'), 'Asia/Tokyo')).toMatchObject({ day: 25, hour: 8, weekday: 'wednesday' });
  });

  it.each([
    ['a spring-forward gap west of UTC moves forward (02:30 → 03:30 EDT)', 2026, 3, 8, 2, 30, 'America/New_York', '2026-03-08T07:30:00.000Z'],
    ['a spring-forward gap east of UTC moves forward (02:30 → 03:30 CEST)', 2026, 3, 29, 2, 30, 'Europe/Berlin', '2026-03-29T01:30:00.000Z'],
    ['a gap at midnight stays on its day (Sunday 00:00 → Sunday 01:00 -03)', 2026, 9, 6, 0, 0, 'America/Santiago', '2026-09-06T04:00:00.000Z'],
    ['a fall-back overlap east of UTC takes the first 02:30 (CEST)', 2026, 10, 25, 2, 30, 'Europe/Berlin', '2026-10-25T00:30:00.000Z'],
    ['a fall-back overlap west of UTC takes the first 01:30 (EDT)', 2026, 11, 1, 1, 30, 'America/New_York', '2026-11-01T05:30:00.000Z'],
    ['a half-hour zone', 2026, 7, 1, 12, 0, 'Asia/Kolkata', '2026-07-01T06:30:00.000Z'],
  ] as const)('resolves wall times at DST changes the same way everywhere: %s', (_, y, mo, d, h, mi, tz, want) => {
    expect(iso(zonedToUtc(y, mo, d, h, mi, tz))).toBe(want);
  });

  it('places a time between monthly cycle dates (Patch Tuesday + 7 days)', () => {
    const c = { weekday: 'tuesday' as const, week: 2, offsetDays: 7, timezone: 'UTC' };
    const r = cycleAround(c, Date.parse('2026-11-24T12:00:00Z'));
    expect([iso(r.previous), iso(r.next)]).toEqual(['2026-11-17T00:00:00.000Z', '2026-12-15T00:00:00.000Z']);
    expect(iso(cycleAround(c, Date.parse('2026-11-17T00:00:00Z')).next)).toBe('2026-12-15T00:00:00.000Z');
  });

  it("finds the previous cycle when an offset carries last month's into this month (second Tuesday + 21 days), for every offset and time", () => {
    const late = { weekday: 'tuesday' as const, week: 2, offsetDays: 21, timezone: 'UTC' };
    const r = cycleAround(late, Date.parse('2026-05-02T12:00:00Z'));
    // April's cycle (April 14 + 21) is still ahead on May 2: March's (March 10 + 21) is the previous one.
    expect([iso(r.previous), iso(r.next)]).toEqual(['2026-03-31T00:00:00.000Z', '2026-05-05T00:00:00.000Z']);
    for (let offsetDays = 0; offsetDays <= 27; offsetDays++)
      for (let day = 0; day < 400; day += 3) {
        const ms = Date.parse('2026-01-01T00:00:00Z') + day * 86_400_000 + offsetDays * 3_600_000;
        const a = cycleAround({ ...late, offsetDays, timezone: 'America/New_York' }, ms);
        expect(Number.isFinite(a.previous) && a.previous <= ms && ms < a.next, `offset ${String(offsetDays)}, ${new Date(ms).toISOString()}`).toBe(true);
        expect((a.next - a.previous) / 86_400_000).toBeGreaterThanOrEqual(27);
        expect((a.next - a.previous) / 86_400_000).toBeLessThanOrEqual(36);
      }
  });

  it('finds the next weekly maintenance window, or the open one', () => {
    const w = { days: ['saturday' as const], start: '02:00', durationHours: 4, timezone: 'Europe/Berlin' };
    const r = nextWindow(w, Date.parse('2026-11-24T12:00:00Z'));
    expect([iso(r.start), iso(r.end)]).toEqual(['2026-11-28T01:00:00.000Z', '2026-11-28T05:00:00.000Z']);
    const open = nextWindow(w, Date.parse('2026-11-28T03:00:00Z'));
    expect([iso(open.start), iso(open.end)]).toEqual(['2026-11-28T03:00:00.000Z', '2026-11-28T05:00:00.000Z']);
  });
});
