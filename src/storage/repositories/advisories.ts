import { sql } from 'kysely';
import type { Advisory, AdvisoryKind, Fix, FixStatus, Reference, Severity } from '../../core/advisory.js';
import type { OvalCriteria } from '../../core/oval.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import { fingerprint } from '../fingerprint.js';
import type { AdvisoryRow } from '../schema.js';

export interface UpsertCounts {
  added: number;
  changed: number;
  unchanged: number;
  /** Withdrawn advisories that appeared again. */
  restored: number;
}

export type AdvisoryEventKind = 'added' | 'changed' | 'withdrawn' | 'restored';

export interface AdvisoryEvent {
  source: string;
  advisoryId: string;
  at: string;
  kind: AdvisoryEventKind;
  detail: Record<string, unknown>;
}

type Columns = Omit<AdvisoryRow, 'pk' | 'first_seen_at' | 'withdrawn_at'>;

function columns(a: Advisory, fp: string, now: string): Columns {
  return {
    source: a.source,
    advisory_id: a.id,
    title: a.title,
    description: a.description,
    severity: a.severity,
    cvss_score: a.cvssScore,
    cvss_vector: a.cvssVector,
    published_at: a.publishedAt,
    updated_at: a.updatedAt,
    parser: a.parser,
    kind: a.kind ?? 'security',
    oval: a.oval === undefined ? null : JSON.stringify(a.oval),
    fingerprint: fp,
    last_changed_at: now,
  };
}

// The fields whose change an operator wants to see named in the history.
const WATCHED = ['title', 'severity', 'cvss_score', 'cvss_vector', 'updated_at', 'kind'] as const;

/** Inserts the CVEs, references and fixes of many advisories with multi-row statements. */
async function insertChildren(on: Executor, items: readonly { pk: number; a: Advisory }[]): Promise<void> {
  const ex = kx(on);
  const cves = items.flatMap(({ pk, a }) => [...new Set(a.cves)].map((cve) => ({ advisory_pk: pk, cve })));
  for (const c of chunks(cves, 2)) await ex.insertInto('advisory_cves').values(c).execute();
  const refs = items.flatMap(({ pk, a }) => a.references.map((r, seq) => ({ advisory_pk: pk, seq, type: r.type, ref_id: r.id, url: r.url })));
  for (const c of chunks(refs, 5)) await ex.insertInto('advisory_references').values(c).execute();
  const fixes = items.flatMap(({ pk, a }) =>
    a.fixes.map((f, seq) => ({
      advisory_pk: pk,
      seq,
      release_id: f.release,
      package: f.package,
      package_kind: f.packageKind,
      arch: f.arch,
      status: f.status,
      fixed: f.fixed,
      last_affected: f.lastAffected,
      introduced: f.introduced?.version ?? null,
      introduced_inclusive: f.introduced === null || f.introduced.inclusive ? 1 : 0,
      module: f.module ?? null,
      reboot_suggested: f.rebootSuggested === undefined ? null : f.rebootSuggested ? 1 : 0,
      epoch_unreliable: f.epochUnreliable === true ? 1 : 0,
    })),
  );
  for (const c of chunks(fixes, 14)) await ex.insertInto('fixes').values(c).execute();
}

async function deleteChildren(on: Executor, pks: readonly number[]): Promise<void> {
  const ex = kx(on);
  for (const c of chunks(pks, 1, 5000)) {
    await ex.deleteFrom('advisory_cves').where('advisory_pk', 'in', c).execute();
    await ex.deleteFrom('advisory_references').where('advisory_pk', 'in', c).execute();
    await ex.deleteFrom('fixes').where('advisory_pk', 'in', c).execute();
  }
}

/** One fix as a short line for change history: `azurelinux:3.0 golang fixed <1.20.7-1.azl3`. */
function fixLine(f: { release_id: string; package: string; arch: string | null; status: string; fixed: string | null; last_affected: string | null; introduced: string | null; module: string | null }): string {
  const range = [f.introduced === null ? '' : `>${f.introduced}`, f.fixed === null ? '' : `<${f.fixed}`, f.last_affected === null ? '' : `<=${f.last_affected}`].filter((x) => x !== '').join(' ');
  return `${f.release_id} ${f.package}${f.arch === null ? '' : `.${f.arch}`}${f.module === null ? '' : ` [${f.module}]`} ${f.status}${range === '' ? '' : ` ${range}`}`;
}

