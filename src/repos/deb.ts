import { BulwarkError } from '../core/errors.js';

/**
 * Debian repository metadata (apt's format): the Release file (or its clearsigned InRelease)
 * lists every index with its size and SHA-256; `Packages` lists the packages, one paragraph each.
 * Spec: https://wiki.debian.org/DebianRepository/Format
 */
export interface Release {
  suite: string | null;
  codename: string | null;
  date: string | null;
  validUntil: string | null;
  architectures: string[];
  components: string[];
  /** path (relative to the Release file's directory) → size and SHA-256 */
  sha256: Map<string, { size: number; hash: string }>;
}

const SAFE_PATH = /^[A-Za-z0-9._+\-/~]+$/;

/** Reads a Release file's fields (deb822); `name` names it in messages. */
export function parseRelease(text: string, name: string): Release {
  const fields = new Map<string, string>();
  let current: string | null = null;
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) {
      if (current === null) throw new BulwarkError('input.invalid', `${name}:${String(i + 1)}: a continuation line before any field`);
      fields.set(current, `${fields.get(current) ?? ''}\n${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m === null) throw new BulwarkError('input.invalid', `${name}:${String(i + 1)}: not a field`);
    current = m[1]?.toLowerCase() ?? '';
    fields.set(current, m[2] ?? '');
  }
  const sha256 = new Map<string, { size: number; hash: string }>();
  for (const l of (fields.get('sha256') ?? '').split('\n')) {
    if (l.trim() === '') continue;
    const [hash, size, path] = l.trim().split(/\s+/);
    if (hash === undefined || size === undefined || path === undefined || !/^[0-9a-f]{64}$/.test(hash) || !/^\d+$/.test(size))
      throw new BulwarkError('input.invalid', `${name}: a malformed SHA256 line "${l.trim()}"`);
    if (!SAFE_PATH.test(path) || path.startsWith('/') || path.split('/').includes('..'))
      throw new BulwarkError('input.invalid', `${name}: an unsafe path "${path}"`);
    sha256.set(path, { size: Number(size), hash });
  }
  if (sha256.size === 0) throw new BulwarkError('input.invalid', `${name}: no SHA256 checksums (MD5 and SHA1 alone are not trusted)`);
  const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter((x) => x !== '');
  return {
    suite: fields.get('suite') ?? null,
    codename: fields.get('codename') ?? null,
    date: fields.get('date') ?? null,
    validUntil: fields.get('valid-until') ?? null,
    architectures: list('architectures'),
    components: list('components'),
    sha256,
  };
}

/** Counts the package paragraphs of a (decompressed) Packages file, checking each as debPackages does. */
export function countPackages(text: string, name: string): number {
  return debPackages(text, name).length;
}

export interface DebPackage {
  name: string;
  version: string;
  arch: string;
  filename: string;
  sha256: string;
  size: number;
  /** The version of the source it was built from (`Source: name (version)`), else its own version. */
  sourceVersion: string;
}

/** The package paragraphs of a (decompressed) Packages file, with where each .deb is and its SHA-256. */
export function debPackages(text: string, name: string): DebPackage[] {
  const out: DebPackage[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    if (para.trim() === '') continue;
    const field = (f: string): string | undefined => new RegExp(`^${f}:\\s*(\\S+)`, 'm').exec(para)?.[1];
    const pkg = field('Package');
    const file = field('Filename');
    const sum = field('SHA256');
    const size = field('Size');
    if (pkg === undefined || file === undefined) throw new BulwarkError('input.invalid', `${name}: a paragraph without Package or Filename`);
    if (!SAFE_PATH.test(file) || file.startsWith('/') || file.split('/').includes('..'))
      throw new BulwarkError('input.invalid', `${name}: ${pkg} has an unsafe Filename "${file}"`);
    if (sum === undefined || !/^[0-9a-f]{64}$/.test(sum)) throw new BulwarkError('input.invalid', `${name}: ${pkg} has no SHA256`);
    const version = field('Version') ?? '';
    const arch = field('Architecture') ?? '';
    // They become pool paths when a view is published: Debian policy's characters only.
    if (!/^[a-z0-9][a-z0-9+.-]{0,255}$/.test(pkg)) throw new BulwarkError('input.invalid', `${name}: a malformed Package ${JSON.stringify(pkg.slice(0, 200))}`);
    if (!/^(\d{1,10}:)?[A-Za-z0-9][A-Za-z0-9.+~-]{0,255}$/.test(version))
      throw new BulwarkError('input.invalid', `${name}: ${pkg} has a malformed Version ${JSON.stringify(version.slice(0, 200))}`);
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(arch))
      throw new BulwarkError('input.invalid', `${name}: ${pkg} has a malformed Architecture ${JSON.stringify(arch.slice(0, 200))}`);
    const sourceVersion = /^Source:\s*\S+\s+\(([^)\s]+)\)\s*$/m.exec(para)?.[1] ?? version;
    out.push({ name: pkg, version, arch, filename: file, sha256: sum, size: Number(size ?? '-1'), sourceVersion });
  }
  return out;
}
