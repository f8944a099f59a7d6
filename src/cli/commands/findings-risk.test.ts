import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/cli.js';
import { createApp } from '../../api/app.js';
import { openStore } from '../../services/store.js';
import { createToken } from '../../services/tokens.js';
import { refusingTransport } from '../../../test/refusing-transport.js';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);
const FEEDS = join(import.meta.dirname, '..', '..', 'feeds');
const KEV = join(FEEDS, 'kev', '__fixtures__', 'known_exploited_vulnerabilities.json');
const EPSS = join(FEEDS, 'epss', '__fixtures__', 'epss_scores-2026-12-01.csv.gz');

const advisory = (id: string, cve: string, severity: string, cvssScore: number, pkg: string) => ({
  id,
  title: `${id} in ${pkg}`,
  description: '',
  severity,
  cvssScore,
  cvssVector: null,
  cves: [cve],
  references: [],
  publishedAt: '2026-01-10T00:00:00Z',
  updatedAt: null,
  parser: 'native@1',
  fixes: [
    { release: 'azurelinux:3.0', package: pkg, packageKind: 'binary', arch: null, status: 'fixed', fixed: '99:1-1', lastAffected: null, introduced: null },
  ],
});

/**
 * Issue #16, done when: `bulwark findings --sort risk` puts a KEV-listed critical above a
 * higher-CVSS non-KEV one, with the reason printed; the same order in JSON, CSV, HTML, CycloneDX
 * (ratings) and the API.
 */
