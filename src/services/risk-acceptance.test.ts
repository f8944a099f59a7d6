import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { rawKysely } from '../storage/index.js';
import { auditLog } from './audit.js';
import { complianceReport } from './compliance.js';
import { addSource, syncSource } from './feeds.js';
import { tagHost } from './hosts.js';
import { importRpmQaFile } from './inventory.js';
import { applyPolicyText, makePlan } from './policies.js';
import { findFindings } from './report.js';
import { acceptRisk, unacceptRisk } from './risk-acceptance.js';
import { scanTarget } from './scan.js';
import { schedulerTick } from './scheduler.js';
import type { Db } from './store.js';

// Risk acceptance: the `accepted` status, who/when/why/until, kept across scans, out of plans,
// the compliance report's exceptions; revoked by an operator or expired by a scan or the scheduler.

const at = (iso: string) => () => new Date(iso);
const alice = { kind: 'cli', name: 'alice' } as const;
const bob = { kind: 'user', name: 'bob' } as const;
// No run may start: the imported hosts are not reachable.
const unreachable = { ...refusingTransport, reaches: () => false };

function advisory(id: string, cve: string, pkg: string, fixed: string | null): Record<string, unknown> {
  return {
    id,
    title: `${id} in ${pkg}`,
    description: '',
    severity: 'high',
    cvssScore: null,
    cvssVector: null,
    cves: [cve],
    references: [],
    publishedAt: '2026-01-01T00:00:00Z',
    updatedAt: null,
    parser: 'test@1',
    fixes: [
      {
        release: 'azurelinux:3.0',
        package: pkg,
        packageKind: 'source',
        arch: null,
        status: fixed === null ? 'no-fix-yet' : 'fixed',
        fixed,
        lastAffected: null,
        introduced: null,
      },
    ],
  };
}

