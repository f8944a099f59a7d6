import type { Advisory, AdvisoryKind, Fix, FixStatus, Reference, Severity } from '../../core/advisory.js';
import type { OvalCriteria } from '../../core/oval.js';
import { BulwarkError } from '../../core/errors.js';
import { chunks } from '../chunk.js';
import { kx, sqliteOf, type Executor } from '../database.js';
import type { Selectable } from 'kysely';
import type { AdvisoryCvesTable, AdvisoryReferencesTable, AdvisoryRow, FixesTable } from '../schema.js';
import { directStatement, marks } from '../sqlite-direct.js';
import type { AdvisoryEvent, AdvisoryEventKind } from './advisory-rows.js';

// Reading advisories: by filter with their fixes, one by id, change history, and what a source
// holds (live ids, ids with fixes, releases, recent withdrawals).

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
  /** Only these advisories, by row id (what one feed sync changed). */
  pks?: readonly number[];
}

/**
 * Loads advisories with their CVEs, references and fixes.
 * @example await loadAdvisories(db, { release: 'azurelinux:3.0', packages: ['openssl'] })
 */
export async function loadAdvisories(on: Executor, filter: AdvisoryFilter = {}): Promise<Advisory[]> {
  return (await loadAdvisoriesWithPks(on, filter)).map((a) => a.advisory);
}

/**
 * loadAdvisories, each with its row id (what findings refer to).
 * @example await loadAdvisoriesWithPks(db, { release: 'azurelinux:3.0', pks: [12, 13] })
 */
export async function loadAdvisoriesWithPks(on: Executor, filter: AdvisoryFilter = {}): Promise<{ pk: number; advisory: Advisory }[]> {
  if (filter.packages?.length === 0 || filter.pks?.length === 0) return [];
  if (filter.pks === undefined) return loadAdvisoriesWhere(on, filter, undefined);
  const { pks, ...rest } = filter;
  const out: { pk: number; advisory: Advisory }[] = [];
  for (const c of chunks(
    [...new Set(pks)].sort((a, b) => a - b),
    1,
    5000,
  ))
    out.push(...(await loadAdvisoriesWhere(on, rest, c)));
  return out;
}