describe('the risk order in every output', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-risk-'));
  const db = join(dir, 'b.db');
  const KEV_REASON = 'KEV since 2026-05-14 (due 2026-06-04), EPSS 0.08 (92nd percentile), CVSS 9.1, critical';
  const OTHER_REASON = 'EPSS 0.02 (45th percentile), CVSS 10.0, critical';
  beforeAll(async () => {
    const feed = join(dir, 'adv.json');
    // KEV-1: critical, CVSS 9.1, listed in KEV. CVSS-10: critical, CVSS 10, not listed (EPSS 0.02).
    writeFileSync(
      feed,
      JSON.stringify({
        source: 'mine',
        advisories: [
          advisory('CVSS-10', 'CVE-2026-2001', 'critical', 10, 'curl'),
          advisory('KEV-1', 'CVE-2026-1002', 'critical', 9.1, 'openssl'),
          advisory('LOW-1', 'CVE-2099-0002', 'low', 2.0, 'bash'),
        ],
      }),
    );
    const inv = join(dir, 'inv.tsv');
    writeFileSync(
      inv,
      'curl\t0\t8.0\t1.azl3\tx86_64\tcurl-8.0-1.azl3.src.rpm\nopenssl\t0\t3.0\t1.azl3\tx86_64\topenssl-3.0-1.azl3.src.rpm\nbash\t0\t5.0\t1.azl3\tx86_64\tbash-5.0-1.azl3.src.rpm\n',
    );
    expect((await run('--db', db, 'feeds', 'add', 'mine', '--format', 'native', '--location', feed)).code).toBe(0);
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'mine')).code).toBe(0);
    expect((await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-1', '--release', 'azurelinux:3.0')).code).toBe(0);
    const kev = await run('--db', db, 'feeds', 'sync', '--source', 'cisa-kev', '--file', KEV);
    expect([kev.code, kev.out]).toEqual([
      0,
      expect.stringMatching(/^cisa-kev: 3 KEV entries \(catalog 2026\.12\.01, 2026-12-01\): 3 added, 0 changed, 0 dropped/) as unknown,
    ]);
    const epss = await run('--db', db, 'feeds', 'sync', '--source', 'first-epss', '--file', EPSS);
    expect([epss.code, epss.out]).toEqual([
      0,
      expect.stringMatching(/^first-epss: 5 EPSS scores \(model v2025\.03\.14, 2026-12-01\): 5 added, 0 moved/) as unknown,
    ]);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('table: --sort risk puts the KEV-listed critical first, with the reason printed', async () => {
    const bySeverity = await run('--db', db, 'findings');
    expect(
      bySeverity.out
        .split('\n')
        .slice(1, 3)
        .map((l) => l.split(/\s+/)[2]),
    ).toEqual(['CVSS-10', 'KEV-1']);
    const r = await run('--db', db, 'findings', '--sort', 'risk');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/RISK\s+WHY$/);
    expect(lines[1]).toMatch(
      /^critical\s+web-1\s+KEV-1\s.*\s96\.4\s+KEV since 2026-05-14 \(due 2026-06-04\), EPSS 0\.08 \(92nd percentile\), CVSS 9\.1, critical$/,
    );
    expect(lines[2]).toMatch(/^critical\s+web-1\s+CVSS-10\s.*\s41\.2\s+EPSS 0\.02 \(45th percentile\), CVSS 10\.0, critical$/);
    expect(lines[3]).toMatch(/^low\s+web-1\s+LOW-1\s.*no EPSS score, CVSS 2\.0, low$/);
    expect((await run('--db', db, 'findings', '--kev')).out).toMatch(/KEV-1[\s\S]*\n1 finding\n$/);
    expect((await run('--db', db, 'findings', '--epss-above', '0.05')).out).toMatch(/KEV-1[\s\S]*\n1 finding\n$/);
    expect((await run('--db', db, 'findings', '--epss-above', '0.01', '--sort', 'epss')).out).toMatch(/KEV-1[\s\S]*CVSS-10[\s\S]*\n2 findings\n$/);
    expect((await run('--db', db, 'findings', '--epss-above', '2')).code).toBe(2);
    // What to patch first: the first N of the order, in the table and the file formats.
    expect((await run('--db', db, 'findings', '--sort', 'risk', '--limit', '1')).out).toMatch(/KEV-1[^\n]*\n1 finding\n$/);
    const top = JSON.parse((await run('--db', db, 'report', '--format', 'json', '--sort', 'risk', '--limit', '2')).out) as {
      findings: { advisoryId: string }[];
    };
    expect(top.findings.map((f) => f.advisoryId)).toEqual(['KEV-1', 'CVSS-10']);
    for (const bad of [
      ['--limit', '0'],
      ['--limit', 'x'],
      ['--limit', '1', '--fail-on', 'high'],
    ])
      expect((await run('--db', db, 'findings', ...bad)).code).toBe(2);
  });

  it('JSON, CSV, HTML and CycloneDX: the same order and the same reasons', async () => {
    const json = JSON.parse((await run('--db', db, 'report', '--format', 'json', '--sort', 'risk')).out) as {
      findings: { advisoryId: string; risk: { score: number; reason: string; kev: { dueDate: string } | null } }[];
    };
    expect(json.findings.map((f) => [f.advisoryId, f.risk.score, f.risk.reason])).toEqual([
      ['KEV-1', 96.4, KEV_REASON],
      ['CVSS-10', 41.2, OTHER_REASON],
      ['LOW-1', 8, 'no EPSS score, CVSS 2.0, low'],
    ]);
    expect(json.findings[0]?.risk.kev?.dueDate).toBe('2026-06-04');
    const csv = (await run('--db', db, 'report', '--format', 'csv', '--sort', 'risk')).out.split('\r\n');
    expect(csv[1]).toMatch(
      /,KEV-1,.*,96\.4,"KEV since 2026-05-14 \(due 2026-06-04\), EPSS 0\.08 \(92nd percentile\), CVSS 9\.1, critical",2026-05-14,2026-06-04,unknown,0\.0812,0\.92044,9\.1,$/,
    );
    expect(csv[2]).toMatch(/,CVSS-10,.*,41\.2,"EPSS 0\.02 \(45th percentile\), CVSS 10\.0, critical",,,,0\.02011,0\.45233,10\.0,$/);
    const out = join(dir, 'r.html');
    expect((await run('--db', db, 'report', '--format', 'html', '--sort', 'risk', '--output', out)).code).toBe(0);
    const html = readFileSync(out, 'utf8');
    const all = html.slice(html.indexOf('All open findings'));
    expect(all.indexOf('KEV-1')).toBeLessThan(all.indexOf('CVSS-10'));
    expect(all).toContain(`<td>96.4</td><td>${KEV_REASON}</td>`);
    const vex = JSON.parse((await run('--db', db, 'report', '--format', 'cyclonedx-vex', '--sort', 'risk')).out) as {
      vulnerabilities: {
        id: string;
        ratings: { source: { name: string }; score?: number; justification?: string }[];
        properties?: { name: string; value: string }[];
      }[];
    };
    expect(vex.vulnerabilities.map((v) => v.id)).toEqual(['CVE-2026-1002', 'CVE-2026-2001', 'CVE-2099-0002']);
    expect(vex.vulnerabilities[0]?.ratings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: expect.objectContaining({ name: 'FIRST EPSS' }) as unknown, score: 0.0812 }),
        expect.objectContaining({ source: { name: 'bulwark risk order' }, score: 96.4, justification: KEV_REASON }),
      ]),
    );
    expect(vex.vulnerabilities[0]?.properties).toContainEqual({ name: 'bulwark:kev:dueDate', value: '2026-06-04' });
    expect(vex.vulnerabilities[1]?.properties).toBeUndefined();
  });

  it('the API: sort=risk, kev and epssAbove, the report too, and the OpenAPI document names them', async () => {
    const store = await openStore({ dbPath: db });
    try {
      const { token } = await createToken(store, { name: 'viewer', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } });
      const app = createApp(store, {
        knownHostsFile: join(dir, 'known_hosts'),
        transport: () => refusingTransport,
        version: 'test',
        agentServerKey: randomBytes(32),
        authFailuresPerMinute: 1000,
      });
      const get = async (path: string): Promise<Response> => app.request(path, { headers: { authorization: `Bearer ${token}` } });
      const page = (await (await get('/api/v1/findings?sort=risk')).json()) as { items: { advisoryId: string; risk: { reason: string } }[]; total: number };
      expect(page.items.map((i) => [i.advisoryId, i.risk.reason])).toEqual([
        ['KEV-1', KEV_REASON],
        ['CVSS-10', OTHER_REASON],
        ['LOW-1', 'no EPSS score, CVSS 2.0, low'],
      ]);
      const kevOnly = (await (await get('/api/v1/findings?kev=true')).json()) as { items: { advisoryId: string }[]; total: number };
      expect([kevOnly.total, kevOnly.items.map((i) => i.advisoryId)]).toEqual([1, ['KEV-1']]);
      const above = (await (await get('/api/v1/findings?epssAbove=0.01&sort=epss&limit=1&offset=1')).json()) as {
        items: { advisoryId: string }[];
        total: number;
      };
      expect([above.total, above.items.map((i) => i.advisoryId)]).toEqual([2, ['CVSS-10']]);
      // The default page (by the database) carries the risk too.
      const plain = (await (await get('/api/v1/findings')).json()) as { items: { advisoryId: string; risk: { score: number } }[] };
      expect(plain.items.map((i) => [i.advisoryId, i.risk.score])).toEqual([
        ['CVSS-10', 41.2],
        ['KEV-1', 96.4],
        ['LOW-1', 8],
      ]);
      const sig = (await (await get('/api/v1/signals/cve-2026-1002')).json()) as {
        cve: string;
        kev: { dueDate: string; ransomware: boolean };
        epss: { epss: number; scoreDate: string };
        epssTrend: { scoreDate: string; epss: number }[];
      };
      expect(sig).toMatchObject({
        cve: 'CVE-2026-1002',
        kev: { dueDate: '2026-06-04', ransomware: false },
        epss: { epss: 0.0812, scoreDate: '2026-12-01' },
        epssTrend: [{ scoreDate: '2026-12-01', epss: 0.0812 }],
      });
      expect((await get('/api/v1/signals/CVE-2099-9999')).status).toBe(404);
      expect((await get('/api/v1/signals/not-a-cve')).status).toBe(400);
      const csv = await (await get('/api/v1/reports/findings?format=csv&sort=risk')).text();
      expect(csv.split('\r\n')[1]).toContain(',KEV-1,');
      expect((await get('/api/v1/findings?epssAbove=3')).status).toBe(400);
      const doc = (await (await get('/api/v1/openapi.json')).json()) as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
      expect(doc.paths['/api/v1/findings']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['sort', 'kev', 'epssAbove']));
      expect(doc.paths['/api/v1/reports/findings']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['sort', 'kev', 'epssAbove']));
    } finally {
      await store.close();
    }
  });
});
