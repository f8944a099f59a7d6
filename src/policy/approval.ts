import type { PlannedPackage } from './plan-types.js';
import { localTime, zonedToUtc } from './time.js';

/**
 * Approval: monthly work waits for the cycle's auto-approval; rules with manual approval wait for
 * an operator; an operator's approval of an advisory releases both.
 */

/**
 * When the monthly cycle's work is approved: N calendar days after the cycle date, at local
 * midnight (not N × 24 h: a DST change between would move it by an hour); never before a first
 * cycle.
 * @example autoApproveFrom(Date.parse('2026-10-19T22:00:00Z'), 7, 'Europe/Berlin') // 2026-10-26T23:00Z
 */
export function autoApproveFrom(previousCycle: number, days: number, timezone: string): number {
  if (!Number.isFinite(previousCycle)) return -Infinity;
  const l = localTime(previousCycle, timezone);
  return zonedToUtc(l.year, l.month, l.day + days, l.hour, l.minute, timezone);
}

export interface ApprovalSplit {
  /** What the entry carries now. */
  packages: PlannedPackage[];
  /** The advisories the entry waits for before it may run (none: approved). */
  waitingNow: string[];
  /** Every advisory of the host still to be approved, sorted. */
  awaiting: string[];
}

/**
 * What one host's entry carries, and what it waits for. A host with both kinds of work gets its
 * out-of-band packages now and keeps its monthly ones for after the approval; the entry waits for
 * its monthly advisories only when they are in it.
 * @example splitForApproval(packages, new Set(['kernel']), new Set(), new Set(), false)
 */
export function splitForApproval(
  all: readonly PlannedPackage[],
  outOfBand: ReadonlySet<string>,
  manual: ReadonlySet<string>,
  approved: ReadonlySet<string>,
  approvedCycle: boolean,
): ApprovalSplit {
  const monthlyWaiting = approvedCycle ? [] : all.filter((p) => !outOfBand.has(p.name) && p.advisories.some((a) => !approved.has(a)));
  const packages = monthlyWaiting.length > 0 && monthlyWaiting.length < all.length ? all.filter((p) => !monthlyWaiting.includes(p)) : [...all];
  const manualWaiting = [...manual].filter((a) => !approved.has(a));
  const monthlyAdvisories = monthlyWaiting.flatMap((p) => p.advisories.filter((a) => !approved.has(a)));
  const carriesMonthly = packages.length === all.length;
  const waitingNow = carriesMonthly ? [...monthlyAdvisories, ...manualWaiting] : manualWaiting;
  return { packages, waitingNow, awaiting: [...new Set([...monthlyAdvisories, ...manualWaiting])].sort() };
}
