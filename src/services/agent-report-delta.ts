import type { InstalledPackage } from '../core/target.js';
import { isPackageManager, managerFor } from '../executor/registry.js';
import type { AgentReport } from '../inventory/agent-report.js';
import {
  applyInventoryDelta,
  BUCKETS,
  bucketDigest,
  digestEntries,
  heldDigestText,
  learnSourceNames,
  nameBucket,
  packageKey,
  setAgentBootId,
  transaction,
  type AgentRow,
  type Executor,
} from '../storage/index.js';
import { otherLines, parseLine, type Line } from './agent-report-lines.js';
import { memoryOf, type PendingState, type ReportState } from './agent-report-memory.js';
import { scanChanged } from './scan.js';
import type { NonceClaim } from './agent-nonce.js';
import type { Clock, Db } from './store.js';

type ScanCounts = Awaited<ReturnType<typeof scanChanged>>;

/**
 * Agent reports that change a few packages, handled in proportion to the change (issue #14).
 * The server keeps, per host, the package lines of the last report it stored and what each line
 * parsed to. A new report whose other sections are byte for byte the same is compared with them
 * line by line: only the lines that are new are parsed, and only the builds that came or went
 * are written and matched again. The memory is a hint, never the truth: a difference is stored
 * only while the host still holds exactly the report it was taken from (its stored fingerprint
 * and held digest, which any other write of the inventory clears; applyInventoryDelta checks
 * that inside the report's transaction); anything unusual (a line repeated, a source name not
 * given, a dpkg host, a parse error) goes the whole way, as before.
 *
 * Hosts are remembered within a budget of memory per open database (agent-report-memory.ts;
 * DEFAULT_MEMORY_BYTES unless `bulwark serve` is given BULWARK_AGENT_MEMORY_MB), counted as
 * costOf estimates it: about 10 KB for a host of 600 packages whose report was read (what its
 * lines parsed to is shared through the line cache, agent-report-lines.ts), the report's text for
 * one stored whole and not read since; none of more than MAX_LINES. The least recently reporting
 * host is forgotten first: a forgotten host's next report is taken as its difference from what
 * the store holds (agent-report-store.ts), or stored whole, and remembered again.
 */
/** A host of more packages than this is not remembered (its report is stored whole each time). */
export const MAX_LINES = 20_000;
const PACKAGES = '@@packages rpm';
const SECTION = /^@@([a-z-]+(?: (?:rpm|dpkg))?)$/;

/**
 * How many reports were stored as a difference from the remembered report (delta), from what the
 * store holds of a host not remembered (stored: agent-report-store.ts), and whole; and how many
 * reports stored whole were read line by line again (tests and benches read it).
 */
export const reportDeltaCounts = { delta: 0, whole: 0, read: 0, stored: 0 };

/** The report without its `@@packages rpm` lines, and those lines; null when it has no such section or two. */
export function splitReport(text: string): { header: string; lines: string[] } | null {
  const all = text.split('\n');
  let start = -1;
  let end = all.length;
  for (let i = 1; i < all.length; i++) {
    const l = all[i] as string;
    if (!l.startsWith('@@') || !SECTION.test(l)) continue;
    if (l === PACKAGES) {
      if (start >= 0) return null;
      start = i;
    } else if (start >= 0 && end === all.length) end = i;
  }
  if (start < 0) return null;
  return { header: [...all.slice(0, start + 1), ...all.slice(end)].join('\n'), lines: all.slice(start + 1, end) };
}

/** A report as the difference from the remembered one, ready to store. */
export interface ReportDelta {
  report: Omit<AgentReport, 'packages'>;
  baseSha256: string;
  baseHeldDigest: string;
  heldDigest: string;
  goneKeys: string[];
  added: InstalledPackage[];
  changedNames: string[];
  /**
   * The report's builds of the changed names, in its order, whose source names are to be learned
   * (learnSourceNames); empty when each of those names was built from one source, the same
   * before and after (what the host claims is then what it claimed).
   */
  toLearn: InstalledPackage[];
  /** The keys of every build of the changed names the report holds: what the host holds of them after it. */
  heldKeys: string[];
  count: number;
  apply: (state: ReportState) => void;
}

