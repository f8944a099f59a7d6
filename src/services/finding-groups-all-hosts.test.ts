import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { listFindings, listTargets, rawKysely, recordFindings, transaction, upsertTarget, type FindingInput } from '../storage/index.js';
import { runDemo } from './demo.js';
import { findingGroupsPage } from './finding-groups.js';

/**
 * Issue #17: a tag or a release that every host has is left out of the grouped views' query (the
 * groups counted from the covering index alone, not host by host). The answer is the unfiltered
 * one, byte for byte; a tag all hosts but one have still filters; one no host has gives nothing.
 */
describe.each(testDatabases())('grouped findings with a filter every host passes on $name', ({ open }) => {
  it('answer as unfiltered, and a filter one host fails still filters', async () => {
    const db = await open();
    try {
      const demo = await runDemo(db, { clock: () => new Date('2026-11-01T00:00:00.000Z') });
      const template = demo.inventory.target;
      // A few more hosts with the demo host's findings (one of them fewer, so that hosts differ).
      const found: FindingInput[] = (await listFindings(db, { targetId: template.id })).map((f) => ({
        advisorySource: f.advisorySource,
        advisoryId: f.advisoryId,
        package: f.package,
        arch: 'x86_64',
        installed: f.installed,
        fixed: f.fixed,
        severity: f.severity,
        status: f.status === 'no-fix' ? 'no-fix' : 'open',
      }));
      await transaction(db, async (tx) => {
        for (let i = 0; i < 4; i++) {
          const t = await upsertTarget(tx, { name: `h-${String(i)}`, kind: 'host', release: template.release, tags: [] }, '2026-11-01T00:00:00.000Z');
          const own = i === 0 ? found.slice(1) : found;
          await recordFindings(tx, t.id, own, own, `2026-11-0${String(i + 1)}T00:00:00.000Z`);
        }
      });
      const targets = await listTargets(db);
      expect(targets.length).toBeGreaterThan(1);
      const k = rawKysely(db);
      const [odd, ...rest] = targets.map((t) => t.id).sort();
      await k
        .updateTable('targets')
        .set({ tags: JSON.stringify(['everyone', 'most']) })
        .where('id', 'in', rest)
        .execute();
      await k
        .updateTable('targets')
        .set({ tags: JSON.stringify(['everyone']) })
        .where('id', '=', odd ?? '')
        .execute();
      const status = ['open', 'no-fix', 'mitigated'] as const;
      const releases = new Set(targets.map((t) => t.release));
      for (const by of ['advisory', 'source'] as const)
        for (const sort of ['-severity', 'key', '-hosts'] as const) {
          const page = { limit: 3, offset: 1, sort };
          const all = JSON.stringify(await findingGroupsPage(db, by, { status: [...status] }, page));
          expect(JSON.stringify(await findingGroupsPage(db, by, { status: [...status], tag: 'everyone' }, page))).toBe(all);
          if (releases.size === 1)
            expect(JSON.stringify(await findingGroupsPage(db, by, { status: [...status], release: [...releases][0] ?? '' }, page))).toBe(all);
          expect(await findingGroupsPage(db, by, { status: [...status], tag: 'nobody' }, page)).toEqual({ by, items: [], total: 0, limit: 3, offset: 1 });
          // All hosts but one: the findings of the others, counted.
          const most = await findingGroupsPage(db, by, { status: [...status], tag: 'most' }, { limit: 500, offset: 0, sort });
          const want = (await listFindings(db, { status: [...status] })).filter((f) => f.targetId !== odd).length;
          expect(most.items.reduce((n, g) => n + g.findings, 0)).toBe(want);
          expect(want).toBeLessThan((await listFindings(db, { status: [...status] })).length);
        }
    } finally {
      await db.close();
    }
  }, 60_000);
});
