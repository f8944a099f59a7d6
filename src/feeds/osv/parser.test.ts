import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../../core/advisory.js';
import { sharedData } from '../../../test/shared-data.js';
import type { FeedWarning } from '../types.js';
import { ecosystemRelease, parseOsv } from './parser.js';

const FIX = join(import.meta.dirname, '__fixtures__');

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield b;
}

async function parse(bytes: Buffer, name = 'x.json'): Promise<{ advisories: Advisory[]; warnings: FeedWarning[] }> {
  const advisories: Advisory[] = [];
  const warnings: FeedWarning[] = [];
  for await (const a of parseOsv(once(bytes), { source: 'test', name, warn: (w) => warnings.push(w) })) advisories.push(a);
  return { advisories, warnings };
}
const file = (f: string): Promise<{ advisories: Advisory[]; warnings: FeedWarning[] }> => parse(readFileSync(join(FIX, f)), f);

describe('OSV', () => {
  it('reads AlmaLinux rpm EVRs (epoch only when not 0, modular builds), dedupes repeated entries, rates from the summary', async () => {
    const { advisories, warnings } = await file('alma-epoch-module.json');
    expect(warnings).toEqual([]);
    const [a] = advisories;
    expect(a).toMatchObject({
      id: 'ALSA-2026:8339',
      severity: 'high',
      cves: ['CVE-2026-26996', 'CVE-2026-27904'],
      publishedAt: '2026-04-15T00:00:00.000Z',
      updatedAt: '2026-04-16T10:12:34.000Z',
      parser: 'osv@3',
    });
    expect(a?.fixes).toEqual([
      {
        release: 'almalinux:8',
        package: 'nodejs',
        packageKind: 'binary',
        arch: null,
        status: 'fixed',
        fixed: '1:20.20.2-1.module_el8.10.0+4165+3f200bda',
        lastAffected: null,
        introduced: null,
        module: 'nodejs:20',
      },
      {
        release: 'almalinux:8',
        package: 'grub2-tools',
        packageKind: 'binary',
        arch: null,
        status: 'fixed',
        fixed: '2.06-27.el8_0.7.alma',
        lastAffected: null,
        introduced: null,
      },
    ]);
    expect(a?.references[0]).toEqual({ type: 'advisory', id: null, url: 'https://errata.almalinux.org/8/ALSA-2026-8339.html' });
  });

  it("takes a CVE from a database's record named after it (`UBUNTU-CVE-…` in a USN's upstream), and nothing from other ids", async () => {
    const usn = (await file('ubuntu-USN-7786-1.pro.trimmed.json')).advisories[0];
    expect(usn?.cves).toEqual(['CVE-2025-9230', 'CVE-2025-9231', 'CVE-2025-9232']);
    const doc = JSON.parse(readFileSync(join(FIX, 'ubuntu-USN-7786-1.pro.trimmed.json'), 'utf8')) as Record<string, unknown>;
    const other = {
      ...doc,
      upstream: ['USN-6859-1', 'GHSA-abcd-efgh-ijkl', 'ubuntu-CVE-2025-1', 'X-CVE-2025-12', 'UBUNTU-CVE-2025-9230-1'],
      related: ['DEBIAN-CVE-2024-6387'],
    };
    expect((await parse(Buffer.from(JSON.stringify(other)), 'other.json')).advisories[0]?.cves).toEqual(['CVE-2024-6387']);
  });

  it('reads Ubuntu source packages, CVSS vectors (scored), priorities, last_affected and open intervals; Pro fixes marked with their channel', async () => {
    const { advisories, warnings } = await file('ubuntu-cve.json');
    const [a] = advisories;
    expect(a).toMatchObject({ severity: 'high', cvssScore: 8.1, cvssVector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', cves: ['CVE-2024-6387'] });
    expect(a?.fixes).toEqual([
      {
        release: 'ubuntu:22.04',
        package: 'openssh',
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed: '1:8.9p1-3ubuntu0.10',
        lastAffected: null,
        introduced: null,
      },
      {
        release: 'ubuntu:24.04',
        package: 'openssh',
        packageKind: 'source',
        arch: null,
        status: 'no-fix-yet',
        fixed: null,
        lastAffected: '1:9.6p1-3ubuntu13',
        introduced: { version: '1:9.0p1-1', inclusive: true },
      },
      {
        release: 'ubuntu:24.04',
        package: 'openssh',
        packageKind: 'source',
        arch: null,
        status: 'no-fix-yet',
        fixed: null,
        lastAffected: null,
        introduced: { version: '1:9.7p1-1', inclusive: true },
      },
      {
        release: 'ubuntu:16.04',
        package: 'openssh',
        packageKind: 'source',
        arch: null,
        // No purl to say which ESM service: Pro's ESM as a whole.
        channel: 'Ubuntu Pro (esm)',
        status: 'fixed',
        fixed: '1:7.2p2-4ubuntu2.10+esm6',
        lastAffected: null,
        introduced: null,
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it('reads an array of records: Rocky, Debian, Red Hat streams; skips what cannot be matched, each with a warning naming the record', async () => {
    const { advisories, warnings } = await file('mixed.json');
    expect(advisories.map((a) => a.id)).toEqual(['RLSA-2024:3671', 'DSA-5000-1', 'RHSA-2024:1000']);
    expect(advisories[0]?.fixes[0]).toMatchObject({ release: 'rocky:9', package: 'ruby', fixed: '0:3.3.1-2.module+el9.4.0+20787+4c237fd3' });
    expect(advisories[0]?.severity).toBe('medium');
    expect(advisories[1]?.fixes).toEqual([
      {
        release: 'debian:12',
        package: 'openssl',
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed: '3.0.11-1~deb12u2',
        lastAffected: null,
        introduced: null,
      },
    ]);
    expect(advisories[1]?.severity).toBe('unknown');
    expect(advisories[2]?.fixes.map((f) => [f.release, f.fixed])).toEqual([
      ['rhel:9', '0:5.14.0-427.13.1.el9_4'],
      ['rhel:8.6', '0:4.18.0-372.105.1.el8_6'],
    ]);
    const expected: [string | null, RegExp][] = [
      ['DSA-5000-1', /^mixed\.json: affected\[1\]\.ranges\[0\]: range type SEMVER is not used/],
      ['DSA-5000-1', /^mixed\.json: affected\[2\]: zlib: version "1:": .*; skipped$/],
      ['DSA-5000-1', /^mixed\.json: affected\[3\]: ecosystem "npm" is not a distribution/],
      ['ALSA-2020:0001', /withdrawn by its publisher on 2020-02-01/],
      [null, /not an OSV record: id: /],
    ];
    expect(warnings).toHaveLength(expected.length);
    expected.forEach(([rec, re], i) => {
      expect(warnings[i]?.record).toBe(rec);
      expect(warnings[i]?.message).toMatch(re);
    });
  });

  it('keeps a CVSS_V4 vector and its score beside the v3 one, never in its place; rates from v4 when there is no v3', async () => {
    const v3 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H';
    const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
    const lower = 'CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U';
    const rec = (id: string, severity: { type: string; score: string }[]): unknown => ({
      id,
      modified: '2026-01-01T00:00:00Z',
      severity,
      affected: [
        {
          package: { ecosystem: 'Rocky Linux:9', name: 'openssl' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:3.0.7-1.el9' }] }],
        },
      ],
    });
    const doc = [
      rec('RLSA-2026:1', [
        { type: 'CVSS_V4', score: lower },
        { type: 'CVSS_V3', score: v3 },
        { type: 'CVSS_V4', score: v4 },
      ]),
      rec('RLSA-2026:2', [{ type: 'CVSS_V4', score: lower }]),
      rec('RLSA-2026:3', [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H' }]),
    ];
    const { advisories, warnings } = await parse(Buffer.from(JSON.stringify(doc)));
    expect(advisories[0]).toMatchObject({ severity: 'high', cvssScore: 7.5, cvssVector: v3, cvssV4: { vector: v4, score: 9.3 } });
    expect(advisories[1]).toMatchObject({ severity: 'medium', cvssScore: null, cvssVector: null, cvssV4: { vector: lower, score: 5.2 } });
    expect(advisories[2]).toMatchObject({ severity: 'unknown', cvssScore: null });
    expect(advisories[2]?.cvssV4).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      record: 'RLSA-2026:3',
      message: expect.stringMatching(/severity: CVSS v4\.0 vector .*: mandatory metric SC is missing; skipped/) as string,
    });
  });

  it.each([
    ['not JSON', '{"id": ', /x\.json: not JSON/],
    ['a scalar', '42', /not an OSV record or an array of records/],
  ])('refuses %s as a whole document', async (_w, text, re) => {
    await expect(parse(Buffer.from(text))).rejects.toThrow(re);
  });

  it.each([
    ['AlmaLinux:10', 'almalinux:10'],
    ['Rocky Linux:8', 'rocky:8'],
    ['Ubuntu:24.04:LTS', 'ubuntu:24.04'],
    ['Ubuntu:24.10', 'ubuntu:24.10'],
    ['Debian:11', 'debian:11'],
    ['Red Hat:enterprise_linux:8::appstream', 'rhel:8'],
  ])('maps ecosystem %s to %s', (eco, rel) => {
    expect(ecosystemRelease(eco)).toMatchObject({ release: rel });
  });
});

const samples = sharedData('samples', 'osv');
describe.skipIf(samples === null)('OSV: the real samples', () => {
  it.each(samples === null ? [] : readdirSync(samples))('%s: one advisory, one fix per affected entry', async (f) => {
    const raw = readFileSync(join(samples!, f));
    const doc = JSON.parse(raw.toString('utf8')) as { id: string; affected: unknown[] };
    const { advisories, warnings } = await parse(raw, f);
    expect(warnings).toEqual([]);
    expect(advisories.map((a) => a.id)).toEqual([doc.id]);
    expect(advisories[0]?.fixes).toHaveLength(doc.affected.length);
    expect(advisories[0]?.fixes.every((x) => x.status === 'fixed')).toBe(true);
  });

  it("reads a USN's CVEs from the Ubuntu CVE records it names (`upstream: UBUNTU-CVE-…`)", async () => {
    const usn = (await parse(readFileSync(join(samples!, 'ubuntu-USN-6859-1.osv.json')))).advisories[0];
    expect(usn?.cves).toEqual(['CVE-2024-6387']);
    expect(usn?.references.filter((x) => x.type === 'cve').map((x) => x.id)).toEqual(['CVE-2024-6387']);
  });

  it('reads the regreSSHion fix for AlmaLinux 9 and the grub2 epoch', async () => {
    const ssh = (await parse(readFileSync(join(samples!, 'almalinux9-ALSA-2024-4312.openssh.osv.json')))).advisories[0];
    expect(ssh?.cves).toEqual(['CVE-2024-6387']);
    expect(ssh?.fixes.find((f) => f.package === 'openssh')).toMatchObject({ release: 'almalinux:9', fixed: '8.7p1-38.el9_4.1' });
    const grub = (await parse(readFileSync(join(samples!, 'almalinux9-ALSA-2022-5099.epoch.osv.json')))).advisories[0];
    const grubFixes = grub?.fixes.filter((f) => f.package.startsWith('grub2')) ?? [];
    expect(grubFixes.length).toBeGreaterThan(10);
    expect(grubFixes.every((f) => f.fixed === '1:2.06-27.el9_0.7.alma')).toBe(true);
  });
});

// The whole AlmaLinux OSV database: every record parses, and the numbers agree with a walk of
// the raw JSON that does not use the parser.
const bulk = sharedData('bulk', 'almalinux-osv-database.948f47a.tar.xz');
describe.skipIf(bulk === null)('OSV: the AlmaLinux bulk archive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-osv-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  it('parses all 5,680 advisories with one fix per distinct affected (release, package, fixed version)', async () => {
    execFileSync('tar', ['-xJf', bulk!, '-C', dir]);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.json')) files.push(join(d, e.name));
      }
    };
    walk(dir);
    expect(files).toHaveLength(5680);
    let affectedEntries = 0;
    let expectedFixes = 0;
    let parsedFixes = 0;
    let advisories = 0;
    for (const f of files) {
      const raw = readFileSync(f);
      const doc = JSON.parse(raw.toString('utf8')) as {
        affected: { package: { ecosystem: string; name: string }; ranges: { events: Record<string, string>[] }[] }[];
      };
      affectedEntries += doc.affected.length;
      const distinct = new Set(doc.affected.map((a) => `${a.package.ecosystem}|${a.package.name}|${JSON.stringify(a.ranges.map((r) => r.events))}`));
      expectedFixes += distinct.size;
      const { advisories: got, warnings } = await parse(raw, f);
      expect(warnings).toEqual([]);
      advisories += got.length;
      parsedFixes += got.reduce((n, a) => n + a.fixes.length, 0);
    }
    expect(advisories).toBe(5680);
    expect(affectedEntries).toBe(71_329); // as the data notes count them
    expect(parsedFixes).toBe(expectedFixes);
  });
});