/** Adds `fixes: { added, removed }` to each rewritten advisory's `changed` event when its fixes changed. */
async function describeFixChanges(on: Executor, rewritten: readonly { pk: number; a: Advisory }[], events: PendingEvent[]): Promise<void> {
  const ex = kx(on);
  const before = new Map<number, Set<string>>();
  for (const c of chunks(
    rewritten.map((r) => r.pk),
    1,
    5000,
  )) {
    const rows = await ex.selectFrom('fixes').select(['advisory_pk', 'release_id', 'package', 'arch', 'status', 'fixed', 'last_affected', 'introduced', 'module']).where('advisory_pk', 'in', c).execute();
    for (const r of rows) {
      let set = before.get(r.advisory_pk);
      if (set === undefined) before.set(r.advisory_pk, (set = new Set()));
      set.add(fixLine(r));
    }
  }
  for (const { pk, a } of rewritten) {
    const old = before.get(pk) ?? new Set<string>();
    const now = new Set(
      a.fixes.map((f) =>
        fixLine({ release_id: f.release, package: f.package, arch: f.arch, status: f.status, fixed: f.fixed, last_affected: f.lastAffected, introduced: f.introduced?.version ?? null, module: f.module ?? null }),
      ),
    );
    const added = [...now].filter((x) => !old.has(x));
    const removed = [...old].filter((x) => !now.has(x));
    if (added.length === 0 && removed.length === 0) continue;
    const ev = events.find((e) => e.pk === pk && e.kind === 'changed');
    if (ev === undefined) continue;
    if (ev.detail['content'] !== undefined) delete ev.detail['content'];
    ev.detail['fixes'] = { added: added.slice(0, 50), removed: removed.slice(0, 50) };
  }
}

interface PendingEvent {
  pk: number;
  kind: AdvisoryEventKind;
  detail: Record<string, unknown>;
}

async function addEvents(on: Executor, at: string, events: readonly PendingEvent[]): Promise<void> {
  const ex = kx(on);
  const rows = events.map((e) => ({ advisory_pk: e.pk, at, kind: e.kind, detail: JSON.stringify(e.detail) }));
  for (const c of chunks(rows, 4)) await ex.insertInto('advisory_events').values(c).execute();
}

/**
 * Stores advisories: new ones are added, changed ones (by content fingerprint) are rewritten
 * with a `changed` event naming what changed (severity from → to …), unchanged ones are not
 * touched, and withdrawn ones that reappear are restored. Works in multi-row statements per
 * batch (a fresh feed of thousands of advisories is a few dozen statements). Call inside a
 * transaction.
 *
 * @example await transaction(db, (tx) => upsertAdvisories(tx, parsed, new Date().toISOString()))
 */
export async function upsertAdvisories(on: Executor, advisories: readonly Advisory[], now: string): Promise<UpsertCounts> {
  const ex = kx(on);
  const counts: UpsertCounts = { added: 0, changed: 0, unchanged: 0, restored: 0 };
  // Later duplicates of the same (source, id) win, as a feed's last word does.
  const unique = new Map<string, Advisory>();
  for (const a of advisories) unique.set(`${a.source}\u0000${a.id}`, a);
  const bySource = new Map<string, Advisory[]>();
  for (const a of unique.values()) {
    let list = bySource.get(a.source);
    if (!list) bySource.set(a.source, (list = []));
    list.push(a);
  }
  for (const [source, list] of bySource) {
    for (const batch of chunks(list, 1, 5000)) {
      const existing = new Map<string, AdvisoryRow>();
      const rows = await ex
        .selectFrom('advisories')
        .selectAll()
        .where('source', '=', source)
        .where(
          'advisory_id',
          'in',
          batch.map((a) => a.id),
        )
        .execute();
      for (const r of rows) existing.set(r.advisory_id, r);
      const fresh: { a: Advisory; cols: Columns }[] = [];
      const rewritten: { pk: number; a: Advisory }[] = [];
      const events: PendingEvent[] = [];
      const restoredPks: number[] = [];
      for (const a of batch) {
        const fp = fingerprint(a);
        const old = existing.get(a.id);
        if (old === undefined) {
          fresh.push({ a, cols: columns(a, fp, now) });
          continue;
        }
        const wasWithdrawn = old.withdrawn_at !== null;
        if (old.fingerprint === fp) {
          if (wasWithdrawn) {
            restoredPks.push(old.pk);
            events.push({ pk: old.pk, kind: 'restored', detail: {} });
            counts.restored++;
          } else {
            counts.unchanged++;
          }
          continue;
        }
        const next = columns(a, fp, now);
        const detail: Record<string, unknown> = {};
        for (const k of WATCHED) if (old[k] !== next[k]) detail[k] = [old[k], next[k]];
        if (Object.keys(detail).length === 0) detail['content'] = 'fixes, CVEs, references or text';
        await ex
          .updateTable('advisories')
          .set({ ...next, withdrawn_at: null })
          .where('pk', '=', old.pk)
          .execute();
        rewritten.push({ pk: old.pk, a });
        if (wasWithdrawn) {
          events.push({ pk: old.pk, kind: 'restored', detail: {} });
          counts.restored++;
        }
        events.push({ pk: old.pk, kind: 'changed', detail });
        counts.changed++;
      }
      for (const c of chunks(restoredPks, 1, 5000)) await ex.updateTable('advisories').set({ withdrawn_at: null }).where('pk', 'in', c).execute();
      await describeFixChanges(ex, rewritten, events);
      await deleteChildren(
        ex,
        rewritten.map((r) => r.pk),
      );
      const inserted = await insertAdvisoryRows(ex, fresh, now, null);
      for (const { pk, a } of inserted) events.push({ pk, kind: 'added', detail: { severity: a.severity } });
      counts.added += inserted.length;
      await insertChildren(ex, [...inserted, ...rewritten]);
      await addEvents(ex, now, events);
    }
  }
  return counts;
}