/**
 * The report as a difference from the host's remembered last report, or null when it must be
 * stored whole (nothing remembered, another header, a line the difference cannot take).
 */
export function planReportDelta(db: Db, targetId: string, text: string, sha256: string): ReportDelta | null {
  const memory = memoryOf(db);
  const kept = memory.get(targetId);
  if (kept === undefined) return null;
  const state = 'pending' in kept ? readPending(kept) : kept;
  if (state === null) {
    memory.delete(targetId);
    return null;
  }
  // Read: counted at what it now takes.
  if (state !== kept) memory.set(targetId, state);
  const split = splitReport(text);
  if (split === null || split.header !== state.header) return null;
  // Line by line beside the last report: most lines are where they were. The ones that are not,
  // on either side, are the multisets whose difference is what came and went (a line that only
  // moved is found among the old ones and not parsed again).
  const { lines } = split;
  const oldLength = state.entries.length;
  const entries: (Line | null)[] = new Array<Line | null>(lines.length);
  const rest: number[] = [];
  const pool = new Map<string, number[]>();
  const toPool = (i: number): void => {
    const l = textAt(state, i);
    const q = pool.get(l);
    if (q === undefined) pool.set(l, [i]);
    else q.push(i);
  };
  for (let i = 0; i < lines.length; i++)
    if (i < oldLength && lines[i] === textAt(state, i)) entries[i] = state.entries[i] as Line | null;
    else {
      rest.push(i);
      if (i < oldLength) toPool(i);
    }
  for (let i = lines.length; i < oldLength; i++) toPool(i);
  const added: InstalledPackage[] = [];
  for (const i of rest) {
    const q = pool.get(lines[i] as string);
    const j = q?.pop();
    if (j !== undefined) {
      entries[i] = state.entries[j] as Line | null;
      continue;
    }
    const e = parseLine(lines[i] as string);
    if (e === undefined) return null;
    entries[i] = e;
    if (e !== null) added.push(e.p);
  }
  const removed: InstalledPackage[] = [];
  for (const q of pool.values())
    for (const j of q) {
      const e = state.entries[j];
      if (e !== null && e !== undefined) removed.push(e.p);
    }
  const removedKeys = new Set(removed.map((p) => packageKey(p)));
  const addedKeys = new Set(added.map((p) => packageKey(p)));
  const gone = removed.filter((p) => !addedKeys.has(packageKey(p)));
  const came = added.filter((p) => !removedKeys.has(packageKey(p)));
  const changed = new Set([...gone, ...came].map((p) => p.name));
  // No build came or went (lines reordered, say): the whole way, which matches the host afresh.
  if (changed.size === 0) return null;
  // The digest's buckets of the changed names, from the builds the report holds; every build of
  // a changed name, in the report's order (two the same package, a line repeated: the whole way).
  const keysOf = new Map<number, string[]>();
  for (const p of [...gone, ...came]) keysOf.set(nameBucket(p.name) as number, []);
  const ofChanged: InstalledPackage[] = [];
  const ids = new Set<string>();
  const sourcesAfter = new Map<string, Set<string>>();
  for (const e of entries) {
    if (e === null) continue;
    const keys = keysOf.get(e.bucket);
    if (keys === undefined) continue;
    keys.push(e.key);
    if (!changed.has(e.p.name)) continue;
    if (ids.has(e.id)) return null;
    ids.add(e.id);
    ofChanged.push(e.p);
    addSource(sourcesAfter, e.p);
  }
  const digest = [...state.digest];
  for (const [b, keys] of keysOf) digest[b] = bucketDigest(keys);
  const count = state.count - removed.length + added.length;
  if (count <= 0) return null;
  const sourcesBefore = new Map<string, Set<string>>();
  for (const e of state.entries) if (e !== null && keysOf.has(e.bucket) && changed.has(e.p.name)) addSource(sourcesBefore, e.p);
  const sameClaims = [...changed].every((n) => oneSource(sourcesBefore.get(n)) !== null && oneSource(sourcesBefore.get(n)) === oneSource(sourcesAfter.get(n)));
  const heldDigest = heldDigestText(sha256, digest);
  return {
    report: state.report,
    baseSha256: state.sha256,
    baseHeldDigest: state.heldDigest,
    heldDigest,
    goneKeys: gone.map((p) => packageKey(p)),
    added: came,
    changedNames: [...changed],
    toLearn: sameClaims ? [] : ofChanged,
    heldKeys: ofChanged.map((p) => packageKey(p)),
    count,
    apply: (s) => {
      s.others = otherLines(lines, entries);
      s.entries = entries;
      s.sha256 = sha256;
      s.heldDigest = heldDigest;
      s.digest = digestEntries(heldDigest);
      s.count = count;
    },
  };
}

