/**
 * One feed ingest in a process of its own, so that its peak RSS is its own: syncs `file` as
 * source `id` (format, release) into a fresh SQLite database, twice (the second run is the
 * unchanged-feed skip), and prints JSON.
 * Usage: node --import tsx bench/feed-worker.ts ID FORMAT RELEASE|- FILE DB
 */
import { addSource, syncSource } from '../src/services/feeds.js';
import { openStore } from '../src/services/store.js';

const [id, format, release, file, dbPath] = process.argv.slice(2);
if (id === undefined || format === undefined || release === undefined || file === undefined || dbPath === undefined)
  throw new Error('usage: feed-worker ID FORMAT RELEASE|- FILE DB');
const db = await openStore({ dbPath });
try {
  await addSource(db, { id, format, location: file, release: release === '-' ? null : release });
  const t0 = performance.now();
  const first = await syncSource(db, id);
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const second = await syncSource(db, id);
  const skipMs = performance.now() - t1;
  console.log(
    JSON.stringify({
      seconds,
      skipMs,
      advisories: first.advisories,
      documents: first.documents,
      warnings: first.warnings,
      status: second.status,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
} finally {
  await db.close();
}