/**
 * Marks every advisory of `source` that is not in `present` as withdrawn (it disappeared from
 * the feed); it stays stored, with a `withdrawn` event, and stops producing findings.
 * Returns how many were withdrawn now.
 */
export async function markWithdrawn(on: Executor, source: string, present: ReadonlySet<string>, now: string): Promise<number> {
  const ex = kx(on);
  const live = await ex.selectFrom('advisories').select(['pk', 'advisory_id']).where('source', '=', source).where('withdrawn_at', 'is', null).execute();
  const gone = live.filter((r) => !present.has(r.advisory_id));
  for (const c of chunks(gone, 1, 5000)) {
    await ex
      .updateTable('advisories')
      .set({ withdrawn_at: now })
      .where(
        'pk',
        'in',
        c.map((r) => r.pk),
      )
      .execute();
    await ex
      .insertInto('advisory_events')
      .values(c.map((r) => ({ advisory_pk: r.pk, at: now, kind: 'withdrawn', detail: '{}' })))
      .execute();
  }
  return gone.length;
}

export interface AdvisoryFilter {
  /** Only advisories with a fix for this release; and only that release's fixes are returned. */
  release?: string;
  /** Only fixes naming one of these packages (source or binary names). */
  packages?: readonly string[];
  source?: string;
  /** Include withdrawn advisories (default: no). */
  withdrawn?: boolean;
  /** Only advisories naming this CVE. */
  cve?: string;
  /** At most this many advisories (newest first when set). */
  limit?: number;
}

/**
 * Loads advisories with their CVEs, references and fixes.
 * @example await loadAdvisories(db, { release: 'azurelinux:3.0', packages: ['openssl'] })
 */
export async function loadAdvisories(on: Executor, filter: AdvisoryFilter = {}): Promise<Advisory[]> {
  const ex = kx(on);
  const { release, packages } = filter;
  if (packages?.length === 0) return [];
  const select = (names: readonly string[] | undefined) => {
    let q = ex.selectFrom('advisories').selectAll('advisories');
    if (filter.source !== undefined) q = q.where('advisories.source', '=', filter.source);
    if (filter.withdrawn !== true) q = q.where('advisories.withdrawn_at', 'is', null);
    // A sync's staged advisories (withdrawn, under a source with a `/`) are nobody's to read.
    else if (filter.source === undefined) q = q.where('advisories.source', 'not like', '%/%');
    if (release !== undefined || names !== undefined) {
      q = q.where('advisories.pk', 'in', (sub) => {
        let s = sub.selectFrom('fixes').select('fixes.advisory_pk');
        if (release !== undefined) s = s.where('fixes.release_id', '=', release);
        if (names !== undefined) s = s.where('fixes.package', 'in', [...names]);
        return s;
      });
    }
    if (filter.cve !== undefined) {
      const cve = filter.cve;
      q = q.where('advisories.pk', 'in', (sub) => sub.selectFrom('advisory_cves').select('advisory_cves.advisory_pk').where('advisory_cves.cve', '=', cve));
    }
    return filter.limit === undefined ? q.orderBy('advisories.pk').execute() : q.orderBy('advisories.pk', 'desc').limit(filter.limit).execute();
  };
  if (packages === undefined) return hydrate(ex, await select(undefined), filter);
  // The names of a host's packages (100,000 on a large one) are asked for in batches: one
  // statement binds at most 32,766 parameters on SQLite and 65,535 on PostgreSQL. An advisory
  // naming packages of two batches is found twice and kept once.
  const byPk = new Map<number, AdvisoryRow>();
  for (const c of chunks([...new Set(packages)], 1, 5000)) for (const r of await select(c)) byPk.set(r.pk, r);
  let rows = [...byPk.values()].sort((a, b) => (filter.limit === undefined ? a.pk - b.pk : b.pk - a.pk));
  if (filter.limit !== undefined) rows = rows.slice(0, filter.limit);
  return hydrate(ex, rows, filter);
}

