import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { requires, tool } from '../../test/needs.js';
import { rng } from '../../test/random.js';
import { rawKysely, type Db } from '../storage/index.js';
import { applyPolicyText, decide } from './policies.js';
import { complianceReport, type ComplianceReport } from './compliance.js';
import { BUILTIN_PROFILES, listProfiles, resetProfile, setProfile } from './compliance-profiles.js';
import { complianceCsv, complianceHtml } from './compliance-render.js';
import { htmlToPdf } from './compliance-pdf.js';
import { hostEvidence } from './evidence.js';

/**
 * Issue #18 item 3: a store with a year of synthetic history (findings opened and closed over
 * 2026 on three hosts of two releases, some KEV-listed, accepted, withdrawn or without a fix,
 * and a patch run) gives attainment figures that this test recomputes on its own from the raw
 * rows, read back with plain SQL — not from the report's code.
 */
const ALICE = { kind: 'cli', name: 'alice' } as const;
const DAY = 86_400_000;
const YEAR_START = Date.parse('2026-01-01T00:00:00Z');
const NOW = new Date('2027-01-20T00:00:00Z');
const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

async function seed(db: Db): Promise<void> {
  const k = rawKysely(db);
  const hosts = [
    { id: 'h1', name: 'web-01', release_id: 'azurelinux:3.0', tags: '["prod"]' },
    { id: 'h2', name: 'web-02', release_id: 'azurelinux:3.0', tags: '["prod"]' },
    { id: 'h3', name: 'db-01', release_id: 'debian:12', tags: '[]' },
  ];
  for (const h of hosts)
    await k
      .insertInto('targets')
      .values({ ...h, kind: 'host', platform: null, arch: 'x86_64', address: null, created_at: '2025-12-01T00:00:00.000Z' })
      .execute();
  const random = rng(18);
  await k
    .insertInto('kev_entries')
    .values(
      [1, 2, 3].map((i) => ({
        cve: `CVE-2026-000${String(i)}`,
        vendor_project: 'x',
        product: 'x',
        vulnerability_name: 'x',
        date_added: '2026-01-01',
        short_description: 'x',
        required_action: 'x',
        due_date: `2026-0${String(i + 2)}-15`,
        ransomware: 0,
        notes: '',
        cwes: '[]',
        catalog_version: '1',
        first_seen_at: '2026-01-01T00:00:00.000Z',
        last_changed_at: '2026-01-01T00:00:00.000Z',
        removed_at: null,
      })),
    )
    .execute();
  for (let a = 0; a < 120; a++) {
    const sev = SEVERITIES[Math.floor(random() * 4)] ?? 'low';
    const { pk } = await k
      .insertInto('advisories')
      .values({
        source: 'synthetic',
        advisory_id: `SYN-${String(a)}`,
        title: 't',
        description: 'd',
        severity: sev,
        cvss_score: null,
        cvss_vector: null,
        published_at: '2026-01-01T00:00:00Z',
        updated_at: null,
        parser: 'test',
        oval: null,
        fingerprint: String(a),
        first_seen_at: '2026-01-01T00:00:00.000Z',
        last_changed_at: '2026-01-01T00:00:00.000Z',
        withdrawn_at: null,
      })
      .returning('pk')
      .executeTakeFirstOrThrow();
    const cve = a < 6 ? `CVE-2026-000${String((a % 3) + 1)}` : `CVE-2026-${String(1000 + a)}`;
    await k.insertInto('advisory_cves').values({ advisory_pk: pk, cve }).execute();
    for (const h of hosts) {
      if (random() < 0.3) continue;
      const first = YEAR_START - 20 * DAY + Math.floor(random() * 380 * DAY);
      const roll = random();
      const status = roll < 0.62 ? 'fixed' : roll < 0.85 ? 'open' : roll < 0.9 ? 'accepted' : roll < 0.95 ? 'withdrawn' : 'no-fix';
      const closed = status === 'fixed' || status === 'withdrawn' ? first + Math.floor(random() * 200 * DAY) : null;
      await k
        .insertInto('findings')
        .values({
          target_id: h.id,
          advisory_pk: pk,
          package: `pkg${String(a)}`,
          arch: 'x86_64',
          installed: '1.0-1',
          fixed: '1.0-2',
          severity: sev,
          severity_rank: 5 - SEVERITIES.indexOf(sev),
          status,
          reason: status === 'accepted' ? 'compensating control: WAF rule 7' : null,
          first_seen_at: new Date(first).toISOString(),
          last_seen_at: new Date(closed ?? first).toISOString(),
          closed_at: closed === null ? null : new Date(closed).toISOString(),
        })
        .execute();
    }
  }
}

