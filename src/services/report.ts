import { randomUUID } from 'node:crypto';
import type { Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import { queryFindings, type FindingRow } from '../storage/index.js';
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

/** @example await findFindings(db, { minSeverity: 'high' }) */
export function findFindings(db: Db, q: FindingsQuery = {}): Promise<FindingRow[]> {
  return queryFindings(db.kysely, {
    status: q.status ?? ['open', 'no-fix'],
    ...(q.hosts !== undefined && q.hosts.length > 0 ? { targets: q.hosts } : {}),
    ...(q.minSeverity !== undefined ? { minSeverity: q.minSeverity } : {}),
    ...(q.cve !== undefined ? { cve: q.cve } : {}),
  });
}

/** Renders findings in a file format (the table is the CLI's). */
export function renderReport(rows: readonly FindingRow[], format: Exclude<ReportFormat, 'table'>, clock: Clock = systemClock): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ generatedAt: clock().toISOString(), findings: rows }, null, 2) + '\n';
    case 'csv':
      return renderCsv(rows);
    case 'cyclonedx-vex':
      return renderCycloneDxVex(rows, clock(), randomUUID());
    case 'html':
      return renderHtml(rows, clock());
  }
}
