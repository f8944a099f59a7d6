import type { InstalledPackage } from '../core/target.js';
import { releaseFamily } from '../distros/registry.js';
import { parseAgentReport, type AgentReport } from '../inventory/agent-report.js';
import { BUCKETS, bucketDigest, digestEntries, heldDigestText, heldInBuckets, nameBucket, validHeldDigest, type Executor } from '../storage/index.js';
import { addSource, MAX_LINES, oneSource, splitReport, type ReportDelta } from './agent-report-delta.js';
import type { ReportState } from './agent-report-memory.js';
import { otherLines, parseLine, type Line } from './agent-report-lines.js';

/**
 * Agent reports of hosts the server does not remember (issue #14): a fleet larger than
 * the server's memory of reports holds (agent-report-delta.ts) reporting in turn, or any host after a restart. The store is the truth: what a
 * host holds is in digest in its row (held-digest.ts: one hash per bucket of package names, and
 * the fingerprint of the report that stored it), so a report whose every line reads alone is
 * compared with that digest; only the buckets that differ are read back, and only the builds that
 * came or went are written and matched again, as for a remembered host (storeDelta). Anything
 * unusual (a line repeated, a source name not given or two for one name, another release, a dpkg
 * host, a parse error, a digest the held builds do not give) goes the whole way, as before.
 */

/** What the host's row says of it before the report. */
export interface StoredBase {
  sha256: string | null;
  heldDigest: string | null;
  release: string | null;
}

/** A report read against the digest the store holds: what it says beside its packages, its lines, and the buckets that differ. */
export interface StorePlan {
  report: Omit<AgentReport, 'packages'>;
  base: { sha256: string; heldDigest: string; digest: string[] };
  state: ReportState;
  changedBuckets: number[];
}

/**
 * The report read line by line and compared with the stored digest; null when it must be stored
 * whole (see above) or when no build came or went (a report that changed only its other sections).
 */
export async function planFromStore(text: string, sha256: string, stored: StoredBase, where: string): Promise<StorePlan | null> {
  const known = validHeldDigest(stored.heldDigest, stored.sha256);
  if (known === null || stored.sha256 === null || stored.heldDigest === null || stored.release === null) return null;
  const split = splitReport(text);
  if (split === null || split.lines.length > MAX_LINES) return null;
  const entries: (Line | null)[] = new Array<Line | null>(split.lines.length);
  const groups: string[][] = Array.from({ length: BUCKETS }, () => []);
  const ids = new Set<string>();
  // One source per name: the host's claims are then what a whole report would learn (learnSourceNames).
  const sourceOf = new Map<string, string | null>();
  let first: string | null = null;
  let count = 0;
  for (let i = 0; i < split.lines.length; i++) {
    const line = split.lines[i] as string;
    const e = parseLine(line);
    if (e === undefined) return null;
    entries[i] = e;
    if (e === null) continue;
    // The same package twice: parseInventory merges it (onceEach); stored whole.
    if (ids.has(e.id)) return null;
    ids.add(e.id);
    const s = sourceOf.get(e.p.name);
    if (s === undefined) sourceOf.set(e.p.name, e.p.sourceName);
    else if (s !== e.p.sourceName) return null;
    (groups[e.bucket] as string[]).push(e.key);
    first ??= line;
    count++;
  }
  if (first === null) return null;
  const digest = groups.map(bucketDigest);
  const changedBuckets = digest.flatMap((d, i) => (d === known[i] ? [] : [i]));
  if (changedBuckets.length === 0) return null;
  // What the report says beside its packages, read as the whole report reads it (with one of
  // its package lines: a report of an rpm release without packages is refused).
  let report: AgentReport;
  try {
    report = await parseAgentReport(
      split.header.replace(/\n@@packages rpm(?=\n|$)/, (m) => `${m}\n${first}`),
      where,
    );
  } catch {
    return null;
  }
  // Another release keeps its own claims (learnSourceNames): stored whole.
  if (report.release === null || releaseFamily(report.release) === null || report.release !== stored.release) return null;
  const rest: Omit<AgentReport, 'packages'> & { packages?: unknown } = { ...report };
  delete rest.packages;
  const heldDigest = heldDigestText(sha256, digest);
  const state: ReportState = {
    sha256,
    heldDigest,
    header: split.header,
    report: rest,
    others: otherLines(split.lines, entries),
    entries,
    digest: digestEntries(heldDigest),
    count,
  };
  return { report: rest, base: { sha256: stored.sha256, heldDigest: stored.heldDigest, digest: known }, state, changedBuckets };
}

