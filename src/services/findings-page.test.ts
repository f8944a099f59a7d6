import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { runDemo } from './demo.js';
import { findFindings, findingsPageOf } from './report.js';

/** The API's findings pages come from SQL; they must agree with the full, sorted list on both databases. */
describe.each(testDatabases())('findings pages on $name', ({ open }) => {
  it('pages in the report order by default, sorts by each key, filters by severity, and counts', async () => {
    const db = await open();
    try {
      await runDemo(db);
      const all = await findFindings(db, {});
      expect(all.length).toBeGreaterThan(3);
      const key = (f: { targetName: string; advisoryId: string; package: string }): string => `${f.targetName}|${f.advisoryId}|${f.package}`;
      const pages = [];
      for (let offset = 0; offset < all.length; offset += 2) pages.push(...(await findingsPageOf(db, {}, { limit: 2, offset })).items);
      expect(pages.map(key)).toEqual(all.map(key));
      const first = await findingsPageOf(db, {}, { limit: 2, offset: 0 });
      expect(first.total).toBe(all.length);

      const byPackage = await findingsPageOf(db, {}, { limit: 1000, offset: 0, sort: 'package' });
      const packages = byPackage.items.map((f) => f.package);
      expect(packages).toEqual([...packages].sort());
      const newest = await findingsPageOf(db, {}, { limit: 1000, offset: 0, sort: '-firstSeen' });
      const seen = newest.items.map((f) => f.firstSeen);
      expect(seen).toEqual([...seen].sort().reverse());
      const high = await findingsPageOf(db, { minSeverity: 'high' }, { limit: 1000, offset: 0 });
      expect(high.items.map(key)).toEqual(all.filter((f) => f.severity === 'high' || f.severity === 'critical').map(key));
      expect(high.total).toBe(high.items.length);
      await expect(findingsPageOf(db, {}, { limit: 1, offset: 0, sort: 'secret' })).rejects.toThrow(/not one of/);
      // CVEs come along with each row, as in the full list.
      expect(pages.map((f) => f.cves.join(','))).toEqual(all.map((f) => f.cves.join(',')));
    } finally {
      await db.close();
    }
  });
});
