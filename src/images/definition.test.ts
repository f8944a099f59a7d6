import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseImageDefinition } from './definition.js';
import { writeOciLayout } from './oci.js';
import { requires, tool } from '../../test/needs.js';

const def = (release: string, extra: string): string =>
  `apiVersion: bulwark/v1\nkind: Image\nname: t\ntype: container\nrelease: ${release}\nfrom: { view: v, environment: prod }\n${extra}`;

describe('image definitions', () => {
  it.each([
    [
      'azurelinux:3.0',
      'packages: [bash, bw-agent-1.1-1.azl3.noarch.rpm]\n',
      /x\.yaml:7:\d+: packages\[1\]: "bw-agent-1\.1-1\.azl3\.noarch\.rpm" ends in "\.rpm" \(dnf installs a file/,
    ],
    ['azurelinux:3.0', 'packages: [bash]\nremove: [evil.RPM]\n', /x\.yaml:8:\d+: remove\[0\]: "evil\.RPM" ends in "\.rpm"/],
    ['debian:12', 'packages: [bash, libc6-]\n', /x\.yaml:7:\d+: packages\[1\]: "libc6-" ends in "-" \(apt reads it as "remove"\)/],
    ['debian:12', 'packages: [bash]\nremove: [bash-]\n', /x\.yaml:8:\d+: remove\[0\]: "bash-" ends in "-"/],
    ['debian:12', 'packages: [x.rpm]\n', /"x\.rpm" ends in "\.rpm"/],
    ['azurelinux:3.0', 'packages: [-y]\n', /"-y" is not a package name/],
  ])('%s: %j is refused, naming the file and line', (release, extra, want) => {
    expect(() => parseImageDefinition(def(release, extra), 'x.yaml')).toThrow(want);
  });

  it('takes the names each package manager reads literally: g++ on Debian (apt prefers a package of the whole name), a trailing "-" on rpm', () => {
    expect(parseImageDefinition(def('debian:12', 'packages: [g++, libstdc++6, bonnie++]\n'), 'x.yaml').packages).toEqual(['g++', 'libstdc++6', 'bonnie++']);
    expect(parseImageDefinition(def('azurelinux:3.0', 'packages: [bw-x-]\n'), 'x.yaml').packages).toEqual(['bw-x-']);
  });
});

/**
 * The OCI tag grammar against the real skopeo: a layout is written under each tag, and skopeo is
 * asked to inspect oci:<layout>:<tag>. Every tag a definition takes must be one skopeo takes;
 * every tag skopeo refuses must be refused by the definition. A few skopeo takes (the image
 * spec's ":", "@", "+" and "/" separators) a registry refuses as a tag, so the definition does too.
 */
requires(tool('skopeo')).describe('OCI tags, as skopeo takes them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-tags-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const registryTag = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
  const tags = [
    '1',
    'v1',
    'v1.2.3',
    'A-1',
    'a_b',
    'a.b',
    'a--b',
    'latest',
    'x'.repeat(128),
    '_x',
    'v1.',
    'a..b',
    'a__b',
    'a---b',
    'a-.b',
    '-a',
    '.a',
    'a+b',
    'a:b',
    'a@b',
    'a/b',
    'x'.repeat(129),
  ];

  it('a definition takes a tag exactly when skopeo and a registry both do', async () => {
    const empty = join(dir, 'empty.tar');
    execFileSync('tar', ['--create', `--file=${empty}`, '--files-from=/dev/null']);
    const rows: string[] = [];
    for (const [i, tag] of tags.entries()) {
      const layout = join(dir, `l${String(i)}`);
      await writeOciLayout(layout, empty, { tag, arch: 'x86_64', created: '2026-11-25T10:00:00Z', createdBy: 'test', config: { env: {}, labels: {} } });
      let skopeo = true;
      try {
        execFileSync('skopeo', ['inspect', `oci:${layout}:${tag}`], { stdio: 'pipe' });
      } catch {
        skopeo = false;
      }
      let definition = true;
      try {
        parseImageDefinition(def('azurelinux:3.0', `packages: [bash]\ncontainer: { tag: ${JSON.stringify(tag)} }\n`), 'x.yaml');
      } catch {
        definition = false;
      }
      rows.push(`${tag.length > 20 ? `(${String(tag.length)} characters)` : tag}|${String(definition)}|${String(skopeo && registryTag.test(tag))}`);
    }
    // Both columns agree on every tag; the review's three are among the refused.
    expect(rows.filter((r) => r.split('|')[1] !== r.split('|')[2])).toEqual([]);
    expect(rows.filter((r) => r.endsWith('false')).map((r) => r.split('|')[0])).toEqual([
      '_x',
      'v1.',
      'a..b',
      'a__b',
      'a---b',
      'a-.b',
      '-a',
      '.a',
      'a+b',
      'a:b',
      'a@b',
      'a/b',
      '(129 characters)',
    ]);
  }, 60_000);
});
