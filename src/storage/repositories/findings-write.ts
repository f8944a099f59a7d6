import type { Insertable } from 'kysely';
import { severityRank } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import { directStatement, marks } from '../sqlite-direct.js';
import { advisoryPksOf } from './builds.js';
import { insertFindingRows, upsertFindingRows } from './findings-bulk.js';
import type { FindingsTable } from '../schema.js';
import type { FindingCounts, FindingInput, InstalledBuild } from './findings.js';

// Writing findings as set differences (issue #14): the stored findings of a batch of targets
// (within a scope) are read once, compared with what the matcher found, and only the
// differences are written, each kind in multi-row statements: new findings inserted, changed
// ones upserted, absent ones closed; unchanged ones only have `last_seen_at` refreshed.

/** A finding the matcher found, with its advisory's row id. */
export interface ResolvedFinding extends FindingInput {
  advisoryPk: number;
}

/** What the matcher found for one target, within a scope, and the builds it judged. */
export interface TargetFindingSet {
  targetId: string;
  /** Every match of the target within the scope (not a subset of it). */
  current: readonly ResolvedFinding[];
  /** Every build the matcher judged for the target within the scope: a finding closes as `fixed` only when its build is not among them. */
  builds: readonly InstalledBuild[];
}

/**
 * Which of a target's stored findings a write covers: all of them (a full scan), or only those
 * on some binary package names (an agent report that changed three packages) and/or some
 * advisories (the ones a feed sync changed). A stored finding outside the scope is left alone.
 */
export interface FindingScope {
  packages?: readonly string[];
  advisoryPks?: readonly number[];
}

interface Existing {
  pk: number;
  target_id: string;
  advisory_pk: number;
  package: string;
  arch: string;
  installed: string;
  fixed: string | null;
  severity: string;
  status: string;
  reason: string | null;
  closed_at: string | null;
  closed_from: string | null;
  accepted_until: string | null;
  source_package: string | null;
}

const EXISTING = [
  'pk',
  'target_id',
  'advisory_pk',
  'package',
  'arch',
  'installed',
  'fixed',
  'severity',
  'status',
  'reason',
  'closed_at',
  'closed_from',
  'accepted_until',
  'source_package',
] as const;

const identity = (apk: number, pkg: string, arch: string): string => `${String(apk)}\u0000${pkg}\u0000${arch}`;

async function existingRows(on: Executor, targetIds: readonly string[], scope: FindingScope): Promise<Existing[]> {
  const ex = kx(on);
  const out: Existing[] = [];
  const advisoryChunks = scope.advisoryPks === undefined ? [undefined] : chunks([...new Set(scope.advisoryPks)], 1, 10_000);
  const names = scope.packages === undefined ? undefined : [...new Set(scope.packages)];
  if (names?.length === 0 || advisoryChunks.length === 0) return out;
  for (const t of chunks(targetIds, 1, 2000))
    for (const a of advisoryChunks)
      for (const n of names === undefined ? [undefined] : chunks(names, 1, 10_000)) {
        // In a transaction on SQLite (an agent report's): a kept statement (sqlite-direct.ts).
        const st = directStatement(
          on,
          `select ${EXISTING.map((c) => `"${c}"`).join(', ')} from "findings" where "target_id" in (${marks(t.length)})` +
            (a === undefined ? '' : ` and "advisory_pk" in (${marks(a.length)})`) +
            (n === undefined ? '' : ` and "package" in (${marks(n.length)})`),
        );
        if (st !== null) {
          for (const r of st.all(...t, ...(a ?? []), ...(n ?? [])) as Existing[]) out.push(r);
          continue;
        }
        let q = ex.selectFrom('findings').select(EXISTING).where('target_id', 'in', t);
        if (a !== undefined) q = q.where('advisory_pk', 'in', a);
        if (n !== undefined) q = q.where('package', 'in', n);
        for (const r of await q.execute()) out.push(r);
      }
  return out;
}

/**
 * The source package of each (target, binary) from the targets' stored inventories, as the
 * grouped views name it (issue #17): the least source name among the target's builds of that
 * binary; a binary with none is its own source.
 */
async function sourcePackagesOf(on: Executor, wanted: readonly { targetId: string; package: string }[]): Promise<Map<string, string>> {
  const ex = kx(on);
  const out = new Map<string, string>();
  if (wanted.length === 0) return out;
  const names = [...new Set(wanted.map((w) => w.package))];
  for (const t of chunks([...new Set(wanted.map((w) => w.targetId))], 1, 2000))
    for (const n of chunks(names, 1, 5000))
      for (const r of await ex
        .selectFrom('target_packages')
        .innerJoin('packages', 'packages.pk', 'target_packages.package_pk')
        .select(['target_packages.target_id', 'packages.name', (eb) => eb.fn.min('packages.source_name').as('source')])
        .where('target_packages.target_id', 'in', t)
        .where('packages.name', 'in', n)
        .where('packages.source_name', 'is not', null)
        .groupBy(['target_packages.target_id', 'packages.name'])
        .execute())
        if (r.source !== null) out.set(`${r.target_id}\u0000${r.name}`, r.source);
  return out;
}

