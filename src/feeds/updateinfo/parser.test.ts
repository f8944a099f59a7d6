import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../../core/advisory.js';
import { parseRpmFileName } from '../../core/package/nevra.js';
import { feedDocuments } from '../../lib/archive.js';
import { buildDummyRpms } from '../../../test/rpm-tools.js';
import { sharedData } from '../../../test/shared-data.js';
import type { FeedWarning } from '../types.js';
import { parseUpdateinfo, releaseFromText } from './parser.js';
import { requires, tools } from '../../../test/needs.js';

const FIX = join(import.meta.dirname, '__fixtures__');

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield b;
}

async function parse(bytes: Buffer, release?: string): Promise<{ advisories: Advisory[]; warnings: FeedWarning[] }> {
  const advisories: Advisory[] = [];
  const warnings: FeedWarning[] = [];
  for await (const a of parseUpdateinfo(once(bytes), { source: 't', name: 'updateinfo.xml', release, warn: (w) => warnings.push(w) })) advisories.push(a);
  return { advisories, warnings };
}

describe('updateinfo', () => {
  it('reads Fedora and RHEL shapes: dates (attribute, unix seconds), severities, kinds, references, exact NEVRAs, modules, reboot hints', async () => {
    const { advisories, warnings } = await parse(readFileSync(join(FIX, 'fedora-style.xml')));
    expect(advisories.map((a) => [a.id, a.kind, a.severity])).toEqual([
      ['FEDORA-2024-0a1b2c3d4e', 'security', 'high'],
      ['RHSA-2024:4312', 'security', 'critical'],
      ['FEDORA-2024-ffff000111', 'bugfix', 'none'],
      ['BROKEN-1', 'security', 'unknown'],
    ]);
    const [f, rh] = advisories;
    expect(f).toMatchObject({
      cves: ['CVE-2024-6387'],
      publishedAt: '2024-07-01T10:00:00.000Z',
      updatedAt: '2024-07-02T12:30:00.000Z',
      parser: 'updateinfo@2',
    });
    expect(f?.references.map((r) => [r.type, r.id])).toEqual([
      ['bugzilla', '2294604'],
      ['cve', 'CVE-2024-6387'],
      ['advisory', 'FEDORA-2024-0a1b2c3d4e'],
    ]);
    expect(f?.fixes).toEqual([
      {
        release: 'fedora:41',
        package: 'openssh',
        packageKind: 'binary',
        arch: 'x86_64',
        status: 'fixed',
        fixed: '0:9.6p1-1.fc41',
        lastAffected: null,
        introduced: null,
        rebootSuggested: false,
      },
      {
        release: 'fedora:41',
        package: 'openssh-server',
        packageKind: 'binary',
        arch: 'x86_64',
        status: 'fixed',
        fixed: '0:9.6p1-1.fc41',
        lastAffected: null,
        introduced: null,
      },
    ]);
    expect(rh?.publishedAt).toBe('2024-07-01T00:00:00.000Z');
    expect(rh?.fixes).toEqual([
      {
        release: 'rhel:9',
        package: 'kernel',
        packageKind: 'binary',
        arch: 'x86_64',
        status: 'fixed',
        fixed: '0:5.14.0-427.22.1.el9_4',
        lastAffected: null,
        introduced: null,
        rebootSuggested: true,
      },
      {
        release: 'rhel:9',
        package: 'nodejs',
        packageKind: 'binary',
        arch: 'x86_64',
        status: 'fixed',
        fixed: '1:20.14.0-1.module+el9.4.0+21880+ab6e72b4',
        lastAffected: null,
        introduced: null,
        module: 'nodejs:20',
      },
    ]);
    expect(warnings.map((w) => [w.record, w.message.replace('updateinfo.xml: ', '')])).toEqual([
      [null, expect.stringMatching(/^<update> at line \d+ has no <id>; skipped$/) as string],
      ['BROKEN-1', expect.stringMatching(/^x at line \d+: no name, version, release or arch; skipped$/) as string],
      ['BROKEN-1', 'y: epoch "one" is not a number; skipped'],
    ]);
  });

  it("uses the source's release over the <release> text, and says when neither is known", async () => {
    const xml = Buffer.from(
      '<updates><update type="security"><id>X-1</id><pkglist><collection><package name="a" version="1" release="1.azl3" arch="x86_64"/></collection></pkglist></update></updates>',
    );
    expect((await parse(xml, 'azurelinux:3.0')).advisories[0]?.fixes[0]).toMatchObject({ release: 'azurelinux:3.0', fixed: '0:1-1.azl3' });
    const { advisories, warnings } = await parse(xml);
    expect(advisories[0]?.fixes).toEqual([]);
    expect(warnings[0]?.message).toMatch(/release is unknown/);
  });

  it('takes no fix from arch="src" entries (dnf applies none to installed binaries) and says so when an update lists nothing else', async () => {
    const xml = Buffer.from(
      '<updates><update type="security"><id>S-1</id><release>Fedora 41</release><pkglist><collection><package name="perl" epoch="4" version="5.38.2" release="510.fc41" arch="src"/></collection></pkglist></update></updates>',
    );
    const { advisories, warnings } = await parse(xml);
    expect(advisories[0]?.fixes).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([
      'updateinfo.xml: only source packages (arch="src") in <pkglist>: dnf applies none of them to installed binaries, so the advisory names no fixed build',
    ]);
  });

  it.each([
    ['<repomd><data type="primary"/></repomd>', /not an updateinfo document \(root element <repomd>\)/],
    ['<!DOCTYPE updates [<!ENTITY x SYSTEM "file:///etc/shadow">]><updates>&x;</updates>', /DOCTYPE/],
    ['<updates><update><id>A</id>', /updateinfo\.xml:1:\d+: /],
  ])('refuses %s', async (text, re) => {
    await expect(parse(Buffer.from(text))).rejects.toThrow(re);
  });

  it.each([
    ['Rocky Linux 8', 'rocky:8'],
    ['AlmaLinux 9', 'almalinux:9'],
    ['Fedora 41', 'fedora:41'],
    ['Azure Linux 3.0', 'azurelinux:3.0'],
    ['CBL-Mariner 2.0', 'mariner:2.0'],
    ['Red Hat Enterprise Linux 9', 'rhel:9'],
    ['Something 1', null],
  ])('release text %s → %s', (t, r) => {
    expect(releaseFromText(t)).toBe(r);
  });
});

