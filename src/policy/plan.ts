import { severityRank, type Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import type { PackageFamily } from '../core/release.js';
import { releaseFamily } from '../core/release.js';
import { versionScheme } from '../core/version/registry.js';
import type { Policy } from './schema.js';
import { cycleAround, localTime, nextWindow, zonedToUtc } from './time.js';
import { globPattern } from '../core/glob.js';

/**
 * assemblePlan (issue #5): a pure function of (findings, targets, policy, now) that returns the
 * plan as data — per target the exact packages and target versions, its ring, window, deadline,
 * approval and reboot — and the findings whose deadline has passed. Nothing here does I/O; the
 * executor applies a plan, the scheduler decides when to assemble one.
 */
export interface PlanTarget {
  id: string;
  name: string;
  release: string | null;
  tags: readonly string[];
  rebootRequired: boolean | null;
}

export interface PlanFinding {
  targetId: string;
  advisorySource: string;
  advisoryId: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: Severity;
  cvssScore: number | null;
  cves: readonly string[];
  publishedAt: string | null;
  firstSeen: string;
  /** Only `open` findings are planned; closed ones (`fixed`, `withdrawn`) never are. */
  status: FindingStatus;
}

export interface PlanInput {
  policy: Policy;
  targets: readonly PlanTarget[];
  findings: readonly PlanFinding[];
  now: Date;
  /** CVE ids known to be exploited (e.g. CISA KEV), for `knownExploited` rules; default: the keys of `signals.kev`. */
  knownExploited?: ReadonlySet<string>;
  /**
   * Exploitation signals (issue #16): KEV entries (due date, ransomware use) and EPSS scores per
   * CVE, and whether each feed was ever synced: a rule naming one never synced matches nothing,
   * and the plan says so in a warning.
   */
  signals?: PlanSignals;
  /** Advisories an operator approved under this policy (`bulwark approve`). */
  approved?: ReadonlySet<string>;
  /** Holds an operator placed (`bulwark hold`), besides the policy file's own. */
  holds?: readonly { advisory: string; reason: string; until: string }[];
  /**
   * With a `source` in the policy: package name → the builds (`E:V-R`, or Debian versions) its
   * content view's environment publishes. Targets are chosen among them.
   */
  available?: ReadonlyMap<string, readonly AvailableBuild[]>;
  /**
   * Where each ring of this policy's runs stands (ring index → when its last step ended, and
   * whether a run not over still has steps of it to do): ring k waits the soak after ring k-1
   * ended even when ring k-1 has nothing left to do in this plan (its hosts were patched by an
   * earlier run), so the soak holds across scheduler passes; a ring k-1 still being patched (or
   * halted) ends no earlier than now.
   */
  ringHistory?: ReadonlyMap<number, RingHistory>;
}

export interface PlanSignals {
  kev: ReadonlyMap<string, { dueDate: string; ransomware: boolean }>;
  epss: ReadonlyMap<string, number>;
  synced: { kev: boolean; epss: boolean };
}

/**
 * The signals a policy's out-of-band rules name, per rule: `kev` for knownExploited, ransomware
 * and deadlineFrom kevDueDate; `epss` for epssAbove.
 * @example signalsNamed(policy) // [{ rule: 0, name: 'kev-now', signal: 'kev', what: 'knownExploited' }]
 */
export function signalsNamed(policy: Policy): { rule: number; name: string; signal: 'kev' | 'epss'; what: string }[] {
  const out: { rule: number; name: string; signal: 'kev' | 'epss'; what: string }[] = [];
  policy.outOfBand.forEach((r, i) => {
    if (r.match.knownExploited === true) out.push({ rule: i, name: r.name, signal: 'kev', what: 'match.knownExploited' });
    if (r.match.ransomware === true) out.push({ rule: i, name: r.name, signal: 'kev', what: 'match.ransomware' });
    if (r.deadlineFrom === 'kevDueDate') out.push({ rule: i, name: r.name, signal: 'kev', what: 'deadlineFrom: kevDueDate' });
    if (r.match.epssAbove !== undefined) out.push({ rule: i, name: r.name, signal: 'epss', what: 'match.epssAbove' });
  });
  return out;
}

/** What this policy's runs did in one ring: when its last step ended, and whether steps are still to do. */
export interface RingHistory {
  ended: string | null;
  open: boolean;
}

/**
 * A build a content view publishes: its version, or — for a Debian binary whose version is not
 * its source's — the version and the source version fixes are compared with (as matching does).
 */
export type AvailableBuild = string | { build: string; source: string };
export const buildOf = (b: AvailableBuild): string => (typeof b === 'string' ? b : b.build);
const fixedBasisOf = (b: AvailableBuild): string => (typeof b === 'string' ? b : b.source);

export interface PlannedPackage {
  name: string;
  from: string;
  to: string;
  advisories: string[];
  /** A finding of this package falls under an emergency out-of-band rule: it may go outside windows. */
  emergency: boolean;
  /** The policy's version pin for it (a glob on `V-R`), which a run's choice of build keeps to. */
  pin?: string;
}

export interface PlanEntry {
  targetId: string;
  target: string;
  ring: string;
  ringIndex: number;
  /**
   * When the host may start: its ring's turn, then its window (emergency rules: at once, or after
   * the emergency run's shortened soak). With `after`, the earliest: the previous ring's end is
   * taken as its start (how long a ring takes is not known ahead); the run waits for its real end.
   */
  start: string;
  /**
   * The ring whose end (plus `soakHours`) this entry waits for, when it waits for one;
   * `unfinished`: that ring is still being patched, paused or halted in a run not over, so this
   * entry is not due (whatever its start says) until that ring ends or the run is cancelled.
   */
  after?: { ring: string; soakHours: number; unfinished?: true };
  /**
   * A predicted breach of a deadline still ahead: the entry starts after it (`start`), or its
   * window lets hosts begin after it (`finish`). Deadlines already passed are in `breaches`.
   */
  predictedBreach?: 'start' | 'finish';
  windowEnd: string | null;
  window: string | null;
  /** The earliest deadline among the findings it fixes. */
  deadline: string;
  /** Why it is planned: `monthly` and/or out-of-band rule names. */
  reasons: string[];
  emergency: boolean;
  approval: 'approved' | 'pending';
  /** The advisories an operator still has to approve before this entry may run. */
  awaitingApproval: string[];
  packages: PlannedPackage[];
  held: { advisory: string; reason: string; until: string }[];
  excluded: { package: string; why: string }[];
  reboot: boolean;
}

export interface PlanBreach {
  target: string;
  advisory: string;
  package: string;
  deadline: string;
  overdueHours: number;
  /**
   * When the finding was first seen: an out-of-band deadline counts from the advisory's
   * publication, so a host first scanned long after it is overdue from its first scan.
   */
  firstSeen: string;
  publishedAt: string | null;
}

/**
 * Something in the plan an operator must see: predicted breaches of deadlines still ahead (a
 * ring starting, or its window ending, after them), and rings naming hosts that do not exist.
 */
export interface PlanWarning {
  kind: 'starts-after-deadline' | 'may-finish-after-deadline' | 'unknown-ring-host' | 'signal-never-synced';
  ring: string;
  /** The hosts concerned (for `unknown-ring-host`: the names no host has). */
  targets: string[];
  message: string;
}

export interface Plan {
  policy: string;
  generatedAt: string;
  cycle: { previous: string | null; next: string };
  entries: PlanEntry[];
  breaches: PlanBreach[];
  /** Predicted breaches and ring mistakes (absent in plans stored before they were computed). */
  warnings?: PlanWarning[];
  /** Targets in scope with nothing to do, and why not when they have findings. */
  idle: { target: string; why: string }[];
  /** The content view the targets come from (the policy's `source`), if any. */
  source?: { view: string; environment: string; repoId: string | null };
  /** The policy's excluded package globs, which a run also keeps its package manager from touching (dependencies too). */
  exclude?: string[];
}

/** FNV-1a, for a stable spread of hosts over percentage rings. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function inScope(p: Policy, t: PlanTarget): boolean {
  const s = p.scope;
  if (s.releases !== undefined && (t.release === null || !s.releases.includes(t.release))) return false;
  if (s.tags !== undefined && !s.tags.every((x) => t.tags.includes(x))) return false;
  if (s.hosts !== undefined && !s.hosts.includes(t.name)) return false;
  return true;
}

/**
 * A package whose update takes a reboot to be in effect: a kernel or its modules. Not the
 * kernel's development files, headers, tools or debug symbols (kernel-devel, kernel-headers,
 * kernel-tools, kernel-debuginfo…), which a running system uses as files.
 * @example isKernel('kernel-core') // true
 * @example isKernel('kernel-headers') // false
 */
export function isKernel(name: string): boolean {
  if (/^linux-(image|modules)-/.test(name)) return true;
  if (!/^kernel(-|$)/.test(name)) return false;
  return !/-(devel|devel-matched|headers|cross-headers|tools|tools-libs|tools-libs-devel|doc|docs|debuginfo|debuginfo-common-[A-Za-z0-9_]+|srpm-macros|rpm-macros|abi-stablelists|abi-whitelists|selftests-internal)$/.test(name);
}

/** @example assemblePlan({ policy, targets, findings, now: new Date() }) */
export function assemblePlan(input: PlanInput): Plan {
  const { policy, now } = input;
  const nowMs = now.getTime();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const cycle = { weekday: policy.cadence.monthly.weekday, week: policy.cadence.monthly.week, offsetDays: policy.cadence.monthly.offsetDays, timezone: policy.cadence.timezone };
  const around = cycleAround(cycle, nowMs);
  // A hold until a date lasts to the end of that day in the policy's time zone.
  const holdEnd = (until: string): number => {
    const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(until);
    return d === null ? Date.parse(until) : zonedToUtc(Number(d[1]), Number(d[2]), Number(d[3]) + 1, 0, 0, policy.cadence.timezone);
  };
  const holds = [...policy.holds, ...(input.holds ?? [])].filter((h) => holdEnd(h.until) > nowMs);
  const approved = input.approved ?? new Set<string>();
  const excludes = policy.exclude.map((g) => [g, globPattern(g)] as const);
  const pins = Object.entries(policy.pins).map(([pkg, ver]) => [globPattern(pkg), globPattern(ver), ver] as const);
  const kevOf = input.signals?.kev ?? new Map<string, { dueDate: string; ransomware: boolean }>();
  const epssOf = input.signals?.epss ?? new Map<string, number>();
  const exploited = input.knownExploited ?? new Set(kevOf.keys());

  // Calendar arithmetic goes through Intl and is costly: the same first-seen times and ring
  // starts recur across a fleet, so each is computed once per plan.
  const cycleMemo = new Map<string, number>();
  const nextCycle = (firstSeen: string): number => {
    let v = cycleMemo.get(firstSeen);
    if (v === undefined) cycleMemo.set(firstSeen, (v = cycleAround(cycle, Date.parse(firstSeen)).next));
    return v;
  };
  const byTarget = new Map<string, PlanFinding[]>();
  for (const f of input.findings) {
    if (f.status !== 'open' || f.fixed === null) continue;
    const l = byTarget.get(f.targetId) ?? [];
    l.push(f);
    byTarget.set(f.targetId, l);
  }

  interface Draft {
    t: PlanTarget;
    family: PackageFamily;
    deadline: number;
    reasons: Set<string>;
    emergency: boolean;
    /** Advisories under a rule with manual approval. */
    manual: Set<string>;
    /** Packages with a finding an out-of-band rule covers: they do not wait for the monthly approval. */
    outOfBand: Set<string>;
    packages: Map<string, PlannedPackage>;
    held: PlanEntry['held'];
    excluded: PlanEntry['excluded'];
  }
  const drafts: Draft[] = [];
  const idle: Plan['idle'] = [];
  const breaches: PlanBreach[] = [];
  for (const t of input.targets) {
    if (!inScope(policy, t)) continue;
    const family = t.release === null ? null : releaseFamily(t.release);
    const fs = byTarget.get(t.id) ?? [];
    if (fs.length === 0 || family === null) {
      idle.push({ target: t.name, why: family === null ? 'unknown release' : 'no open finding with a fix' });
      continue;
    }
    const scheme = versionScheme(family);
    const d: Draft = { t, family, deadline: Infinity, reasons: new Set(), emergency: false, manual: new Set(), outOfBand: new Set(), packages: new Map(), held: [], excluded: [] };
    for (const f of fs) {
      const hold = holds.find((h) => h.advisory === f.advisoryId);
      if (hold !== undefined) {
        if (!d.held.some((x) => x.advisory === hold.advisory)) d.held.push({ advisory: hold.advisory, reason: hold.reason, until: hold.until });
        continue;
      }
      const ex = excludes.find(([, re]) => re.test(f.package));
      if (ex !== undefined) {
        if (!d.excluded.some((x) => x.package === f.package)) d.excluded.push({ package: f.package, why: `excluded by "${ex[0]}"` });
        continue;
      }
      const fixed = f.fixed;
      if (fixed === null) continue;
      const pin = pins.find(([pkg]) => pkg.test(f.package));
      if (pin !== undefined && !pin[1].test(fixed.replace(/^\d+:/, ''))) {
        if (!d.excluded.some((x) => x.package === f.package)) d.excluded.push({ package: f.package, why: `pinned to ${pin[2]}` });
        continue;
      }
      // From a content view: the lowest published build that fixes (and that a pin allows).
      let to = fixed;
      if (policy.source !== undefined && input.available !== undefined) {
        const builds = (input.available.get(f.package) ?? [])
          .filter((b) => scheme.compare(fixedBasisOf(b), fixed) >= 0 && (pin === undefined || pin[1].test(buildOf(b).replace(/^\d+:/, ''))))
          .map(buildOf)
          .sort((a, b) => scheme.compare(a, b));
        const first = builds[0];
        if (first === undefined) {
          const why = `no build of ${fixed} or later in ${policy.source.view}/${policy.source.environment}`;
          if (!d.excluded.some((x) => x.package === f.package && x.why === why)) d.excluded.push({ package: f.package, why });
          continue;
        }
        to = first;
      }
      // Deadline: an out-of-band rule counted from publication, else the next monthly cycle.
      const published = Date.parse(f.publishedAt ?? f.firstSeen);
      let deadline = nextCycle(f.firstSeen);
      let reason = 'monthly';
      let urgent = false;
      for (const r of policy.outOfBand) {
        const m = r.match;
        if (m.severity !== undefined && !m.severity.includes(f.severity)) continue;
        if (m.minCvss !== undefined && (f.cvssScore === null || f.cvssScore < m.minCvss)) continue;
        if (m.cves !== undefined && !m.cves.some((c) => f.cves.includes(c))) continue;
        if (m.knownExploited === true && !f.cves.some((c) => exploited.has(c))) continue;
        if (m.ransomware === true && !f.cves.some((c) => kevOf.get(c)?.ransomware === true)) continue;
        const above = m.epssAbove;
        if (above !== undefined && !f.cves.some((c) => (epssOf.get(c) ?? -1) > above)) continue;
        d.outOfBand.add(f.package);
        let due = published + r.deadlineHours * 3_600_000;
        if (r.deadlineFrom === 'kevDueDate') {
          // The end of CISA's due date (UTC), the earliest of the finding's KEV-listed CVEs.
          const dues = f.cves.flatMap((c) => kevOf.get(c)?.dueDate ?? []).map((x) => Date.parse(`${x}T00:00:00Z`) + 86_400_000).filter((x) => !Number.isNaN(x));
          if (dues.length > 0) due = Math.min(...dues);
        }
        if (due < deadline) {
          deadline = due;
          reason = r.name;
        }
        if (r.emergency) {
          d.emergency = true;
          urgent = true;
        }
        if (r.approval === 'manual') d.manual.add(f.advisoryId);
      }
      d.reasons.add(reason);
      d.deadline = Math.min(d.deadline, deadline);
      if (deadline < nowMs) breaches.push({ target: t.name, advisory: f.advisoryId, package: f.package, deadline: iso(deadline), overdueHours: Math.round((nowMs - deadline) / 3_600_000), firstSeen: f.firstSeen, publishedAt: f.publishedAt });
      const cur = d.packages.get(f.package);
      if (cur === undefined) d.packages.set(f.package, { name: f.package, from: f.installed, to, advisories: [f.advisoryId], emergency: urgent, ...(pin !== undefined ? { pin: pin[2] } : {}) });
      else {
        if (urgent) cur.emergency = true;
        if (scheme.compare(to, cur.to) > 0) cur.to = to;
        if (!cur.advisories.includes(f.advisoryId)) cur.advisories.push(f.advisoryId);
      }
    }
    if (d.packages.size === 0) idle.push({ target: t.name, why: d.held.length > 0 || d.excluded.length > 0 ? 'every fix is held or excluded' : 'no open finding with a fix' });
    else drafts.push(d);
  }

  // Rings: named hosts and tags first, then percentages of the fleet by a stable hash. A host's
  // place in the hash space is its name's alone, so it stays in its ring when other hosts are
  // patched, added or removed (each percent ring takes its share of the space, in order).
  const rings = policy.rollout.rings;
  const ringOf = new Map<Draft, number>();
  for (const [i, r] of rings.entries())
    for (const d of drafts) if (!ringOf.has(d) && (r.hosts?.includes(d.t.name) === true || r.tags?.some((x) => d.t.tags.includes(x)) === true)) ringOf.set(d, i);
  const bucket = (d: Draft): number => (fnv1a(d.t.name) / 0x1_0000_0000) * 100;
  const bounds: [ring: number, upTo: number][] = [];
  let cumulative = 0;
  for (const [i, r] of rings.entries()) {
    if (r.percent === undefined) continue;
    cumulative = Math.min(100, cumulative + r.percent);
    bounds.push([i, cumulative]);
  }
  const rest = drafts.filter((d) => !ringOf.has(d)).sort((a, b) => bucket(a) - bucket(b) || a.t.name.localeCompare(b.t.name));
  for (const d of rest) ringOf.set(d, bounds.find(([, upTo]) => bucket(d) < upTo)?.[0] ?? rings.length - 1);
  // A small fleet may leave an early percent ring (a canary) empty by chance: it then takes the
  // first host, by hash, of the rings after it, so a rollout never skips its early rings.
  for (const [k, [ring]] of bounds.entries()) {
    if (k === bounds.length - 1 || rest.some((d) => ringOf.get(d) === ring)) continue;
    const later = new Set(bounds.slice(k + 1).map(([r]) => r));
    const first = rest.find((d) => later.has(ringOf.get(d) ?? -1));
    if (first !== undefined) ringOf.set(first, ring);
  }

  // The next maintenance window from a time on.
  const windows = policy.windows;
  const slotMemo = new Map<number, { start: number; end: number | null; name: string | null }>();
  const slot = (from: number): { start: number; end: number | null; name: string | null } => {
    if (windows.length === 0) return { start: from, end: null, name: null };
    const memo = slotMemo.get(from);
    if (memo !== undefined) return memo;
    let best: { start: number; end: number | null; name: string | null } | null = null;
    for (const w of windows) {
      const n = nextWindow({ days: w.days, start: w.start, durationHours: w.durationHours, timezone: w.timezone }, from);
      if (best === null || n.start < best.start) best = { start: n.start, end: n.end, name: w.name };
    }
    const r = best ?? { start: from, end: null, name: null };
    slotMemo.set(from, r);
    return r;
  };
  // N calendar days after the cycle date, at local midnight (not N × 24 h: a DST change between
  // would move it by an hour).
  const approveFrom = (() => {
    if (!Number.isFinite(around.previous)) return -Infinity;
    const l = localTime(around.previous, policy.cadence.timezone);
    return zonedToUtc(l.year, l.month, l.day + policy.approval.autoApproveAfterDays, l.hour, l.minute, policy.cadence.timezone);
  })();
  const approvedCycle = nowMs >= approveFrom;
  // What each host of each ring gets (its time comes after).
  interface Item {
    d: Draft;
    i: number;
    packages: PlannedPackage[];
    waitingNow: string[];
    awaiting: string[];
  }
  const items: Item[] = [];
  for (let i = 0; i < rings.length; i++) {
    const members = drafts.filter((d) => ringOf.get(d) === i).sort((a, b) => a.t.name.localeCompare(b.t.name));
    for (const d of members) {
      const all = [...d.packages.values()].sort((a, b) => a.name.localeCompare(b.name));
      // Monthly work waits for the cycle's auto-approval; rules with manual approval wait for
      // an operator. An operator's approval of an advisory releases both. A host with both kinds
      // gets its out-of-band packages now and keeps its monthly ones for after the approval.
      const monthlyWaiting = approvedCycle ? [] : all.filter((p) => !d.outOfBand.has(p.name) && p.advisories.some((a) => !approved.has(a)));
      const packages = monthlyWaiting.length > 0 && monthlyWaiting.length < all.length ? all.filter((p) => !monthlyWaiting.includes(p)) : all;
      const manualWaiting = [...d.manual].filter((a) => !approved.has(a));
      const monthlyAdvisories = monthlyWaiting.flatMap((p) => p.advisories.filter((a) => !approved.has(a)));
      // The entry waits for what it carries: its monthly advisories only when they are in it.
      const waitingNow = packages === all ? [...monthlyAdvisories, ...manualWaiting] : manualWaiting;
      items.push({ d, i, packages, waitingNow, awaiting: [...new Set([...monthlyAdvisories, ...manualWaiting])].sort() });
    }
  }

  // Schedule, the way the scheduler and the run will do it. Ring k may start `soakHours` after
  // ring k-1 ENDS. How long a ring takes is not known ahead, so a later ring's start is its
  // earliest (the previous ring's end taken as its start) and the entry names the ring it waits
  // for; the run waits for that ring's real end (runs.ts). Rings that already ran count from
  // their real end (ringHistory).
  const soakMs = policy.rollout.soakHours * 3_600_000;
  const times = new Map<Item, { start: number; end: number | null; name: string | null; after?: NonNullable<PlanEntry['after']> }>();
  let ringEarliest = nowMs;
  let waitsFor: NonNullable<PlanEntry['after']> | null = null;
  for (let i = 0; i < rings.length; i++) {
    const h = i > 0 ? input.ringHistory?.get(i - 1) : undefined;
    if (h !== undefined) {
      const end = h.open ? nowMs : h.ended === null ? null : Date.parse(h.ended);
      // An earlier run's ring binds while its soak lasts, and always while it is unfinished
      // (with no soak too: a halted canary holds the rest).
      if (end !== null && (h.open || end + soakMs > Math.max(ringEarliest, nowMs))) {
        ringEarliest = Math.max(ringEarliest, end + soakMs);
        waitsFor = { ring: rings[i - 1]?.name ?? '?', soakHours: policy.rollout.soakHours, ...(h.open ? { unfinished: true as const } : {}) };
      }
    }
    const members = items.filter((x) => x.i === i);
    if (members.length === 0) continue;
    let ringStart = Infinity;
    for (const x of members) {
      const s = x.d.emergency ? { start: ringEarliest, end: null, name: null } : slot(ringEarliest);
      ringStart = Math.min(ringStart, s.start);
      times.set(x, { ...s, ...(waitsFor !== null ? { after: waitsFor } : {}) });
    }
    ringEarliest = ringStart + soakMs;
    // The next ring waits for this one's end, even with no soak (a run takes its rings in turn).
    waitsFor = { ring: rings[i]?.name ?? '?', soakHours: policy.rollout.soakHours };
  }
  // Emergency work goes in one run started now (scheduler.ts: with what else is due now), ring
  // after ring, with the soak shortened so that every ring starts before the earliest deadline
  // (soakFor) — not the policy's full soak, which would show later rings later than they go.
  const approvedNow = (x: Item): boolean => x.waitingNow.length === 0;
  const inRun = items.filter((x) => {
    if (!approvedNow(x)) return false;
    if (x.d.emergency) return x.packages.some((p) => p.emergency);
    const t = times.get(x);
    return t !== undefined && t.start <= nowMs && nowMs < (t.end ?? Infinity);
  });
  const runRings = [...new Set(inRun.map((x) => x.i))].sort((a, b) => a - b);
  const soakE = soakFor(
    inRun.map((x) => ({ ringIndex: x.i, emergency: x.d.emergency, deadline: iso(x.d.deadline) })),
    policy.rollout.soakHours,
    nowMs,
  );
  for (const x of items) {
    if (!x.d.emergency) continue;
    const before = runRings.filter((r) => r < x.i);
    const prev = before[before.length - 1];
    times.set(x, { start: nowMs + before.length * soakE * 3_600_000, end: null, name: null, ...(prev !== undefined ? { after: { ring: rings[prev]?.name ?? '?', soakHours: soakE } } : {}) });
  }

  const entries: PlanEntry[] = [];
  for (const x of items) {
    const { d, i, packages } = x;
    const s = times.get(x) ?? { start: nowMs, end: null, name: null };
    // A predicted breach, for a deadline still ahead (one passed is in `breaches`).
    const late = d.deadline < nowMs ? undefined : s.start > d.deadline ? ('start' as const) : s.end !== null && s.end > d.deadline ? ('finish' as const) : undefined;
    entries.push({
      targetId: d.t.id,
      target: d.t.name,
      ring: rings[i]?.name ?? '?',
      ringIndex: i,
      start: iso(s.start),
      ...(s.after !== undefined ? { after: s.after } : {}),
      ...(late !== undefined ? { predictedBreach: late } : {}),
      windowEnd: s.end === null ? null : iso(s.end),
      window: s.name,
      deadline: iso(d.deadline),
      reasons: [...d.reasons].sort(),
      emergency: d.emergency,
      approval: x.waitingNow.length > 0 ? 'pending' : 'approved',
      awaitingApproval: x.awaiting,
      packages,
      held: d.held,
      excluded: d.excluded,
      reboot: policy.reboot === 'always' || (policy.reboot === 'when-required' && (d.t.rebootRequired === true || packages.some((p) => isKernel(p.name)))),
    });
  }
  entries.sort((a, b) => a.ringIndex - b.ringIndex || a.target.localeCompare(b.target));

  const warnings: PlanWarning[] = [];
  const known = new Set(input.targets.map((t) => t.name));
  for (const [i, r] of rings.entries()) {
    const late = (k: 'start' | 'finish'): PlanEntry[] => entries.filter((e) => e.ringIndex === i && e.predictedBreach === k);
    const starts = late('start');
    if (starts.length > 0) {
      const first = Math.min(...starts.map((e) => Date.parse(e.deadline)));
      warnings.push({ kind: 'starts-after-deadline', ring: r.name, targets: starts.map((e) => e.target), message: `ring ${r.name}: ${plural(starts.length, 'host')} start after their deadline (the first due ${iso(first)}, the ring starts ${starts[0]?.start ?? '?'})` });
    }
    const finishes = late('finish');
    if (finishes.length > 0) {
      const first = Math.min(...finishes.map((e) => Date.parse(e.deadline)));
      warnings.push({ kind: 'may-finish-after-deadline', ring: r.name, targets: finishes.map((e) => e.target), message: `ring ${r.name}: ${plural(finishes.length, 'host')} may begin after their deadline (the first due ${iso(first)}; the window ends ${finishes[0]?.windowEnd ?? '?'})` });
    }
    // A ring naming a host that does not exist (a typo, a host removed): its canary role is
    // silently lost, and the rings after it go without it. Refused at apply; shown here for a
    // host removed since.
    const unknown = (r.hosts ?? []).filter((h) => !known.has(h));
    if (unknown.length > 0) {
      const empty = !(r.hosts ?? []).some((h) => known.has(h)) && r.tags === undefined && r.percent === undefined;
      warnings.push({ kind: 'unknown-ring-host', ring: r.name, targets: unknown, message: `ring ${r.name} names ${unknown.map((h) => `"${h}"`).join(', ')}: no such host${empty ? `; the ring has no host, so ${i === rings.length - 1 ? 'it patches nothing' : 'the rings after it go without it'}` : ''}` });
    }
  }
  // A rule naming a signal never synced matches nothing: never silently (issue #16).
  const synced = input.signals?.synced ?? { kev: input.knownExploited !== undefined, epss: false };
  for (const n of signalsNamed(policy))
    if (!synced[n.signal])
      warnings.push({
        kind: 'signal-never-synced',
        ring: '',
        targets: [],
        message: `rule ${n.name} (${n.what}) needs the ${n.signal === 'kev' ? 'CISA KEV' : 'FIRST EPSS'} feed, which was never synced: it ${n.what.startsWith('deadline') ? 'takes no deadline from it' : 'matches nothing'} (bulwark feeds sync --source ${n.signal === 'kev' ? 'cisa-kev' : 'first-epss'})`,
      });
  breaches.sort((a, b) => b.overdueHours - a.overdueHours || a.target.localeCompare(b.target));
  return {
    policy: policy.name,
    generatedAt: iso(nowMs),
    cycle: { previous: Number.isFinite(around.previous) ? iso(around.previous) : null, next: iso(around.next) },
    entries,
    breaches,
    warnings,
    idle,
    ...(policy.source !== undefined ? { source: { view: policy.source.view, environment: policy.source.environment, repoId: policy.source.repoId ?? null } } : {}),
    ...(policy.exclude.length > 0 ? { exclude: [...policy.exclude] } : {}),
  };
}

const plural = (n: number, word: string): string => `${String(n)} ${word}${n === 1 ? '' : 's'}`;

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

/**
 * The hosts a policy's rings name that are not among `hosts`, each with its place in the file
 * and the closest known name (a typo of one or two characters), for `policy apply` to refuse.
 * @example unknownRingHosts(policy, ['web-01', 'web-02']) // [{ ring: 0, index: 0, host: 'web-1', suggestion: 'web-01' }]
 */
export function unknownRingHosts(policy: Policy, hosts: readonly string[]): { ring: number; index: number; host: string; suggestion: string | null }[] {
  const known = new Set(hosts);
  const out: { ring: number; index: number; host: string; suggestion: string | null }[] = [];
  for (const [ring, r] of policy.rollout.rings.entries())
    for (const [index, host] of (r.hosts ?? []).entries()) {
      if (known.has(host)) continue;
      let suggestion: string | null = null;
      let best = Math.min(2, Math.floor(host.length / 3)) + 1;
      for (const h of hosts) {
        const d = editDistance(host, h, best);
        if (d < best) [best, suggestion] = [d, h];
      }
      out.push({ ring, index, host, suggestion });
    }
  return out;
}

/** Levenshtein distance, or `cap` once it is certain to reach it (the fleet may be large). */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return Math.min(cap, prev[b.length] ?? cap);
}

/** The most severe severity among findings (for summaries). */
export function worst(findings: readonly { severity: Severity }[]): Severity | null {
  let w: Severity | null = null;
  for (const f of findings) if (w === null || severityRank(f.severity) > severityRank(w)) w = f.severity;
  return w;
}