/** The text of a remembered report's line i. */
const textAt = (s: ReportState, i: number): string => s.entries[i]?.text ?? (s.others.get(i) as string);

export function addSource(m: Map<string, Set<string>>, p: InstalledPackage): void {
  let s = m.get(p.name);
  if (s === undefined) m.set(p.name, (s = new Set()));
  s.add(p.sourceName ?? '');
}

/** The one source a name's builds come from, or null (none, or several). */
export const oneSource = (s: Set<string> | undefined): string | null => (s?.size === 1 ? ([...s][0] ?? null) : null);

/** The fingerprint of the report the server remembers of a host, or null (none). */
export function rememberedSha256(db: Db, targetId: string): string | null {
  return memoryOf(db).get(targetId)?.sha256 ?? null;
}

/** After the difference is committed: the remembered report becomes this one (unless another came meanwhile). */
export function rememberDelta(db: Db, targetId: string, d: ReportDelta): void {
  const memory = memoryOf(db);
  const state = memory.get(targetId);
  memory.delete(targetId);
  if (state === undefined || 'pending' in state || state.sha256 !== d.baseSha256 || state.heldDigest !== d.baseHeldDigest) return;
  d.apply(state);
  memory.set(targetId, state);
}

/** Remembers a host's report as read (a difference taken from what the store holds). */
export function rememberState(db: Db, targetId: string, state: ReportState): void {
  const memory = memoryOf(db);
  memory.delete(targetId);
  memory.set(targetId, state);
}

/** Forgets a host's report (it was stored another way, or its transaction failed). */
export function forgetReport(db: Db, targetId: string): void {
  memoryOf(db).delete(targetId);
}

/** After a report stored whole: remembers it as it came (read by readPending when the host reports again). */
export function rememberReport(db: Db, targetId: string, text: string, sha256: string, r: AgentReport, digest: readonly string[] | null | undefined): void {
  const memory = memoryOf(db);
  memory.delete(targetId);
  if (digest === null || digest === undefined || digest.length !== BUCKETS) return;
  const report: Omit<AgentReport, 'packages'> & { packages?: unknown } = { ...r };
  delete report.packages;
  memory.set(targetId, {
    pending: true,
    sha256,
    text,
    report,
    packages: r.packages.length,
    digest: digestEntries(heldDigestText(sha256, digest)),
    wide: /[\u0100-\uffff]/.test(text),
  });
}

/**
 * A report stored whole, read line by line as the difference reads them: null (not remembered)
 * unless every line reads alone as it did in the whole and the digest computed from them is the
 * one stored.
 */
