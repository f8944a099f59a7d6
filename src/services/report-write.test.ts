import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { runDemo } from './demo.js';
import { importRpmQaFile } from './inventory.js';
import { findFindings, renderReport } from './report.js';
import { writeReport } from './report-write.js';
import { scanTarget } from './scan.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');
const NOW = new Date('2026-12-06T12:00:00.000Z');

/**
 * Issue #14: a risk order's first group goes straight to the output as the rows come (no bucket
 * on disk), and so does each next group once the base order (most severe first) is past it. With
 * no KEV or EPSS signal, the groups follow the severities: the rows reach the sink while the
 * stream is still being read, and the bytes are the in-memory report's.
 */
describe.each(testDatabases())('a risk-ordered report on $name', ({ open }) => {
  it('writes a group as it comes once the groups before it are complete, the same bytes', async () => {
    const db = await open();
    try {
      await runDemo(db, { clock: () => new Date('2026-11-01T00:00:00.000Z') });
      for (let i = 0; i < 12; i++) {
        const clock = (): Date => new Date(`2026-11-${String(2 + (i % 3)).padStart(2, '0')}T00:00:00.000Z`);
        const inv = await importRpmQaFile(
          db,
          { name: `host-${String(i)}`, release: 'azurelinux:3.0', file: join(DEMO, 'inventory.tsv'), platform: 'vm' },
          clock,
        );
        await scanTarget(db, inv.target.id, clock);
      }
      // CSV too: the same bytes (its 78 rows are less than a chunk, written at the end).
      for (const format of ['json', 'csv'] as const) {
        const q = { sort: 'risk' as const };
        const rows = await findFindings(db, q);
        const want = await renderReport(db, rows, format, () => NOW);
        let read = 0;
        // How many rows had been read when each piece reached the sink.
        const seen: number[] = [];
        const parts: Buffer[] = [];
        const n = await writeReport(
          db,
          q,
          format,
          (s) => {
            seen.push(read);
            parts.push(Buffer.from(s));
            return Promise.resolve();
          },
          {
            clock: () => NOW,
            runSize: 1,
            onRow: () => {
              read++;
            },
          },
        );
        expect(n).toBe(rows.length);
        expect(Buffer.concat(parts).toString('utf8'), format).toBe(want);
        // JSON's 75 KB: its first 64 KiB chunk reached the sink before the last row was read.
        if (format === 'json') expect(seen[0]).toBeLessThan(rows.length);
      }
    } finally {
      await db.close();
    }
  });
});
