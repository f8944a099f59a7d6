import { describe, expect, it } from 'vitest';
import { debPurl, formatPurl, parsePurl, rpmPurl } from './purl.js';

describe('package URLs', () => {
  it('prints rpm purls with the epoch as a qualifier and qualifiers sorted', () => {
    expect(rpmPurl({ name: 'openssl', epoch: 1, version: '3.3.5', release: '5.azl3', arch: 'x86_64' }, 'azurelinux', 'azurelinux-3.0')).toBe(
      'pkg:rpm/azurelinux/openssl@3.3.5-5.azl3?arch=x86_64&distro=azurelinux-3.0&epoch=1',
    );
    expect(rpmPurl({ name: 'bash', epoch: null, version: '5.2.15', release: '3.azl3', arch: 'x86_64' }, 'AzureLinux')).toBe(
      'pkg:rpm/azurelinux/bash@5.2.15-3.azl3?arch=x86_64',
    );
  });

  it('prints deb purls with the full version, encoding "+" and keeping ":"', () => {
    expect(debPurl({ name: 'libc6', version: '2:2.36-9+deb12u10', arch: 'amd64' }, 'debian', 'debian-12')).toBe(
      'pkg:deb/debian/libc6@2:2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12',
    );
  });

  it.each([
    'pkg:rpm/azurelinux/openssl@3.3.5-5.azl3?arch=x86_64&distro=azurelinux-3.0&epoch=1',
    'pkg:deb/debian/libc6@2:2.36-9%2Bdeb12u10?arch=amd64',
    'pkg:deb/ubuntu/curl@8.5.0-2ubuntu10.6',
    'pkg:rpm/fedora/kernel',
    'pkg:generic/a%20b@1.0#sub/path',
  ])('round-trips %s', (s) => {
    expect(formatPurl(parsePurl(s))).toBe(s);
  });

  it('parses leniently as the spec says: case of type and keys, order of qualifiers, empty values', () => {
    const p = parsePurl('PKG:RPM/fedora/curl@8.0-1?Epoch=2&arch=aarch64&empty=');
    expect(p).toEqual({ type: 'rpm', namespace: 'fedora', name: 'curl', version: '8.0-1', qualifiers: { epoch: '2', arch: 'aarch64' }, subpath: null });
    expect(formatPurl(p)).toBe('pkg:rpm/fedora/curl@8.0-1?arch=aarch64&epoch=2');
  });

  it.each([
    ['rpm/fedora/curl', 'does not start with "pkg:"'],
    ['pkg:rpm', 'no type'],
    ['pkg:rpm/fedora/%E0%A4%A@1', 'bad percent-encoding'],
    ['pkg:rpm/x/y?a=1&a=2', 'given twice'],
    ['pkg:rpm/x/y?novalue', 'no key=value'],
  ])('refuses %s', (s, why) => {
    expect(() => parsePurl(s)).toThrow(why);
  });
});
