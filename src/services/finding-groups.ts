import { findingGroups, type FindingGroup, type FindingGroupQuery, type FindingGroupSort } from '../storage/index.js';
import type { Db } from './store.js';

export { FINDING_GROUP_SORTS, type FindingGroup, type FindingGroupSort } from '../storage/index.js';

/**
 * Findings folded by advisory or by source package (issue #17): what the console's findings page
 * and `bulwark findings --group` list — one row for expat's fix, not four for expat, expat-devel,
 * expat-libs and expat-debuginfo — with the hosts and binaries under each. Sorted (`-key`:
 * descending) and paged by the database.
 * @example await findingGroupsPage(db, 'source', { status: ['open'], tag: 'prod' }, { limit: 50, offset: 0, sort: '-hosts' })
 */
export async function findingGroupsPage(
  db: Db,
  by: 'advisory' | 'source',
  q: FindingGroupQuery,
  p: { limit: number; offset: number; sort: `${'' | '-'}${FindingGroupSort}` },
): Promise<{ by: 'advisory' | 'source'; items: FindingGroup[]; total: number; limit: number; offset: number }> {
  const desc = p.sort.startsWith('-');
  const sort = (desc ? p.sort.slice(1) : p.sort) as FindingGroupSort;
  const r = await findingGroups(db, by, q, { limit: p.limit, offset: p.offset, sort, desc });
  return { by, items: r.items, total: r.total, limit: p.limit, offset: p.offset };
}