/** For the advisories of absent findings: withdrawn, and whether any fix is left. */
async function advisoryStates(on: Executor, pks: readonly number[]): Promise<Map<number, { withdrawn: boolean; hasFix: boolean }>> {
  const ex = kx(on);
  const out = new Map<number, { withdrawn: boolean; hasFix: boolean }>();
  for (const c of chunks([...new Set(pks)], 1, 5000)) {
    for (const r of await ex.selectFrom('advisories').select(['pk', 'withdrawn_at']).where('pk', 'in', c).execute())
      out.set(r.pk, { withdrawn: r.withdrawn_at !== null, hasFix: false });
    for (const r of await ex.selectFrom('fixes').select('advisory_pk').distinct().where('advisory_pk', 'in', c).execute()) {
      const s = out.get(r.advisory_pk);
      if (s !== undefined) s.hasFix = true;
    }
  }
  return out;
}

/**
 * Records what the matcher found for a batch of targets, within `scope`, as set differences:
 * new findings open, present ones are refreshed (an `accepted` one stays accepted until its
 * acceptance expires, and comes back accepted after a withdrawal of its advisory), absent ones
 * close with the time: as `fixed` only when the build they were found on is no longer among
 * the target's `builds` (the host was updated or the package removed), as `withdrawn` otherwise
 * (the feed changed, not the host). Call inside a transaction.
 * @example await writeFindingSets(tx, [{ targetId, current, builds }], {}, now)
 */