/** The figures, recomputed from raw rows with the definitions the README states (FedRAMP days, KEV due dates). */
async function independent(db: Db, days: Record<string, number>, kevDue: boolean, from: number, to: number) {
  const rows = (
    await rawKysely(db)
      .selectFrom('findings as f')
      .innerJoin('targets as t', 't.id', 'f.target_id')
      .innerJoin('advisory_cves as c', 'c.advisory_pk', 'f.advisory_pk')
      .leftJoin('kev_entries as k', 'k.cve', 'c.cve')
      .select(['f.severity', 'f.status', 'f.first_seen_at', 'f.closed_at', 't.release_id', 'k.due_date'])
      .execute()
  ).map((r) => {
    const firstSeen = new Date(r.first_seen_at).getTime();
    let deadline: number | null = days[r.severity] === undefined ? null : firstSeen + (days[r.severity] ?? 0) * DAY;
    if (kevDue && r.due_date !== null) deadline = Math.min(deadline ?? Infinity, Date.parse(r.due_date + 'T00:00:00Z') + DAY);
    return { ...r, firstSeen, closed: r.closed_at === null ? null : new Date(r.closed_at).getTime(), deadline, kev: r.due_date !== null };
  });
  const figures = (pick: (r: (typeof rows)[number]) => boolean, a = from, b = to) => {
    const c = rows.filter((r) => pick(r) && (r.status === 'open' || r.status === 'fixed') && r.deadline !== null && r.firstSeen < to);
    const due = c.filter((r) => (r.deadline ?? 0) >= a && (r.deadline ?? 0) < b);
    const met = due.filter((r) => r.closed !== null && r.closed <= (r.deadline ?? 0)).length;
    const fixedDays = c
      .filter((r) => r.status === 'fixed' && r.closed !== null && r.closed >= a && r.closed < b)
      .map((r) => ((r.closed ?? 0) - r.firstSeen) / DAY)
      .sort((x, y) => x - y);
    const p90 = fixedDays.length === 0 ? null : (fixedDays[Math.ceil(fixedDays.length * 0.9) - 1] ?? null);
    const mean = fixedDays.length === 0 ? null : fixedDays.reduce((x, y) => x + y, 0) / fixedDays.length;
    const open = c.filter((r) => r.firstSeen < b && (r.closed === null || r.closed >= b) && (r.deadline ?? 0) < b).length;
    return { due: due.length, met, fixed: fixedDays.length, mean, p90, open };
  };
  return { figures, rows };
}

function expectBucket(
  b: ComplianceReport['attainment']['overall'],
  f: { due: number; met: number; fixed: number; mean: number | null; p90: number | null; open: number },
): void {
  expect({ key: b.key, due: b.due, met: b.met, fixed: b.fixed, open: b.openPastDeadline }).toEqual({
    key: b.key,
    due: f.due,
    met: f.met,
    fixed: f.fixed,
    open: f.open,
  });
  if (f.mean === null) expect(b.meanDaysToRemediate).toBeNull();
  else expect(b.meanDaysToRemediate).toBeCloseTo(f.mean, 1);
  if (f.p90 === null) expect(b.p90DaysToRemediate).toBeNull();
  else expect(b.p90DaysToRemediate).toBeCloseTo(f.p90, 1);
  expect(b.share).toBe(f.due === 0 ? null : f.met / f.due);
}

