import { SEVERITIES, type Severity } from '../core/advisory.js';
import { findingsSummary, listTargets } from '../storage/index.js';
import { lifecycleStatus } from '../lifecycle/catalog.js';
import { listPolicies, makePlan } from './policies.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * The fleet at a glance (the dashboard's first page, issue #6): hosts by release and support
 * state, open exposure by severity and release, stale inventories, SLA status per policy, and
 * open findings per day over the last `days` days, in all and per severity (from when each finding
 * was first seen and closed; a finding counts under the severity it has now: a severity a feed
 * changed later is not kept per day).
 */
export interface Overview {
  generatedAt: string;
  hosts: { total: number; byRelease: Record<string, number>; endOfSupport: string[]; staleInventory: number; neverInventoried: number };
  open: { bySeverity: Record<Severity, number>; byRelease: Record<string, Record<Severity, number>>; total: number };
  fixed: number;
  /** Findings closed because the feed withdrew their advisory (not patched). */
  withdrawn: number;
  exposureOverTime: { day: string; open: number; bySeverity: Record<Severity, number> }[];
  /** Per policy: hosts it would patch now and findings past their deadline (its plan's breaches). */
  sla: { policy: string; plannedHosts: number; breaches: number; hostsInBreach: number; worstOverdueHours: number | null }[];
}

// Plans of large fleets take a second each: the overview reuses one for a minute.
const slaCache = new WeakMap<Db, Map<string, { at: number; value: Overview['sla'][number] }>>();

async function slaOf(db: Db, now: Date): Promise<Overview['sla']> {
  const cache = slaCache.get(db) ?? new Map<string, { at: number; value: Overview['sla'][number] }>();
  slaCache.set(db, cache);
  const out: Overview['sla'] = [];
  for (const p of await listPolicies(db)) {
    const key = `${p.name}@${String(p.version)}`;
    const hit = cache.get(key);
    if (hit !== undefined && now.getTime() - hit.at < 60_000) {
      out.push(hit.value);
      continue;
    }
    const { plan } = await makePlan(db, p.name, { at: now });
    const value = {
      policy: p.name,
      plannedHosts: plan.entries.length,
      breaches: plan.breaches.length,
      hostsInBreach: new Set(plan.breaches.map((b) => b.target)).size,
      worstOverdueHours: plan.breaches[0]?.overdueHours ?? null,
    };
    cache.set(key, { at: now.getTime(), value });
    out.push(value);
  }
  return out;
}

export async function fleetOverview(db: Db, o: { days?: number; staleDays?: number } = {}, clock: Clock = systemClock): Promise<Overview> {
  const now = clock();
  const targets = (await listTargets(db)).filter((t) => t.kind === 'host');
  const byRelease: Record<string, number> = {};
  const eos: string[] = [];
  let stale = 0;
  let never = 0;
  for (const t of targets) {
    const r = t.release ?? 'unknown';
    byRelease[r] = (byRelease[r] ?? 0) + 1;
    if (t.release !== null) {
      const life = lifecycleStatus(t.release, now);
      if (life.state === 'end-of-life' || life.state === 'extended-only') eos.push(t.name);
    }
    if (t.inventoryAt === null) never++;
    else if (now.getTime() - Date.parse(t.inventoryAt) > (o.staleDays ?? 7) * 86_400_000) stale++;
  }
  const zero = (): Record<Severity, number> => Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const bySeverity = zero();
  const openByRelease: Record<string, Record<Severity, number>> = {};
  let fixed = 0;
  let withdrawn = 0;
  const s = await findingsSummary(db);
  for (const g of s.groups) {
    if (g.status === 'fixed') fixed += g.n;
    if (g.status === 'withdrawn') withdrawn += g.n;
    if (g.status !== 'open' && g.status !== 'no-fix') continue;
    const sev = (SEVERITIES as readonly string[]).includes(g.severity) ? (g.severity as Severity) : 'unknown';
    bySeverity[sev] += g.n;
    const rel = g.release ?? 'unknown';
    const row = (openByRelease[rel] ??= zero());
    row[sev] += g.n;
  }
  // Open on day d: first seen on or before d and not closed by then (accepted risks count until closed).
  const days = o.days ?? 30;
  const sevOf = (x: string): Severity => ((SEVERITIES as readonly string[]).includes(x) ? (x as Severity) : 'unknown');
  const perDay = (rows: readonly { day: string; severity: string; n: number }[]): Map<string, Record<Severity, number>> => {
    const m = new Map<string, Record<Severity, number>>();
    for (const r of rows) {
      const c = m.get(r.day) ?? zero();
      c[sevOf(r.severity)] += r.n;
      m.set(r.day, c);
    }
    return m;
  };
  const opened = perDay(s.opened);
  const closed = perDay(s.closed);
  const start = new Date(now.getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const running = zero();
  const add = (c: Record<Severity, number> | undefined, sign: number): void => {
    if (c !== undefined) for (const k of SEVERITIES) running[k] += sign * c[k];
  };
  for (const [d, c] of opened) if (d < start) add(c, 1);
  for (const [d, c] of closed) if (d < start) add(c, -1);
  const series: Overview['exposureOverTime'] = [];
  for (let i = 0; i < days; i++) {
    const d = new Date(Date.parse(`${start}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10);
    add(opened.get(d), 1);
    add(closed.get(d), -1);
    series.push({ day: d, open: SEVERITIES.reduce((a, k) => a + running[k], 0), bySeverity: { ...running } });
  }
  const total = Object.values(bySeverity).reduce((a, b) => a + b, 0);
  const sla = await slaOf(db, now);
  return {
    sla,
    generatedAt: now.toISOString(),
    hosts: { total: targets.length, byRelease, endOfSupport: eos.sort(), staleInventory: stale, neverInventoried: never },
    open: { bySeverity, byRelease: openByRelease, total },
    fixed,
    withdrawn,
    exposureOverTime: series,
  };
}
