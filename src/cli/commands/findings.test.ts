import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

describe('bulwark findings and report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-report-'));
  const db = join(dir, 'b.db');
  beforeAll(async () => {
    expect((await run('--db', db, 'demo')).code).toBe(0);
    // A hostile title and package version: reports must escape them.
    const feed = join(dir, 'evil.json');
    writeFileSync(
      feed,
      JSON.stringify({
        source: 'evil',
        advisories: [
          {
            id: 'EVIL-1',
            title: '<script>alert(1)</script>',
            description: '',
            severity: 'critical',
            cvssScore: null,
            cvssVector: null,
            cves: ['CVE-2099-0001'],
            references: [],
            publishedAt: null,
            updatedAt: null,
            parser: 'native@1',
            fixes: [
              {
                release: 'azurelinux:3.0',
                package: 'curl',
                packageKind: 'binary',
                arch: null,
                status: 'fixed',
                fixed: '9:9-9',
                lastAffected: null,
                introduced: null,
              },
            ],
          },
        ],
      }),
    );
    expect((await run('--db', db, 'feeds', 'add', 'evil', '--format', 'native', '--location', feed)).code).toBe(0);
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'evil')).code).toBe(0);
    expect(
      (
        await run(
          '--db',
          db,
          'scan',
          '--inventory',
          join(import.meta.dirname, '..', '..', '..', 'examples', 'demo', 'inventory.tsv'),
          '--name',
          'demo-azl3-vm',
          '--release',
          'azurelinux:3.0',
        )
      ).code,
    ).toBe(0);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists findings, filters by severity, CVE and host, and gates with --fail-on', async () => {
    const all = await run('--db', db, 'findings');
    expect(all.out).toMatch(/^critical\s+demo-azl3-vm\s+EVIL-1\s+CVE-2099-0001\s+curl/m);
    expect(all.out).toMatch(/7 findings\n$/);
    expect((await run('--db', db, 'findings', '--severity', 'critical')).out).toMatch(/2 findings\n$/);
    expect((await run('--db', db, 'findings', '--cve', 'cve-2099-0001')).out).toMatch(/1 finding\n$/);
    expect((await run('--db', db, 'findings', '--cve', 'CVE-1999-0000')).out).toMatch(/0 findings\n$/);
    expect((await run('--db', db, 'findings', '--fail-on', 'critical')).code).toBe(1);
    expect((await run('--db', db, 'findings', '--cve', 'CVE-1999-0000', '--fail-on', 'low')).code).toBe(0);
  });

  it('refuses a host it does not know (exit 2) instead of answering "0 findings", naming the closest one', async () => {
    const nobody = await run('--db', db, 'findings', '--host', 'nobody');
    expect([nobody.code, nobody.out, nobody.err]).toEqual([2, '', 'bulwark: no host or image named "nobody" (`bulwark hosts list` shows the hosts)\n']);
    const typo = await run('--db', db, 'report', '--host', 'demo-azl3-v', '--format', 'json');
    expect([typo.code, typo.out, typo.err]).toEqual([
      2,
      '',
      'bulwark: no host or image named "demo-azl3-v" (did you mean "demo-azl3-vm"?) (`bulwark hosts list` shows the hosts)\n',
    ]);
    expect((await run('--db', db, 'findings', '--host', 'demo-azl3-vm')).out).toMatch(/7 findings\n$/);
  });

  it('writes CSV with formula injection defused, JSON, CycloneDX VEX and an HTML page with the hostile text escaped', async () => {
    const csv = (await run('--db', db, 'report', '--format', 'csv')).out;
    // The risk columns (issue #16) come after the columns scripts already read.
    expect(csv.split('\r\n')[0]).toBe(
      'host,release,severity,status,advisory,source,cves,package,installed,fixed,first_seen,closed_at,reason,title,risk,risk_reason,kev_date_added,kev_due_date,kev_ransomware,epss,epss_percentile,cvss_v3,cvss_v4',
    );
    expect(csv).toContain(',<script>alert(1)</script>,');
    const json = JSON.parse((await run('--db', db, 'report', '--format', 'json')).out) as { findings: { advisoryId: string }[] };
    expect(json.findings).toHaveLength(7);
    const vex = JSON.parse((await run('--db', db, 'report', '--format', 'cyclonedx-vex')).out) as {
      bomFormat: string;
      specVersion: string;
      components: { 'bom-ref': string; purl?: string }[];
      vulnerabilities: { id: string; analysis: { state: string }; affects: { ref: string }[] }[];
    };
    expect([vex.bomFormat, vex.specVersion]).toEqual(['CycloneDX', '1.6']);
    const refs = new Set(vex.components.map((c) => c['bom-ref']));
    for (const v of vex.vulnerabilities) for (const a of v.affects) expect(refs.has(a.ref)).toBe(true);
    expect(vex.vulnerabilities.find((v) => v.id === 'CVE-2099-0001')?.analysis.state).toBe('in_triage');
    expect(vex.components.some((c) => c.purl?.startsWith('pkg:rpm/azurelinux/curl@') === true)).toBe(true);
    const out = join(dir, 'report.html');
    expect((await run('--db', db, 'report', '--format', 'html', '--output', out)).code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('<svg role="img" aria-label="Open findings by severity"');
    expect(html).toMatch(/7 open findings on 1 target, generated/);
  });
});
