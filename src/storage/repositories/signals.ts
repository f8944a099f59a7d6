import type { EpssHeader, EpssScore, KevCatalog, KevEntry } from '../../core/signals.js';
import { CompiledQuery, PostgresAdapter, sql } from 'kysely';
import { chunks, inTextList } from '../chunk.js';
import { kx, type Executor, type Query } from '../database.js';

/**
 * Exploitation signals (issue #16): CISA KEV entries and FIRST EPSS scores with their history,
 * and what feed freshness needs from the store. Dates are YYYY-MM-DD text on both dialects.
 */

/** A KEV entry as stored: the catalog's fields, and when Bulwark saw it first and whether CISA dropped it. */
export interface StoredKevEntry extends KevEntry {
  catalogVersion: string;
  firstSeenAt: string;
  removedAt: string | null;
}

export interface SignalCounts {
  added: number;
  changed: number;
  unchanged: number;
  removed: number;
  restored: number;
}

function kevRow(e: KevEntry) {
  return {
    cve: e.cve,
    vendor_project: e.vendorProject,
    product: e.product,
    vulnerability_name: e.vulnerabilityName,
    date_added: e.dateAdded,
    short_description: e.shortDescription,
    required_action: e.requiredAction,
    due_date: e.dueDate,
    ransomware: e.ransomware ? 1 : 0,
    notes: e.notes,
    cwes: JSON.stringify(e.cwes),
  };
}

/**
 * Stores a whole KEV catalog: new entries added, changed ones updated (dueDate moved, ransomware
 * use learned), entries the catalog no longer lists marked removed (kept), returning ones restored.
 * @example await storeKevCatalog(tx, catalog, entries, now)
 */
export async function storeKevCatalog(on: Executor, catalog: KevCatalog, entries: readonly KevEntry[], now: string): Promise<SignalCounts> {
  const ex = kx(on);
  const old = new Map((await ex.selectFrom('kev_entries').selectAll().execute()).map((r) => [r.cve, r]));
  const counts: SignalCounts = { added: 0, changed: 0, unchanged: 0, removed: 0, restored: 0 };
  const fresh: ReturnType<typeof kevRow>[] = [];
  for (const e of entries) {
    const row = kevRow(e);
    const prev = old.get(e.cve);
    if (prev === undefined) {
      fresh.push(row);
      counts.added++;
      continue;
    }
    const same = (Object.keys(row) as (keyof typeof row)[]).every((k) => String(prev[k]) === String(row[k]));
    if (same && prev.removed_at === null) {
      counts.unchanged++;
      continue;
    }
    if (prev.removed_at !== null) counts.restored++;
    else counts.changed++;
    await ex
      .updateTable('kev_entries')
      .set({ ...row, catalog_version: catalog.catalogVersion, last_changed_at: now, removed_at: null })
      .where('cve', '=', e.cve)
      .execute();
  }
  for (const c of chunks(fresh, 15))
    await ex
      .insertInto('kev_entries')
      .values(c.map((r) => ({ ...r, catalog_version: catalog.catalogVersion, first_seen_at: now, last_changed_at: now, removed_at: null })))
      .execute();
  const listed = new Set(entries.map((e) => e.cve));
  const gone = [...old.values()].filter((r) => r.removed_at === null && !listed.has(r.cve)).map((r) => r.cve);
  for (const c of chunks(gone, 1, 5000)) await ex.updateTable('kev_entries').set({ removed_at: now, last_changed_at: now }).where('cve', 'in', c).execute();
  counts.removed = gone.length;
  return counts;
}

function toKev(r: {
  cve: string;
  vendor_project: string;
  product: string;
  vulnerability_name: string;
  date_added: string;
  short_description: string;
  required_action: string;
  due_date: string;
  ransomware: number;
  notes: string;
  cwes: string;
  catalog_version: string;
  first_seen_at: string;
  removed_at: string | null;
}): StoredKevEntry {
  return {
    cve: r.cve,
    vendorProject: r.vendor_project,
    product: r.product,
    vulnerabilityName: r.vulnerability_name,
    dateAdded: r.date_added,
    shortDescription: r.short_description,
    requiredAction: r.required_action,
    dueDate: r.due_date,
    ransomware: r.ransomware === 1,
    notes: r.notes,
    cwes: JSON.parse(r.cwes) as string[],
    catalogVersion: r.catalog_version,
    firstSeenAt: r.first_seen_at,
    removedAt: r.removed_at,
  };
}

