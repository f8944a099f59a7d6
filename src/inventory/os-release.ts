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

const MAJOR_ONLY = new Set(['rhel', 'almalinux', 'rocky', 'centos', 'ol']);

/**
 * @example releaseFromOsRelease({ ID: 'azurelinux', VERSION_ID: '3.0' }) // 'azurelinux:3.0'
 */
export function releaseFromOsRelease(f: Readonly<Record<string, string>>): string | null {
  const id = f['ID']?.toLowerCase();
  const ver = f['VERSION_ID'];
  if (id === undefined || ver === undefined || !/^[a-z][a-z0-9-]*$/.test(id) || !/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(ver)) return null;
  return `${id}:${MAJOR_ONLY.has(id) ? (ver.split('.')[0] ?? ver) : ver}`;
}
