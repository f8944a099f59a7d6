/**
 * Calendar arithmetic in IANA time zones without a library: the offset of a zone at an instant
 * comes from Intl.DateTimeFormat (the platform's tz database), and a local wall time becomes an
 * instant by solving for the offset (twice, for DST transitions: a wall time in the spring-forward
 * gap moves forward by the gap, one in the fall-back overlap takes the first occurrence).
 */
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: Weekday;
}

/** The wall time in `tz` at instant `ms`. */
export function localTime(ms: number, tz: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const year = parts['year'] ?? 1970;
  const month = parts['month'] ?? 1;
  const day = parts['day'] ?? 1;
  return {
    year,
    month,
    day,
    hour: parts['hour'] ?? 0,
    minute: parts['minute'] ?? 0,
    second: parts['second'] ?? 0,
    weekday: WEEKDAYS[new Date(Date.UTC(year, month - 1, day)).getUTCDay()] ?? 'sunday',
  };
}

function offsetAt(ms: number, tz: string): number {
  const l = localTime(ms, tz);
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant of a wall time in `tz` (month 1-12; day may overflow into the next month).
 * @example zonedToUtc(2026, 3, 29, 2, 30, 'Europe/Berlin') // 01:30 UTC: 02:30 does not exist that night
 */
export function zonedToUtc(year: number, month: number, day: number, hour: number, minute: number, tz: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // The zone's offsets a day either side: transitions are months apart, so at most one lies between.
  const before = offsetAt(wall - 86_400_000, tz);
  const after = offsetAt(wall + 86_400_000, tz);
  const fits = [wall - before, wall - after].filter((t) => offsetAt(t, tz) === wall - t);
  // In the fall-back overlap both fit: the first occurrence. In the spring-forward gap neither
  // does: the wall time moves forward by the gap (the offset before the change, read after it).
  return fits.length > 0 ? Math.min(...fits) : wall - before;
}

/** Day of month of the `n`-th `weekday` (1-based n, up to 4). */
export function nthWeekday(year: number, month: number, weekday: Weekday, n: number): number {
  const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const want = WEEKDAYS.indexOf(weekday);
  return 1 + ((want - first + 7) % 7) + 7 * (n - 1);
}

export interface MonthlyCycle {
  weekday: Weekday;
  week: number;
  offsetDays: number;
  timezone: string;
}

/** The cycle date (local midnight) of a month: e.g. Patch Tuesday + 7 days. */
export function cycleDate(c: MonthlyCycle, year: number, month: number): number {
  return zonedToUtc(year, month, nthWeekday(year, month, c.weekday, c.week) + c.offsetDays, 0, 0, c.timezone);
}

/**
 * The first cycle date strictly after `ms`, and the one before it.
 * @example cycleAround({ weekday: 'tuesday', week: 2, offsetDays: 7, timezone: 'UTC' }, Date.parse('2026-11-24'))
 */
export function cycleAround(c: MonthlyCycle, ms: number): { previous: number; next: number } {
  const l = localTime(ms, c.timezone);
  // From three months back: an offset can carry a month's cycle date into the next month (the
  // second Tuesday + 21 days), so last month's cycle may still lie ahead while the one before it
  // is the previous cycle.
  let y = l.year;
  let m = l.month - 3;
  while (m < 1) {
    m += 12;
    y--;
  }
  let prev = -Infinity;
  for (let i = 0; i < 18; i++) {
    const d = cycleDate(c, y, m);
    if (d > ms) return { previous: prev, next: d };
    prev = d;
    m++;
    if (m === 13) {
      m = 1;
      y++;
    }
  }
  throw new Error('unreachable: a monthly cycle always recurs within 15 months');
}

export interface WeeklyWindow {
  days: readonly Weekday[];
  /** HH:MM */
  start: string;
  durationHours: number;
  timezone: string;
}

/**
 * The first occurrence of a weekly window that has not ended by `ms`: `start` is never before
 * `ms` (a window already open starts now).
 */
export function nextWindow(w: WeeklyWindow, ms: number): { start: number; end: number } {
  const [h, mi] = w.start.split(':').map(Number) as [number, number];
  const l = localTime(ms, w.timezone);
  let best: { start: number; end: number } | null = null;
  // Back one week (a long window may still be open), forward two.
  for (let i = -7; i <= 14; i++) {
    const day = new Date(Date.UTC(l.year, l.month - 1, l.day + i));
    if (!w.days.includes(WEEKDAYS[day.getUTCDay()] ?? 'sunday')) continue;
    const start = zonedToUtc(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), h, mi, w.timezone);
    const end = start + w.durationHours * 3_600_000;
    if (end <= ms) continue;
    const occ = { start: Math.max(start, ms), end };
    if (best === null || occ.start < best.start) best = occ;
  }
  if (best === null) throw new Error('unreachable: a weekly window recurs within two weeks');
  return best;
}