/**
 * The KEV entries CISA lists now (not those it dropped), for the given CVEs or all of them.
 * @example (await kevEntries(db.kysely, ['CVE-2024-6387']))[0]?.dueDate
 */
export async function kevEntries(on: Executor, cves?: readonly string[]): Promise<StoredKevEntry[]> {
  const ex = kx(on);
  if (cves === undefined) return (await ex.selectFrom('kev_entries').selectAll().where('removed_at', 'is', null).orderBy('cve').execute()).map(toKev);
  if (cves.length === 0) return [];
  return (
    await ex
      .selectFrom('kev_entries')
      .selectAll()
      .where('removed_at', 'is', null)
      .where(inTextList(ex, 'kev_entries.cve', cves))
      .orderBy('cve')
      .execute()
  ).map(toKev);
}

/** The newest `dateAdded` among listed entries and how many are listed; null when KEV was never synced. */
export async function kevSummary(on: Executor): Promise<{ listed: number; newestAdded: string | null; ever: number }> {
  const ex = kx(on);
  const r = await ex
    .selectFrom('kev_entries')
    .select((eb) => [eb.fn.countAll<number | string>().as('ever'), eb.fn.max('date_added').as('newest')])
    .executeTakeFirst();
  const listed = await ex
    .selectFrom('kev_entries')
    .where('removed_at', 'is', null)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirst();
  return { listed: Number(listed?.n ?? 0), newestAdded: r?.newest ?? null, ever: Number(r?.ever ?? 0) };
}

export interface StoredEpssScore extends EpssScore {
  scoreDate: string;
  modelVersion: string;
}

/** A trend point is written when a score moves this much since the CVE's noted point. */
export const EPSS_HISTORY_STEP = 0.01;

/** Rows per INSERT into the file's temporary table on SQLite (3 parameters each, under SQLite's 32,766). */
const EPSS_FILL_ROWS = 2000;

/**
 * The day's file as a temporary table epss_in(cve, epss, percentile), on the transaction's own
 * connection: on SQLite multi-row INSERTs of one prepared text (compiled once, not by the query
 * builder: 300,000 rows through it cost seconds in building alone); on PostgreSQL one INSERT
 * from three arrays (unnest), 100,000 rows a statement.
 */
async function fillEpssInput(ex: Query, pg: boolean, rows: readonly EpssScore[]): Promise<void> {
  const real = pg ? 'double precision' : 'real';
  // No key on SQLite (it would double the cost of the fill): the rows are one per CVE already.
  await ex.executeQuery(
    CompiledQuery.raw(
      `create temp table epss_in (cve text${pg ? ' primary key' : ''}, epss ${real} not null, percentile ${real} not null)${pg ? ' on commit drop' : ''}`,
    ),
  );
  if (pg) {
    for (let i = 0; i < rows.length; i += 100_000) {
      const part = rows.slice(i, i + 100_000);
      await ex.executeQuery(
        CompiledQuery.raw('insert into epss_in select * from unnest($1::text[], $2::float8[], $3::float8[])', [
          part.map((r) => r.cve),
          part.map((r) => r.epss),
          part.map((r) => r.percentile),
        ]),
      );
    }
    return;
  }
  const text = (n: number): string => `insert into epss_in (cve, epss, percentile) values ${Array.from({ length: n }, () => '(?, ?, ?)').join(', ')}`;
  const full = text(EPSS_FILL_ROWS);
  const params: unknown[] = [];
  for (let i = 0; i < rows.length; i += EPSS_FILL_ROWS) {
    const n = Math.min(EPSS_FILL_ROWS, rows.length - i);
    params.length = 0;
    for (let j = i; j < i + n; j++) {
      const r = rows[j] as EpssScore;
      params.push(r.cve, r.epss, r.percentile);
    }
    await ex.executeQuery(CompiledQuery.raw(n === EPSS_FILL_ROWS ? full : text(n), [...params]));
  }
}

