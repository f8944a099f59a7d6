import { BulwarkError } from '../core/errors.js';
import type { InstalledPackage } from '../core/target.js';
import { getTarget, loadInventory, runsOfTarget, type StoredTarget } from '../storage/index.js';
import { findFindings } from './report.js';
import type { Db } from './store.js';
import type { FindingRow } from '../storage/index.js';

/**
 * One host for the dashboard (issue #6): what it is, its packages, its open findings, those accepted, and its
 * history — findings closed (with when) and the patch runs that touched it.
 */
export interface HostDetail {
  host: StoredTarget;
  packages: InstalledPackage[];
  findings: FindingRow[];
  /** Findings an operator accepted the risk of (`bulwark findings accept`). */
  accepted: FindingRow[];
  history: { closed: FindingRow[]; runs: Awaited<ReturnType<typeof runsOfTarget>> };
}

export async function hostDetail(db: Db, name: string): Promise<HostDetail> {
  const host = await getTarget(db, name);
  if (host === null) throw new BulwarkError('storage.not-found', `no host named "${name}"`);
  const packages = (await loadInventory(db, host.id)).sort((a, b) => a.name.localeCompare(b.name) || a.arch.localeCompare(b.arch));
  const findings = await findFindings(db, { hosts: [host.id] });
  const accepted = await findFindings(db, { hosts: [host.id], status: ['accepted'] });
  const closed = (await findFindings(db, { hosts: [host.id], status: ['fixed', 'withdrawn'] }))
    .sort((a, b) => (b.closedAt ?? '').localeCompare(a.closedAt ?? ''))
    .slice(0, 200);
  return { host, packages, findings, accepted, history: { closed, runs: await runsOfTarget(db, host.id) } };
}