const rocky = sharedData('samples', 'rpm-repo', 'rocky8-baseos', 'updateinfo.xml');
describe.skipIf(rocky === null)('updateinfo: the real Rocky Linux 8 sample', () => {
  it('reads both updates (dates as element text, the repeated description, empty pkglist) with the CVEs the file lists', async () => {
    const raw = readFileSync(rocky!);
    const text = raw.toString('utf8');
    const { advisories, warnings } = await parse(raw);
    expect(advisories).toHaveLength(text.match(/<update /g)?.length ?? -1);
    const cveRefs = [...text.matchAll(/id="(CVE-[^"]+)" type="cve"/g)].map((m) => m[1]);
    expect(advisories.flatMap((a) => a.cves).sort()).toEqual(cveRefs.sort());
    expect(advisories[0]).toMatchObject({
      id: 'RLSA-2022:1821',
      severity: 'medium',
      publishedAt: '2022-05-10T08:02:50.000Z',
      updatedAt: '2023-02-02T13:41:28.000Z',
    });
    expect(advisories[0]?.description).toMatch(/^Python is an interpreted/);
    expect(warnings.map((w) => w.message)).toEqual(advisories.map(() => expect.stringMatching(/no packages in <pkglist>/) as string));
  });
});

// A real round trip: rpms built with rpmbuild, a repository made by createrepo_c, our
// updateinfo.xml added with modifyrepo_c (which compresses it), then read back from the repodata.
requires(tools('rpmbuild', 'createrepo_c', 'modifyrepo_c')).describe('updateinfo: through the real createrepo_c and modifyrepo_c', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ui-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  it('lists exactly the NEVRAs of the built rpms', async () => {
    const rpms = buildDummyRpms(dir, [
      { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3', arch: 'noarch' },
      { name: 'bw-curl', version: '8.11.1', release: '3.azl3', arch: 'noarch' },
    ]);
    const repo = join(dir, 'rpms');
    execFileSync('createrepo_c', ['--quiet', repo]);
    const pkgs = rpms.map((f) => {
      const p = parseRpmFileName(f.split('/').pop()!);
      const epoch = p.name === 'bw-openssl' ? '1' : '0';
      return `<package name="${p.name}" epoch="${epoch}" version="${p.version}" release="${p.release}" arch="${p.arch}"><filename>${f.split('/').pop()!}</filename><reboot_suggested>1</reboot_suggested></package>`;
    });
    const ui = join(dir, 'updateinfo.xml');
    writeFileSync(
      ui,
      `<?xml version="1.0"?><updates><update from="bulwark" status="final" type="security" version="1"><id>BW-2026:0001</id><title>test</title><release>Azure Linux 3.0</release><severity>Critical</severity><issued date="2026-11-01 00:00:00"/><references><reference href="https://example.invalid" id="CVE-2026-0001" type="cve"/></references><pkglist><collection short="bw">${pkgs.join('')}</collection></pkglist></update></updates>`,
    );
    execFileSync('modifyrepo_c', ['--mdtype=updateinfo', ui, join(repo, 'repodata')]);
    const member = readdirSync(join(repo, 'repodata')).find((f) => f.includes('updateinfo'));
    expect(member).toBeDefined();
    expect(member).not.toMatch(/\.xml$/); // modifyrepo_c compresses it: the reader must decompress
    const advisories: Advisory[] = [];
    const path = join(repo, 'repodata', member!);
    for await (const doc of feedDocuments(bytesOf(path), path, { maxDocumentBytes: 1 << 20, maxTotalBytes: 1 << 20 }))
      for await (const a of parseUpdateinfo(doc.bytes, { source: 't', name: doc.name, warn: () => undefined })) advisories.push(a);
    expect(advisories.map((a) => a.id)).toEqual(['BW-2026:0001']);
    const fromRpm = execFileSync('rpm', ['-qp', '--qf', '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n', ...rpms], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(advisories[0]?.fixes.map((f) => `${f.package} ${f.fixed ?? ''}`).sort()).toEqual(fromRpm);
    expect(advisories[0]?.fixes.every((f) => f.release === 'azurelinux:3.0' && f.rebootSuggested === true)).toBe(true);
  });
});

async function* bytesOf(path: string): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield readFileSync(path);
}