/**
 * Stores one day's EPSS file, all in SQL against the file as a temporary table (fillEpssInput):
 * 1. counted in one pass: scores new, moved (by EPSS_HISTORY_STEP or more since the CVE's noted
 *    point) and unchanged;
 * 2. a CVE whose score moved gets both points (the noted one and the new one) in epss_history;
 * 3. every CVE's current score is upserted (the row only when something in it differs); its noted
 *    point (the last point of its trend: its first score, or the last that moved) follows the
 *    score only when it moved;
 * 4. CVEs the file no longer scores lose their current score (not their trend).
 * `rows` has one row per CVE (the parser keeps a CVE's first). Runs in a transaction (its own
 * when `on` is none): the temporary table lives on its connection.
 * @example await storeEpssScores(tx, { modelVersion: 'v2025.03.14', scoreDate: '2026-12-01' }, rows)
 */
export async function storeEpssScores(on: Executor, header: EpssHeader, rows: readonly EpssScore[]): Promise<SignalCounts> {
  const ex = kx(on);
  if (!ex.isTransaction) return ex.transaction().execute((t) => storeEpssScores(t, header, rows));
  const pg = ex.getExecutor().adapter instanceof PostgresAdapter;
  const step = EPSS_HISTORY_STEP;
  const d = header.scoreDate;
  await fillEpssInput(ex, pg, rows);
  try {
    const count = async (): Promise<number> =>
      Number(
        (
          await ex
            .selectFrom('epss_scores')
            .select((eb) => eb.fn.countAll<number | string>().as('n'))
            .executeTakeFirst()
        )?.n ?? 0,
      );
    const before = await count();
    // Moved: both points into the trend (the noted one unless it is there, then the new one); the
    // second statement touches each moved CVE once, so its count is how many moved.
    const from = sql`from epss_in x join epss_scores s on s.cve = x.cve where abs(x.epss - s.noted_epss) >= ${step}`;
    await sql`insert into epss_history (cve, score_date, epss, percentile) select s.cve, s.noted_date, s.noted_epss, s.noted_percentile ${from} on conflict (cve, score_date) do nothing`.execute(
      ex,
    );
    const moved = Number(
      (
        await sql`insert into epss_history (cve, score_date, epss, percentile) select x.cve, ${d}, x.epss, x.percentile ${from} on conflict (cve, score_date) do update set epss = excluded.epss, percentile = excluded.percentile`.execute(
          ex,
        )
      ).numAffectedRows ?? 0n,
    );
    const noted = (col: string, value: string) =>
      sql.raw(`${col} = case when abs(excluded.epss - epss_scores.noted_epss) >= ${String(step)} then excluded.${value} else epss_scores.${col} end`);
    const set = sql`epss = excluded.epss, percentile = excluded.percentile, score_date = excluded.score_date, model_version = excluded.model_version, ${noted('noted_percentile', 'percentile')}, ${noted('noted_date', 'score_date')}, ${noted('noted_epss', 'epss')}`;
    // A row the file repeats exactly (the same file read again) is not rewritten.
    const differs = sql`epss_scores.epss <> excluded.epss or epss_scores.percentile <> excluded.percentile or epss_scores.score_date <> excluded.score_date or epss_scores.model_version <> excluded.model_version`;
    await sql`insert into epss_scores (cve, epss, percentile, score_date, model_version, noted_epss, noted_percentile, noted_date)
      select x.cve, x.epss, x.percentile, ${d}, ${header.modelVersion}, x.epss, x.percentile, ${d} from epss_in x where true
      on conflict (cve) do update set ${set} where ${differs}`.execute(ex);
    const added = (await count()) - before;
    // Scored by an earlier file and not by this one (a file of the same day, read again, keeps them).
    const gone = await ex.deleteFrom('epss_scores').where('score_date', '<>', d).executeTakeFirst();
    return { added, changed: moved, unchanged: rows.length - added - moved, removed: Number(gone.numDeletedRows), restored: 0 };
  } finally {
    // PostgreSQL drops it at commit; SQLite keeps it for the connection's life.
    if (!pg) await ex.executeQuery(CompiledQuery.raw('drop table temp.epss_in'));
  }
}