/**
 * The difference of a planned report from what the host holds, read in the report's transaction;
 * null when the host no longer holds what the plan was made against, or its held builds do not
 * give its stored digest (it is then stored whole).
 */
export async function deltaFromStore(tx: Executor, targetId: string, plan: StorePlan): Promise<ReportDelta | null> {
  const inChanged = new Set(plan.changedBuckets);
  // First the held builds of the names the report has in those buckets (a few rows); when they
  // do not give the stored digest (a package removed whose name the report no longer has), all
  // the held builds of those buckets.
  const names = new Set<string>();
  for (const e of plan.state.entries) if (e !== null && inChanged.has(e.bucket)) names.add(e.p.name);
  const named = [...names];
  let held = await heldInBuckets(tx, targetId, plan.changedBuckets, named);
  if (held !== null && !givesDigest(held.rows, plan)) held = await heldInBuckets(tx, targetId, plan.changedBuckets);
  if (held === null || held.sha256 !== plan.base.sha256 || held.heldDigest !== plan.base.heldDigest) return null;
  const before = new Map<string, { name: string; source: string | null }>();
  const heldGroups = new Map<number, string[]>(plan.changedBuckets.map((b) => [b, []]));
  for (const r of held.rows) {
    before.set(r.key, { name: r.name, source: r.source_origin === null ? r.source_name : null });
    const keys = heldGroups.get(nameBucket(r.name) ?? -1);
    if (keys === undefined) return null;
    keys.push(r.key);
  }
  // The held builds must be what the stored digest says (a row changed under it: stored whole).
  for (const [b, keys] of heldGroups) if (bucketDigest(keys) !== plan.base.digest[b]) return null;
  const { entries } = plan.state;
  const now = new Set<string>();
  const came: InstalledPackage[] = [];
  for (const e of entries)
    if (e !== null && inChanged.has(e.bucket)) {
      now.add(e.key);
      if (!before.has(e.key)) came.push(e.p);
    }
  const goneKeys = [...before.keys()].filter((k) => !now.has(k));
  const changed = new Set<string>([...goneKeys.map((k) => (before.get(k) as { name: string }).name), ...came.map((p) => p.name)]);
  if (changed.size === 0) return null;
  const sourcesBefore = new Map<string, Set<string>>();
  for (const b of before.values())
    if (changed.has(b.name)) {
      let s = sourcesBefore.get(b.name);
      if (s === undefined) sourcesBefore.set(b.name, (s = new Set()));
      // A source name not given (resolved) was not claimed: learned again.
      s.add(b.source ?? '\u0000');
    }
  const ofChanged: Line[] = [];
  const sourcesAfter = new Map<string, Set<string>>();
  for (const e of entries)
    if (e !== null && changed.has(e.p.name)) {
      ofChanged.push(e);
      addSource(sourcesAfter, e.p);
    }
  const sameClaims = [...changed].every((n) => oneSource(sourcesBefore.get(n)) !== null && oneSource(sourcesBefore.get(n)) === oneSource(sourcesAfter.get(n)));
  return {
    report: plan.report,
    baseSha256: plan.base.sha256,
    baseHeldDigest: plan.base.heldDigest,
    heldDigest: plan.state.heldDigest,
    goneKeys,
    added: came,
    changedNames: [...changed],
    toLearn: sameClaims ? [] : ofChanged.map((e) => e.p),
    heldKeys: ofChanged.map((e) => e.key),
    count: plan.state.count,
    apply: () => undefined,
  };
}

/** Whether held rows give, bucket for bucket, the stored digest of the plan's changed buckets. */
function givesDigest(rows: readonly { name: string; key: string }[], plan: StorePlan): boolean {
  const groups = new Map<number, string[]>(plan.changedBuckets.map((b) => [b, []]));
  for (const r of rows) groups.get(nameBucket(r.name) ?? -1)?.push(r.key);
  return [...groups].every(([b, keys]) => bucketDigest(keys) === plan.base.digest[b]);
}