async function hydrate(on: Executor, rows: AdvisoryRow[], filter: AdvisoryFilter): Promise<Advisory[]> {
  const ex = kx(on);
  const byPk = new Map<number, Advisory>();
  for (const r of rows) {
    const a: Advisory = {
      source: r.source,
      id: r.advisory_id,
      title: r.title,
      description: r.description,
      severity: r.severity as Severity,
      cvssScore: r.cvss_score,
      cvssVector: r.cvss_vector,
      cves: [],
      references: [],
      publishedAt: r.published_at,
      updatedAt: r.updated_at,
      parser: r.parser,
      fixes: [],
    };
    if (r.kind !== 'security') a.kind = r.kind as AdvisoryKind;
    if (r.oval !== null) a.oval = JSON.parse(r.oval) as OvalCriteria;
    byPk.set(r.pk, a);
  }
  for (const c of chunks([...byPk.keys()], 1, 5000)) {
    const cves = await ex.selectFrom('advisory_cves').selectAll().where('advisory_pk', 'in', c).orderBy('advisory_pk').orderBy('cve').execute();
    for (const r of cves) byPk.get(r.advisory_pk)?.cves.push(r.cve);
    const refs = await ex.selectFrom('advisory_references').selectAll().where('advisory_pk', 'in', c).orderBy('advisory_pk').orderBy('seq').execute();
    for (const r of refs) byPk.get(r.advisory_pk)?.references.push({ type: r.type as Reference['type'], id: r.ref_id, url: r.url });
    let fq = ex.selectFrom('fixes').selectAll().where('advisory_pk', 'in', c);
    if (filter.release !== undefined) fq = fq.where('release_id', '=', filter.release);
    const fixes = await fq.orderBy('advisory_pk').orderBy('seq').execute();
    for (const r of fixes) {
      const fix: Fix = {
        release: r.release_id,
        package: r.package,
        packageKind: r.package_kind as Fix['packageKind'],
        arch: r.arch,
        status: r.status as FixStatus,
        fixed: r.fixed,
        lastAffected: r.last_affected,
        introduced: r.introduced === null ? null : { version: r.introduced, inclusive: r.introduced_inclusive === 1 },
      };
      if (r.module !== null) fix.module = r.module;
      if (r.reboot_suggested !== null) fix.rebootSuggested = r.reboot_suggested === 1;
      if (r.epoch_unreliable === 1) fix.epochUnreliable = true;
      byPk.get(r.advisory_pk)?.fixes.push(fix);
    }
  }
  return [...byPk.values()];
}

/** One advisory by its identity, or null. Includes a withdrawn one. */
export async function getAdvisory(on: Executor, source: string, id: string): Promise<(Advisory & { withdrawnAt: string | null }) | null> {
  const ex = kx(on);
  const row = await ex.selectFrom('advisories').selectAll().where('source', '=', source).where('advisory_id', '=', id).executeTakeFirst();
  if (!row) return null;
  const [a] = await hydrate(ex, [row], {});
  return a ? { ...a, withdrawnAt: row.withdrawn_at } : null;
}