/**
 * The current EPSS scores of the given CVEs (or all).
 * @example (await epssScores(db.kysely, ['CVE-2024-6387']))[0]?.percentile
 */
export async function epssScores(on: Executor, cves?: readonly string[]): Promise<StoredEpssScore[]> {
  const ex = kx(on);
  let q = ex.selectFrom('epss_scores').select(['cve', 'epss', 'percentile', 'score_date', 'model_version']);
  if (cves !== undefined) {
    if (cves.length === 0) return [];
    q = q.where(inTextList(ex, 'epss_scores.cve', cves));
  }
  return (await q.execute()).map((r) => ({ cve: r.cve, epss: r.epss, percentile: r.percentile, scoreDate: r.score_date, modelVersion: r.model_version }));
}

/** A CVE's EPSS trend, oldest first: the points where its score moved, and its noted point. */
export async function epssHistory(on: Executor, cve: string): Promise<{ scoreDate: string; epss: number; percentile: number }[]> {
  const ex = kx(on);
  const rows = (await ex.selectFrom('epss_history').selectAll().where('cve', '=', cve).execute()).map((r) => ({
    scoreDate: r.score_date,
    epss: r.epss,
    percentile: r.percentile,
  }));
  const n = await ex.selectFrom('epss_scores').select(['noted_epss', 'noted_percentile', 'noted_date']).where('cve', '=', cve).executeTakeFirst();
  if (n !== undefined && !rows.some((r) => r.scoreDate === n.noted_date))
    rows.push({ scoreDate: n.noted_date, epss: n.noted_epss, percentile: n.noted_percentile });
  return rows.sort((a, b) => a.scoreDate.localeCompare(b.scoreDate));
}

/** How many CVEs carry a current EPSS score, and the newest score date; null date: never synced. */
export async function epssSummary(on: Executor): Promise<{ scored: number; scoreDate: string | null }> {
  const ex = kx(on);
  const r = await ex
    .selectFrom('epss_scores')
    .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.max('score_date').as('d')])
    .executeTakeFirst();
  return { scored: Number(r?.n ?? 0), scoreDate: r?.d ?? null };
}

/**
 * The newest publication (or update) date of each source's live advisories: what a feed itself
 * says about how current it is, whatever the date of its last sync.
 */
export async function newestAdvisoryDates(on: Executor): Promise<Map<string, string>> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('advisories')
    .where('withdrawn_at', 'is', null)
    .select((eb) => ['source', eb.fn.max(eb.fn.coalesce('updated_at', 'published_at')).as('newest')])
    .groupBy('source')
    .execute();
  const out = new Map<string, string>();
  for (const r of rows) if (r.newest !== null) out.set(r.source, r.newest);
  return out;
}

/** Each configured source's own staleness threshold in days (sources without one are absent). */
export async function staleAfterDays(on: Executor): Promise<Map<string, number>> {
  const ex = kx(on);
  const rows = await ex.selectFrom('feed_sources').select(['id', 'stale_after_days']).where('stale_after_days', 'is not', null).execute();
  return new Map(rows.flatMap((r) => (r.stale_after_days === null ? [] : [[r.id, r.stale_after_days] as const])));
}

/** Sets (or clears, with null) a configured source's staleness threshold; false when no such configured source. */
export async function setStaleAfterDays(on: Executor, source: string, days: number | null): Promise<boolean> {
  const ex = kx(on);
  const r = await ex.updateTable('feed_sources').set({ stale_after_days: days }).where('id', '=', source).executeTakeFirst();
  return r.numUpdatedRows > 0n;
}