describe.each(testDatabases())('compliance report on $name', ({ open }) => {
  it('attainment per severity, KEV, release and month agrees with figures recomputed from the raw rows; holds and accepted risks are listed with who and why', async () => {
    const db = await open();
    try {
      await seed(db);
      // Findings the policy's scope covers (azurelinux:3.0 hosts) count under it.
      await applyPolicyText(
        db,
        'apiVersion: bulwark/v1\nkind: Policy\nname: azl-prod\nscope: { releases: ["azurelinux:3.0"] }\ncadence: { monthly: { weekday: tuesday, week: 2 } }\noutOfBand: [{ name: crit, match: { severity: [critical] }, deadlineHours: 168 }]\n',
        'test',
        ALICE,
      );
      await decide(
        db,
        { policy: 'azl-prod', advisoryId: 'SYN-7', kind: 'hold', reason: 'vendor app not certified', until: null, actor: ALICE },
        () => new Date('2026-06-01T00:00:00Z'),
      );
      const from = new Date('2026-01-01T00:00:00Z');
      const to = new Date('2027-01-01T00:00:00Z');
      const r = await complianceReport(db, { from, to }, () => NOW);
      const { figures, rows } = await independent(db, { critical: 30, high: 30, medium: 90, low: 180 }, true, from.getTime(), to.getTime());
      expect(r.attainment.overall.due).toBeGreaterThan(50);
      expect(r.attainment.overall.met).toBeGreaterThan(5);
      expect(r.attainment.overall.missed).toBeGreaterThan(5);
      expectBucket(
        r.attainment.overall,
        figures(() => true),
      );
      for (const s of SEVERITIES)
        expectBucket(
          r.attainment.bySeverity.find((b) => b.key === s) ?? r.attainment.overall,
          figures((x) => x.severity === s),
        );
      expectBucket(
        r.attainment.kev,
        figures((x) => x.kev),
      );
      expect(r.attainment.kev.due).toBeGreaterThan(0);
      for (const rel of ['azurelinux:3.0', 'debian:12'])
        expectBucket(
          r.attainment.byRelease.find((b) => b.key === rel) ?? r.attainment.overall,
          figures((x) => x.release_id === rel),
        );
      expect(r.attainment.byMonth.map((b) => b.key)).toEqual(Array.from({ length: 12 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`));
      for (const [i, m] of r.attainment.byMonth.entries())
        expectBucket(
          m,
          figures(() => true, Date.UTC(2026, i, 1), Date.UTC(2026, i + 1, 1)),
        );
      expect(r.attainment.byPolicy.map((b) => b.key)).toEqual(['azl-prod']);
      expectBucket(
        r.attainment.byPolicy[0] ?? r.attainment.overall,
        figures((x) => x.release_id === 'azurelinux:3.0'),
      );
      expect(r.notCounted.accepted).toBe(rows.filter((x) => x.status === 'accepted').length);
      expect(r.exceptions.acceptedRisks[0]?.reason).toBe('compensating control: WAF rule 7');
      expect(r.exceptions.holds).toEqual([
        {
          policy: 'azl-prod',
          advisory: 'SYN-7',
          reason: 'vendor app not certified',
          until: null,
          decidedBy: 'cli:alice',
          decidedAt: '2026-06-01T00:00:00.000Z',
          revokedAt: null,
        },
      ]);
      expect(r.overdue.length).toBe(r.attainment.overall.openPastDeadline);

      // PCI DSS: only critical findings have a deadline.
      const pci = await complianceReport(db, { from, to, deadlines: 'pci-dss' }, () => NOW);
      expectBucket(
        pci.attainment.overall,
        (await independent(db, { critical: 30 }, false, from.getTime(), to.getTime())).figures(() => true),
      );
      // An edited profile is used, audited, and reset back.
      await setProfile(db, 'fedramp', { ...BUILTIN_PROFILES['fedramp'], days: { critical: 15, high: 30, medium: 90, low: 180 } }, ALICE);
      const edited = await complianceReport(db, { from, to }, () => NOW);
      expectBucket(
        edited.attainment.overall,
        (await independent(db, { critical: 15, high: 30, medium: 90, low: 180 }, true, from.getTime(), to.getTime())).figures(() => true),
      );
      expect((await listProfiles(db)).find((p) => p.name === 'fedramp')?.edited?.by).toBe('cli:alice');
      await resetProfile(db, 'fedramp', ALICE);
      expect((await complianceReport(db, { from, to }, () => NOW)).attainment).toEqual(r.attainment);
      await expect(setProfile(db, 'mine', { days: { critical: 0 } }, ALICE)).rejects.toThrow(/days.critical/);
      await expect(complianceReport(db, { from, to, deadlines: 'sox' }, () => NOW)).rejects.toThrow(
        /no deadline profile named "sox" \(known: fedramp, pci-dss/,
      );
      // The policies' own deadlines: the critical rule's 7 days from publication, else the next monthly cycle.
      const byPolicy = await complianceReport(db, { from, to, deadlines: 'policy' }, () => NOW);
      expect(byPolicy.attainment.overall.due).toBeGreaterThan(0);
      expect(byPolicy.notCounted.noDeadline).toBe(rows.filter((x) => x.release_id === 'debian:12' && (x.status === 'open' || x.status === 'fixed')).length);

      // CSV: a header and one line per bucket, the same numbers.
      const csv = complianceCsv(r).trim().split('\r\n');
      expect(csv[0]).toBe('section,key,due,met,missed,share,fixed,mean_days_to_remediate,p90_days_to_remediate,open_past_deadline');
      expect(csv[1]).toBe(
        `overall,all,${String(r.attainment.overall.due)},${String(r.attainment.overall.met)},${String(r.attainment.overall.missed)},${String(Math.round((r.attainment.overall.share ?? 0) * 10000) / 10000)},${String(r.attainment.overall.fixed)},${String(r.attainment.overall.meanDaysToRemediate)},${String(r.attainment.overall.p90DaysToRemediate)},${String(r.attainment.overall.openPastDeadline)}`,
      );
      expect(csv.filter((l) => l.startsWith('month,'))).toHaveLength(12);
      const html = complianceHtml(r);
      expect(html).toContain('<svg');
      expect(html).not.toMatch(/<script|src="http|href="http/);
      expect(html).toContain('vendor app not certified');
    } finally {
      await db.close();
    }
  });

  it('evidence for a host and period: the run, who started it, the packages and versions it changed, who approved, the findings it closed', async () => {
    const db = await open();
    try {
      await seed(db);
      const k = rawKysely(db);
      await applyPolicyText(db, 'apiVersion: bulwark/v1\nkind: Policy\nname: azl-prod\ncadence: { monthly: { weekday: tuesday, week: 2 } }\n', 'test', ALICE);
      await decide(
        db,
        { policy: 'azl-prod', advisoryId: 'SYN-1', kind: 'approve', reason: 'tested in staging', until: null, actor: ALICE },
        () => new Date('2026-05-01T00:00:00Z'),
      );
      const plan = {
        entries: [{ targetId: 'h1', approval: 'approved', reasons: [], packages: [{ name: 'pkg1', from: '1.0-1', to: '1.0-2', advisories: ['SYN-1'] }] }],
      };
      const { pk: planPk } = await k
        .insertInto('plans')
        .values({ policy: 'azl-prod', policy_version: 1, created_at: '2026-05-02T00:00:00.000Z', plan: JSON.stringify(plan) })
        .returning('pk')
        .executeTakeFirstOrThrow();
      const { pk: run } = await k
        .insertInto('runs')
        .values({
          policy: 'azl-prod',
          plan_pk: planPk,
          status: 'done',
          failure_threshold: 0.1,
          max_concurrency: 1,
          created_at: '2026-05-02T00:00:00.000Z',
          updated_at: '2026-05-02T01:00:00.000Z',
          note: null,
          resume_at: null,
        })
        .returning('pk')
        .executeTakeFirstOrThrow();
      const step = (seq: number, kind: string, spec: unknown, finished: string) => ({
        run_pk: run,
        seq,
        ring_index: 0,
        target_id: 'h1',
        target_name: 'web-01',
        kind,
        spec: JSON.stringify(spec),
        state: 'done',
        started_at: '2026-05-02T00:00:00.000Z',
        finished_at: finished,
        exit_code: 0,
        output: '',
      });
      await k
        .insertInto('run_steps')
        .values([
          step(1, 'precheck', { packages: [{ name: 'pkg1', version: '1.0-2' }] }, '2026-05-02T00:10:00.000Z'),
          step(2, 'update', { packages: [{ name: 'pkg1', version: '1.0-2' }] }, '2026-05-02T00:20:00.000Z'),
          step(3, 'rescan', {}, '2026-05-02T00:30:00.000Z'),
        ])
        .execute();
      await k
        .insertInto('audit')
        .values({ at: '2026-05-02T00:00:00.000Z', actor: 'cli:bob', action: 'run.start', subject: 'azl-prod', detail: JSON.stringify({ run }) })
        .execute();
      const adv = await k.selectFrom('advisories').select('pk').where('advisory_id', '=', 'SYN-1').executeTakeFirstOrThrow();
      await k.deleteFrom('findings').where('target_id', '=', 'h1').where('advisory_pk', '=', adv.pk).execute();
      await k
        .insertInto('findings')
        .values({
          target_id: 'h1',
          advisory_pk: adv.pk,
          package: 'pkg1',
          arch: 'x86_64',
          installed: '1.0-1',
          fixed: '1.0-2',
          severity: 'high',
          severity_rank: 4,
          status: 'fixed',
          reason: null,
          first_seen_at: '2026-04-20T00:00:00.000Z',
          last_seen_at: '2026-05-02T00:29:00.000Z',
          closed_at: '2026-05-02T00:29:00.000Z',
        })
        .execute();
      const e = await hostEvidence(db, { host: 'web-01', from: new Date('2026-05-01T00:00:00Z'), to: new Date('2026-06-01T00:00:00Z') });
      expect(e.runs).toHaveLength(1);
      const r0 = e.runs[0];
      expect(r0?.startedBy).toBe('cli:bob');
      expect(r0?.packages).toEqual([{ name: 'pkg1', from: '1.0-1', to: '1.0-2', advisories: ['SYN-1'] }]);
      expect(r0?.approvals).toEqual([{ advisory: 'SYN-1', by: 'cli:alice', at: '2026-05-01T00:00:00.000Z', reason: 'tested in staging' }]);
      expect(r0?.closed.map((f) => `${f.advisory} ${f.package} ${f.installed}`)).toEqual(['SYN-1 pkg1 1.0-1']);
      expect(r0?.steps.map((s) => `${s.kind}:${s.state}`)).toEqual(['precheck:done', 'update:done', 'rescan:done']);
      // Another period, or another host: no run.
      expect((await hostEvidence(db, { host: 'web-01', from: new Date('2026-07-01T00:00:00Z'), to: new Date('2026-08-01T00:00:00Z') })).runs).toEqual([]);
      expect((await hostEvidence(db, { host: 'web-02', from: new Date('2026-05-01T00:00:00Z'), to: new Date('2026-06-01T00:00:00Z') })).runs).toEqual([]);
      await expect(hostEvidence(db, { host: 'nope', from: new Date('2026-05-01T00:00:00Z'), to: new Date('2026-06-01T00:00:00Z') })).rejects.toThrow(
        /no host named "nope"/,
      );
    } finally {
      await db.close();
    }
  });
});

requires(tool('/usr/bin/chromium', { name: 'chromium' }), tool('pdftoppm', { probe: ['-v'] }), tool('pdfinfo', { probe: ['-v'] })).describe(
  'the compliance report as PDF',
  () => {
    it('headless Chromium prints the HTML report; the PDF opens and every page renders (pdftoppm)', async () => {
      const [sqlite] = testDatabases();
      const db = await (sqlite ?? { open: () => Promise.reject(new Error('no sqlite')) }).open();
      const dir = mkdtempSync(join(tmpdir(), 'bulwark-comply-pdf-'));
      try {
        await seed(db);
        const r = await complianceReport(db, { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') }, () => NOW);
        const pdf = await htmlToPdf(complianceHtml(r));
        const file = join(dir, 'report.pdf');
        writeFileSync(file, pdf);
        const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
        const pages = Number(/Pages:\s+(\d+)/.exec(info)?.[1] ?? '0');
        expect(pages).toBeGreaterThanOrEqual(2);
        execFileSync('pdftoppm', ['-r', '40', '-png', file, join(dir, 'page')]);
        const pngs = readdirSync(dir).filter((f) => f.startsWith('page') && f.endsWith('.png'));
        expect(pngs).toHaveLength(pages);
        for (const p of pngs) expect(statSync(join(dir, p)).size).toBeGreaterThan(1000);
        // The text is in the PDF (pdftotext would need more; the title is in the metadata).
        expect(info).toMatch(/Title:\s+Bulwark compliance report 2026-01-01/);
      } finally {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  },
);
