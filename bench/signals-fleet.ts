/**
 * The fleet of bench/signals.bench.ts: 2,000 advisories (one CVE each, every fifth two) found on
 * 10,000 hosts x 64 packages = 640,000 open findings (each host's findings spread over the
 * advisories as the in-memory anchor spreads them), in a store whose EPSS scores are synced;
 * a KEV catalog in CISA's published shape lists every 250th CVE (every 1,000th with known
 * ransomware use) and is synced through the product's feed sync. Advisories, targets and
 * findings are written in SQL (setup, not timed); SQLite only.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { syncSource } from '../src/services/feeds.js';
import type { Db } from '../src/services/store.js';
import { rawKysely, transaction, upsertTarget } from '../src/storage/index.js';

export const HOSTS = 10_000;
export const PER_HOST = 64;
export const ADVISORIES = 2000;
const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const RANK: Record<(typeof SEVERITIES)[number], number> = { critical: 5, high: 4, medium: 3, low: 2 };

/** Writes the KEV catalog (CVE indexes i with i % 250 === 0 among `rows`) and syncs it. */
async function syncKev(db: Db, dir: string, rows: number, cveOf: (i: number) => string): Promise<number> {
  const vulnerabilities = [];
  for (let i = 0; i < rows; i += 250)
    vulnerabilities.push({
      cveID: cveOf(i),
      vendorProject: 'Vendor',
      product: 'Product',
      vulnerabilityName: `Vulnerability ${String(i)}`,
      dateAdded: '2026-03-02',
      shortDescription: 'A generated entry.',
      requiredAction: 'Apply mitigations per vendor instructions.',
      dueDate: '2026-03-23',
      knownRansomwareCampaignUse: i % 1000 === 0 ? 'Known' : 'Unknown',
      notes: '',
      cwes: ['CWE-787'],
    });
  const file = join(dir, 'known_exploited_vulnerabilities.json');
  const doc = {
    title: 'CISA Catalog of Known Exploited Vulnerabilities',
    catalogVersion: '2026.12.01',
    dateReleased: '2026-12-01T14:02:11.3141Z',
    count: vulnerabilities.length,
    vulnerabilities,
  };
  writeFileSync(file, JSON.stringify(doc));
  await syncSource(db, 'cisa-kev', { file });
  return vulnerabilities.length;
}

/** Builds the fleet in `db` (EPSS already synced); returns how many findings and KEV entries it holds. */
export async function buildSignalsFleet(db: Db, dir: string, rows: number, cveOf: (i: number) => string): Promise<{ findings: number; kev: number }> {
  const kev = await syncKev(db, dir, rows, cveOf);
  const k = rawKysely(db);
  const now = '2026-10-01T00:00:00.000Z';
  const pks: number[] = [];
  await transaction(db, async (tx) => {
    const t = rawKysely(tx);
    for (let a = 0; a < ADVISORIES; a++) {
      const r = await t
        .insertInto('advisories')
        .values({
          source: 'bench-signals',
          advisory_id: `BENCH-${String(a).padStart(4, '0')}`,
          title: `advisory ${String(a)}`,
          description: '',
          severity: SEVERITIES[a % 4] ?? 'medium',
          cvss_score: ((a * 7) % 100) / 10,
          cvss_vector: null,
          cvss_v4_score: null,
          cvss_v4_vector: null,
          published_at: '2026-01-01',
          updated_at: null,
          parser: 'bench',
          oval: null,
          fingerprint: `bench-${String(a)}`,
          first_seen_at: now,
          last_changed_at: now,
          withdrawn_at: null,
        })
        .returning('pk')
        .executeTakeFirstOrThrow();
      pks.push(r.pk);
      const cves = [cveOf(a * 149), ...(a % 5 === 0 ? [cveOf(a * 149 + 1)] : [])];
      await t
        .insertInto('advisory_cves')
        .values(cves.map((cve) => ({ advisory_pk: r.pk, cve })))
        .execute();
    }
    for (let h = 0; h < HOSTS; h++) await upsertTarget(tx, { name: `fleet-${String(h).padStart(6, '0')}`, kind: 'host', release: 'azurelinux:3.0' }, now);
  });
  // Advisory a is the a-th pk (a fresh store numbers them in order); host h's k-th finding is on
  // advisory (h*31 + k*17) % 2000 with severity (a + k) % 4; each 1,000 hosts first seen on a day.
  const base = pks[0] ?? 1;
  if (pks.some((p, i) => p !== base + i)) throw new Error('advisory pks are not consecutive');
  const sev = (col: string, list: readonly (string | number)[]) =>
    sql.raw(`case ${col} ${list.map((v, i) => `when ${String(i)} then ${typeof v === 'string' ? `'${v}'` : String(v)}`).join(' ')} end`);
  await sql`insert into findings (target_id, advisory_pk, package, arch, installed, fixed, severity, severity_rank, status, reason, first_seen_at, last_seen_at, closed_at)
    with recursive k(k) as (select 0 union all select k + 1 from k where k < ${PER_HOST - 1}),
      h as (select id, cast(substr(name, 7) as integer) as h from targets where name like 'fleet-%'),
      x as (select h.id, h.h, k.k, (h.h * 31 + k.k * 17) % ${ADVISORIES} as a from h, k)
    select x.id, ${base} + x.a, 'pkg-' || x.k, 'x86_64', '1.0-1', '1.0-2', ${sev('(x.a + x.k) % 4', SEVERITIES)}, ${sev(
      '(x.a + x.k) % 4',
      SEVERITIES.map((s) => RANK[s]),
    )},
      'open', null, '2026-10-' || printf('%02d', 2 + x.h / 1000) || 'T00:00:00.000Z', '2026-10-20T00:00:00.000Z', null from x`.execute(k);
  const n = await k
    .selectFrom('findings')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return { findings: Number(n.n), kev };
}
