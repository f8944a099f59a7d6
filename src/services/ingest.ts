import { parseNativeFeed, type SkippedRecord } from '../feeds/native/parser.js';
import { markWithdrawn, transaction, upsertAdvisories, type Db, type UpsertCounts } from '../storage/index.js';
import { readBoundedText } from './read-file.js';
import { systemClock, type Clock } from './store.js';

export const MAX_FEED_BYTES = 512 * 1024 * 1024;

export interface IngestReport extends UpsertCounts {
  source: string;
  file: string;
  withdrawn: number;
  skipped: SkippedRecord[];
}

/**
 * Ingests a whole feed file: parses it (bad records skipped and reported), then in one
 * transaction upserts every advisory and marks those no longer in the feed as withdrawn.
 * If anything fails, nothing already stored changes.
 *
 * @example await ingestFeedFile(db, 'examples/demo/advisories.json')
 */
export async function ingestFeedFile(db: Db, file: string, clock: Clock = systemClock): Promise<IngestReport> {
  const text = await readBoundedText(file, MAX_FEED_BYTES);
  const parsed = parseNativeFeed(text, file);
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const counts = await upsertAdvisories(tx, parsed.advisories, now);
    const withdrawn = await markWithdrawn(tx, parsed.source, new Set(parsed.advisories.map((a) => a.id)), now);
    return { source: parsed.source, file, ...counts, withdrawn, skipped: parsed.skipped };
  });
}
