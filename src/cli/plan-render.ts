import type { Gate, Hook } from '../policy/safety-schema.js';
import { isKernel, type Plan, type PlannedPackage } from '../policy/plan.js';
import type { PlanTimeline } from '../services/plan-timeline.js';
import { plural } from '../lib/words.js';
import { formatTable } from './table.js';

/** How `bulwark plan` prints a plan (issue #17): parts, windows, the policy's time zone, packages by advisory. */
/** A policy's hooks, gates, restarts and rollback as one line of `bulwark plan` (issue #15). */
function safetyLine(x: NonNullable<Plan['safety']>): string {
  const hook = (h: Hook): string => ('command' in h ? `command ${h.command}` : `http ${h.http}`);
  const gate = (g: Gate): string =>
    `${'systemd' in g ? `systemd ${g.systemd}` : 'tcp' in g ? `tcp ${String(g.tcp)}` : 'http' in g ? `http ${g.http}` : `command ${g.command}`}${g.withinSeconds > 0 ? ` within ${String(g.withinSeconds)} s` : ''}`;
  return [
    ...(x.hooks.pre.length > 0 ? [`pre hooks ${x.hooks.pre.map(hook).join(', ')}`] : []),
    ...(x.hooks.snapshot !== undefined ? [`snapshot ${hook(x.hooks.snapshot)}`] : []),
    ...(x.restart === 'services' ? ['restart services still using replaced files'] : []),
    ...(x.gates.length > 0 ? [`gates ${x.gates.map(gate).join(', ')}`] : []),
    ...(x.hooks.post.length > 0 ? [`post hooks ${x.hooks.post.map(hook).join(', ')}`] : []),
    `rollback ${x.rollback}`,
  ].join('; ');
}

/**
 * A time as an operator of the policy reads it: in the policy's time zone, to the minute, with
 * the zone's abbreviation (issue #17: times were UTC though the policy said Europe/Berlin).
 * @example zoned('2026-12-12T01:00:00.000Z', 'Europe/Berlin') // '2026-12-12 02:00 CET'
 */
export function zoned(iso: string, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(iso));
  const p = (k: Intl.DateTimeFormatPartTypes): string => parts.find((x) => x.type === k)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')} ${p('timeZoneName')}`;
}

/** A host's packages grouped by the advisories that fix them: one line per advisory (set). */
function byAdvisory(packages: readonly PlannedPackage[]): string[] {
  const groups = new Map<string, PlannedPackage[]>();
  for (const p of packages) {
    const key = p.advisories.length === 0 ? '(no advisory)' : [...p.advisories].sort().join(', ');
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([adv, ps]) => `${adv}: ${ps.map((p) => `${p.name}→${p.to}`).join(' ')}`);
}

/**
 * The plan as `bulwark plan` prints it (issue #17): in the policy's time zone, one row per part of
 * a host's work — an emergency rule's packages now, outside windows, apart from the rest with the
 * window it waits for — then each part's packages grouped by advisory, which ring waits for which,
 * what is held, excluded or awaiting approval, the warnings (unreachable targets, predicted
 * breaches, unknown ring hosts) and the findings past their deadline.
 */
