import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { rawKysely } from '../storage/index.js';
import { runDemo } from './demo.js';
import { fleetOverview } from './overview.js';
import { findFindings, findingsPageOf } from './report.js';

/** The API's findings pages come from SQL; they must agree with the full, sorted list on both databases. */
describe.each(testDatabases())('findings pages on $name', ({ open }) => {
  it('pages most severe, then oldest first by default, sorts by each key, filters by severity, and counts', async () => {
    const db = await open();
    try {
      await runDemo(db);
      const all = await findFindings(db, {});
      expect(all.length).toBeGreaterThan(3);
      const key = (f: { targetName: string; advisoryId: string; package: string }): string => `${f.targetName}|${f.advisoryId}|${f.package}`;
      const pages = [];
      for (let offset = 0; offset < all.length; offset += 2) pages.push(...(await findingsPageOf(db, {}, { limit: 2, offset })).items);
      // Every finding exactly once, most severe first, then oldest first.
      expect(pages.map(key).sort()).toEqual(all.map(key).sort());
      const rank = ['unknown', 'none', 'low', 'medium', 'high', 'critical'];
      for (let i = 1; i < pages.length; i++) {
        const [a, b] = [pages[i - 1], pages[i]];
        const ra = rank.indexOf(a?.severity ?? '');
        const rb = rank.indexOf(b?.severity ?? '');
        expect(ra > rb || (ra === rb && (a?.firstSeen ?? '') <= (b?.firstSeen ?? ''))).toBe(true);
      }
      const first = await findingsPageOf(db, {}, { limit: 2, offset: 0 });
      expect(first.total).toBe(all.length);

      const byPackage = await findingsPageOf(db, {}, { limit: 1000, offset: 0, sort: 'package' });
      const packages = byPackage.items.map((f) => f.package);
      expect(packages).toEqual([...packages].sort());
      const newest = await findingsPageOf(db, {}, { limit: 1000, offset: 0, sort: '-firstSeen' });
      const seen = newest.items.map((f) => f.firstSeen);
      expect(seen).toEqual([...seen].sort().reverse());
      const high = await findingsPageOf(db, { minSeverity: 'high' }, { limit: 1000, offset: 0 });
      expect(high.items.map(key).sort()).toEqual(
        all
          .filter((f) => f.severity === 'high' || f.severity === 'critical')
          .map(key)
          .sort(),
      );
      expect(high.total).toBe(high.items.length);
      await expect(findingsPageOf(db, {}, { limit: 1, offset: 0, sort: 'secret' })).rejects.toThrow(/not one of/);
      // The overview counts the same findings, and its daily series ends at today's open count.
      const o = await fleetOverview(db, { days: 3 });
      expect(o.open.total).toBe(all.length);
      expect(o.exposureOverTime.map((d) => d.day)).toEqual([2, 1, 0].map((k) => new Date(Date.now() - k * 86_400_000).toISOString().slice(0, 10)));
      expect(o.exposureOverTime.at(-1)?.open).toBe(all.length);
      expect(o.exposureOverTime.at(-1)?.bySeverity).toEqual(o.open.bySeverity);
      // CVEs come along with each row, as in the full list.
      const cves = new Map(all.map((f) => [key(f), f.cves.join(',')]));
      expect(pages.map((f) => f.cves.join(','))).toEqual(pages.map((f) => cves.get(key(f))));
    } finally {
      await db.close();
    }
  });

  it('draws exposure per severity from when each finding was first seen and closed', async () => {
    const db = await open();
    try {
      await runDemo(db);
      const k = rawKysely(db);
      const day = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
      const rows = (await sql<{ pk: number | string; severity: string }>`select pk, severity from findings order by pk`.execute(k)).rows;
      const [a, b] = rows;
      if (a === undefined || b === undefined) throw new Error('the demo has fewer than two findings');
      // One first seen 4 days ago and fixed 2 days ago; another first seen yesterday.
      await sql`update findings set first_seen_at = ${`${day(4)}T10:00:00.000Z`}, closed_at = ${`${day(2)}T10:00:00.000Z`}, status = 'fixed' where pk = ${Number(a.pk)}`.execute(
        k,
      );
      await sql`update findings set first_seen_at = ${`${day(1)}T10:00:00.000Z`} where pk = ${Number(b.pk)}`.execute(k);
      const o = await fleetOverview(db, { days: 6 });
      const at = (n: number) => o.exposureOverTime.find((p) => p.day === day(n))?.bySeverity;
      const sa = a.severity as keyof NonNullable<ReturnType<typeof at>>;
      const sb = b.severity as keyof NonNullable<ReturnType<typeof at>>;
      const others = rows.length - 2;
      // 5 days ago nothing was open; 4 days ago the first; 2 days ago it was fixed (the second comes yesterday).
      expect(Object.values(at(5) ?? {}).reduce((x, y) => x + y, 0)).toBe(0);
      expect(at(4)?.[sa]).toBe(1);
      expect(at(2)?.[sa]).toBe(0);
      expect(at(1)?.[sb]).toBe(1);
      expect(Object.values(at(0) ?? {}).reduce((x, y) => x + y, 0)).toBe(others + 1);
      expect(o.exposureOverTime.map((p) => p.open)).toEqual(o.exposureOverTime.map((p) => Object.values(p.bySeverity).reduce((x, y) => x + y, 0)));
    } finally {
      await db.close();
    }
  });
});
