import { createReadStream } from 'node:fs';
import { BulwarkError } from '../core/errors.js';
import { detectFeedFormat } from '../feeds/detect.js';
import { feedDocuments } from '../lib/archive.js';
import { DEFAULT_LIMITS, type FeedLimits } from './feed-types.js';
import { assertReadable } from './read-file.js';

// Apart from feed-sources.ts (which needs the store): `scan --feed` detects a file's format without loading the database drivers.

/**
 * The feed format of a local file (plain, compressed or an archive: its first document), or an
 * error saying what the file is instead.
 * @example await detectFileFormat('updateinfo.xml.gz') // 'updateinfo'
 */
export async function detectFileFormat(file: string, limits: FeedLimits = DEFAULT_LIMITS): Promise<string> {
  await assertReadable(file);
  const stream = createReadStream(file);
  try {
    for await (const doc of feedDocuments(stream, file, limits)) {
      let head = '';
      for await (const chunk of doc.bytes) {
        head += Buffer.from(chunk).toString('utf8');
        if (head.length >= 65536) break;
      }
      const d = detectFeedFormat(head);
      if (d.format === null) throw new BulwarkError('input.invalid', `${doc.name}: ${d.reason}`, { file });
      return d.format;
    }
  } finally {
    stream.destroy();
  }
  throw new BulwarkError('input.invalid', `${file}: the archive holds no feed documents (.json or .xml members)`, { file });
}