function readPending(p: PendingState): ReportState | null {
  const split = splitReport(p.text);
  if (split === null || split.lines.length > MAX_LINES) return null;
  const entries: (Line | null)[] = [];
  const ids = new Set<string>();
  const groups: string[][] = Array.from({ length: BUCKETS }, () => []);
  let count = 0;
  for (const l of split.lines) {
    const e = parseLine(l);
    if (e === undefined) return null;
    entries.push(e);
    if (e === null) continue;
    // The same package twice: parseInventory merges it (onceEach); not remembered.
    if (ids.has(e.id)) return null;
    ids.add(e.id);
    (groups[e.bucket] as string[]).push(e.key);
    count++;
  }
  if (count !== p.packages || groups.some((g, i) => bucketDigest(g) !== p.digest[i])) return null;
  reportDeltaCounts.read++;
  const heldDigest = heldDigestText(p.sha256, p.digest);
  return {
    sha256: p.sha256,
    heldDigest,
    header: split.header,
    report: p.report,
    others: otherLines(split.lines, entries),
    entries,
    digest: digestEntries(heldDigest),
    count,
  };
}

/**
 * Patch runs use the release's own package manager when the host has it, else one it has (dnf
 * installed on Azure Linux 3.0, say): recorded on the agent's address.
 */
export function agentAddress(agent: AgentRow, r: Pick<AgentReport, 'managers'>, release: string): string {
  const own = managerFor(release);
  const found = r.managers.map((m) => (m === 'apt-get' ? 'apt' : m)).filter(isPackageManager);
  const pm = found.length === 0 || found.includes(own) ? null : (found.find((m) => m === 'dnf') ?? found[0] ?? null);
  return `agent://${agent.id}${pm === null ? '' : `?pm=${pm}`}`;
}

/**
 * Stores and matches a report as its difference from the last (the same steps as a whole report,
 * on the changed builds only), in one transaction; null when the host no longer holds that last
 * report (nothing written: it is then stored whole). `plan` makes the difference inside the
 * transaction (from what the store holds: agent-report-store.ts), or gives the one made before.
 */
export async function storeDelta(
  db: Db,
  agent: AgentRow,
  r: Omit<AgentReport, 'packages'>,
  plan: (tx: Executor) => Promise<ReportDelta | null>,
  fingerprint: string,
  nonce: NonceClaim | null,
  clock: Clock,
): Promise<{ scan: ScanCounts; delta: ReportDelta } | null> {
  const release = r.release as string;
  // A new boot (rare): its nonce first, on its own, so a replay changes nothing (agent-nonce.ts).
  if (r.bootId !== null && (r.bootId !== agent.bootId || r.bootedAt !== agent.bootedAt)) {
    await nonce?.store(db);
    await setAgentBootId(db, agent.id, r.bootId, r.bootedAt);
  }
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const d = await plan(tx);
    if (d === null) return null;
    const applied = await applyInventoryDelta(tx, {
      targetId: agent.targetId,
      base: { sha256: d.baseSha256, heldDigest: d.baseHeldDigest },
      goneKeys: d.goneKeys,
      added: d.added,
      heldKeys: d.heldKeys,
      sha256: fingerprint,
      heldDigest: d.heldDigest,
      collectedAt: now,
      release,
      arch: r.arch,
      address: agentAddress(agent, r, release),
      image: r.image,
      runningKernel: r.runningKernel,
      rebootRequired: r.rebootRequired,
      streams: r.streams,
      livePatches: r.livePatches === null ? null : JSON.stringify(r.livePatches),
    });
    if (applied === null) return null;
    // Here, not first: a report whose base moved (null) commits nothing and is stored whole next, with the nonce.
    await nonce?.store(tx);
    if (d.toLearn.length > 0) await learnSourceNames(tx, release, agent.targetId, d.toLearn, now);
    const streamsChanged = JSON.stringify(applied.streams) !== JSON.stringify(r.streams);
    const saved = { changedNames: streamsChanged ? [] : d.changedNames, before: applied.before, livePatchesChanged: applied.livePatchesChanged };
    // The target and its builds of the changed names are known from the delta: not read again.
    const scan = await scanChanged(tx, agent.targetId, saved, { release, runningKernel: r.runningKernel }, clock, {
      target: applied.target,
      held: applied.held,
    });
    return { scan, delta: d };
  });
}
