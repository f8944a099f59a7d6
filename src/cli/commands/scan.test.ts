import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../../../test/cli.js';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRpmRoot } from '../../../test/rpm-tools.js';
import { sharedData } from '../../../test/shared-data.js';
import { cycloneDx, spdxDocument } from '../../images/sbom.js';
import { requires, tools } from '../../../test/needs.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-scan-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const OVAL = join(import.meta.dirname, '..', '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml');

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

const inv = join(dir, 'host.tsv');
writeFileSync(inv, 'golang\t0\t1.20.6\t1.azl3\tx86_64\tgolang-1.20.6-1.azl3.src.rpm\nbash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n');

describe('bulwark scan --feed (no database)', () => {
  it('prints JSON findings with the fields pipelines rely on', async () => {
    const r = await run('scan', '--inventory', inv, '--feed', OVAL, '--format', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { findings: Record<string, unknown>[]; release: string; mode: string };
    expect(doc.release).toBe('azurelinux:3.0');
    expect(doc.findings).toEqual([
      {
        advisory: 'oval:com.microsoft.azurelinux:def:1',
        source: `file:${OVAL}`,
        cves: ['CVE-2023-29409'],
        package: 'golang',
        arch: 'x86_64',
        installed: '0:1.20.6-1.azl3',
        fixed: '0:1.20.7-1.azl3',
        severity: 'medium',
        status: 'open',
        reason: null,
        packageSource: { name: 'golang', origin: 'given' },
      },
    ]);
  });

  it.each([
    ['medium', 1],
    ['high', 0],
  ])('--fail-on %s exits %i', async (sev, code) => {
    const r = await run('scan', '--inventory', inv, '--feed', OVAL, '--fail-on', sev);
    expect(r.code).toBe(code);
    expect(r.out).toMatch(/1 finding \(1 with a fix, 0 without one\)/);
  });

  it('names each feed warning, with its record (there is no store to ask afterwards)', async () => {
    // A definition whose criterion names a test the file does not hold.
    const broken = join(dir, 'broken-ref.xml');
    writeFileSync(broken, readFileSync(OVAL, 'utf8').replace('tst:1000"', 'tst:999999"'));
    const r = await run('scan', '--inventory', inv, '--feed', broken);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^feed warning oval:com\.microsoft\.azurelinux:def:1: .*tst:999999/m);
    expect(r.err).toMatch(/^feed warning oval:com\.microsoft\.azurelinux:def:2: .*comma-separated list/m);
    expect(r.err).toContain('2 feed warnings (records or parts of them left out)\n');
    expect(r.err).not.toContain('feeds sync');
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await run('scan', '--feed', OVAL)).code).toBe(2);
    expect((await run('scan', '--inventory', inv, '--feed', OVAL, '--fail-on', 'severe')).err).toContain('"severe" is not a severity');
    expect((await run('scan', '--inventory', join(dir, 'absent.tsv'), '--feed', OVAL)).code).toBe(2);
  });
});

