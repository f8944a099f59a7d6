import { windowSlots } from '../policy/schedule.js';
import type { Plan, PlanEntry } from '../policy/plan-types.js';
import type { Policy } from '../policy/schema.js';
import { makePlan } from './policies.js';
import type { Db } from './store.js';

/**
 * The plan as the console's timeline shows it (issue #17): the policy's time zone and windows,
 * and for an entry an emergency rule made urgent, its two parts apart — the emergency packages
 * now (outside windows), the rest in the first window after them (what the scheduler does:
 * only the emergency part goes at once, the rest waits for its window) — instead of one row that
 * says "emergency" for every package and never shows the window.
 */
export interface TimelineEntry extends PlanEntry {
  /** For an emergency entry with packages no emergency rule covers: the window they wait for. */
  rest?: { window: string | null; start: string; windowEnd: string | null; packages: number; deadline: string };
}
export interface PlanTimeline extends Omit<Plan, 'entries'> {
  timezone: string;
  /** The policy's `reboot`: with `when-required`, an emergency part reboots only for its own kernel (as the scheduler runs it). */
  reboot: Policy['reboot'];
  windows: { name: string; days: string[]; start: string; durationHours: number; timezone: string }[];
  entries: TimelineEntry[];
}

/** @example await planTimeline(db, 'azl3-prod', { at: new Date() }) */
export async function planTimeline(
  db: Db,
  name: string,
  o: { at?: Date; reachable?: ((t: { address: string | null }) => boolean) | undefined } = {},
): Promise<PlanTimeline> {
  const { plan, policy } = await makePlan(db, name, { ...(o.at !== undefined ? { at: o.at } : {}), reachable: o.reachable });
  return timelineOf(plan, policy);
}

/**
 * A plan with its policy's time zone and windows, and each emergency entry's other packages with
 * the window they wait for (what `bulwark plan` and the /plan and /timeline routes show).
 * @example timelineOf(plan, policy).timezone // 'Europe/Berlin'
 */
export function timelineOf(plan: Plan, policy: Policy): PlanTimeline {
  const slot = windowSlots(policy.windows);
  const entries = plan.entries.map((e): TimelineEntry => {
    const rest = e.packages.filter((p) => !p.emergency);
    if (!e.emergency || rest.length === 0) return e;
    const s = slot(new Date(e.start).getTime());
    return {
      ...e,
      rest: {
        window: s.name,
        start: new Date(s.start).toISOString(),
        windowEnd: s.end === null ? null : new Date(s.end).toISOString(),
        packages: rest.length,
        // Their own deadline (the earliest of their findings'), not the emergency part's.
        deadline: e.restDeadline ?? e.deadline,
      },
    };
  });
  return {
    ...plan,
    timezone: policy.cadence.timezone,
    reboot: policy.reboot,
    windows: policy.windows.map((w) => ({ name: w.name, days: [...w.days], start: w.start, durationHours: w.durationHours, timezone: w.timezone })),
    entries,
  };
}
