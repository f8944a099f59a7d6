import { BulwarkError } from '../core/errors.js';
import { sha256File } from '../lib/http.js';
import { recordAudit, type Actor } from './audit.js';
import type { FeedWarning } from '../feeds/types.js';
import { ingestFile } from './feeds.js';
import { readBoundedText } from './read-file.js';
import { systemClock, type Clock, type Db } from './store.js';

export const MAX_FEED_BYTES = 512 * 1024 * 1024;

export interface IngestReport {
  source: string;
  file: string;
  added: number;
  changed: number;
  unchanged: number;
  restored: number;
  withdrawn: number;
  /** Records the parser skipped, with the reason. */
  skipped: FeedWarning[];
}

/**
 * Ingests a whole file in Bulwark's native format under the source id the file declares (the
 * demo's feed, hand-made feeds, exports): all or nothing, bad records skipped and reported,
 * advisories the file no longer lists marked withdrawn, with the same checks as a sync (see
 * `ingestFile`), and audited. Vendor feeds go through
 * `syncSource`/`ingestFile` (services/feeds.ts) with a configured source.
 *
 * @example await ingestFeedFile(db, 'examples/demo/advisories.json')
 */
export async function ingestFeedFile(db: Db, file: string, clock: Clock = systemClock, actor: Actor = { kind: 'system', name: 'demo' }): Promise<IngestReport> {
  const text = await readBoundedText(file, MAX_FEED_BYTES);
  let source: unknown;
  try {
    source = (JSON.parse(text) as { source?: unknown }).source;
  } catch (err) {
    throw new BulwarkError('input.invalid', `${file}: not JSON: ${(err as Error).message}`, { file });
  }
  if (typeof source !== 'string') throw new BulwarkError('input.invalid', `${file}: source: a feed source id is required`, { file });
  let r;
  try {
    r = await ingestFile(db, { id: source, format: 'native', release: null }, file, {
      clock,
      limits: { maxDownloadBytes: MAX_FEED_BYTES, maxDocumentBytes: MAX_FEED_BYTES, maxTotalBytes: MAX_FEED_BYTES },
    });
  } catch (err) {
    const refused = err instanceof BulwarkError && typeof err.details?.['refused'] === 'string' ? err.details : {};
    await recordAudit(
      db,
      actor,
      'feed.sync',
      source,
      { status: 'refused' in refused ? 'refused' : 'failed', location: file, error: err instanceof Error ? err.message : String(err), ...refused },
      clock,
    );
    throw err;
  }
  await recordAudit(
    db,
    actor,
    'feed.sync',
    source,
    {
      status: 'synced',
      location: file,
      sha256: await sha256File(file),
      advisories: r.advisories,
      added: r.added,
      changed: r.changed,
      unchanged: r.unchanged,
      restored: r.restored,
      withdrawn: r.withdrawn,
      warnings: r.warnings,
    },
    clock,
  );
  return { source, file, added: r.added, changed: r.changed, unchanged: r.unchanged, restored: r.restored, withdrawn: r.withdrawn, skipped: r.warningSamples };
}
