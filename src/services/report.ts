import { randomUUID } from 'node:crypto';
import type { Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import { BulwarkError } from '../core/errors.js';
import { FINDING_SORT_KEYS, findingPackageSources, findingsPage, queryFindings, type FindingQuery, type FindingRow, type FindingSortKey } from '../storage/index.js';
import { renderCsv, renderCycloneDxVex, renderHtml } from './report-render.js';
import { systemClock, type Clock, type Db } from './store.js';

export type ReportFormat = 'table' | 'json' | 'csv' | 'cyclonedx-vex' | 'html';

export interface FindingsQuery {
  hosts?: string[] | undefined;
  minSeverity?: Severity | undefined;
  cve?: string | undefined;
  /** Default: open and no-fix. */
  status?: FindingStatus[] | undefined;
}

function storageQuery(q: FindingsQuery): FindingQuery {
  return {
    status: q.status ?? ['open', 'no-fix'],
    ...(q.hosts !== undefined && q.hosts.length > 0 ? { targets: q.hosts } : {}),
    ...(q.minSeverity !== undefined ? { minSeverity: q.minSeverity } : {}),
    ...(q.cve !== undefined ? { cve: q.cve } : {}),
  };
}

/** @example await findFindings(db, { minSeverity: 'high' }) */
export function findFindings(db: Db, q: FindingsQuery = {}): Promise<FindingRow[]> {
  return queryFindings(db.kysely, storageQuery(q));
}

/**
 * One page of findings, counted, filtered and sorted by the database (the API's list).
 * @example await findingsPageOf(db, { minSeverity: 'high' }, { limit: 100, offset: 0 })
 */
export async function findingsPageOf(db: Db, q: FindingsQuery, p: { limit: number; offset: number; sort?: string | undefined }): Promise<{ items: FindingRow[]; total: number; limit: number; offset: number }> {
  let sort: { key: FindingSortKey; desc: boolean } | undefined;
  if (p.sort !== undefined) {
    const desc = p.sort.startsWith('-');
    const key = desc ? p.sort.slice(1) : p.sort;
    if (!(FINDING_SORT_KEYS as readonly string[]).includes(key)) throw new BulwarkError('input.invalid', `sort: "${key}" is not one of ${FINDING_SORT_KEYS.join(', ')}`);
    sort = { key: key as FindingSortKey, desc };
  }
  const r = await findingsPage(db.kysely, storageQuery(q), { limit: p.limit, offset: p.offset, ...(sort !== undefined ? { sort } : {}) });
  return { items: r.rows, total: r.total, limit: p.limit, offset: p.offset };
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
      const stored = await findingPackageSources(db.kysely, rows);
      const sources = new Map<string, string>();
      for (const [k, v] of stored) if (v.origin !== 'assumed') sources.set(k, v.sourceName);
      return renderCycloneDxVex(rows, clock(), randomUUID(), sources);
    }
    case 'html':
      return renderHtml(rows, clock());
  }
}