/** The change history of one source (or one advisory), oldest first. */
export async function listAdvisoryEvents(on: Executor, source: string, id?: string): Promise<AdvisoryEvent[]> {
  const ex = kx(on);
  let q = ex
    .selectFrom('advisory_events')
    .innerJoin('advisories', 'advisories.pk', 'advisory_events.advisory_pk')
    .select(['advisories.source', 'advisories.advisory_id', 'advisory_events.at', 'advisory_events.kind', 'advisory_events.detail'])
    .where('advisories.source', '=', source);
  if (id !== undefined) q = q.where('advisories.advisory_id', '=', id);
  const rows = await q.orderBy('advisory_events.pk').execute();
  return rows.map((r) => ({ source: r.source, advisoryId: r.advisory_id, at: r.at, kind: r.kind as AdvisoryEventKind, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}

/**
 * The (release, package) pairs named by advisories of `source` that changed at `at` (added,
 * changed, withdrawn or restored by one sync): what targets must be re-evaluated. Only releases
 * some target runs are looked at: a sync of a feed no host is about (a first AlmaLinux sync in
 * an Azure Linux fleet) costs nothing here, instead of one long statement over every fix.
 */
export async function packagesTouchedAt(on: Executor, source: string, at: string): Promise<{ release: string; package: string }[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('fixes')
    .innerJoin('advisory_events', 'advisory_events.advisory_pk', 'fixes.advisory_pk')
    .innerJoin('advisories', 'advisories.pk', 'fixes.advisory_pk')
    .select(['fixes.release_id', 'fixes.package'])
    .distinct()
    .where('advisories.source', '=', source)
    .where('advisory_events.at', '=', at)
    .where('fixes.release_id', 'in', (sub) => sub.selectFrom('targets').select('targets.release_id').distinct().where('targets.release_id', 'is not', null).$narrowType<{ release_id: string }>())
    .execute();
  return rows.map((r) => ({ release: r.release_id, package: r.package }));
}

/**
 * The targets with a finding on an advisory of `source` that changed at `at`: a change that
 * drops a package (or every fix) no longer names what those targets hold, so `packagesTouchedAt`
 * alone would leave their findings open against a statement the feed no longer makes.
 */
export async function targetsWithFindingsTouchedAt(on: Executor, source: string, at: string): Promise<string[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('findings')
    .innerJoin('advisory_events', 'advisory_events.advisory_pk', 'findings.advisory_pk')
    .innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk')
    .select('findings.target_id')
    .distinct()
    .where('advisories.source', '=', source)
    .where('advisory_events.at', '=', at)
    .execute();
  return rows.map((r) => r.target_id).sort();
}

/**
 * A sync's staging area: the source name its new advisories are written under until the sync
 * is published. `/` cannot appear in a source id, so no real source is ever named like this.
 */
export function stagingSource(source: string, syncId: string): string {
  return `${source}/staging/${syncId}`;
}

export interface StageCounts {
  /** New advisories written (hidden) under the staging source. */
  staged: number;
  /** Advisories stored, live and identical: nothing to do. */
  unchanged: number;
  /** Stored advisories that changed or come back from withdrawal: applied when the sync is published. */
  pending: Advisory[];
}

/**
 * Writes the advisories of `source` that are not stored yet under `staging` (see
 * `stagingSource`), withdrawn, so that no reader sees them: a long sync writes its bulk this
 * way in short transactions, and `publishStaged` makes it live in one short one. Stored
 * advisories are only compared here: the changed ones are returned to be upserted at publish.
 * Call in a transaction per batch.
 */
export async function stageAdvisories(on: Executor, source: string, staging: string, advisories: readonly Advisory[], now: string): Promise<StageCounts> {
  const ex = kx(on);
  const counts: StageCounts = { staged: 0, unchanged: 0, pending: [] };
  for (const batch of chunks(advisories, 1, 5000)) {
    const rows = await ex
      .selectFrom('advisories')
      .select(['advisory_id', 'fingerprint', 'withdrawn_at'])
      .where('source', '=', source)
      .where(
        'advisory_id',
        'in',
        batch.map((a) => a.id),
      )
      .execute();
    const existing = new Map(rows.map((r) => [r.advisory_id, r]));
    const fresh: { a: Advisory; cols: Columns }[] = [];
    for (const a of batch) {
      const fp = fingerprint(a);
      const old = existing.get(a.id);
      if (old === undefined) fresh.push({ a, cols: { ...columns(a, fp, now), source: staging } });
      else if (old.fingerprint === fp && old.withdrawn_at === null) counts.unchanged++;
      else counts.pending.push(a);
    }
    const inserted = await insertAdvisoryRows(ex, fresh, now, now);
    await insertChildren(ex, inserted);
    counts.staged += inserted.length;
  }
  return counts;
}

/**
 * Makes a sync's staged advisories live under `source`, each with its `added` event: two
 * statements, whatever the number. Call in the sync's final transaction.
 */
export async function publishStaged(on: Executor, staging: string, source: string, now: string): Promise<number> {
  const ex = kx(on);
  await ex
    .insertInto('advisory_events')
    .columns(['advisory_pk', 'at', 'kind', 'detail'])
    .expression((eb) =>
      eb
        .selectFrom('advisories')
        .select(['pk', sql<string>`${now}`.as('at'), sql<string>`'added'`.as('kind'), sql<string>`'{"severity":"' || severity || '"}'`.as('detail')])
        .where('source', '=', staging),
    )
    .execute();
  const r = await ex.updateTable('advisories').set({ source, withdrawn_at: null, first_seen_at: now, last_changed_at: now }).where('source', '=', staging).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Removes a staging area (a failed or refused sync's, or one a killed process left behind). */
export async function discardStaged(on: Executor, staging: string): Promise<void> {
  const ex = kx(on);
  await ex.deleteFrom('advisories').where('source', '=', staging).execute();
}

/** Staging areas of `source` begun before `before`: left behind by a process that died mid-sync. */
export async function staleStagingSources(on: Executor, source: string, before: string): Promise<string[]> {
  const ex = kx(on);
  const prefix = stagingSource(source, '');
  // `_` in a source id is a LIKE wildcard: the prefix is checked again below.
  const rows = await ex.selectFrom('advisories').select('source').distinct().where('source', 'like', `${prefix}%`).where('first_seen_at', '<', before).execute();
  return rows.map((r) => r.source).filter((s) => s.startsWith(prefix));
}

/** The ids of the live (not withdrawn) advisories of a source. */
export async function liveAdvisoryIds(on: Executor, source: string): Promise<string[]> {
  const ex = kx(on);
  return (await ex.selectFrom('advisories').select('advisory_id').where('source', '=', source).where('withdrawn_at', 'is', null).execute()).map((r) => r.advisory_id);
}

/**
 * How many advisories of a source were withdrawn after `since` and are still withdrawn: what
 * the syncs since then have taken away, for the withdraw guard (several small withdrawals add up).
 */
export async function countWithdrawnSince(on: Executor, source: string, since: string): Promise<number> {
  const ex = kx(on);
  const r = await ex.selectFrom('advisories').select((eb) => eb.fn.countAll<string | number>().as('n')).where('source', '=', source).where('withdrawn_at', '>', since).executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** The ids of the live advisories of a source that have at least one fix (what a match can come from). */
export async function liveAdvisoryIdsWithFixes(on: Executor, source: string): Promise<string[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('advisories')
    .select('advisory_id')
    .where('source', '=', source)
    .where('withdrawn_at', 'is', null)
    .where((eb) => eb.exists(eb.selectFrom('fixes').select('fixes.advisory_pk').whereRef('fixes.advisory_pk', '=', 'advisories.pk')))
    .execute();
  return rows.map((r) => r.advisory_id);
}

/** The releases the live advisories of a source have fixes for (what the source is about so far). */
export async function releasesOfSource(on: Executor, source: string): Promise<string[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('fixes')
    .innerJoin('advisories', 'advisories.pk', 'fixes.advisory_pk')
    .select('fixes.release_id')
    .distinct()
    .where('advisories.source', '=', source)
    .where('advisories.withdrawn_at', 'is', null)
    .execute();
  return rows.map((r) => r.release_id).sort();
}

/**
 * Inserts advisory rows 16 to a statement and returns each with its new pk: the live upsert
 * (`withdrawnAt` null) and a sync's staging (withdrawn until published) share it.
 */
async function insertAdvisoryRows(on: Executor, fresh: readonly { a: Advisory; cols: Columns }[], now: string, withdrawnAt: string | null): Promise<{ pk: number; a: Advisory }[]> {
  const ex = kx(on);
  const inserted: { pk: number; a: Advisory }[] = [];
  for (const c of chunks(fresh, 16)) {
    const pks = await ex
      .insertInto('advisories')
      .values(c.map((x) => ({ ...x.cols, first_seen_at: now, withdrawn_at: withdrawnAt })))
      .returning(['pk', 'advisory_id'])
      .execute();
    const byId = new Map(pks.map((r) => [r.advisory_id, r.pk]));
    for (const x of c) {
      const pk = byId.get(x.a.id);
      if (pk === undefined) throw new Error(`storage: no pk returned for advisory ${x.a.id}`);
      inserted.push({ pk, a: x.a });
    }
  }
  return inserted;
}