export function renderPlan(plan: PlanTimeline, policyVersion: number, soakHours: number): string {
  const tz = plan.timezone;
  const t = (iso: string): string => zoned(iso, tz);
  const lines = [`plan of ${plan.policy} v${String(policyVersion)} at ${t(plan.generatedAt)}; next monthly cycle ${t(plan.cycle.next)}; times in ${tz}`];
  const late: Record<string, string> = { start: ' (late)', finish: ' (at risk)' };
  const windowOf = (name: string | null, end: string | null): string => (name === null ? '-' : `${name}${end === null ? '' : ` until ${t(end)}`}`);
  const rows: string[][] = [];
  const work: string[] = [];
  for (const e of plan.entries) {
    const urgent = e.packages.filter((p) => p.emergency);
    const rest = e.packages.filter((p) => !p.emergency);
    const label = e.reasons.includes('monthly') ? 'monthly' : e.reasons.join(',');
    // The emergency part reboots as the scheduler runs it (scheduler.ts dueNow): for its own
    // kernel, when the policy always reboots, or when the host asked for one anyway.
    const reboots = (parts: readonly PlannedPackage[]): boolean =>
      parts === urgent && rest.length > 0
        ? e.reboot && (plan.reboot === 'always' || urgent.some((p) => isKernel(p.name)) || !e.packages.some((p) => isKernel(p.name)))
        : e.reboot;
    const common = (parts: readonly PlannedPackage[]): string[] => [
      e.approval,
      reboots(parts) ? 'yes' : 'no',
      `${plural(parts.length, 'package')}, ${plural(new Set(parts.flatMap((p) => p.advisories)).size, 'advisory', 'advisories')}`,
    ];
    // "≥": the earliest start — the ring waits for the previous ring's end, not known ahead.
    const start = `${e.after !== undefined ? '≥' : ''}${t(e.start)}`;
    if (e.emergency && urgent.length > 0) {
      rows.push([
        e.ring,
        e.target,
        'emergency',
        start,
        'none: at once, outside windows',
        `${t(e.deadline)}${late[e.predictedBreach ?? ''] ?? ''}`,
        ...common(urgent),
      ]);
      work.push(...byAdvisory(urgent).map((l) => `  ${e.target} emergency: ${l}`));
      if (rest.length > 0 && e.rest !== undefined) {
        rows.push([
          e.ring,
          e.target,
          label === '' ? 'rest' : label,
          `≥${t(e.rest.start)}`,
          windowOf(e.rest.window, e.rest.windowEnd),
          t(e.rest.deadline),
          ...common(rest),
        ]);
        work.push(...byAdvisory(rest).map((l) => `  ${e.target} ${label === '' ? 'rest' : label}: ${l}`));
      }
      continue;
    }
    rows.push([
      e.ring,
      e.target,
      label,
      start,
      windowOf(e.window, e.windowEnd),
      `${t(e.deadline)}${late[e.predictedBreach ?? ''] ?? ''}`,
      ...common(e.packages),
    ]);
    work.push(...byAdvisory(e.packages).map((l) => `  ${e.target} ${label}: ${l}`));
  }
  if (rows.length === 0) lines.push('no host to patch');
  else lines.push(formatTable(['RING', 'HOST', 'PART', 'START', 'WINDOW', 'DEADLINE', 'APPROVAL', 'REBOOT', 'WORK'], rows).trimEnd());
  // Which ring each ring waits for, once per ring (and per kind: an emergency's soak is shortened).
  const waits = new Map<string, string>();
  for (const e of plan.entries) {
    if (e.after === undefined) continue;
    const when = `${e.after.soakHours > 0 ? `${hours(e.after.soakHours)} after` : 'when'} ring ${e.after.ring} ends${e.after.unfinished === true ? ' (it is still in a run not over: running, paused or halted)' : ''}`;
    const shortened = e.emergency && e.after.soakHours < soakHours ? ` (the policy's ${hours(soakHours)} soak, shortened to meet the deadline)` : '';
    const what = `ring ${e.ring}${e.emergency ? ' (emergency)' : ''}: starts ${when}${shortened}; ≥: the earliest, if ring ${e.after.ring} took no time`;
    waits.set(`${e.ring}:${String(e.emergency)}`, what);
  }
  lines.push(...[...waits.values()].map((w) => `  ${w}`));
  if (plan.safety !== undefined) lines.push(`  each host: ${safetyLine(plan.safety)}`);
  for (const e of plan.entries) {
    for (const h of e.held) lines.push(`  ${e.target}: held ${h.advisory} until ${t(h.until)}: ${h.reason}`);
    for (const x of e.excluded) lines.push(`  ${e.target}: not updating ${x.package}: ${x.why}`);
    if (e.awaitingApproval.length > 0)
      lines.push(`  ${e.target}: waits for approval of ${e.awaitingApproval.join(', ')} (bulwark approve --policy ${plan.policy} ADVISORY…)`);
  }
  if (work.length > 0) lines.push('packages by advisory:', ...work);
  const warnings = plan.warnings ?? [];
  if (warnings.length > 0) lines.push(`${plural(warnings.length, 'warning')}:`, ...warnings.map((w) => `  ${w.message}`));
  if (plan.breaches.length > 0) {
    const off = plan.breaches.filter((b) => b.unreachable === true).length;
    lines.push(
      `${plural(plan.breaches.length, 'finding')} past their deadline${off > 0 ? ` (${String(off)} on targets no run reaches, so in no plan)` : ''}:`,
      ...plan.breaches.slice(0, 20).map((b) => {
        // An out-of-band deadline counts from publication: a host first scanned long after it is
        // overdue from its first scan, which is why such figures can be years.
        const atFirstScan =
          Date.parse(b.firstSeen) > Date.parse(b.deadline) && b.publishedAt !== null
            ? `; already overdue when first seen on ${b.firstSeen.slice(0, 10)} (counted from its publication on ${b.publishedAt.slice(0, 10)})`
            : '';
        const noRun = b.unreachable === true ? '; unreachable: no address Bulwark reaches it by, no run patches it' : '';
        return `  ${b.target} ${b.advisory} ${b.package}: due ${t(b.deadline)}, ${overdue(b.overdueHours)}${atFirstScan}${noRun}`;
      }),
    );
  }
  if (plan.breaches.length > 20) lines.push(`  … and ${String(plan.breaches.length - 20)} more (--format json lists them all)`);
  return lines.join('\n') + '\n';
}

/** Soak hours as a person reads them: 24 h, 7.5 h. */
const hours = (h: number): string => `${String(Math.round(h * 10) / 10)} h`;

/**
 * How far past its deadline a finding is: hours for the first two days, then whole days
 * ("20222 h overdue" said 842 days in a unit nobody reads at that size).
 * @example overdue(36) // '36 h overdue'
 * @example overdue(20222) // '842 days overdue'
 */
export function overdue(h: number): string {
  return h < 48 ? `${String(h)} h overdue` : `${String(Math.floor(h / 24))} days overdue`;
}