// Issue #13: a manifest of rpm file names says nothing of source packages, and Azure Linux's
// OVAL names only source packages; this scan found nothing and exited 0.
const AZL3_OVAL = sharedData('azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
if (AZL3_OVAL === null && process.env['CI'] !== undefined)
  throw new Error('../shared/data/azurelinux/oval/azurelinux-3.0-oval.2025-02-24.xml.xz is missing (CI needs ../shared)');
describe.skipIf(AZL3_OVAL === null)('bulwark scan of a manifest against the real Azure Linux 3.0 OVAL', () => {
  const manifest = join(dir, 'two.txt');
  writeFileSync(manifest, 'curl-8.8.0-1.azl3.x86_64.rpm\nexpat-2.6.2-1.azl3.x86_64.rpm\n');
  it('finds the expat criticals through the resolved source names, and --fail-on critical exits 1', async () => {
    const r = await run('scan', '--inventory', manifest, '--feed', AZL3_OVAL!, '--fail-on', 'critical');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^source packages: 0 given, 2 resolved \(0 from repositories, 2 from the shipped map\), 0 learned, 0 assumed/m);
    expect(r.out).toMatch(/^7 findings \(7 with a fix, 0 without one\)$/m);
    expect(r.out).toMatch(/^critical +oval:com\.microsoft\.azurelinux:def:48394 +CVE-2024-45492 +expat /m);
    expect(r.out).toMatch(/^critical +oval:com\.microsoft\.azurelinux:def:48430 +CVE-2024-45491 +expat /m);
    const json = await run('scan', '--inventory', manifest, '--feed', AZL3_OVAL!, '--format', 'json');
    const doc = JSON.parse(json.out) as {
      inventory: { sources: Record<string, number> };
      findings: { package: string; severity: string; packageSource: unknown }[];
    };
    expect(doc.inventory.sources).toEqual({ given: 0, repository: 0, learned: 0, shipped: 2, assumed: 0 });
    expect(doc.findings.filter((f) => f.severity === 'critical').map((f) => [f.package, f.packageSource])).toEqual([
      ['expat', { name: 'expat', origin: 'shipped' }],
      ['expat', { name: 'expat', origin: 'shipped' }],
    ]);
  });

  it('holds --fail-on when the package is stored first (no --feed), and says a source it had to assume', async () => {
    const db = join(dir, 'manifest.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', AZL3_OVAL!)).code).toBe(0);
    const r = await run('--db', db, 'scan', '--inventory', manifest, '--name', 'two', '--fail-on', 'critical');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^source packages: 0 given, 2 resolved/m);
    // A binary no map knows, named like its source: tried as the source, and the finding says so.
    const unknown = join(dir, 'unknown.txt');
    writeFileSync(unknown, 'expat-2.6.2-1.azl3.x86_64.rpm\nnot-a-real-thing-1.0-1.azl3.x86_64.rpm\n');
    const u = await run('--db', db, 'scan', '--inventory', unknown, '--name', 'u', '--format', 'json');
    const doc = JSON.parse(u.out) as { sources: Record<string, number> };
    expect(doc.sources).toEqual({ given: 0, repository: 0, learned: 0, shipped: 1, assumed: 1 });
  });

  it.each(['cyclonedx', 'spdx'] as const)('holds --fail-on critical for the same two packages as a %s SBOM without upstream= (exit 1)', async (form) => {
    const packages = [
      {
        family: 'rpm' as const,
        name: 'curl',
        epoch: null,
        version: '8.8.0',
        release: '1.azl3',
        arch: 'x86_64',
        sourceName: null,
        sourceVersion: null,
        license: null,
        sourceRpm: null,
      },
      {
        family: 'rpm' as const,
        name: 'expat',
        epoch: null,
        version: '2.6.2',
        release: '1.azl3',
        arch: 'x86_64',
        sourceName: null,
        sourceVersion: null,
        license: null,
        sourceRpm: null,
      },
    ];
    const subject = { name: 'img', version: '1', type: 'container' as const, release: 'azurelinux:3.0', digest: null };
    const ctx = { created: '2026-12-06T00:00:00.000Z', uuid: '00000000-0000-4000-8000-000000000000', tool: { name: 'bulwark', version: 'test' } };
    const file = join(dir, `two.${form}.json`);
    writeFileSync(file, JSON.stringify(form === 'cyclonedx' ? cycloneDx(subject, packages, ctx) : spdxDocument(subject, packages, ctx)));
    const r = await run('scan', '--inventory', file, '--feed', AZL3_OVAL!, '--fail-on', 'critical');
    expect(r.out).toMatch(/^7 findings/m);
    expect(r.code).toBe(1);
  });

  it('reads an epoch written in an rpm purl version (`@1:8.8.0-1.azl3`) as the epoch qualifier: the same findings', async () => {
    const findings = async (purl: string): Promise<string[]> => {
      const file = join(dir, 'epoch.cdx.json');
      writeFileSync(file, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'curl', purl }] }));
      const r = await run('scan', '--inventory', file, '--feed', AZL3_OVAL!, '--format', 'json');
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as { findings: { advisory: string; installed: string }[] }).findings.map((f) => `${f.advisory} ${f.installed}`).sort();
    };
    const asQualifier = await findings('pkg:rpm/azurelinux/curl@8.8.0-1.azl3?arch=x86_64&epoch=1');
    // Read as version "1:8.8.0" it compared newer than every 0: fix: no finding at all.
    expect(asQualifier.length).toBe(3);
    expect(await findings('pkg:rpm/azurelinux/curl@1:8.8.0-1.azl3?arch=x86_64')).toEqual(asQualifier);
    expect(await findings('pkg:rpm/azurelinux/curl@1%3A8.8.0-1.azl3?arch=x86_64&epoch=1')).toEqual(asQualifier);
  });

  it('refuses a manifest line that is not an rpm file name, naming file and line (exit 2)', async () => {
    const bad = join(dir, 'garbage.txt');
    writeFileSync(bad, 'curl-8.8.0-1.azl3.x86_64.rpm\ngarbage line here\nnot-an-rpm\n');
    const r = await run('scan', '--inventory', bad, '--feed', AZL3_OVAL!);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:2: "garbage line here" is not an rpm file name`);
  });
});

describe('bulwark scan into the store', () => {
  it('imports an inventory as a target, matches it against stored advisories, and keeps findings across scans', async () => {
    const db = join(dir, 'store.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
    const first = await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-01');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^target web-01 \(azurelinux:3\.0\): 2 packages; 1 new, 0 still present, 0 closed$/m);
    // The same columns as a scan with --feed, CVEs included.
    expect(first.out).toMatch(/^medium +oval:com\.microsoft\.azurelinux:def:1 +CVE-2023-29409 +golang /m);
    const again = await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-01');
    expect(again.out).toMatch(/1 still present/);
  });

  it('refuses a host name `hosts add` refuses (exit 2), and stores nothing', async () => {
    const db = join(dir, 'names.db');
    for (const name of ['', '../../etc/passwd', 'web 02', 'a\nb', '\u001b[2Jx']) {
      const r = await run('--db', db, 'scan', '--inventory', inv, '--name', name);
      expect(r.code, name).toBe(2);
      expect(r.err).toContain(`${JSON.stringify(name)} is not a host name (letters, digits, ".", "_", "-")`);
    }
    expect((await run('--db', db, 'hosts', 'list', '--json')).out.trim()).toBe('[]');
  });

  // The two JSON shapes named the same facts differently (advisoryId / advisory), and the stored
  // scan's lacked cves, arch and packageSource.
  it('prints JSON findings with the same fields as a scan with --feed, and what the store adds', async () => {
    const db = join(dir, 'same-shape.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
    const stored = JSON.parse((await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-03', '--format', 'json')).out) as {
      findings: Record<string, unknown>[];
    };
    const file = JSON.parse((await run('scan', '--inventory', inv, '--feed', OVAL, '--format', 'json')).out) as { findings: Record<string, unknown>[] };
    expect(stored.findings).toHaveLength(1);
    const [s] = stored.findings;
    const [f] = file.findings;
    // The advisory's source is the stored source's id, or the feed file.
    const { firstSeen, lastSeen, acceptedBy, acceptedUntil, advisoryId, advisorySource, ...rest } = s ?? {};
    expect(rest).toEqual({ ...f, source: 'azurelinux-3.0-oval' });
    // The names the stored scan's JSON had before stay, with the same facts.
    expect([advisoryId, advisorySource]).toEqual([f?.advisory, 'azurelinux-3.0-oval']);
    expect([typeof firstSeen, typeof lastSeen, acceptedBy, acceptedUntil]).toEqual(['string', 'string', null, null]);
    expect(s).toMatchObject({ cves: ['CVE-2023-29409'], arch: 'x86_64', packageSource: { name: 'golang', origin: 'given' } });
  });

  it('--fail-on leaves out a finding an operator accepted, and prints it as accepted, as findings and scan --host do', async () => {
    const db = join(dir, 'accepted.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
    expect((await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-02', '--fail-on', 'medium')).code).toBe(1);
    const sqlite = new Database(db);
    expect(sqlite.prepare("update findings set status = 'accepted' where status = 'open'").run().changes).toBe(1);
    sqlite.close();
    const r = await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-02', '--fail-on', 'medium');
    expect(r.out).toMatch(/^medium +oval:com\.microsoft\.azurelinux:def:1 .* accepted /m);
    expect(r.code).toBe(0);
    expect((await run('--db', db, 'findings', '--fail-on', 'medium')).code).toBe(0);
  });

  it('scans this machine with --local, through its own package manager', async () => {
    const db = join(dir, 'local.db');
    const r = await run('--db', db, 'scan', '--local', '--name', 'this-machine');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^target this-machine \([a-z]+:[0-9.]+\): \d+ packages; /m);
    const both = await run('--db', db, 'scan', '--local', '--inventory', inv);
    expect(both.code).toBe(2);
  });

  requires(tools('rpm')).it('refuses a root without installed packages (exit 2), and the target keeps its inventory', async () => {
    const db = join(dir, 'empty-root.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
    expect((await run('--db', db, 'scan', '--inventory', inv, '--name', 'vm-1')).code).toBe(0);
    const empty = mkdtempSync(join(dir, 'empty-root-'));
    const r = await run('--db', db, 'scan', '--root', empty, '--name', 'vm-1', '--release', 'azurelinux:3.0', '--fail-on', 'low');
    expect(r.err).toContain(`${empty}: rpm found no installed packages under it`);
    expect(r.code).toBe(2);
    expect((await run('--db', db, 'findings', '--host', 'vm-1', '--status', 'open', '--fail-on', 'medium')).code).toBe(1);
  });

  requires(tools('rpmbuild', 'rpm')).it('reads an image root with the real rpm', async () => {
    const root = buildRpmRoot(
      join(dir, 'build'),
      join(dir, 'rootfs'),
      [
        { name: 'golang', version: '1.20.6', release: '1.azl3' },
        { name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3' },
      ],
      { ownSource: true },
    );
    const db = join(dir, 'root.db');
    await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL);
    const r = await run('--db', db, 'scan', '--root', root, '--release', 'azurelinux:3.0', '--format', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { target: string; findings: { advisory: string; package: string; reason: string | null }[] };
    expect(doc.target).toBe('rootfs');
    expect(doc.findings.map((f) => `${f.advisory} ${f.package} ${f.reason === null ? '' : 'corrected'}`).sort()).toEqual([
      'oval:com.microsoft.azurelinux:def:1 golang ',
      'oval:com.microsoft.azurelinux:def:3 perl corrected',
    ]);
    // An image's name may be freer than a host's, but never blank nor holding a control character.
    for (const name of ['', '  ', 'img\nforged line', '\u001b[2Jx']) {
      const bad = await run('--db', db, 'scan', '--root', root, '--name', name, '--release', 'azurelinux:3.0');
      expect(bad.code, JSON.stringify(name)).toBe(2);
      expect(bad.err).toContain(`${JSON.stringify(name)} is not an image name`);
    }
    const stored = JSON.parse((await run('--db', db, 'findings', '--format', 'json')).out) as { findings: { targetName: string }[] };
    expect([...new Set(stored.findings.map((f) => f.targetName))]).toEqual(['rootfs']);
  });
});

// A scan that can judge no package proved nothing: it passed --fail-on with exit 0 and only a
// warning, and stored (--name) it replaced the host's inventory with nothing.
describe('bulwark scan of an inventory with no package it can judge', () => {
  const npm = join(dir, 'npm.cdx.json');
  writeFileSync(
    npm,
    JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      components: [
        { name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' },
        { name: 'left-pad', version: '1.3.0', purl: 'pkg:npm/left-pad@1.3.0' },
        { name: 'nameless', version: '1' },
      ],
    }),
  );
  const spdx = join(dir, 'nopurl.spdx.json');
  writeFileSync(
    spdx,
    JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      packages: [
        { SPDXID: 'SPDXRef-a', name: 'a' },
        { SPDXID: 'SPDXRef-b', name: 'b' },
      ],
    }),
  );
  const removed = join(dir, 'removed.tsv');
  writeFileSync(removed, 'curl\t7.88.1-10\tamd64\tcurl\t7.88.1-10\trc \nbash\t5.2.15-2\tamd64\tbash\t5.2.15-2\trc \n');
  const empty = join(dir, 'empty.tsv');
  writeFileSync(empty, '');
  const comments = join(dir, 'comments.txt');
  writeFileSync(comments, '# exported by rpm -qa\n\n');

  it.each([
    [npm, /npm\.cdx\.json: 0 of 3 components are rpm or deb packages Bulwark can judge \(2 pkg:npm, 1 without a purl\)/],
    [spdx, /nopurl\.spdx\.json: 0 of 2 components are rpm or deb packages Bulwark can judge \(2 without a purl\)/],
    [removed, /removed\.tsv: 0 of 2 lines are installed packages/],
    [empty, /empty\.tsv: is empty: no packages to scan/],
    [comments, /comments\.txt: is empty: no packages to scan/],
  ])('refuses %s with --feed, exit 2, naming the file and why', async (file, message) => {
    const r = await run('scan', '--inventory', file, '--feed', OVAL, '--release', file === removed ? 'debian:12' : 'azurelinux:3.0', '--fail-on', 'low');
    expect(r.err).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('refuses it as a stored scan too (--name), and the host keeps its inventory and findings', async () => {
    const db = join(dir, 'nothing.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
    expect((await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-09')).code).toBe(0);
    const r = await run('--db', db, 'scan', '--inventory', npm, '--name', 'web-09', '--release', 'azurelinux:3.0', '--fail-on', 'low');
    expect(r.err).toMatch(/0 of 3 components are rpm or deb packages Bulwark can judge/);
    expect(r.code).toBe(2);
    const f = await run('--db', db, 'findings', '--host', 'web-09', '--status', 'open', '--format', 'json');
    expect((JSON.parse(f.out) as { findings: { advisoryId: string }[] }).findings.map((x) => x.advisoryId)).toEqual(['oval:com.microsoft.azurelinux:def:1']);
  });
});

// An SBOM purl without arch= was stored as "noarch", and every output then showed that made-up
// arch (JSON, the VEX purls). The arch stays unknown, and matches as noarch does.
describe('bulwark scan of an SBOM whose purls give no arch', () => {
  const UPDATEINFO = join(import.meta.dirname, '..', '..', 'feeds', 'updateinfo', '__fixtures__', 'fedora-style.xml');
  const sbom = (name: string, purls: string[]): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: purls.map((purl, i) => ({ name: `c${String(i)}`, purl })) }));
    return file;
  };

  it('still matches a fix for one arch (as noarch did), and claims no arch in the JSON', async () => {
    const file = sbom('ssh.cdx.json', ['pkg:rpm/fedora/openssh-server@9.6p1-0.fc41', 'pkg:rpm/fedora/openssh@9.6p1-0.fc41?arch=i686']);
    const r = await run('scan', '--inventory', file, '--feed', UPDATEINFO, '--release', 'fedora:41', '--format', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { findings: { advisory: string; package: string; arch: string | null }[] };
    // The fix is for x86_64: the package of unknown arch matches it; the i686 one does not.
    expect(doc.findings.map((f) => [f.advisory, f.package, f.arch])).toEqual([['FEDORA-2024-0a1b2c3d4e', 'openssh-server', null]]);
  });

  it('writes no arch= in the VEX purl of a package stored without one', async () => {
    const file = sbom('golang.cdx.json', ['pkg:rpm/azurelinux/golang@1.20.6-1.azl3?upstream=golang-1.20.6-1.azl3.src.rpm']);
    const db = join(dir, 'noarch.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
    expect((await run('--db', db, 'scan', '--inventory', file, '--name', 'img-1')).code).toBe(0);
    const vex = JSON.parse((await run('--db', db, 'report', '--format', 'cyclonedx-vex')).out) as { components: { purl?: string }[] };
    expect(vex.components.map((c) => c.purl)).toEqual(['pkg:rpm/azurelinux/golang@1.20.6-1.azl3?distro=azurelinux-3.0&upstream=golang']);
  });
});
