import { releaseFromOsReleaseFields } from '../distros/registry.js';

/**
 * /etc/os-release (os-release(5)): `KEY=value` lines, values optionally quoted with shell-style
 * escapes. Bulwark's release id is `<ID>:<VERSION_ID>`: `azurelinux:3.0`, `mariner:2.0`,
 * `fedora:41`, `rhel:9.4`→ `rhel:9` (RHEL-family minors are one release for matching, the EUS
 * streams aside), `almalinux:9`, `rocky:9`, `ubuntu:24.04`, `debian:12`.
 */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    let v = m[2];
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\(["\\`$])/g, '$1');
    }
    out[m[1]] = v;
  }
  return out;
}

/**
 * Bulwark's release id from os-release fields; the mapping (which IDs, which versions are
 * cut to their major) is each distribution's descriptor's (releaseFromOsReleaseFields in
 * src/distros/registry.ts). Kept here for the collectors, with the same signature.
 * @example releaseFromOsRelease({ ID: 'rhel', VERSION_ID: '9.4' }) // 'rhel:9'
 */
export function releaseFromOsRelease(f: Readonly<Record<string, string>>): string | null {
  return releaseFromOsReleaseFields(f);
}
