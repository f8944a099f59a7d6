import { randomUUID } from 'node:crypto';
import { BulwarkError } from '../core/errors.js';
import { releaseFamily } from '../distros/registry.js';
import { indexFixes, vendorNotAffected } from '../matching/match.js';
import {
  FINDING_SORT_KEYS,
  findingPackageSources,
  findingsPage,
  getTarget,
  listTargets,
  loadAdvisories,
  loadInventory,
  queryFindings,
  type FindingRow,
  type FindingSortKey,
} from '../storage/index.js';
import { RISK_SORTS, type RiskSort } from '../core/risk.js';
import { renderCsv, renderCycloneDxVex, renderHtml, type NotAffectedRow } from './report-render.js';
import { rankFindings } from './signals.js';
import { systemClock, type Clock, type Db } from './store.js';
import { didYouMean } from '../lib/words.js';
import { storageQuery, streamFindings, type FindingsQuery } from './report-stream.js';

export type ReportFormat = 'table' | 'json' | 'csv' | 'cyclonedx-vex' | 'html';

export type { FindingsQuery } from './report-stream.js';

/**
 * Refuses names that are no stored target (a host or an image), each with the closest known
 * name, so a typo is not answered "0 findings".
 * @example await requireTargets(db, ['web-1']) // throws storage.not-found: no host or image named "web-1" (did you mean "web-01"?)
 */
export async function requireTargets(db: Db, names: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const n of names) if ((await getTarget(db, n)) === null) missing.push(n);
  if (missing.length === 0) return;
  const known = (await listTargets(db)).map((t) => t.name);
  throw new BulwarkError(
    'storage.not-found',
    missing.map((n) => `no host or image named "${n}"${didYouMean(n, known)}`).join('; ') + ' (`bulwark hosts list` shows the hosts)',
    { targets: missing },
  );
}

/**
 * Findings with their risk (score and reason from severity, CVSS, EPSS and KEV), filtered and
 * in the order asked for (default: most severe first, then oldest).
 * @example await findFindings(db, { minSeverity: 'high', sort: 'risk', kev: true })
 */
export async function findFindings(db: Db, q: FindingsQuery = {}): Promise<FindingRow[]> {
  return rankFindings(db, await queryFindings(db, storageQuery(q)), { kev: q.kev, epssAbove: q.epssAbove, sort: q.sort });
}

/**
 * One page of findings, counted, filtered and sorted by the database (the API's list).
 * @example await findingsPageOf(db, { minSeverity: 'high' }, { limit: 100, offset: 0 })
 */
export async function findingsPageOf(
  db: Db,
  q: FindingsQuery,
  p: { limit: number; offset: number; sort?: string | undefined },
): Promise<{ items: FindingRow[]; total: number; limit: number; offset: number }> {
  // The risk order and its filters need the signals of every finding: each advisory ranked once,
  // and only the rows of the page read.
  const risk = p.sort !== undefined && (RISK_SORTS as readonly string[]).includes(p.sort) && p.sort !== 'severity' ? (p.sort as RiskSort) : undefined;
  if (risk !== undefined || q.kev === true || q.epssAbove !== undefined) {
    if (p.sort !== undefined && risk === undefined && p.sort !== 'severity')
      throw new BulwarkError('input.invalid', `sort: with kev or epssAbove, the order is one of ${RISK_SORTS.join(', ')}`);
    // Streamed in that order (services/report-stream.ts): the rows before the page passed over
    // (whole groups unread), the total from the counts, nothing read after the page.
    const items: FindingRow[] = [];
    let total = 0;
    for await (const r of streamFindings(db, { ...q, sort: risk ?? q.sort ?? 'risk' }, { skip: p.offset, limit: p.limit, onTotal: (n) => (total = n) }))
      items.push(r);
    return { items, total, limit: p.limit, offset: p.offset };
  }
  let sort: { key: FindingSortKey; desc: boolean } | undefined;
  if (p.sort !== undefined) {
    const desc = p.sort.startsWith('-');
    const key = desc ? p.sort.slice(1) : p.sort;
    if (!(FINDING_SORT_KEYS as readonly string[]).includes(key))
      throw new BulwarkError(
        'input.invalid',
        `sort: "${key}" is not one of ${[...FINDING_SORT_KEYS, ...RISK_SORTS.filter((x) => x !== 'severity')].join(', ')}`,
      );
    sort = { key: key as FindingSortKey, desc };
  }
  const r = await findingsPage(db, storageQuery(q), { limit: p.limit, offset: p.offset, ...(sort !== undefined ? { sort } : {}) });
  return { items: await rankFindings(db, r.rows), total: r.total, limit: p.limit, offset: p.offset };
}

/**
 * What vendors state is not affected among the packages of one target, through its stored
 * inventory and advisories; a source name Bulwark only assumed never carries a vendor's statement
 * over to a binary. The VEX report asks it for each target its rows are about.
 */
export async function notAffectedOf(db: Db, targetId: string): Promise<NotAffectedRow[]> {
  const out: NotAffectedRow[] = [];
  const target = await getTarget(db, targetId);
  const family = target?.release == null ? null : releaseFamily(target.release);
  if (target === null || target.release === null || family === null) return out;
  const packages = (await loadInventory(db, targetId)).map((p) => (p.sourceOrigin === 'assumed' ? { ...p, sourceName: null } : p));
  const names = [...new Set(packages.flatMap((p) => (p.sourceName === null ? [p.name] : [p.name, p.sourceName])))];
  const advisories = await loadAdvisories(db, { release: target.release, packages: names });
  for (const n of vendorNotAffected(indexFixes(advisories, target.release, family), packages))
    out.push({
      targetId,
      targetName: target.name,
      release: target.release,
      package: n.package,
      arch: n.arch,
      installed: n.installed,
      advisorySource: n.advisory.source,
      advisoryId: n.advisory.id,
      cves: n.advisory.cves,
      title: n.advisory.title,
      severity: n.advisory.severity,
    });
  return out;
}

async function notAffectedRows(db: Db, rows: readonly FindingRow[]): Promise<NotAffectedRow[]> {
  const out: NotAffectedRow[] = [];
  for (const targetId of new Set(rows.map((r) => r.targetId))) out.push(...(await notAffectedOf(db, targetId)));
  return out;
}

/**
 * Renders findings in a file format (the table is the CLI's). The VEX's purls name each
 * package's source (`upstream`) as stored with its inventory, unless it was only assumed.
 * @example await renderReport(db, await findFindings(db), 'cyclonedx-vex')
 */
export async function renderReport(db: Db, rows: readonly FindingRow[], format: Exclude<ReportFormat, 'table'>, clock: Clock = systemClock): Promise<string> {
  switch (format) {
    case 'json':
      return JSON.stringify({ generatedAt: clock().toISOString(), findings: rows }, null, 2) + '\n';
    case 'csv':
      return renderCsv(rows);
    case 'cyclonedx-vex': {
      const stored = await findingPackageSources(db, rows);
      const sources = new Map<string, string>();
      for (const [k, v] of stored) if (v.origin !== 'assumed') sources.set(k, v.sourceName);
      return renderCycloneDxVex(rows, clock(), randomUUID(), sources, await notAffectedRows(db, rows));
    }
    case 'html':
      return renderHtml(rows, clock());
  }
}
