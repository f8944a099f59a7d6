import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../test/shared-data.js';
import { DPKG_QUERY_FORMAT, detectInventoryFormat, parseInventory, releaseFromPackages } from './imports.js';
import { requires, tool } from '../../test/needs.js';

describe('inventory imports', () => {
  it.each([
    ['bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n', 'rpm-qa'],
    ['gpg-pubkey\t0\t3135ce90\t5e6fda74\t(none)\t(none)\n', 'rpm-qa'],
    ['curl\t7.88.1-10+deb12u8\tamd64\tcurl\t7.88.1-10+deb12u8\n', 'dpkg-query'],
    ['curl\t7.88.1-10+deb12u8\tamd64\tcurl\t7.88.1-10+deb12u8\tii \n', 'dpkg-query'],
    ['acl-2.3.1-2.azl3.x86_64.rpm\nbash-5.2.15-3.azl3.x86_64.rpm\n', 'manifest'],
    ['{"bomFormat": "CycloneDX", "specVersion": "1.6"}', 'cyclonedx'],
    ['{"spdxVersion": "SPDX-2.3"}', 'spdx'],
    ['hello world\n', null],
  ])('detects %j as %s', (text, format) => {
    expect(detectInventoryFormat(text)).toBe(format);
  });

  it('reads dpkg-query lines (5 or 6 fields), skipping removed packages and keeping source versions', () => {
    const r = parseInventory(
      'libc6\t2.36-9+deb12u9\tamd64\tglibc\t2.36-9+deb12u9\tii \nold\t1.0-1\tamd64\t\t\trc \nlibssl3\t3.0.15-1~deb12u1+b1\tamd64\topenssl\t3.0.15-1~deb12u1\n',
      'h.tsv',
    );
    expect(r.family).toBe('deb');
    expect(r.packages.map((p) => [p.name, p.version, p.sourceName, p.sourceVersion])).toEqual([
      ['libc6', '2.36-9+deb12u9', 'glibc', '2.36-9+deb12u9'],
      ['libssl3', '3.0.15-1~deb12u1+b1', 'openssl', '3.0.15-1~deb12u1'],
    ]);
  });

  it('reads CycloneDX and SPDX purls: epoch, arch, upstream source; other ecosystems are ignored', () => {
    const cdx = JSON.stringify({
      bomFormat: 'CycloneDX',
      components: [
        { type: 'library', name: 'perl-Carp', purl: 'pkg:rpm/azurelinux/perl-Carp@1.54-509.azl3?arch=noarch&epoch=4&upstream=perl-5.38.2-509.azl3.src.rpm' },
        { type: 'library', name: 'left-pad', purl: 'pkg:npm/left-pad@1.3.0' },
        { type: 'library', name: 'x', components: [{ purl: 'pkg:rpm/azurelinux/openssl@3.3.0-2.azl3?arch=x86_64' }] },
      ],
    });
    const c = parseInventory(cdx, 'bom.json');
    expect(c.packages).toEqual([
      { family: 'rpm', name: 'perl-Carp', epoch: 4, version: '1.54', release: '509.azl3', arch: 'noarch', sourceName: 'perl', sourceVersion: null },
      { family: 'rpm', name: 'openssl', epoch: null, version: '3.3.0', release: '2.azl3', arch: 'x86_64', sourceName: null, sourceVersion: null },
    ]);
    expect(releaseFromPackages(c.packages)).toBe('azurelinux:3.0');
    const spdx = JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      packages: [
        {
          name: 'curl',
          externalRefs: [
            {
              referenceCategory: 'PACKAGE-MANAGER',
              referenceType: 'purl',
              referenceLocator: 'pkg:deb/debian/curl@7.88.1-10%2Bdeb12u8?arch=amd64&upstream=curl',
            },
          ],
        },
      ],
    });
    expect(parseInventory(spdx, 'sbom.spdx.json').packages).toEqual([
      { family: 'deb', name: 'curl', epoch: null, version: '7.88.1-10+deb12u8', release: null, arch: 'amd64', sourceName: 'curl', sourceVersion: null },
    ]);
  });

  it('names and counts every SBOM component it cannot judge, by file:line (issue #13): no purl, another ecosystem, no version', () => {
    const cdx = JSON.stringify(
      {
        bomFormat: 'CycloneDX',
        components: [
          { type: 'library', name: 'openssl', version: '3.3.0-2.azl3', purl: 'pkg:rpm/azurelinux/openssl@3.3.0-2.azl3?arch=x86_64' },
          { type: 'library', name: 'mystery', version: '1.0' },
          { type: 'library', name: 'left-pad', purl: 'pkg:npm/left-pad@1.3.0' },
          { type: 'library', name: 'bare', purl: 'pkg:rpm/azurelinux/bare' },
        ],
      },
      null,
      1,
    );
    const r = parseInventory(cdx, 'bom.json');
    expect(r.packages.map((p) => p.name)).toEqual(['openssl']);
    expect(r.warnings).toEqual([
      'bom.json:12: components[1] (mystery 1.0): no package URL (purl); not scanned',
      'bom.json:18: components[2] (left-pad): pkg:npm/left-pad@1.3.0 is not an rpm or deb package (pkg:npm); not scanned',
      'bom.json:23: components[3] (bare): pkg:rpm/azurelinux/bare has no version; not scanned',
    ]);
    expect(() => parseInventory(JSON.stringify({ bomFormat: 'CycloneDX', components: [{ purl: 'pkg:rpm/azurelinux/x@1-1?epoch=one' }] }), 'b.json')).toThrow(
      /^b\.json:1: components\[0\]: epoch "one" is not a number/,
    );
    // The epoch in the version (some SBOM writers) is the epoch; a second ':' or a disagreeing qualifier is refused.
    const one = (purl: string): unknown => parseInventory(JSON.stringify({ bomFormat: 'CycloneDX', components: [{ purl }] }), 'b.json').packages[0];
    expect(one('pkg:rpm/rocky/openssl-libs@1:3.0.7-24.el9?arch=x86_64')).toMatchObject({ epoch: 1, version: '3.0.7', release: '24.el9' });
    expect(one('pkg:rpm/rocky/openssl-libs@1:3.0.7-24.el9?arch=x86_64&epoch=1')).toMatchObject({ epoch: 1, version: '3.0.7', release: '24.el9' });
    expect(() => one('pkg:rpm/rocky/openssl-libs@1:3.0.7-24.el9?epoch=2')).toThrow(
      /^b\.json:1: components\[0\]: the version says epoch 1 but the epoch qualifier says 2/,
    );
    expect(() => one('pkg:rpm/rocky/x@1:2:3-1')).toThrow(/version "1:2:3-1" is not an rpm \[E:\]V-R/);
    expect(() => one('pkg:rpm/rocky/x@1:')).toThrow(/version "1:" is not an rpm \[E:\]V-R/);
    expect(() => parseInventory(JSON.stringify({ bomFormat: 'CycloneDX', components: [42] }), 'b.json')).toThrow(/b\.json: components\[0\] is not an object/);
    expect(() => parseInventory('{"bomFormat": "CycloneDX",\n "components": [\n {"purl" }]}', 'b.json')).toThrow(/^b\.json:3: not JSON/);
  });

  it('reads the source package from SPDX relationships and sourceInfo, and CycloneDX properties', () => {
    const purl = (n: string): { externalRefs: unknown[] } => ({
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:rpm/azurelinux/${n}@1.54-509.azl3?arch=noarch` }],
    });
    const spdx = JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      packages: [
        { SPDXID: 'SPDXRef-Image', name: 'img' },
        { SPDXID: 'SPDXRef-a', name: 'perl-Carp', ...purl('perl-Carp') },
        { SPDXID: 'SPDXRef-src', name: 'perl-5.38.2-509.azl3.src.rpm' },
        { SPDXID: 'SPDXRef-b', name: 'perl-Exporter', ...purl('perl-Exporter') },
        { SPDXID: 'SPDXRef-c', name: 'perl-libs', sourceInfo: 'built from perl-5.38.2-509.azl3.src.rpm', ...purl('perl-libs') },
      ],
      relationships: [
        { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' },
        { spdxElementId: 'SPDXRef-a', relationshipType: 'GENERATED_FROM', relatedSpdxElement: 'SPDXRef-src' },
        { spdxElementId: 'SPDXRef-src', relationshipType: 'GENERATES', relatedSpdxElement: 'SPDXRef-b' },
      ],
    });
    const r = parseInventory(spdx, 's.json');
    expect(r.packages.map((p) => [p.name, p.sourceName])).toEqual([
      ['perl-Carp', 'perl'],
      ['perl-Exporter', 'perl'],
      ['perl-libs', 'perl'],
    ]);
    expect(r.warnings).toEqual([]);
    const cdx = JSON.stringify({
      bomFormat: 'CycloneDX',
      components: [
        { name: 'perl-Carp', purl: 'pkg:rpm/azurelinux/perl-Carp@1.54-509.azl3?arch=noarch', properties: [{ name: 'bulwark:package:source', value: 'perl' }] },
      ],
    });
    expect(parseInventory(cdx, 'c.json').packages[0]?.sourceName).toBe('perl');
  });

  it('refuses a manifest line that is not an rpm file name instead of skipping it (issue #13)', () => {
    expect(() => parseInventory('curl-8.8.0-1.azl3.x86_64.rpm\ngarbage line here\n', 'm.txt')).toThrow(
      'm.txt:2: "garbage line here" is not an rpm file name (name-version-release.arch.rpm)',
    );
    expect(() => parseInventory('curl-8.8.0-1.azl3.x86_64.rpm\nnot-an-rpm\n', 'm.txt')).toThrow(/^m\.txt:2: "not-an-rpm" is not an rpm file name/);
  });

  it('refuses a source rpm in a manifest, naming file and line; an SBOM source package is a warning', () => {
    expect(() => parseInventory('curl-8.8.0-1.azl3.x86_64.rpm\nexpat-2.6.2-1.azl3.src.rpm\n', 'm.txt')).toThrow(
      'm.txt:2: "expat-2.6.2-1.azl3.src.rpm" is a source rpm, not an installed package; list the binary rpms it builds',
    );
    expect(() => parseInventory('foo-1.0-1.azl3.nosrc.rpm\n', 'm.txt')).toThrow(/^m\.txt:1: .* is a source rpm/);
    const cdx = JSON.stringify({
      bomFormat: 'CycloneDX',
      components: [
        { name: 'expat', purl: 'pkg:rpm/azurelinux/expat@2.6.2-1.azl3?arch=src' },
        { name: 'attr', purl: 'pkg:deb/debian/attr@1:2.4.47-2?arch=source' },
        { name: 'expat', purl: 'pkg:rpm/azurelinux/expat@2.6.2-1.azl3?arch=x86_64' },
      ],
    });
    const r = parseInventory(cdx, 'c.json', 'cyclonedx');
    expect(r.packages.map((p) => [p.name, p.arch])).toEqual([['expat', 'x86_64']]);
    expect(r.warnings).toEqual([
      'c.json:1: components[0] (expat): pkg:rpm/azurelinux/expat@2.6.2-1.azl3?arch=src is a source package (arch=src), not an installed package; not scanned',
      'c.json:1: components[1] (attr): pkg:deb/debian/attr@1:2.4.47-2?arch=source is a source package (arch=source), not an installed package; not scanned',
    ]);
  });

  // trivy writes the source as properties, never as upstream=: a trivy SBOM of a Debian image
  // named libssl3's source libssl3, and the Debian feeds' openssl fixes never met it.
  it("takes trivy's SrcName (and a Debian source version from SrcEpoch/SrcVersion/SrcRelease)", () => {
    const trivy = (name: string, purl: string, props: Record<string, string>): unknown => ({
      'bom-ref': purl,
      type: 'library',
      name,
      purl,
      properties: Object.entries(props).map(([k, v]) => ({ name: `aquasecurity:trivy:${k}`, value: v })),
    });
    const deb = JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      components: [
        trivy('libssl3', 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.4', {
          PkgType: 'debian',
          SrcName: 'openssl',
          SrcVersion: '3.0.11',
          SrcRelease: '1~deb12u2',
        }),
        trivy('libattr1', 'pkg:deb/debian/libattr1@1:2.5.1-4?arch=amd64&distro=debian-12.4', {
          SrcName: 'attr',
          SrcEpoch: '1',
          SrcVersion: '2.5.1',
          SrcRelease: '4',
        }),
        trivy('bash', 'pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12.4', {}),
      ],
    });
    expect(parseInventory(deb, 'trivy-deb.json').packages.map((p) => [p.name, p.version, p.sourceName, p.sourceVersion])).toEqual([
      ['libssl3', '3.0.11-1~deb12u2', 'openssl', '3.0.11-1~deb12u2'],
      ['libattr1', '1:2.5.1-4', 'attr', '1:2.5.1-4'],
      ['bash', '5.2.15-2+b2', 'bash', null],
    ]);
    const rpm = JSON.stringify({
      bomFormat: 'CycloneDX',
      components: [
        trivy('openssl-libs', 'pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rocky-9.3&epoch=1', {
          SrcName: 'openssl',
          SrcEpoch: '1',
          SrcVersion: '3.0.7',
          SrcRelease: '24.el9',
        }),
      ],
    });
    expect(parseInventory(rpm, 'trivy-rpm.json').packages.map((p) => [p.name, p.epoch, p.sourceName])).toEqual([['openssl-libs', 1, 'openssl']]);
  });

  it('counts a package listed twice once, naming the repeat; two sources for one build is an error', () => {
    const r = parseInventory(
      '\uFEFFcurl-8.8.0-1.azl3.x86_64.rpm\r\n\r\n# comment\r\nexpat-2.6.2-1.azl3.x86_64.rpm\r\nexpat-2.6.2-1.azl3.x86_64.rpm\r\nexpat-2.6.2-1.azl3.aarch64.rpm\r\n',
      'm.txt',
    );
    expect(r.packages.map((p) => `${p.name}.${p.arch}`)).toEqual(['curl.x86_64', 'expat.x86_64', 'expat.aarch64']);
    expect(r.warnings).toEqual(['m.txt: expat 2.6.2-1.azl3 x86_64 is listed 2 times; counted once']);
    const qa = 'expat\t0\t2.6.2\t1.azl3\tx86_64\texpat-2.6.2-1.azl3.src.rpm\n';
    expect(parseInventory(qa + qa, 'h.tsv').packages).toHaveLength(1);
    expect(() => parseInventory(qa + qa.replace('expat-2.6.2-1.azl3.src.rpm', 'zzz-1-1.azl3.src.rpm'), 'h.tsv')).toThrow(
      'h.tsv: expat 0:2.6.2-1.azl3 x86_64 is listed twice, built from expat and from zzz',
    );
  });

  it('refuses a malformed line, naming it, and a file that is not an inventory', () => {
    expect(() => parseInventory('curl\t7.88.1\tamd64\tcurl\t7.88.1\nbad line\tx\tamd64\t\t\n', 'h.tsv')).toThrow(/h\.tsv:2: /);
    expect(() => parseInventory('acl-2.3.1-2.azl3.x86_64.rpm\nnot-a-file.rpm\n', 'm.txt')).toThrow(/m\.txt:2: /);
    expect(() => parseInventory('hello\n', 'x.txt')).toThrow(/x\.txt: not an inventory Bulwark reads/);
  });

  it('reads rpm -qa lines that an editor left trailing spaces on, as rpm printed them', () => {
    const qa = 'bash\t(none)\t5.2.15\t1.azl3\tx86_64\tbash-5.2.15-1.azl3.src.rpm\ncurl\t0\t8.8.0\t1.azl3\tx86_64\tcurl-8.8.0-1.azl3.src.rpm\n';
    const spaced = qa.replaceAll('\n', '  \r\n');
    expect(detectInventoryFormat(spaced)).toBe('rpm-qa');
    expect(parseInventory(spaced, 'h.tsv').packages).toEqual(parseInventory(qa, 'h.tsv').packages);
  });

  it('names the export command when a file is plain rpm -qa, dpkg-query -W or dpkg -l output', () => {
    const rpmQf = "rpm -qa --queryformat '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n'";
    const dpkgQf = "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\n'";
    const refusal = (text: string): string => {
      try {
        parseInventory(text, 'x.txt');
      } catch (err) {
        return (err as Error).message;
      }
      return 'parsed';
    };
    for (const plain of ['bash-5.2.15-1.azl3.x86_64\n', 'openssl-1:3.0.7-27.el9.x86_64 \n', 'gpg-pubkey-3135ce90-5e6fda74\nbash-5.2.15-1.azl3.x86_64\n']) {
      expect(refusal(plain)).toContain('It looks like plain `rpm -qa` output');
      expect(refusal(plain)).toContain(rpmQf);
    }
    expect(refusal('bash\t5.2.15-3\ncurl\t7.88.1-10+deb12u5\n')).toContain(
      `It looks like \`dpkg-query -W\` output in its default format (package and version only); export it with: ${dpkgQf}`,
    );
    const dpkgL =
      'Desired=Unknown/Install/Remove/Purge/Hold\n| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n||/ Name Version Architecture Description\n+++-====-=======-============-===========\nii  bash 5.2.15-2+b7 amd64 GNU Bourne Again SHell\n';
    expect(refusal(dpkgL)).toContain(`It looks like \`dpkg -l\` output, which names no source package; export it with: ${dpkgQf}`);
    for (const dnf of [
      'Installed Packages\ncurl.x86_64    7.76.1-26.el9    @baseos\n',
      'Installed packages\nopenssl.x86_64   1:3.0.7-27.el9   @anaconda\n',
      'bash.x86_64   5.2.15-1.azl3   @azurelinux-official-base\n',
    ])
      expect(refusal(dnf)).toContain(
        `It looks like \`dnf list --installed\` (or \`yum list installed\`) output, which names no source package; export it with: ${rpmQf}`,
      );
    // Anything else: the line that was read, and both commands.
    expect(refusal('curl 0:7.76.1-26.el9.x86_64\n')).toContain(
      `not an inventory Bulwark reads (rpm -qa or dpkg-query in the documented formats, a manifest of .rpm file names, CycloneDX or SPDX JSON). Its first line, "curl 0:7.76.1-26.el9.x86_64", is none of these; export an rpm host's packages with: ${rpmQf}, a Debian or Ubuntu host's with: ${dpkgQf}`,
    );
    // A JSON document that is no SBOM, or nothing at all: the plain refusal.
    for (const other of ['{"packages": []}\n', '# only a comment\n'])
      expect(refusal(other)).toMatch(
        /not an inventory Bulwark reads \(rpm -qa or dpkg-query in the documented formats, a manifest of \.rpm file names, CycloneDX or SPDX JSON\)$/,
      );
  });

  requires(tool('dpkg-query')).it("names the export command for this machine's own dpkg-query -W and dpkg -l output", () => {
    for (const argv of [
      ['dpkg-query', '-W'],
      ['dpkg', '-l'],
    ]) {
      const text = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, COLUMNS: '200' } });
      expect(() => parseInventory(text, 'x.txt')).toThrow(/It looks like `dpkg(-query -W| -l)` output.*export it with: dpkg-query -W -f=/);
    }
  });

  requires(tool('dpkg-query')).it("reads this machine's own dpkg-query output", () => {
    const text = execFileSync('dpkg-query', ['-W', '-f', DPKG_QUERY_FORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    const r = parseInventory(text, 'dpkg-query');
    expect(r.format).toBe('dpkg-query');
    expect(r.packages.length).toBeGreaterThan(50);
    expect(r.packages.find((p) => p.name === 'dpkg')?.sourceName).toBe('dpkg');
  });
});

const manifests = sharedData('azurelinux', 'manifests');
describe.skipIf(manifests === null)('the real Azure Linux manifests', () => {
  const files = manifests === null ? [] : readdirSync(manifests).flatMap((d) => readdirSync(join(manifests, d)).map((f) => join(d, f)));
  it.each(files.filter((f) => !f.endsWith('macro_packages.txt')))('%s parses, one package per .rpm line, release told by dist tags', (f) => {
    const text = readFileSync(join(manifests!, f), 'utf8');
    const r = parseInventory(text, f);
    expect(r.format).toBe('manifest');
    expect(r.packages).toHaveLength(text.split('\n').filter((l) => l.trim().endsWith('.rpm')).length);
    expect(releaseFromPackages(r.packages)).toBe(f.startsWith('2.0') ? 'mariner:2.0' : 'azurelinux:3.0');
  });
});