export async function writeFindingSets(on: Executor, sets: readonly TargetFindingSet[], scope: FindingScope, now: string): Promise<Map<string, FindingCounts>> {
  const ex = kx(on);
  const counts = new Map<string, FindingCounts>();
  for (const s of sets) counts.set(s.targetId, { opened: 0, kept: 0, reopened: 0, closed: 0 });
  if (sets.length === 0) return counts;
  const existing = await existingRows(on, [...counts.keys()], scope);
  const byTarget = new Map<string, Map<string, Existing>>();
  for (const r of existing) {
    let m = byTarget.get(r.target_id);
    if (m === undefined) byTarget.set(r.target_id, (m = new Map<string, Existing>()));
    m.set(identity(r.advisory_pk, r.package, r.arch), r);
  }
  const inserts: Insertable<FindingsTable>[] = [];
  const upserts: Insertable<FindingsTable>[] = [];
  const seenOnly: number[] = [];
  const absent: { row: Existing; present: Set<string> }[] = [];
  const nowMs = Date.parse(now);
  // Findings that do not say their source package take it from the target's inventory.
  const lookedUp = await sourcePackagesOf(
    ex,
    sets.flatMap((s) => s.current.filter((f) => f.sourcePackage === undefined).map((f) => ({ targetId: s.targetId, package: f.package }))),
  );
  for (const s of sets) {
    const c = counts.get(s.targetId) as FindingCounts;
    const old = byTarget.get(s.targetId) ?? new Map<string, Existing>();
    const done = new Set<string>();
    for (const f of s.current) {
      const id = identity(f.advisoryPk, f.package, f.arch);
      // The same identity twice: the first one stands, as for stored findings.
      if (done.has(id)) continue;
      done.add(id);
      const o = old.get(id);
      const row: Insertable<FindingsTable> & { status: string; reason: string | null } = {
        target_id: s.targetId,
        advisory_pk: f.advisoryPk,
        package: f.package,
        arch: f.arch,
        installed: f.installed,
        fixed: f.fixed,
        severity: f.severity,
        severity_rank: severityRank(f.severity),
        status: f.status,
        reason: f.reason ?? null,
        first_seen_at: now,
        last_seen_at: now,
        closed_at: null,
        closed_from: null,
        source_package: f.sourcePackage ?? lookedUp.get(`${s.targetId}\u0000${f.package}`) ?? f.package,
      };
      if (o === undefined) {
        inserts.push(row);
        c.opened++;
        continue;
      }
      // A finding closed by an update, or by its advisory's withdrawal, is affected again.
      if (o.status === 'fixed' || o.status === 'withdrawn') c.reopened++;
      else c.kept++;
      // An operator's acceptance stands while it has not expired, across a withdrawal of the
      // advisory and its return too (its reason stayed in `reason`); an update ends it.
      const accepted =
        (o.status === 'accepted' || (o.status === 'withdrawn' && o.closed_from === 'accepted')) &&
        (o.accepted_until === null || Date.parse(o.accepted_until) > nowMs);
      if (accepted) {
        row.status = 'accepted';
        row.reason = o.reason;
      }
      const same =
        o.installed === row.installed &&
        o.fixed === row.fixed &&
        o.severity === row.severity &&
        o.status === row.status &&
        o.reason === row.reason &&
        o.closed_at === null &&
        o.closed_from === null &&
        o.source_package === row.source_package;
      if (same) seenOnly.push(o.pk);
      else upserts.push(row);
    }
    let present: Set<string> | undefined;
    for (const [id, o] of old) {
      if (done.has(id)) continue;
      present ??= new Set(s.builds.map((b) => `${b.package}\u0000${b.arch}\u0000${b.installed}`));
      absent.push({ row: o, present });
    }
  }
  await insertFindingRows(on, inserts);
  await upsertFindingRows(on, upserts);
  for (const c of chunks(seenOnly, 1, 5000)) {
    const st = directStatement(on, `update "findings" set "last_seen_at" = ? where "pk" in (${marks(c.length)})`);
    if (st !== null) st.run(now, ...c);
    else await ex.updateTable('findings').set({ last_seen_at: now }).where('pk', 'in', c).execute();
  }
  // Absent now. A report's "fixed" claims the host changed: only a finding whose build is gone
  // (updated, removed, or a kernel no longer running) closes as `fixed`. One whose build is
  // still there disappeared because the feed changed — the advisory withdrawn, left without any
  // fix, the package dropped from it, or its fix moved to a version at or below the installed
  // one — and closes as `withdrawn`. A withdrawn advisory or one without any fix closes its
  // findings as `withdrawn` even if the host changed too: the feed no longer says whether the
  // update fixed anything. A withdrawn finding whose advisory is back but no longer matches was
  // fixed meanwhile only if its build is gone.
  const states =
    absent.length === 0
      ? new Map<number, { withdrawn: boolean; hasFix: boolean }>()
      : await advisoryStates(
          ex,
          absent.map((a) => a.row.advisory_pk),
        );
  const toWithdraw: number[] = [];
  const toFix: number[] = [];
  for (const { row: r, present } of absent) {
    const st = states.get(r.advisory_pk) ?? { withdrawn: true, hasFix: false };
    const active = r.status !== 'fixed' && r.status !== 'withdrawn';
    const hostChanged = !present.has(`${r.package}\u0000${r.arch}\u0000${r.installed}`);
    // A release's end of support (package "(release)", services/scan.ts) is an advisory that never
    // has fixes, so having none says nothing about its feed: it is fixed when the release changed.
    const fixed = (r.package === '(release)' ? !st.withdrawn : !st.withdrawn && st.hasFix) && hostChanged;
    if (!fixed && active) toWithdraw.push(r.pk);
    if (fixed && r.status !== 'fixed') toFix.push(r.pk);
    if (active) (counts.get(r.target_id) as FindingCounts).closed++;
  }
  // The status before (an operator's `accepted`) is kept: the advisory's return restores it.
  for (const c of chunks(toWithdraw, 1, 5000))
    await ex
      .updateTable('findings')
      .set((eb) => ({ closed_from: eb.ref('status'), status: 'withdrawn', closed_at: now }))
      .where('pk', 'in', c)
      .execute();
  for (const c of chunks(toFix, 1, 5000)) await ex.updateTable('findings').set({ status: 'fixed', closed_at: now }).where('pk', 'in', c).execute();
  return counts;
}

/**
 * Records the complete current set of findings of one target (see writeFindingSets): call
 * inside a transaction, with every match of the target (not a subset) and every build the
 * matcher judged.
 * @example await recordFindings(tx, target.id, findings, builds, now)
 */
export async function recordFindings(
  on: Executor,
  targetId: string,
  current: readonly FindingInput[],
  builds: readonly InstalledBuild[],
  now: string,
): Promise<FindingCounts> {
  const pks = await advisoryPksOf(
    on,
    current.map((f) => ({ source: f.advisorySource, id: f.advisoryId })),
  );
  const resolved = current.map((f) => {
    const apk = pks.get(`${f.advisorySource}\u0000${f.advisoryId}`);
    if (apk === undefined) throw new BulwarkError('storage.not-found', `finding names advisory ${f.advisorySource}/${f.advisoryId}, which is not stored`);
    return { ...f, advisoryPk: apk };
  });
  const counts = await writeFindingSets(on, [{ targetId, current: resolved, builds }], {}, now);
  return counts.get(targetId) ?? { opened: 0, kept: 0, reopened: 0, closed: 0 };
}
