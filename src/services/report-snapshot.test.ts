import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { rawKysely, type Db } from '../storage/index.js';
import { runDemo } from './demo.js';
import { importRpmQaFile } from './inventory.js';
import { findFindings, type FindingsQuery } from './report.js';
import { streamFindings } from './report-stream.js';
import { writeReport } from './report-write.js';
import { scanTarget } from './scan.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');
const NOW = new Date('2026-12-06T12:00:00.000Z');

/**
 * A streamed report reads its groups' counts, then its rows: a finding written between the two
 * (a scan, an agent's report, a sync) must change neither the order nor the total. The write is
 * made from another connection while the stream waits in onTotal (after the counts, before any
 * row): the report is the one the store held before it, byte for byte, and its total is its rows.
 */
describe.each(testDatabases())('a streamed report reads one snapshot on $name', ({ open }) => {
  it('is the report of the store as it was when it began, whatever is written while it streams', async () => {
    const db = await open();
    try {
      await runDemo(db, { clock: () => new Date('2026-11-01T00:00:00.000Z') });
      for (const [i, name] of ['web-01', 'db-02', 'app-03'].entries()) {
        const clock = (): Date => new Date(`2026-11-0${String(2 + (i % 2))}T00:00:00.000Z`);
        const inv = await importRpmQaFile(db, { name, release: 'azurelinux:3.0', file: join(DEMO, 'inventory.tsv'), platform: 'vm' }, clock);
        await scanTarget(db, inv.target.id, clock);
      }
      const k = rawKysely(db);
      // KEV entries for some CVEs: the risk order is not the severity order.
      const cves = (await k.selectFrom('advisory_cves').select('cve').distinct().orderBy('cve').execute()).map((r) => r.cve);
      for (const cve of cves.filter((_, i) => i % 3 === 1)) await kev(db, cve);
      const disturb = concurrentWrites(db);
      const queries: FindingsQuery[] = [{ sort: 'risk' }, { sort: 'kev' }, { sort: 'risk', minSeverity: 'medium' }];
      for (const q of queries)
        for (const format of ['json', 'csv', 'html', 'cyclonedx-vex'] as const) {
          const report = async (hook?: () => Promise<void>): Promise<{ text: string; n: number; total: number | undefined }> => {
            const parts: Buffer[] = [];
            let total: number | undefined;
            const n = await writeReport(db, q, format, (s) => Promise.resolve(void parts.push(Buffer.from(s))), {
              clock: () => NOW,
              serial: 's',
              runSize: 3,
              onTotal: async (t) => {
                total = t;
                await hook?.();
              },
            });
            return { text: Buffer.concat(parts).toString('utf8'), n, total };
          };
          const what = `${format} ${JSON.stringify(q)}`;
          const before = await report();
          expect(before.total, what).toBe(before.n);
          let undo: (() => Promise<void>) | undefined;
          const during = await report(async () => {
            undo = await disturb();
          });
          expect(undo, what).toBeDefined();
          expect(during, what).toEqual(before);
          // The writes landed (and change the report written after them).
          const after = await report();
          expect(after.text, what).not.toBe(before.text);
          expect(after.total, what).toBe(after.n);
          await undo?.();
        }
      // The API's page of a risk order: its rows and total from one snapshot too.
      for (const [skip, limit] of [
        [0, 5],
        [4, 1000],
      ] as const) {
        const all = await findFindings(db, { sort: 'risk' });
        let total = 0;
        let undo: (() => Promise<void>) | undefined;
        const items = [];
        const o = {
          skip,
          limit,
          onTotal: async (t: number) => {
            total = t;
            undo = await disturb();
          },
        };
        for await (const r of streamFindings(db, { sort: 'risk' }, o)) items.push(r);
        expect([total, JSON.stringify(items)]).toEqual([all.length, JSON.stringify(all.slice(skip, skip + limit))]);
        await undo?.();
      }
    } finally {
      await db.close();
    }
  });
});

async function kev(db: Db, cve: string): Promise<void> {
  const t = '2026-12-01T00:00:00.000Z';
  await rawKysely(db)
    .insertInto('kev_entries')
    .values({
      cve,
      vendor_project: 'v',
      product: 'p',
      vulnerability_name: 'n',
      date_added: '2026-01-01',
      short_description: 's',
      required_action: 'a',
      due_date: '2026-10-01',
      ransomware: 0,
      notes: '',
      cwes: '[]',
      catalog_version: '1',
      first_seen_at: t,
      last_changed_at: t,
      removed_at: null,
    })
    .execute();
}

/**
 * Writes (committed, on the store's own connections) that change a risk-ordered report: a
 * finding of an advisory no finding had (a pair not counted, KEV-listed: it ranks first), one of
 * the least group's pair found again on a host (a group already written when the row comes),
 * and the most severe finding fixed. Gives what undoes them.
 */
function concurrentWrites(db: Db): () => Promise<() => Promise<void>> {
  const k = rawKysely(db);
  return async () => {
    const found = await k.selectFrom('findings').selectAll().where('status', '=', 'open').orderBy('severity_rank', 'desc').orderBy('pk').execute();
    const first = found[0];
    const last = found[found.length - 1];
    if (first === undefined || last === undefined) throw new Error('no open findings');
    const fresh = await k
      .selectFrom('advisories')
      .innerJoin('advisory_cves', 'advisory_cves.advisory_pk', 'advisories.pk')
      .select(['advisories.pk', 'advisory_cves.cve'])
      .where('advisories.pk', 'not in', k.selectFrom('findings').select('advisory_pk'))
      .where('advisory_cves.cve', 'not in', k.selectFrom('kev_entries').select('cve'))
      .orderBy('advisories.pk')
      .executeTakeFirstOrThrow();
    await kev(db, fresh.cve);
    const added = await k
      .insertInto('findings')
      .values([
        { ...first, pk: undefined, advisory_pk: fresh.pk, package: 'zz-late', severity: 'critical', severity_rank: 5 },
        { ...last, pk: undefined, package: 'zz-again', first_seen_at: '2026-10-01T00:00:00.000Z' },
      ])
      .returning('pk')
      .execute();
    await k.updateTable('findings').set({ status: 'fixed', closed_at: '2026-12-05T00:00:00.000Z' }).where('pk', '=', first.pk).execute();
    return async () => {
      await k.updateTable('findings').set({ status: first.status, closed_at: first.closed_at }).where('pk', '=', first.pk).execute();
      await k
        .deleteFrom('findings')
        .where(
          'pk',
          'in',
          added.map((a) => a.pk),
        )
        .execute();
      await k.deleteFrom('kev_entries').where('cve', '=', fresh.cve).execute();
    };
  };
}
