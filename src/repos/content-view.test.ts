import { describe, expect, it } from 'vitest';
import { parseContentView, selectContent, type Candidate } from './content-view.js';

/** The overlays' selection, on its own: what is published and what the deviation report says. */
const c = (name: string, evr: string, arch = 'x86_64', origin = 'up', source = `${name}-${evr}.${arch}@${origin}`): Candidate => {
  const [, epoch = '0', version = '', release = ''] = /^(?:(\d+):)?([^-]+)-(.+)$/.exec(evr) ?? [];
  return { name, epoch: Number(epoch), version, release, arch, source, origin };
};
const view = (extra: string) => parseContentView(`apiVersion: bulwark/v1\nkind: ContentView\nname: v\nsources: [{ repo: up }]\n${extra}`, 'v.yaml');
const builds = (ps: readonly Candidate[]) => ps.map((p) => `${p.name}-${String(p.epoch)}:${p.version}-${p.release}.${p.arch}`);

describe('selectContent', () => {
  it('applies every pin whose glob names a package, not only the first', () => {
    const v = view('pins:\n  - { package: "openssl*", version: "3.*", reason: "OpenSSL 3 only" }\n  - { package: openssl-libs, version: "3.3.*", reason: "libs held at 3.3" }\n');
    const r = selectContent(v, [c('openssl-libs', '1:3.3.5-5'), c('openssl-libs', '1:3.4.0-1'), c('openssl', '1:3.4.0-1')], []);
    expect(builds(r.packages)).toEqual(['openssl-1:3.4.0-1.x86_64', 'openssl-libs-1:3.3.5-5.x86_64']);
    expect(r.deviations).toEqual([{ kind: 'pinned-out', package: 'openssl-libs', builds: ['1:3.4.0-1.x86_64'], reason: 'libs held at 3.3 (pinned to 3.3.*)' }]);
  });

  it('reports a replacement with no upstream build (an addition, or a typo) and lists every build of ours', () => {
    const v = view('replace:\n  - { package: bw-tool, rpm: /x/bw-tool.x86_64.rpm, reason: "our tool" }\n  - { package: bw-tool, rpm: /x/bw-tool.aarch64.rpm, reason: "our tool" }\n');
    const r = selectContent(v, [c('bash', '5.2-1')], [c('bw-tool', '1.0-1', 'x86_64', 'ours'), c('bw-tool', '1.0-1', 'aarch64', 'ours')]);
    expect(builds(r.packages)).toEqual(['bash-0:5.2-1.x86_64', 'bw-tool-0:1.0-1.aarch64', 'bw-tool-0:1.0-1.x86_64']);
    expect(r.deviations).toEqual([{ kind: 'replaced', package: 'bw-tool', builds: [], reason: 'our tool', with: '0:1.0-1.x86_64, 0:1.0-1.aarch64' }]);
  });

  it('publishes one build once when two sources carry it; a different file under the same build is reported as shadowed', () => {
    const r = selectContent(view(''), [c('bash', '5.2-1', 'x86_64', 'a', 'same'), c('bash', '5.2-1', 'x86_64', 'b', 'same'), c('zlib', '1.3-1', 'x86_64', 'a', 'z1'), c('zlib', '1.3-1', 'x86_64', 'b', 'z2')], []);
    expect(builds(r.packages)).toEqual(['bash-0:5.2-1.x86_64', 'zlib-0:1.3-1.x86_64']);
    expect(r.packages.find((p) => p.name === 'zlib')?.source).toBe('z1');
    expect(r.deviations).toEqual([{ kind: 'shadowed', package: 'zlib', builds: ['0:1.3-1.x86_64'], reason: "b has a different file for this build; a's is published" }]);
  });

  it('keeps Debian builds apart by their full version, epoch included', () => {
    const deb = (name: string, version: string): Candidate => ({ name, epoch: 0, version, release: '', arch: 'amd64', source: `${name}_${version}` });
    const r = selectContent(view('pins: [{ package: bw-perl, version: "5.36.*", reason: "5.36 only" }]\n'), [deb('bw-perl', '5.36.0-7'), deb('bw-perl', '1:5.36.0-7'), deb('bw-perl', '5.38.0-1')], [], 'deb');
    expect(r.packages.map((p) => p.version)).toEqual(['5.36.0-7', '1:5.36.0-7']);
    expect(r.deviations.map((d) => [d.kind, d.builds])).toEqual([['pinned-out', ['5.38.0-1.amd64']]]);
  });
});
