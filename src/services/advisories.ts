import type { Advisory } from '../core/advisory.js';
import { getAdvisory, listAdvisoryEvents, loadAdvisories, type AdvisoryEvent } from '../storage/index.js';
import type { Db } from './store.js';

export interface AdvisoryQuery {
  cve?: string | undefined;
  package?: string | undefined;
  release?: string | undefined;
  source?: string | undefined;
  withdrawn?: boolean | undefined;
  limit?: number | undefined;
}

/**
 * Searches the advisory store; with a release, only that release's fixes are returned.
 * @example await searchAdvisories(db, { cve: 'CVE-2024-6387' })
 */
export function searchAdvisories(db: Db, q: AdvisoryQuery): Promise<Advisory[]> {
  return loadAdvisories(db, {
    ...(q.cve !== undefined ? { cve: q.cve.toUpperCase() } : {}),
    ...(q.package !== undefined ? { packages: [q.package] } : {}),
    ...(q.release !== undefined ? { release: q.release } : {}),
    ...(q.source !== undefined ? { source: q.source } : {}),
    ...(q.withdrawn !== undefined ? { withdrawn: q.withdrawn } : {}),
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
  });
}

/** One advisory with its history (added, changed with what changed, withdrawn, restored). */
export async function showAdvisory(
  db: Db,
  source: string,
  id: string,
): Promise<{ advisory: Advisory & { withdrawnAt: string | null }; events: AdvisoryEvent[] } | null> {
  const advisory = await getAdvisory(db, source, id);
  if (advisory === null) return null;
  return { advisory, events: await listAdvisoryEvents(db, source, id) };
}
