import { describe, expect, it } from 'vitest';
import { AdvisoryFilter, advisoryMatches, parseContentView, selectContent, withheldAdvisories, type Candidate } from './content-view.js';

/** The overlays' selection, on its own: what is published and what the deviation report says. */
const c = (name: string, evr: string, arch = 'x86_64', origin = 'up', source = `${name}-${evr}.${arch}@${origin}`): Candidate => {
  const [, epoch = '0', version = '', release = ''] = /^(?:(\d+):)?([^-]+)-(.+)$/.exec(evr) ?? [];
  return { name, epoch: Number(epoch), version, release, arch, source, origin };
};
const view = (extra: string) => parseContentView(`apiVersion: bulwark/v1\nkind: ContentView\nname: v\nsources: [{ repo: up }]\n${extra}`, 'v.yaml');
const builds = (ps: readonly Candidate[]) => ps.map((p) => `${p.name}-${String(p.epoch)}:${p.version}-${p.release}.${p.arch}`);

describe('selectContent', () => {
  it('applies every pin whose glob names a package, not only the first', () => {
    const v = view(
      'pins:\n  - { package: "openssl*", version: "3.*", reason: "OpenSSL 3 only" }\n  - { package: openssl-libs, version: "3.3.*", reason: "libs held at 3.3" }\n',
    );
    const r = selectContent(v, [c('openssl-libs', '1:3.3.5-5'), c('openssl-libs', '1:3.4.0-1'), c('openssl', '1:3.4.0-1')], []);
    expect(builds(r.packages)).toEqual(['openssl-1:3.4.0-1.x86_64', 'openssl-libs-1:3.3.5-5.x86_64']);
    expect(r.deviations).toEqual([{ kind: 'pinned-out', package: 'openssl-libs', builds: ['1:3.4.0-1.x86_64'], reason: 'libs held at 3.3 (pinned to 3.3.*)' }]);
  });

  it('reports a replacement declared an addition (no upstream build) and lists every build of ours', () => {
    const v = view(
      'replace:\n  - { package: bw-tool, rpm: /x/bw-tool.x86_64.rpm, reason: "our tool", addition: true }\n  - { package: bw-tool, rpm: /x/bw-tool.aarch64.rpm, reason: "our tool", addition: true }\n',
    );
    const r = selectContent(v, [c('bash', '5.2-1')], [c('bw-tool', '1.0-1', 'x86_64', 'ours'), c('bw-tool', '1.0-1', 'aarch64', 'ours')]);
    expect(builds(r.packages)).toEqual(['bash-0:5.2-1.x86_64', 'bw-tool-0:1.0-1.aarch64', 'bw-tool-0:1.0-1.x86_64']);
    expect(r.deviations).toEqual([{ kind: 'replaced', package: 'bw-tool', builds: [], reason: 'our tool', with: '0:1.0-1.x86_64, 0:1.0-1.aarch64' }]);
  });

  it('publishes one build once when two sources carry it; a different file under the same build is reported as shadowed', () => {
    const r = selectContent(
      view(''),
      [
        c('bash', '5.2-1', 'x86_64', 'a', 'same'),
        c('bash', '5.2-1', 'x86_64', 'b', 'same'),
        c('zlib', '1.3-1', 'x86_64', 'a', 'z1'),
        c('zlib', '1.3-1', 'x86_64', 'b', 'z2'),
      ],
      [],
    );
    expect(builds(r.packages)).toEqual(['bash-0:5.2-1.x86_64', 'zlib-0:1.3-1.x86_64']);
    expect(r.packages.find((p) => p.name === 'zlib')?.source).toBe('z1');
    expect(r.deviations).toEqual([
      { kind: 'shadowed', package: 'zlib', builds: ['0:1.3-1.x86_64'], reason: "b has a different file for this build; a's is published" },
    ]);
  });

  it('keeps Debian builds apart by their full version, epoch included', () => {
    const deb = (name: string, version: string): Candidate => ({ name, epoch: 0, version, release: '', arch: 'amd64', source: `${name}_${version}` });
    const r = selectContent(
      view('pins: [{ package: bw-perl, version: "5.36.*", reason: "5.36 only" }]\n'),
      [deb('bw-perl', '5.36.0-7'), deb('bw-perl', '1:5.36.0-7'), deb('bw-perl', '5.38.0-1')],
      [],
      'deb',
    );
    expect(r.packages.map((p) => p.version)).toEqual(['5.36.0-7', '1:5.36.0-7']);
    expect(r.deviations.map((d) => [d.kind, d.builds])).toEqual([['pinned-out', ['5.38.0-1.amd64']]]);
  });

  // Issue #21, item 3: each of these published with exit 0.
  const up = [
    c('openssl', '1:3.3.5-5'),
    c('openssl', '1:3.4.0-1'),
    c('openssl-libs', '1:3.3.5-5'),
    c('openssl-libs', '1:3.4.0-1'),
    c('curl', '8.11.1-3'),
    c('bash', '5.2-1'),
  ];
  it.each([
    [
      'a pin on a typo',
      'pins: [{ package: opensssl, version: "3.3.*", reason: r }]',
      [],
      /pin "opensssl" matches no upstream package \(did you mean "openssl"\?\)/,
    ],
    ['an include of a typo', 'include: [bassh, curl]', [], /include "bassh" matches no upstream package \(did you mean "bash"\?\)/],
    ['an exclude of nothing', 'exclude: [{ package: "zzz-*", reason: r }]', [], /exclude "zzz-\*" matches no upstream package$/],
    [
      'a replacement of nothing',
      'replace: [{ package: curll, rpm: /x.rpm, reason: r }]',
      [c('curll', '8.11.1-4', 'x86_64', 'ours')],
      /replace "curll" matches no upstream package \(did you mean "curl"\?\)/,
    ],
    [
      'a pin that removes every build',
      'pins: [{ package: openssl, version: "9.*", reason: r }]',
      [],
      /the pins on openssl \("openssl" to 9\.\*\) leave none of its 2 upstream build\(s\)/,
    ],
    [
      'pins that contradict each other',
      'pins: [{ package: openssl, version: "3.3.*", reason: r }, { package: "openssl*", version: "3.4.*", reason: r }]',
      [],
      /the pins on openssl \("openssl" to 3\.3\.\*, "openssl\*" to 3\.4\.\*\) leave none of its 2 upstream build\(s\)/,
    ],
    [
      'exclude and pin of one package',
      'exclude: [{ package: openssl, reason: r }]\npins: [{ package: "openssl", version: "3.3.*", reason: r }]',
      [],
      /openssl is both excluded \("openssl"\) and pinned \("openssl" to 3\.3\.\*\)/,
    ],
    [
      'exclude and replace of one package',
      'exclude: [{ package: "curl*", reason: r }]\nreplace: [{ package: curl, rpm: /x.rpm, reason: r }]',
      [c('curl', '8.11.1-4', 'x86_64', 'ours')],
      /curl is both excluded \("curl\*"\) and replaced/,
    ],
    [
      'two replacements of one package',
      'replace: [{ package: curl, rpm: /a.rpm, reason: r }, { package: curl, rpm: /b.rpm, reason: s }]',
      [c('curl', '8.11.1-4', 'x86_64', 'ours'), c('curl', '8.11.1-5', 'x86_64', 'ours')],
      /2 replacements of curl\.x86_64/,
    ],
  ])('refuses %s, naming it', (_, yaml, ours, message) => {
    expect(() => selectContent(view(`${yaml.replace(/reason: r\b/g, 'reason: "x"').replace(/reason: s\b/g, 'reason: "y"')}\n`), up, ours)).toThrow(message);
  });

  it('lists the advisories a view withholds, with the overlay that withholds each', () => {
    const r = selectContent(view('pins: [{ package: "openssl*", version: "3.3.*", reason: "3.4 not validated" }]\n'), up, []);
    const withheld = withheldAdvisories(
      [
        {
          id: 'A-1',
          packages: [
            { name: 'openssl', evr: '1:3.4.0-1', arch: 'x86_64' },
            { name: 'openssl-libs', evr: '1:3.4.0-1', arch: 'x86_64' },
          ],
        },
        { id: 'A-2', packages: [{ name: 'curl', evr: '0:8.11.1-3', arch: 'x86_64' }] },
      ],
      r.deviations,
    );
    expect(withheld).toEqual([
      {
        kind: 'withheld',
        package: 'openssl',
        builds: ['1:3.4.0-1.x86_64'],
        advisory: 'A-1',
        reason: 'pinned-out openssl: 3.4 not validated (pinned to 3.3.*)',
      },
      {
        kind: 'withheld',
        package: 'openssl-libs',
        builds: ['1:3.4.0-1.x86_64'],
        advisory: 'A-1',
        reason: 'pinned-out openssl-libs: 3.4 not validated (pinned to 3.3.*)',
      },
    ]);
  });

  const adv = { id: 'ADV-1', type: 'security', severity: 'Critical', issued: '2026-11-20T00:00:00.000Z', cves: ['CVE-2026-1001'] };
  it.each([
    [{ types: ['security'] }, true],
    [{ types: ['bugfix', 'enhancement'] }, false],
    [{ severities: ['critical', 'Important'] }, true],
    [{ severities: ['Moderate'] }, false],
    [{ ids: ['ADV-1'] }, true],
    [{ ids: ['ADV-2'] }, false],
    [{ cves: ['CVE-2026-1001'] }, true],
    [{ cves: ['CVE-2026-9999'] }, false],
    [{ issuedUpTo: '2026-11-20' }, true],
    [{ issuedUpTo: '2026-11-19' }, false],
    [{ issuedUpTo: '2026-11-19T23:59:59Z' }, false],
    [{ types: ['security'], issuedUpTo: '2026-11-30', severities: ['Low'] }, false],
  ] as const)('an advisory filter %j matches a Critical security advisory of Nov 20: %s', (f, want) => {
    expect(advisoryMatches(AdvisoryFilter.parse(f), adv)).toBe(want);
  });
});