const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: monthly
cadence: { monthly: { weekday: tuesday, week: 2 } }
rollout: { rings: [{ name: all, percent: 100 }] }
reboot: never
`;

describe.each(testDatabases())('risk acceptance on $name', (tdb) => {
  let db: Db;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-accept-'));
  const statuses = async (host: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      (await findFindings(db, { hosts: [host], status: ['open', 'no-fix', 'accepted', 'fixed', 'withdrawn'] })).map((f) => [
        `${f.advisoryId} ${f.package}`,
        f.status,
      ]),
    );
  const planned = async (when: string): Promise<Record<string, string[]>> =>
    Object.fromEntries((await makePlan(db, 'monthly', { at: new Date(when) })).plan.entries.map((e) => [e.target, e.packages.map((p) => p.name).sort()]));
  const audits = async (action: string) => (await auditLog(db, { limit: 1000 })).filter((e) => e.action === action);

  beforeAll(async () => {
    db = await tdb.open();
    const feed = join(dir, 'feed.json');
    writeFileSync(
      feed,
      JSON.stringify({
        source: 'ra',
        advisories: [
          advisory('RA-1', 'CVE-2026-1001', 'openssl', '0:3.3.2-1.azl3'),
          advisory('RA-2', 'CVE-2026-1002', 'curl', '0:8.11.0-1.azl3'),
          advisory('RA-3', 'CVE-2026-1003', 'vim', null),
        ],
      }),
    );
    await addSource(db, { id: 'ra', format: 'native', location: feed });
    await syncSource(db, 'ra', { actor: alice, clock: at('2026-02-01T00:00:00Z') });
    const inv = join(dir, 'inventory.tsv');
    writeFileSync(
      inv,
      [
        'openssl\t0\t3.3.0\t1.azl3\tx86_64\topenssl-3.3.0-1.azl3.src.rpm',
        'curl\t0\t8.8.0\t1.azl3\tx86_64\tcurl-8.8.0-1.azl3.src.rpm',
        'vim\t0\t9.0.5\t1.azl3\tx86_64\tvim-9.0.5-1.azl3.src.rpm',
        '',
      ].join('\n'),
    );
    for (const [host, tag] of [
      ['web-01', 'prod'],
      ['web-02', 'prod'],
      ['lab-01', 'lab'],
    ] as const) {
      await importRpmQaFile(db, { name: host, release: 'azurelinux:3.0', file: inv }, at('2026-02-02T00:00:00Z'));
      await tagHost(db, host, { add: [tag], remove: [] }, alice);
      await scanTarget(db, host, at('2026-02-02T00:00:00Z'));
    }
    await applyPolicyText(db, POLICY, 'test', alice);
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts by host and CVE with who, when, why and until; the finding stays accepted across a scan, leaves the plan, and is a compliance exception', async () => {
    expect(await statuses('web-01')).toEqual({ 'RA-1 openssl': 'open', 'RA-2 curl': 'open', 'RA-3 vim': 'no-fix' });
    const r = await acceptRisk(
      db,
      { hosts: ['web-01'], cves: ['cve-2026-1001'], reason: 'openssl only serves localhost', until: '2026-06-30', actor: alice },
      at('2026-02-03T00:00:00Z'),
    );
    expect(r.findings).toEqual([{ host: 'web-01', advisorySource: 'ra', advisoryId: 'RA-1', package: 'openssl', arch: 'x86_64', was: 'open' }]);
    const [f] = await findFindings(db, { hosts: ['web-01'], status: ['accepted'] });
    expect([f?.advisoryId, f?.reason, f?.acceptedBy, f?.acceptedAt, f?.acceptedUntil]).toEqual([
      'RA-1',
      'openssl only serves localhost',
      'cli:alice',
      '2026-02-03T00:00:00.000Z',
      '2026-06-30T23:59:59.000Z',
    ]);
    // Listed only when asked for: the default list is open and no-fix.
    expect((await findFindings(db, { hosts: ['web-01'] })).map((x) => x.advisoryId).sort()).toEqual(['RA-2', 'RA-3']);
    const [a] = await audits('finding.accept');
    expect(a).toMatchObject({ actor: 'cli:alice', subject: 'RA-1', detail: { hosts: ['web-01'], reason: 'openssl only serves localhost', count: 1 } });
    // A scan keeps it accepted, with who and why.
    await scanTarget(db, 'web-01', at('2026-02-10T00:00:00Z'));
    expect((await statuses('web-01'))['RA-1 openssl']).toBe('accepted');
    expect((await findFindings(db, { hosts: ['web-01'], status: ['accepted'] }))[0]?.acceptedBy).toBe('cli:alice');
    // The plan leaves the accepted finding out: web-01 updates curl only, web-02 both.
    expect(await planned('2026-02-10T00:00:00Z')).toMatchObject({ 'web-01': ['curl'], 'web-02': ['curl', 'openssl'] });
    const report = await complianceReport(db, { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-03-01T00:00:00Z') }, at('2026-03-01T00:00:00Z'));
    expect(report.exceptions.acceptedRisks).toEqual([
      {
        host: 'web-01',
        advisory: 'RA-1',
        package: 'openssl',
        severity: 'high',
        reason: 'openssl only serves localhost',
        acceptedUntil: '2026-06-30T23:59:59.000Z',
        decidedBy: 'cli:alice',
        decidedAt: '2026-02-03T00:00:00.000Z',
      },
    ]);
  });

  it('refuses an acceptance without a reason, with a past expiry, or naming nothing it can accept', async () => {
    const now = at('2026-02-04T00:00:00Z');
    const base = { hosts: ['web-02'], advisories: ['RA-2'], actor: alice };
    const refused = async (p: Promise<unknown>, code: string, message: RegExp): Promise<void> => {
      const e = await p.then(
        () => null,
        (x: unknown) => x as { code?: string; message?: string },
      );
      expect([e?.code, e?.message]).toEqual([code, expect.stringMatching(message) as unknown]);
    };
    await refused(acceptRisk(db, { ...base, reason: '  ' }, now), 'usage', /needs a reason/);
    await refused(acceptRisk(db, { ...base, reason: 'x', until: '2026-02-01' }, now), 'usage', /not in the future/);
    await refused(acceptRisk(db, { ...base, reason: 'x', until: 'soon' }, now), 'usage', /not an ISO 8601 date/);
    await refused(
      acceptRisk(db, { hosts: ['web-2'], advisories: ['RA-2'], reason: 'x', actor: alice }, now),
      'storage.not-found',
      /no host or image named "web-2".*web-0/,
    );
    await refused(acceptRisk(db, { tags: ['nope'], advisories: ['RA-2'], reason: 'x', actor: alice }, now), 'storage.not-found', /no host has the tag nope/);
    await refused(acceptRisk(db, { advisories: ['RA-2'], reason: 'x', actor: alice }, now), 'usage', /--host NAME or --tag TAG/);
    await refused(acceptRisk(db, { hosts: ['web-02'], reason: 'x', actor: alice }, now), 'usage', /--advisory ID or --cve/);
    await refused(acceptRisk(db, { ...base, advisories: ['RA-9'], reason: 'x' }, now), 'storage.not-found', /no stored advisory is RA-9/);
    await refused(acceptRisk(db, { ...base, packages: ['bash'], reason: 'x' }, now), 'usage', /no open, no-fix or accepted finding/);
    // Nothing of the refused ones was stored or audited.
    expect((await statuses('web-02'))['RA-2 curl']).toBe('open');
    expect(await audits('finding.accept')).toHaveLength(1);
  });

  it('accepts by tag, advisory and package; renews an acceptance; unaccept gives open and no-fix back', async () => {
    const r = await acceptRisk(
      db,
      { tags: ['prod'], advisories: ['RA-3'], packages: ['vim'], reason: 'no fix exists; vim not used', actor: bob },
      at('2026-02-05T00:00:00Z'),
    );
    expect(r.findings.map((f) => `${f.host} ${f.advisoryId} ${f.was}`)).toEqual(['web-01 RA-3 no-fix', 'web-02 RA-3 no-fix']);
    expect((await statuses('lab-01'))['RA-3 vim']).toBe('no-fix');
    // Renewed with another reason and an expiry.
    const again = await acceptRisk(
      db,
      { hosts: ['web-02'], cves: ['CVE-2026-1003'], reason: 'reviewed again', until: '2026-12-31T00:00:00Z', actor: alice },
      at('2026-02-06T00:00:00Z'),
    );
    expect(again.findings.map((f) => f.was)).toEqual(['accepted']);
    expect((await findFindings(db, { hosts: ['web-02'], status: ['accepted'] })).map((f) => [f.reason, f.acceptedBy, f.acceptedUntil])).toEqual([
      ['reviewed again', 'cli:alice', '2026-12-31T00:00:00.000Z'],
    ]);
    const back = await unacceptRisk(db, { tags: ['prod'], cves: ['CVE-2026-1003'], reason: 'vim is used after all', actor: bob }, at('2026-02-07T00:00:00Z'));
    expect(back.findings.map((f) => f.host)).toEqual(['web-01', 'web-02']);
    for (const h of ['web-01', 'web-02']) expect((await statuses(h))['RA-3 vim']).toBe('no-fix');
    const [f] = await findFindings(db, { hosts: ['web-02'], cve: 'CVE-2026-1003' });
    expect([f?.reason, f?.acceptedBy, f?.acceptedAt, f?.acceptedUntil]).toEqual([null, null, null, null]);
    expect((await audits('finding.unaccept'))[0]).toMatchObject({ actor: 'user:bob', detail: { count: 2, reason: 'vim is used after all' } });
    await expect(unacceptRisk(db, { hosts: ['web-02'], cves: ['CVE-2026-1003'], actor: bob })).rejects.toMatchObject({ code: 'usage' });
  });

  it('ends an expired acceptance at the next scan (audited), and a plan made after the expiry counts the finding already', async () => {
    await acceptRisk(
      db,
      { hosts: ['web-02'], advisories: ['RA-2'], reason: 'freeze until March', until: '2026-03-01T00:00:00Z', actor: alice },
      at('2026-02-08T00:00:00Z'),
    );
    expect((await planned('2026-02-20T00:00:00Z'))['web-02']).toEqual(['openssl']);
    // Before any scan or scheduler pass: still stored accepted, but a plan for after the expiry includes curl.
    expect((await planned('2026-03-02T00:00:00Z'))['web-02']).toEqual(['curl', 'openssl']);
    await scanTarget(db, 'lab-01', at('2026-03-02T00:00:00Z'));
    expect((await statuses('web-02'))['RA-2 curl']).toBe('open');
    const [e] = await audits('finding.acceptance-expired');
    expect(e).toMatchObject({
      actor: 'system:bulwark',
      subject: 'RA-2',
      detail: { count: 1, findings: [{ host: 'web-02', advisory: 'RA-2', package: 'curl', acceptedBy: 'cli:alice', until: '2026-03-01T00:00:00.000Z' }] },
    });
    const [f] = await findFindings(db, { hosts: ['web-02'], cve: 'CVE-2026-1002' });
    expect([f?.status, f?.reason, f?.acceptedUntil]).toEqual(['open', null, null]);
  });

  it('the scheduler ends expired acceptances before it plans, as the scheduler', async () => {
    await acceptRisk(db, { hosts: ['lab-01'], advisories: ['RA-1'], reason: 'lab', until: '2026-04-01T00:00:00Z', actor: alice }, at('2026-03-03T00:00:00Z'));
    await schedulerTick(db, unreachable, { clock: at('2026-03-20T00:00:00Z') });
    expect((await statuses('lab-01'))['RA-1 openssl']).toBe('accepted');
    await schedulerTick(db, unreachable, { clock: at('2026-04-02T00:00:00Z') });
    expect((await statuses('lab-01'))['RA-1 openssl']).toBe('open');
    expect((await audits('finding.acceptance-expired')).map((e) => [e.actor, e.subject])).toEqual([
      ['scheduler', 'RA-1'],
      ['system:bulwark', 'RA-2'],
    ]);
  });

  it('a withdrawn accepted finding comes back open once unaccepted', async () => {
    await acceptRisk(db, { hosts: ['lab-01'], advisories: ['RA-2'], reason: 'lab again', actor: alice }, at('2026-04-03T00:00:00Z'));
    // The advisory is withdrawn by the feed (dropped), then comes back.
    await rawKysely(db)
      .updateTable('findings')
      .set({ closed_from: 'accepted', status: 'withdrawn', closed_at: '2026-04-04T00:00:00.000Z' })
      .where('status', '=', 'accepted')
      .where('package', '=', 'curl')
      .execute();
    const r = await unacceptRisk(db, { hosts: ['lab-01'], advisories: ['RA-2'], actor: alice }, at('2026-04-05T00:00:00Z'));
    expect(r.findings.map((f) => f.was)).toEqual(['withdrawn']);
    await scanTarget(db, 'lab-01', at('2026-04-06T00:00:00Z'));
    expect((await statuses('lab-01'))['RA-2 curl']).toBe('open');
  });
});
