import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedData } from '../../test/shared-data.js';
import { scanFiles } from './file-scan.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-file-scan-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const OVAL = join(import.meta.dirname, '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml');

describe('scan files without a database', () => {
  it('matches an rpm -qa inventory against an OVAL file, normal and strict', async () => {
    const inv = join(dir, 'host.tsv');
    writeFileSync(
      inv,
      [
        'golang\t0\t1.20.6\t1.azl3\tx86_64\tgolang-1.20.6-1.azl3.src.rpm',
        'perl-Carp\t4\t5.38.2\t509.azl3\tnoarch\tperl-5.38.2-509.azl3.src.rpm',
        'perl\t4\t5.38.2\t509.azl3\tx86_64\tperl-5.38.2-509.azl3.src.rpm',
      ].join('\n') + '\n',
    );
    const normal = await scanFiles({ inventory: inv, feeds: [OVAL] });
    expect(normal.release).toBe('azurelinux:3.0');
    expect(normal.findings.map((f) => `${f.advisory} ${f.package} ${f.fixed ?? '-'} ${f.reason === null ? '' : 'corrected'}`).sort()).toEqual([
      'oval:com.microsoft.azurelinux:def:1 golang 0:1.20.7-1.azl3 ',
      'oval:com.microsoft.azurelinux:def:3 perl 4:5.38.2-510.azl3 corrected',
      'oval:com.microsoft.azurelinux:def:3 perl-Carp 4:5.38.2-510.azl3 corrected',
    ]);
    const strict = await scanFiles({ inventory: inv, feeds: [OVAL], ovalStrict: true });
    // Literally, perl 4:… is not less than 0:…, and perl-Carp is not named by the feed.
    expect(strict.findings.map((f) => `${f.advisory} ${f.package}`)).toEqual(['oval:com.microsoft.azurelinux:def:1 golang']);
    expect(strict.mode).toBe('oval-strict');
  });

  it('refuses an inventory whose family does not fit the release, and one whose release cannot be told', async () => {
    const deb = join(dir, 'deb.tsv');
    writeFileSync(deb, 'curl\t7.88.1-10+deb12u8\tamd64\tcurl\t7.88.1-10+deb12u8\n');
    await expect(scanFiles({ inventory: deb, feeds: [OVAL], release: 'azurelinux:3.0' })).rejects.toThrow(
      /lists deb packages but azurelinux:3\.0 is an rpm release/,
    );
  });
});

