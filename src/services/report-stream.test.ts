import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { formatTable } from '../cli/table.js';
import { rawKysely } from '../storage/index.js';
import { runDemo } from './demo.js';
import { importRpmQaFile } from './inventory.js';
import { findFindings, findingsPageOf, renderReport, type FindingsQuery } from './report.js';
import { streamFindings } from './report-stream.js';
import { writeReport } from './report-write.js';
import { scanTarget } from './scan.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');
const NOW = new Date('2026-12-06T12:00:00.000Z');

/**
 * Issue #14 item 4: the streamed reports are the bytes renderReport gives over findFindings (the
 * whole list in memory), for every format and order, on both databases. Runs of 3 rows force
 * the external sort to spill and merge; host names that byte order and localeCompare order
 * differently, and findings sharing their first-seen time, test the order within a group.
 */
describe.each(testDatabases())('streamed reports on $name', ({ open }) => {
  it('are byte for byte what the in-memory reports were, in every format, order and filter', async () => {
    const db = await open();
    try {
      await runDemo(db, { clock: () => new Date('2026-11-01T00:00:00.000Z') });
      const names = ['web_01', 'Web-02', 'web-01', 'db.10', 'Zeta', 'alpha', 'eclair', 'db-9'];
      for (const [i, name] of names.entries()) {
        // Half share one scan time (a group of many rows); the rest are apart.
        const clock = (): Date => new Date(i % 2 === 0 ? '2026-11-02T00:00:00.000Z' : `2026-11-${String(3 + i).padStart(2, '0')}T00:00:00.000Z`);
        const inv = await importRpmQaFile(db, { name, release: 'azurelinux:3.0', file: join(DEMO, 'inventory.tsv'), platform: 'vm' }, clock);
        await scanTarget(db, inv.target.id, clock);
      }
      const k = rawKysely(db);
      // A name that sorts apart byte-wise and by locale: imports refuse it now, a store from before may hold it.
      await k.updateTable('targets').set({ name: 'éclair' }).where('name', '=', 'eclair').execute();
      const pks = (await k.selectFrom('findings').select('pk').orderBy('pk').execute()).map((r) => r.pk);
      expect(pks.length).toBeGreaterThan(40);
      // Every status, with reasons (the VEX's analysis reads them).
      await k
        .updateTable('findings')
        // Who accepted and until when: the streamed rows carry them as findFindings does.
        .set({
          status: 'accepted',
          reason: 'waiting for the vendor',
          accepted_by: 'cli:alice',
          accepted_at: '2026-11-15T00:00:00.000Z',
          accepted_until: '2027-02-01T00:00:00.000Z',
        })
        .where(
          'pk',
          'in',
          pks.filter((_, i) => i % 7 === 1),
        )
        .execute();
      await k
        .updateTable('findings')
        .set({ status: 'fixed', closed_at: '2026-11-20T00:00:00.000Z' })
        .where(
          'pk',
          'in',
          pks.filter((_, i) => i % 7 === 2),
        )
        .execute();
      await k
        .updateTable('findings')
        .set({ status: 'withdrawn', closed_at: '2026-11-21T00:00:00.000Z' })
        .where(
          'pk',
          'in',
          pks.filter((_, i) => i % 11 === 3),
        )
        .execute();
      await k
        .updateTable('findings')
        .set({ status: 'no-fix', fixed: null })
        .where(
          'pk',
          'in',
          pks.filter((_, i) => i % 5 === 4),
        )
        .execute();
      // Signals for some of the CVEs: the risk orders differ from the severity order.
      const cves = (await k.selectFrom('advisory_cves').select('cve').distinct().orderBy('cve').execute()).map((r) => r.cve);
      expect(cves.length).toBeGreaterThan(3);
      const t = '2026-12-01T00:00:00.000Z';
      for (const [i, cve] of cves.entries()) {
        if (i % 3 === 0)
          await k
            .insertInto('kev_entries')
            .values({
              cve,
              vendor_project: 'v',
              product: 'p',
              vulnerability_name: 'n',
              date_added: `2026-0${String(1 + (i % 9))}-01`,
              short_description: 's',
              required_action: 'a',
              due_date: `2026-1${String(i % 3)}-01`,
              ransomware: i % 2,
              notes: '',
              cwes: '[]',
              catalog_version: '1',
              first_seen_at: t,
              last_changed_at: t,
              removed_at: null,
            })
            .execute();
        if (i % 2 === 0)
          await k
            .insertInto('epss_scores')
            .values({
              cve,
              epss: ((i * 37) % 100) / 100,
              percentile: 0.5,
              score_date: '2026-12-01',
              model_version: 'v',
              noted_epss: 0.1,
              noted_percentile: 0.5,
              noted_date: '2026-12-01',
            })
            .execute();
      }
      const host = (await findFindings(db, {}))[0]?.targetName ?? '';
      const queries: FindingsQuery[] = [
        {},
        { sort: 'severity' },
        { sort: 'risk' },
        { sort: 'epss' },
        { sort: 'kev' },
        { status: ['open', 'no-fix', 'accepted', 'fixed', 'withdrawn'], sort: 'risk' },
        { status: ['open', 'no-fix', 'accepted', 'fixed', 'withdrawn'] },
        { kev: true, sort: 'kev' },
        { epssAbove: 0.3 },
        { hosts: [host, 'Zeta'], minSeverity: 'medium' },
        { cve: cves[0], status: ['open', 'fixed'] },
        { status: [] },
      ];
      const clock = (): Date => NOW;
      for (const q of queries) {
        const rows = await findFindings(db, q);
        // The stream gives the same rows, fields and order, with runs of 3 (spilled) and of 50,000 (in memory).
        for (const runSize of [3, 50_000]) {
          const streamed = [];
          for await (const r of streamFindings(db, q, { runSize })) streamed.push(r);
          expect(JSON.stringify(streamed), JSON.stringify(q)).toBe(JSON.stringify(rows));
        }
        for (const format of ['json', 'csv', 'html', 'cyclonedx-vex'] as const) {
          let old = await renderReport(db, rows, format, clock);
          if (format === 'cyclonedx-vex') old = old.replace(/"urn:uuid:[0-9a-f-]+"/, '"urn:uuid:s"');
          const parts: Buffer[] = [];
          const n = await writeReport(db, q, format, (s) => Promise.resolve(void parts.push(Buffer.from(s))), { clock, serial: 's', runSize: 3 });
          const text = Buffer.concat(parts).toString('utf8');
          expect(n).toBe(rows.length);
          expect(text, `${format} ${JSON.stringify(q)}`).toBe(old);
        }
      }
      // The risk-ordered API page is a slice of the same order, wherever it starts (whole groups
      // are passed over unread), with the total of the filtered query.
      const pages: [FindingsQuery, 'risk' | 'epss' | 'kev'][] = [
        [{}, 'risk'],
        [{}, 'epss'],
        [{ kev: true }, 'kev'],
        [{ epssAbove: 0.3 }, 'risk'],
        [{ status: ['open', 'no-fix', 'accepted', 'fixed', 'withdrawn'] }, 'kev'],
      ];
      const pagesAreSlices = async (): Promise<void> => {
        for (const [q, sort] of pages) {
          const all = await findFindings(db, { ...q, sort });
          expect(all.length).toBeGreaterThan(2);
          // The first N (`findings --limit N`), the same slice.
          const top = [];
          for await (const r of streamFindings(db, { ...q, sort }, { limit: 3 })) top.push(r);
          expect(JSON.stringify(top)).toBe(JSON.stringify(all.slice(0, 3)));
          for (const [offset, limit] of [
            [0, 5],
            [3, 5],
            [1, 1],
            [all.length - 2, 10],
            [all.length + 3, 5],
            [2, 0],
          ] as const) {
            const page = await findingsPageOf(db, q, { limit, offset, sort });
            expect([page.total, JSON.stringify(page.items)], `${JSON.stringify(q)} ${sort} ${String(offset)}+${String(limit)}`).toEqual([
              all.length,
              JSON.stringify(all.slice(offset, offset + limit)),
            ]);
          }
        }
      };
      await pagesAreSlices();
      // Host names whose byte order is their localeCompare order (most fleets'): the database
      // orders a group's hosts itself (findingKeysFirst, SQLite) for a window: the same slices.
      const hosts = await k.selectFrom('targets').select(['id', 'name']).orderBy('name').execute();
      for (const [i, t] of hosts.entries())
        await k
          .updateTable('targets')
          .set({ name: `host-${String((i * 7) % hosts.length).padStart(2, '0')}` })
          .where('id', '=', t.id)
          .execute();
      await pagesAreSlices();
      // A window read in one pass of the table (the base order; a risk order without a limit),
      // with runs of 3 (spilled): the same slice, across batches and severity groups.
      const everything: FindingsQuery = { status: ['open', 'no-fix', 'accepted', 'fixed', 'withdrawn'] };
      for (const q of [everything, { ...everything, sort: 'risk' }, { epssAbove: 0.3 }] as FindingsQuery[]) {
        const all = await findFindings(db, q);
        expect(all.some((r) => r.acceptedBy === 'cli:alice')).toBe(q.status !== undefined);
        for (const [skip, limit] of [
          [0, 4],
          [5, 7],
          [all.length - 1, 5],
          [7, undefined],
        ] as const) {
          const got = [];
          const o = { runSize: 3, skip, ...(limit === undefined ? {} : { limit }) };
          for await (const r of streamFindings(db, q, o)) got.push(r);
          expect(JSON.stringify(got), `${JSON.stringify(q)} ${String(skip)}+${String(limit)}`).toBe(
            JSON.stringify(all.slice(skip, limit === undefined ? undefined : skip + limit)),
          );
        }
      }
      expect(formatTable(['A'], [])).toBe('A\n');
    } finally {
      await db.close();
    }
  });
});
