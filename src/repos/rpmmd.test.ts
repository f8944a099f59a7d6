import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { debPackages } from './deb.js';
import { primaryPackages } from './rpmmd.js';

/**
 * Repository metadata is hostile until parsed: a package's identity, checksum and location
 * become file names, pool paths and object-store keys when a content view is published.
 */
const SUM = 'a'.repeat(64);
const pkg = (o: { name?: string; arch?: string; epoch?: string; ver?: string; rel?: string; sum?: string; type?: string; href?: string }): string =>
  `<package type="rpm"><name>${o.name ?? 'bw-curl'}</name><arch>${o.arch ?? 'x86_64'}</arch><version epoch="${o.epoch ?? '0'}" ver="${o.ver ?? '8.11.1'}" rel="${o.rel ?? '3.azl3'}"/><checksum type="${o.type ?? 'sha256'}" pkgid="YES">${o.sum ?? SUM}</checksum><location href="${o.href ?? 'Packages/b/bw-curl-8.11.1-3.azl3.x86_64.rpm'}"/></package>`;
const primary = (...packages: string[]): Readable =>
  Readable.from([
    Buffer.from(
      `<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" packages="${String(packages.length)}">${packages.join('')}</metadata>`,
    ),
  ]);
const read = async (...packages: string[]) => {
  const out = [];
  for await (const p of primaryPackages(primary(...packages), 'primary.xml')) out.push(p);
  return out;
};

describe('primary.xml packages', () => {
  it('reads a well-formed package, tilde and caret versions included', async () => {
    const [p] = await read(pkg({ ver: '1.0.0~rc1^git2', epoch: '2' }));
    expect(p).toMatchObject({ name: 'bw-curl', arch: 'x86_64', epoch: 2, version: '1.0.0~rc1^git2', release: '3.azl3', checksum: SUM });
  });

  it.each([
    ['a checksum that is a path', { sum: '../../../../etc/shadow' }, /package 2 \("bw-curl"\): a malformed sha256 checksum "\.\.\/\.\.\//],
    ['a sha256 of the wrong length', { sum: 'abc' }, /malformed sha256 checksum "abc"/],
    ['an arch with a path in it', { arch: 'noarch/../../../tmp/x' }, /malformed arch/],
    ['a name with a slash', { name: 'bw/../../x' }, /malformed name/],
    ['a version with a slash', { ver: '1.0/..' }, /malformed version/],
    ['a release with a dash', { rel: '1-2' }, /malformed release/],
    ['an epoch that is not a number', { epoch: 'x' }, /malformed epoch/],
    ['an absolute location', { href: '/etc/passwd' }, /malformed location/],
    ['a location that climbs out', { href: 'Packages/../../secret.rpm' }, /malformed location/],
    ['a location that is a URL', { href: 'file:/etc/passwd' }, /malformed location/],
  ])('refuses %s, naming the package', async (_, o, message) => {
    await expect(read(pkg({}), pkg(o))).rejects.toThrow(message);
  });
});

describe('Packages paragraphs', () => {
  const para = (o: { pkg?: string; ver?: string; arch?: string }): string =>
    `Package: ${o.pkg ?? 'bw-libssl'}\nVersion: ${o.ver ?? '1:3.0.11-1~deb12u1'}\nArchitecture: ${o.arch ?? 'amd64'}\nFilename: pool/main/b/bw-libssl/bw-libssl_3.0.11-1~deb12u1_amd64.deb\nSize: 10\nSHA256: ${SUM}\n`;
  it('reads a well-formed paragraph', () => {
    expect(debPackages(para({}), 'Packages')).toMatchObject([{ name: 'bw-libssl', version: '1:3.0.11-1~deb12u1', arch: 'amd64' }]);
  });
  it.each([
    ['a Package with a slash', { pkg: 'bw/../x' }, /malformed Package/],
    ['a Version with a slash', { ver: '1.0/../../x' }, /bw-libssl has a malformed Version/],
    ['an Architecture with a path', { arch: 'all/../..' }, /bw-libssl has a malformed Architecture/],
  ])('refuses %s', (_, o, message) => {
    expect(() => debPackages(`${para({})}\n${para(o)}`, 'Packages')).toThrow(message);
  });
});