// The data notes' own check (1.4-10), made independently in Python with the derived
// binary→source map: the Azure Linux 3.0 GA-era toolchain (manifests/3.0-2024-07-27, 618 rpms)
// against the 2025-02-24 feed matches 52 definitions, 48 CVEs, 17 source packages, severities
// Critical 5, High 18, Medium 27, Low 2.
const manifest = sharedData('azurelinux', 'manifests', '3.0-2024-07-27', 'toolchain_x86_64.txt');
const derived = sharedData('azurelinux', 'derived', 'azurelinux-3.0.20260429-source-packages.tsv');
const feed = sharedData('azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
describe.skipIf(manifest === null || derived === null || feed === null)("the data notes' toolchain check", () => {
  it('finds the same 52 definitions, 48 CVEs and 17 source packages', async () => {
    const source = new Map<string, string>();
    for (const line of readFileSync(derived!, 'utf8').split('\n')) {
      if (line.startsWith('#') || line.startsWith('spec_path') || line === '') continue;
      const f = line.split('\t');
      for (const b of (f[6] ?? '').split(',')) if (b !== '' && !source.has(b)) source.set(b, f[1]!);
    }
    const lines = readFileSync(manifest!, 'utf8')
      .split('\n')
      .filter((l) => l.trim().endsWith('.rpm'))
      .map((l) => {
        const m = /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(l.trim())!;
        const src = source.get(m[1]!);
        return [m[1], '0', m[2], m[3], m[4], src === undefined ? '(none)' : `${src}-${m[2]!}-${m[3]!}.src.rpm`].join('\t');
      });
    expect(lines).toHaveLength(618);
    const inv = join(dir, 'toolchain.tsv');
    writeFileSync(inv, lines.join('\n') + '\n');
    const r = await scanFiles({ inventory: inv, feeds: [feed!] });
    const defs = new Map(r.findings.map((f) => [f.advisory, f]));
    expect(defs.size).toBe(52);
    expect(new Set(r.findings.flatMap((f) => f.cves)).size).toBe(48);
    const sourceOf = new Map(lines.map((l) => [l.split('\t')[0]!, l.split('\t')[5]!.replace(/-[^-]+-[^-]+\.src\.rpm$/, '')]));
    // The Python check knew no source for debuginfo packages; rpm builds `<name>-debuginfo` from
    // the source of `<name>`, and Bulwark resolves them so (issue #13): the same 17 sources.
    const trueSource = (name: string): string | undefined => {
      const s = sourceOf.get(name);
      return s !== '(none)' ? s : name.endsWith('-debuginfo') ? sourceOf.get(name.slice(0, -'-debuginfo'.length)) : undefined;
    };
    expect(new Set(r.findings.map((f) => trueSource(f.package))).size).toBe(17);
    for (const f of r.findings) expect(f.packageSource?.name).toBe(trueSource(f.package));
    const sev: Record<string, number> = {};
    for (const f of defs.values()) sev[f.severity] = (sev[f.severity] ?? 0) + 1;
    expect(sev).toEqual({ critical: 5, high: 18, medium: 27, low: 2 });
  });
});

describe('updateinfo feeds judge binaries as dnf does', () => {
  it('never applies an arch="src" entry to the binaries of that source (perl-Carp 4:1.54-510 is not "fixed in" perl\'s 4:5.38.2-510)', async () => {
    const inv = join(dir, 'perl.tsv');
    writeFileSync(
      inv,
      ['perl-Carp\t4\t1.54\t510.fc41\tnoarch\tperl-5.38.2-510.fc41.src.rpm', 'perl\t4\t5.38.2\t509.fc41\tx86_64\tperl-5.38.2-509.fc41.src.rpm'].join('\n') +
        '\n',
    );
    const feed = join(dir, 'updateinfo.xml');
    writeFileSync(
      feed,
      `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="updates@fedoraproject.org" status="stable" type="security" version="2.0">
    <id>FEDORA-2024-perl</id><title>perl</title><release>Fedora 41</release><severity>Important</severity><issued date="2024-07-01"/>
    <pkglist><collection short="F41">
      <package name="perl" epoch="4" version="5.38.2" release="510.fc41" arch="src" src="perl-5.38.2-510.fc41.src.rpm"/>
      <package name="perl" epoch="4" version="5.38.2" release="510.fc41" arch="x86_64" src="perl-5.38.2-510.fc41.src.rpm"/>
    </collection></pkglist>
  </update>
</updates>
`,
    );
    const r = await scanFiles({ inventory: inv, feeds: [feed], release: 'fedora:41' });
    expect(r.findings.map((f) => `${f.package} ${f.installed} ${f.fixed ?? '-'}`)).toEqual(['perl 4:5.38.2-509.fc41 4:5.38.2-510.fc41']);
  });
});

describe('--oval-strict answers as oscap does', () => {
  const oval = (
    ns: string,
    type: 'rpminfo' | 'dpkginfo',
    name: string,
    nameOp: string,
    field: string,
    value: string,
  ): string => `<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
<definitions><definition class="vulnerability" id="oval:${ns}:def:1" version="1"><metadata><title>t</title></metadata><criteria><criterion test_ref="oval:${ns}:tst:1"/></criteria></definition></definitions>
<tests><linux-def:${type}_test id="oval:${ns}:tst:1" version="1" check="at least one"><linux-def:object object_ref="oval:${ns}:obj:1"/><linux-def:state state_ref="oval:${ns}:ste:1"/></linux-def:${type}_test></tests>
<objects><linux-def:${type}_object id="oval:${ns}:obj:1" version="1"><linux-def:name operation="${nameOp}">${name}</linux-def:name></linux-def:${type}_object></objects>
<states><linux-def:${type}_state id="oval:${ns}:ste:1" version="1"><linux-def:${field} operation="equals">${value}</linux-def:${field}></linux-def:${type}_state></states>
</oval_definitions>`;

  it("splits a dpkginfo item's version as the probe does: strace 6.1-0.1 has version 6.1", async () => {
    const inv = join(dir, 'debian.tsv');
    writeFileSync(inv, 'strace\t6.1-0.1\tamd64\tstrace\t6.1-0.1\n');
    const feed = join(dir, 'strace-oval.xml');
    writeFileSync(feed, oval('t', 'dpkginfo', 'strace', 'equals', 'version', '6.1'));
    const r = await scanFiles({ inventory: inv, feeds: [feed], release: 'debian:12', ovalStrict: true });
    expect(r.findings.map((f) => `${f.advisory} ${f.package} ${f.installed}`)).toEqual(['oval:t:def:1 strace 6.1-0.1']);
  });

  it('evaluates an rpminfo name with operation "pattern match" over every installed name and names what it selected', async () => {
    const inv = join(dir, 'rpm-names.tsv');
    writeFileSync(
      inv,
      [
        'rpm\t0\t4.18.2\t1.azl3\tx86_64\trpm-4.18.2-1.azl3.src.rpm',
        'rom\t0\t2\t1.azl3\tnoarch\trom-2-1.azl3.src.rpm',
        'xrpm\t0\t1\t1.azl3\tnoarch\txrpm-1-1.azl3.src.rpm',
      ].join('\n') + '\n',
    );
    const feed = join(dir, 'mitre-oval.xml');
    writeFileSync(feed, oval('t', 'rpminfo', '^r.m$', 'pattern match', 'version', '2'));
    const r = await scanFiles({ inventory: inv, feeds: [feed], release: 'azurelinux:3.0', ovalStrict: true });
    expect(r.findings.map((f) => `${f.advisory} ${f.package}`).sort()).toEqual(['oval:t:def:1 rom', 'oval:t:def:1 rpm']);
  });
});

describe('the running kernel in normal mode', () => {
  it('judges only the running build of an installonly kernel when --kernel is given, as stored scans do', async () => {
    const inv = join(dir, 'kernels.tsv');
    writeFileSync(
      inv,
      ['kernel\t0\t6.6.64.2\t1.azl3\tx86_64\tkernel-6.6.64.2-1.azl3.src.rpm', 'kernel\t0\t6.6.70.1\t1.azl3\tx86_64\tkernel-6.6.70.1-1.azl3.src.rpm'].join(
        '\n',
      ) + '\n',
    );
    const feed = join(dir, 'kernel-updateinfo.xml');
    writeFileSync(
      feed,
      `<updates><update type="security"><id>AZL-2025-kernel</id><title>kernel</title><release>Azure Linux 3.0</release><severity>Important</severity>
<pkglist><collection><package name="kernel" epoch="0" version="6.6.70.1" release="1.azl3" arch="x86_64"/></collection></pkglist></update></updates>
`,
    );
    const line = (r: Awaited<ReturnType<typeof scanFiles>>): string[] => r.findings.map((f) => `${f.package} ${f.installed}`);
    expect(line(await scanFiles({ inventory: inv, feeds: [feed] }))).toEqual(['kernel 0:6.6.64.2-1.azl3']);
    // Booted into the fixed build: the old one is installed but not running, so not exposed.
    expect(line(await scanFiles({ inventory: inv, feeds: [feed], runningKernel: '6.6.70.1-1.azl3' }))).toEqual([]);
    expect(line(await scanFiles({ inventory: inv, feeds: [feed], runningKernel: '6.6.64.2-1.azl3' }))).toEqual(['kernel 0:6.6.64.2-1.azl3']);
  });
});

describe('--oval-strict keeps what the inventory says about epochs', () => {
  it('an rpm -qa line with %{EPOCH} "(none)" is an item whose epoch is "(none)", as rpm and the rpminfo probe report it', async () => {
    const inv = join(dir, 'epoch-none.tsv');
    writeFileSync(
      inv,
      ['bash\t(none)\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm', 'perl\t4\t5.38.2\t509.azl3\tx86_64\tperl-5.38.2-509.azl3.src.rpm'].join('\n') + '\n',
    );
    const feed = (name: string, value: string): string => {
      const f = join(dir, `epoch-${name}.xml`);
      writeFileSync(
        f,
        `<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
<definitions><definition class="vulnerability" id="oval:e:def:1" version="1"><metadata><title>t</title></metadata><criteria><criterion test_ref="oval:e:tst:1"/></criteria></definition></definitions>
<tests><linux-def:rpminfo_test id="oval:e:tst:1" version="1" check="all"><linux-def:object object_ref="oval:e:obj:1"/><linux-def:state state_ref="oval:e:ste:1"/></linux-def:rpminfo_test></tests>
<objects><linux-def:rpminfo_object id="oval:e:obj:1" version="1"><linux-def:name>${name}</linux-def:name></linux-def:rpminfo_object></objects>
<states><linux-def:rpminfo_state id="oval:e:ste:1" version="1"><linux-def:epoch operation="equals">${value}</linux-def:epoch><linux-def:evr datatype="evr_string" operation="less than">99:9-1</linux-def:evr></linux-def:rpminfo_state></states>
</oval_definitions>`,
      );
      return f;
    };
    const found = async (name: string, value: string): Promise<number> =>
      (await scanFiles({ inventory: inv, feeds: [feed(name, value)], release: 'azurelinux:3.0', ovalStrict: true })).findings.length;
    expect(await found('bash', '(none)')).toBe(1);
    expect(await found('bash', '0')).toBe(0);
    expect(await found('perl', '4')).toBe(1);
  });
});
