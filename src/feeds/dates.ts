/**
 * Publication and update dates, shared by the feed parsers: every format writes them its own way,
 * every advisory stores them as ISO 8601 UTC.
 */
/**
 * Dates as the feeds write them (`2024-03-19T17:21:46Z`, `2025-02-19T20:05:37.067Z`, `2024-03-19`,
 * `2024-03-19 10:00:00`) as ISO 8601 UTC; null when absent or not a date.
 * @example normaliseDate("2024-03-19") // "2024-03-19T00:00:00.000Z"
 */
export function normaliseDate(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  const t = s.trim();
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?$/.exec(t);
  if (!m?.[1]) return null;
  const time = m[2] === undefined ? '00:00:00' : m[2].length === 5 ? `${m[2]}:00` : m[2];
  const zone = m[3] === undefined || m[3] === 'UTC' ? 'Z' : m[3];
  const d = new Date(`${m[1]}T${time}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