async function loadAdvisoriesWhere(on: Executor, filter: AdvisoryFilter, pks: readonly number[] | undefined): Promise<{ pk: number; advisory: Advisory }[]> {
  const ex = kx(on);
  const { release, packages } = filter;
  if (packages?.length === 0) return [];
  const cached = pks === undefined ? await fromCache(on, filter) : null;
  if (cached !== null) return cached;
  // A scan of some names in a transaction on SQLite (an agent report's) is answered by fromCache.
  const select = (names: readonly string[] | undefined) => {
    let q = ex.selectFrom('advisories').selectAll('advisories');
    if (pks !== undefined) q = q.where('advisories.pk', 'in', [...pks]);
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
  if (packages === undefined) return hydrate(on, await select(undefined), filter);
  // The names of a host's packages (100,000 on a large one) are asked for in batches: one
  // statement binds at most 32,766 parameters on SQLite and 65,535 on PostgreSQL. An advisory
  // naming packages of two batches is found twice and kept once.
  const byPk = new Map<number, AdvisoryRow>();
  for (const c of chunks([...new Set(packages)], 1, 5000)) for (const r of await select(c)) byPk.set(r.pk, r);
  let rows = [...byPk.values()].sort((a, b) => (filter.limit === undefined ? a.pk - b.pk : b.pk - a.pk));
  if (filter.limit !== undefined) rows = rows.slice(0, filter.limit);
  return hydrate(on, rows, filter);
}

/**
 * Advisories as hydrate makes them for one release, kept by their row's pk, source and
 * fingerprint (issue #14): an agent report matches the few packages it changed, and read the same
 * advisories (descriptions, OVAL criteria as JSON, references, fixes) again for every report. The
 * fingerprint is the sha256 of the whole normalised advisory, its fixes, CVEs and references
 * included (advisory-staging.ts, advisories.ts), and every write of an advisory's children writes
 * its row's fingerprint, so a row with the same pk, source and fingerprint holds the same
 * advisory. Kept frozen (a caller that changed one would throw, not change it for the next).
 * Per database, for what a scan of a few names in a transaction asks on SQLite (the statements
 * sqlite-direct.ts keeps); bounded, forgotten wholesale when full.
 */
const hydrated = new WeakMap<object, Map<string, Advisory>>();
const MAX_HYDRATED = 20_000;

/** What loadAdvisoriesWhere answers for a release and some names in a transaction on SQLite, from hydrated advisories and those it hydrates; null for any other query. */
async function fromCache(on: Executor, filter: AdvisoryFilter): Promise<{ pk: number; advisory: Advisory }[] | null> {
  const { release, packages } = filter;
  const plain = filter.source === undefined && filter.withdrawn !== true && filter.cve === undefined && filter.limit === undefined;
  const sqlite = sqliteOf(on);
  if (!plain || release === undefined || packages === undefined || packages.length === 0 || sqlite === undefined) return null;
  // The names in batches (a statement binds at most 32,766 values on SQLite); an advisory naming
  // packages of two batches is found twice and kept once.
  const found = new Map<number, { pk: number; source: string; fingerprint: string }>();
  for (const names of chunks([...new Set(packages)], 1, 5000)) {
    const heads = directStatement(
      on,
      `select "pk", "source", "fingerprint" from "advisories" where "withdrawn_at" is null and "pk" in (select "advisory_pk" from "fixes" where "release_id" = ? and "package" in (${marks(names.length)}))`,
    );
    if (heads === null) return null;
    for (const r of heads.all(release, ...names) as { pk: number; source: string; fingerprint: string }[]) found.set(r.pk, r);
  }
  let kept = hydrated.get(sqlite);
  if (kept === undefined) hydrated.set(sqlite, (kept = new Map<string, Advisory>()));
  const rows = [...found.values()].sort((a, b) => a.pk - b.pk);
  const keyOf = (r: { pk: number; source: string; fingerprint: string }): string => `${release}\u0000${String(r.pk)}\u0000${r.source}\u0000${r.fingerprint}`;
  const missing = rows.filter((r) => !kept.has(keyOf(r)));
  if (missing.length > 0) {
    const full: AdvisoryRow[] = [];
    for (const c of chunks(missing, 1, 5000))
      full.push(
        ...(directStatement(on, `select * from "advisories" where "pk" in (${marks(c.length)}) order by "pk"`)?.all(...c.map((r) => r.pk)) as AdvisoryRow[]),
      );
    const made = await hydrate(on, full, filter);
    if (kept.size + made.length > MAX_HYDRATED) kept.clear();
    const byPk = new Map(missing.map((r) => [r.pk, r]));
    for (const { pk, advisory } of made) {
      const r = byPk.get(pk);
      // Read in the same transaction as the heads: the same row.
      if (r !== undefined) kept.set(keyOf(r), deepFreeze(advisory));
    }
  }
  return rows.map((r) => {
    const advisory = kept.get(keyOf(r));
    if (advisory === undefined) throw new BulwarkError('internal', `advisory ${String(r.pk)} was not hydrated`);
    return { pk: r.pk, advisory };
  });
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

type AdvisoryCveRow = Selectable<AdvisoryCvesTable>;
type AdvisoryReferenceRow = Selectable<AdvisoryReferencesTable>;
type FixRow = Selectable<FixesTable>;

async function hydrate(on: Executor, rows: AdvisoryRow[], filter: AdvisoryFilter): Promise<{ pk: number; advisory: Advisory }[]> {
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
    if (r.cvss_v4_score !== null && r.cvss_v4_vector !== null) a.cvssV4 = { vector: r.cvss_v4_vector, score: r.cvss_v4_score };
    if (r.kind !== 'security') a.kind = r.kind as AdvisoryKind;
    if (r.oval !== null) a.oval = JSON.parse(r.oval) as OvalCriteria;
    byPk.set(r.pk, a);
  }
  for (const c of chunks([...byPk.keys()], 1, 5000)) {
    // In a transaction on SQLite: kept statements (sqlite-direct.ts), the same SQL as the queries built beside them.
    const direct = (text: string, ...params: unknown[]): unknown[] | null => directStatement(on, text)?.all(...params) ?? null;
    const cves =
      (direct(`select * from "advisory_cves" where "advisory_pk" in (${marks(c.length)}) order by "advisory_pk", "cve"`, ...c) as AdvisoryCveRow[] | null) ??
      (await ex.selectFrom('advisory_cves').selectAll().where('advisory_pk', 'in', c).orderBy('advisory_pk').orderBy('cve').execute());
    for (const r of cves) byPk.get(r.advisory_pk)?.cves.push(r.cve);
    const refs =
      (direct(`select * from "advisory_references" where "advisory_pk" in (${marks(c.length)}) order by "advisory_pk", "seq"`, ...c) as
        AdvisoryReferenceRow[] | null) ??
      (await ex.selectFrom('advisory_references').selectAll().where('advisory_pk', 'in', c).orderBy('advisory_pk').orderBy('seq').execute());
    for (const r of refs) byPk.get(r.advisory_pk)?.references.push({ type: r.type as Reference['type'], id: r.ref_id, url: r.url });
    let fq = ex.selectFrom('fixes').selectAll().where('advisory_pk', 'in', c);
    if (filter.release !== undefined) fq = fq.where('release_id', '=', filter.release);
    const fixes =
      (direct(
        `select * from "fixes" where "advisory_pk" in (${marks(c.length)})${filter.release === undefined ? '' : ' and "release_id" = ?'} order by "advisory_pk", "seq"`,
        ...c,
        ...(filter.release === undefined ? [] : [filter.release]),
      ) as FixRow[] | null) ?? (await fq.orderBy('advisory_pk').orderBy('seq').execute());
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
      if (r.channel !== null) fix.channel = r.channel;
      if (r.reboot_suggested !== null) fix.rebootSuggested = r.reboot_suggested === 1;
      if (r.epoch_unreliable === 1) fix.epochUnreliable = true;
      byPk.get(r.advisory_pk)?.fixes.push(fix);
    }
  }
  return [...byPk.entries()].map(([pk, advisory]) => ({ pk, advisory }));
}

