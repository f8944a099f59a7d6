import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { findingPages, rawKysely } from '../storage/index.js';
import { runDemo } from './demo.js';

/**
 * Issue #14: the pages a streamed report reads (keyset pages on SQLite, a server-side cursor on
 * PostgreSQL) give every finding once, in the findings_page order, and a reader that stops
 * early gives its connection back (twelve early stops on a pool of ten, then a write).
 */
describe.each(testDatabases())('finding pages on $name', ({ open }) => {
  it('give every finding once in order, and stopping early frees the connection', async () => {
    const db = await open();
    try {
      await runDemo(db, { clock: () => new Date('2026-11-01T00:00:00.000Z') });
      const k = rawKysely(db);
      const want = (
        await k
          .selectFrom('findings')
          .select('pk')
          .where('status', 'in', ['open', 'no-fix'])
          .orderBy('severity_rank', 'desc')
          .orderBy('first_seen_at')
          .orderBy('pk')
          .execute()
      ).map((r) => r.pk);
      expect(want.length).toBeGreaterThan(4);
      const got: number[] = [];
      for await (const page of findingPages(db, { status: ['open', 'no-fix'] }, 2)) {
        expect(page.length).toBeLessThanOrEqual(2);
        got.push(...page.map((r) => r.pk));
      }
      expect(got).toEqual(want);
      for (let i = 0; i < 12; i++)
        for await (const page of findingPages(db, { status: ['open', 'no-fix'] }, 3)) {
          expect(page.map((r) => r.pk)).toEqual(want.slice(0, 3));
          break;
        }
      await k
        .updateTable('findings')
        .set({ reason: 'checked' })
        .where('pk', '=', want[0] as number)
        .execute();
      expect((await findingPages(db, { status: [] }, 5).next()).done).toBe(true);
    } finally {
      await db.close();
    }
  });
});
