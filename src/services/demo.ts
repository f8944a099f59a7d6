import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ingestFeedFile, type IngestReport } from './ingest.js';
import { importRpmQaFile, type ImportInventoryReport } from './inventory.js';
import { scanTarget, type ScanReport } from './scan.js';
import { systemClock, type Clock, type Db } from './store.js';
import { EXAMPLE_RELEASE } from '../distros/registry.js';

/** examples/demo in the package (works from src/ under tsx and from dist/). */
export const DEMO_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'examples', 'demo');

export interface DemoReport {
  ingest: IngestReport;
  inventory: ImportInventoryReport;
  scan: ScanReport;
}

/**
 * Bulwark's main job in miniature, on the configured database: ingest the sample feed, import
 * the sample host's `rpm -qa`, match, and record findings. Running it again is an idempotent
 * re-scan (unchanged advisories are skipped, findings are kept, not duplicated).
 */
export async function runDemo(db: Db, opts: { dir?: string; clock?: Clock } = {}): Promise<DemoReport> {
  const dir = opts.dir ?? DEMO_DIR;
  const clock = opts.clock ?? systemClock;
  const ingest = await ingestFeedFile(db, join(dir, 'advisories.json'), clock);
  const inventory = await importRpmQaFile(db, { name: 'demo-azl3-vm', release: EXAMPLE_RELEASE, file: join(dir, 'inventory.tsv'), platform: 'vm' }, clock);
  const scan = await scanTarget(db, inventory.target.id, clock);
  return { ingest, inventory, scan };
}