/** One advisory by its identity, or null. Includes a withdrawn one. */
export async function getAdvisory(on: Executor, source: string, id: string): Promise<(Advisory & { withdrawnAt: string | null }) | null> {
  const ex = kx(on);
  const row = await ex.selectFrom('advisories').selectAll().where('source', '=', source).where('advisory_id', '=', id).executeTakeFirst();
  if (!row) return null;
  const [h] = await hydrate(ex, [row], {});
  const a = h?.advisory;
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
  return rows.map((r) => ({
    source: r.source,
    advisoryId: r.advisory_id,
    at: r.at,
    kind: r.kind as AdvisoryEventKind,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  }));
}

/** The ids of the live (not withdrawn) advisories of a source. */
export async function liveAdvisoryIds(on: Executor, source: string): Promise<string[]> {
  const ex = kx(on);
  return (await ex.selectFrom('advisories').select('advisory_id').where('source', '=', source).where('withdrawn_at', 'is', null).execute()).map(
    (r) => r.advisory_id,
  );
}

/**
 * How many advisories of a source were withdrawn after `since` and are still withdrawn: what
 * the syncs since then have taken away, for the withdraw guard (several small withdrawals add up).
 */
export async function countWithdrawnSince(on: Executor, source: string, since: string): Promise<number> {
  const ex = kx(on);
  const r = await ex
    .selectFrom('advisories')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('source', '=', source)
    .where('withdrawn_at', '>', since)
    .executeTakeFirst();
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
