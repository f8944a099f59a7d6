import type { PlanEntry, RingHistory } from './plan-types.js';
import type { Policy } from './schema.js';
import { nextWindow } from './time.js';

/**
 * Ring and window placement: when each planned host may start, the way the scheduler and the run
 * will do it. Ring k may start `soakHours` after ring k-1 ENDS. How long a ring takes is not known
 * ahead, so a later ring's start is its earliest (the previous ring's end taken as its start) and
 * the entry names the ring it waits for; the run waits for that ring's real end (runs.ts). Rings
 * that already ran count from their real end (ringHistory). Emergency work goes at once, ring
 * after ring with a shortened soak.
 */
export interface Slot {
  start: number;
  end: number | null;
  /** The window's name; null outside windows. */
  name: string | null;
}

export interface Placement extends Slot {
  after?: NonNullable<PlanEntry['after']>;
}

/** One host's entry as placement sees it. */
export interface Placeable {
  ring: number;
  /** Under an emergency rule: placed at once, outside windows. */
  emergency: boolean;
  /** Its earliest deadline (ms). */
  deadline: number;
  /** Nothing it carries waits for an approval. */
  approved: boolean;
  /** It carries a package under an emergency rule. */
  urgent: boolean;
}

/**
 * The next maintenance window from a time on (memoised: ring starts recur across a fleet); with
 * no windows, at once with no end.
 * @example windowSlots(policy.windows)(Date.now()) // { start, end, name: 'weekend' }
 */
export function windowSlots(windows: Policy['windows']): (from: number) => Slot {
  const memo = new Map<number, Slot>();
  return (from) => {
    if (windows.length === 0) return { start: from, end: null, name: null };
    const m = memo.get(from);
    if (m !== undefined) return m;
    let best: Slot | null = null;
    for (const w of windows) {
      const n = nextWindow({ days: w.days, start: w.start, durationHours: w.durationHours, timezone: w.timezone }, from);
      if (best === null || n.start < best.start) best = { start: n.start, end: n.end, name: w.name };
    }
    const r = best ?? { start: from, end: null, name: null };
    memo.set(from, r);
    return r;
  };
}

export interface ScheduleInput {
  rings: readonly { name: string }[];
  windows: Policy['windows'];
  soakHours: number;
  nowMs: number;
  ringHistory?: ReadonlyMap<number, RingHistory>;
}

/**
 * When each item may start: its ring's turn, then its window; emergency items at once, or after
 * the emergency run's shortened soak.
 * @example placeInRings(items, { rings, windows, soakHours: 24, nowMs: Date.now() })
 */
export function placeInRings<T extends Placeable>(items: readonly T[], s: ScheduleInput): Map<T, Placement> {
  const { rings, soakHours, nowMs } = s;
  const slot = windowSlots(s.windows);
  const soakMs = soakHours * 3_600_000;
  const times = new Map<T, Placement>();
  let ringEarliest = nowMs;
  let waitsFor: NonNullable<PlanEntry['after']> | null = null;
  for (let i = 0; i < rings.length; i++) {
    const h = i > 0 ? s.ringHistory?.get(i - 1) : undefined;
    if (h !== undefined) {
      const end = h.open ? nowMs : h.ended === null ? null : Date.parse(h.ended);
      // An earlier run's ring binds while its soak lasts, and always while it is unfinished
      // (with no soak too: a halted canary holds the rest).
      if (end !== null && (h.open || end + soakMs > Math.max(ringEarliest, nowMs))) {
        ringEarliest = Math.max(ringEarliest, end + soakMs);
        waitsFor = { ring: rings[i - 1]?.name ?? '?', soakHours, ...(h.open ? { unfinished: true as const } : {}) };
      }
    }
    const members = items.filter((x) => x.ring === i);
    if (members.length === 0) continue;
    let ringStart = Infinity;
    for (const x of members) {
      const at = x.emergency ? { start: ringEarliest, end: null, name: null } : slot(ringEarliest);
      ringStart = Math.min(ringStart, at.start);
      times.set(x, { ...at, ...(waitsFor !== null ? { after: waitsFor } : {}) });
    }
    ringEarliest = ringStart + soakMs;
    // The next ring waits for this one's end, even with no soak (a run takes its rings in turn).
    waitsFor = { ring: rings[i]?.name ?? '?', soakHours };
  }
  // Emergency work goes in one run started now (scheduler.ts: with what else is due now), ring
  // after ring, with the soak shortened so that every ring starts before the earliest deadline
  // (soakFor) — not the policy's full soak, which would show later rings later than they go.
  const inRun = items.filter((x) => {
    if (!x.approved) return false;
    if (x.emergency) return x.urgent;
    const t = times.get(x);
    return t !== undefined && t.start <= nowMs && nowMs < (t.end ?? Infinity);
  });
  const runRings = [...new Set(inRun.map((x) => x.ring))].sort((a, b) => a - b);
  const soakE = soakFor(
    inRun.map((x) => ({ ringIndex: x.ring, emergency: x.emergency, deadline: new Date(x.deadline).toISOString() })),
    soakHours,
    nowMs,
  );
  for (const x of items) {
    if (!x.emergency) continue;
    const before = runRings.filter((r) => r < x.ring);
    const prev = before[before.length - 1];
    times.set(x, {
      start: nowMs + before.length * soakE * 3_600_000,
      end: null,
      name: null,
      ...(prev !== undefined ? { after: { ring: rings[prev]?.name ?? '?', soakHours: soakE } } : {}),
    });
  }
  return times;
}

/**
 * The soak between an emergency run's rings: the policy's, shortened so that every ring starts
 * well before the earliest emergency deadline (the time left is shared by the gaps between rings
 * and the last ring's own work); none once a deadline has passed. Other runs keep the policy's
 * soak. The scheduler gives it to the run, and the plan shows the same times.
 * @example soakFor(entries, 48, Date.now()) // 12 with 24 h left over two rings
 */
export function soakFor(entries: readonly Pick<PlanEntry, 'ringIndex' | 'emergency' | 'deadline'>[], soakHours: number, now: number): number {
  if (!entries.some((e) => e.emergency)) return soakHours;
  const gaps = new Set(entries.map((e) => e.ringIndex)).size - 1;
  if (gaps <= 0) return soakHours;
  const deadline = Math.min(...entries.filter((e) => e.emergency).map((e) => Date.parse(e.deadline)));
  const left = Math.max(0, (deadline - now) / 3_600_000);
  return Math.min(soakHours, left / (gaps + 1));
}
