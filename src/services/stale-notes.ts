import { listSources } from './feeds.js';
import { staleNotes } from './freshness.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * What a scan summary says about stale feeds for the releases it scanned (issue #16 item 5),
 * e.g. "advisories for azurelinux:3.0 are 41 days old (azurelinux-3.0-oval: …)".
 * @example await staleFeedNotes(db, ['azurelinux:3.0'])
 */
export async function staleFeedNotes(db: Db, releases: Iterable<string | null>, clock: Clock = systemClock): Promise<string[]> {
  const wanted = [...new Set([...releases].filter((r): r is string => r !== null))].sort();
  if (wanted.length === 0) return [];
  const sources = await listSources(db, clock);
  if (!sources.some((s) => s.freshness.state === 'stale')) return [];
  const out: string[] = [];
  for (const r of wanted) out.push(...(await staleNotes(db, sources, r, clock)));
  return out;
}
