import { sql } from 'kysely';
import { severityRank } from '../../core/advisory.js';
import { inTextList } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import type { FindingStatus } from '../../core/finding.js';
import type { Severity } from '../../core/advisory.js';

/** What a findings listing or report is filtered by. */
export interface FindingQuery {
  targets?: readonly string[];
  status?: readonly FindingStatus[];
  minSeverity?: Severity;
  cve?: string;
}

/** The filters of a findings query, on the findings table alone (counting needs no join). */
export function findingsWhere(on: Executor, q: FindingQuery, o: { ordered?: boolean } = {}) {
  const ex = kx(on);
  let s = ex.selectFrom('findings');
  if (q.targets !== undefined) {
    const t = [...q.targets];
    // Bound as one parameter each: a long list of hosts cannot exceed the databases' parameter limits.
    s = s.where('findings.target_id', 'in', (sub) =>
      sub
        .selectFrom('targets')
        .select('targets.id')
        .where((eb) => eb.or([inTextList(ex, 'targets.name', t), inTextList(ex, 'targets.id', t)])),
    );
  }
  if (q.status !== undefined) {
    const st = [...q.status];
    // In the fleet-wide default page order the status is checked row by row while the
    // findings_page index gives the order (`status || ''` is not indexable): otherwise SQLite
    // picks the status index and sorts every open finding of the fleet to return a hundred.
    // With a host or a CVE, the status is checked row by row too: SQLite cannot tell how few
    // rows a list of hosts names, and would take the status index and sort the fleet's open ones.
    const rowByRow = o.ordered === true || q.targets !== undefined || q.cve !== undefined;
    s = rowByRow ? s.where(sql`findings.status || ''`, 'in', st) : s.where('findings.status', 'in', st);
  }
  if (q.cve !== undefined) {
    const cve = q.cve.toUpperCase();
    s = s.where('findings.advisory_pk', 'in', (sub) =>
      sub.selectFrom('advisory_cves').select('advisory_cves.advisory_pk').where('advisory_cves.cve', '=', cve),
    );
  }
  if (q.minSeverity !== undefined) s = s.where('findings.severity_rank', '>=', severityRank(q.minSeverity));
  return s;
}
