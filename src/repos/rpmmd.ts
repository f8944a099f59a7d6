import { Readable } from 'node:stream';
import { BulwarkError } from '../core/errors.js';
import { child, childrenNamed, childText, xmlRecords, type XmlElement } from '../lib/xml.js';

/**
 * rpm-md repository metadata (createrepo_c's format, read by dnf and tdnf): `repodata/repomd.xml`
 * lists the metadata files (primary, filelists, other, updateinfo, modules…) with their
 * checksums, sizes and locations; `primary.xml` lists the packages.
 * Spec: https://github.com/rpm-software-management/createrepo_c/blob/master/doc/createrepo_c.8
 */
export interface RepomdEntry {
  type: string;
  href: string;
  checksumType: string;
  checksum: string;
  size: number | null;
  openChecksum: string | null;
  timestamp: number | null;
}

export interface Repomd {
  revision: string | null;
  entries: RepomdEntry[];
}

const once = (b: Uint8Array): AsyncIterable<Uint8Array> => Readable.from([b]);

const SAFE_HREF = /^[A-Za-z0-9._+\-/]+$/;

/** Reads repomd.xml; refuses entries whose location leaves the repository or whose checksum is not sha256/sha512. */
export async function parseRepomd(bytes: Uint8Array, name: string): Promise<Repomd> {
  let revision: string | null = null;
  const entries: RepomdEntry[] = [];
  for await (const { element, path } of xmlRecords(once(bytes), { name, select: (p) => p.length === 2 && (p[1] === 'data' || p[1] === 'revision') })) {
    if (path[1] === 'revision') {
      revision = element.text.trim();
      continue;
    }
    const type = element.attrs['type'] ?? '';
    const loc = child(element, 'location')?.attrs['href'] ?? '';
    const ck = child(element, 'checksum');
    const ckType = ck?.attrs['type'] ?? '';
    if (!SAFE_HREF.test(loc) || loc.startsWith('/') || loc.split('/').includes('..'))
      throw new BulwarkError('input.invalid', `${name}:${String(element.line)}: data "${type}" has an unsafe location "${loc}"`);
    if (ckType !== 'sha256' && ckType !== 'sha512')
      throw new BulwarkError(
        'input.invalid',
        `${name}:${String(element.line)}: data "${type}" has a ${ckType || 'missing'} checksum (sha256 or sha512 needed)`,
      );
    const num = (e: XmlElement, n: string): number | null => {
      const t = childText(e, n);
      return t === null || t.trim() === '' ? null : Number(t);
    };
    entries.push({
      type,
      href: loc,
      checksumType: ckType,
      checksum: (ck?.text ?? '').trim().toLowerCase(),
      size: num(element, 'size'),
      openChecksum: childText(element, 'open-checksum')?.trim() ?? null,
      timestamp: num(element, 'timestamp'),
    });
  }
  if (entries.length === 0) throw new BulwarkError('input.invalid', `${name}: no <data> entries: not a repomd.xml`);
  if (!entries.some((e) => e.type === 'primary')) throw new BulwarkError('input.invalid', `${name}: no primary metadata listed`);
  return { revision, entries };
}

export interface PrimaryPackage {
  name: string;
  arch: string;
  epoch: number;
  version: string;
  release: string;
  checksum: string;
  checksumType: string;
  location: string;
  size: number | null;
  sourceRpm: string | null;
  /** `rpm:requires` entries (rpmlib(…) ones left out: rpm itself answers those). */
  requires: PrimaryDep[];
  /** `rpm:provides` entries, and the files primary.xml lists (a path is a provide with no version). */
  provides: PrimaryDep[];
}

/** A dependency entry: a name, and a comparison with an EVR when it has one (`flags` EQ, LT, LE, GT, GE). */
export interface PrimaryDep {
  name: string;
  flags: 'EQ' | 'LT' | 'LE' | 'GT' | 'GE' | null;
  epoch: string | null;
  version: string | null;
  release: string | null;
}

const FLAGS = new Set(['EQ', 'LT', 'LE', 'GT', 'GE']);

function deps(fmt: XmlElement | undefined, kind: 'requires' | 'provides'): PrimaryDep[] {
  const list = fmt === undefined ? undefined : child(fmt, kind);
  if (list === undefined) return [];
  return childrenNamed(list, 'entry')
    .map((e): PrimaryDep => {
      const flags = e.attrs['flags'] ?? '';
      return {
        name: e.attrs['name'] ?? '',
        flags: FLAGS.has(flags) ? (flags as PrimaryDep['flags']) : null,
        epoch: e.attrs['epoch'] ?? null,
        version: e.attrs['ver'] ?? null,
        release: e.attrs['rel'] ?? null,
      };
    })
    .filter((d) => d.name !== '' && !d.name.startsWith('rpmlib('));
}

// What a package's identity may hold, here where it comes from a repository nobody vouches for
// yet: these become file names and paths when a view is published, and the checksum is a key
// into the object store.
const NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,255}$/;
const ARCH = /^[A-Za-z0-9_]{1,32}$/;
const VER = /^[A-Za-z0-9._+~^]{1,128}$/;
const HEX_LENGTH: Record<string, number> = { md5: 32, sha: 40, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 };

/** Streams the packages of a (decompressed) primary.xml; a package whose identity, checksum or location is malformed stops it, named. */
export async function* primaryPackages(input: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<PrimaryPackage> {
  let n = 0;
  for await (const { element } of xmlRecords(input, { name, select: (p) => p.length === 2 && p[1] === 'package' })) {
    n++;
    const v = child(element, 'version');
    const fmt = child(element, 'format');
    const size = child(element, 'size')?.attrs['package'];
    const epoch = v?.attrs['epoch'] ?? '0';
    const p: PrimaryPackage = {
      name: childText(element, 'name')?.trim() ?? '',
      arch: childText(element, 'arch')?.trim() ?? '',
      epoch: Number(epoch === '' ? '0' : epoch),
      version: v?.attrs['ver'] ?? '',
      release: v?.attrs['rel'] ?? '',
      checksum: childText(element, 'checksum')?.trim().toLowerCase() ?? '',
      checksumType: child(element, 'checksum')?.attrs['type'] ?? '',
      location: child(element, 'location')?.attrs['href'] ?? '',
      size: size === undefined ? null : Number(size),
      sourceRpm: fmt === undefined ? null : (childText(fmt, 'sourcerpm')?.trim() ?? null),
      requires: deps(fmt, 'requires'),
      provides: [
        ...deps(fmt, 'provides'),
        ...(fmt === undefined ? [] : childrenNamed(fmt, 'file')).map((f) => ({ name: f.text.trim(), flags: null, epoch: null, version: null, release: null })),
      ],
    };
    const what = `${name}: package ${String(n)} (${JSON.stringify(p.name.slice(0, 80))})`;
    const bad = (field: string, value: string): never => {
      throw new BulwarkError('input.invalid', `${what}: a malformed ${field} ${JSON.stringify(value.slice(0, 200))}`);
    };
    if (!NAME.test(p.name)) bad('name', p.name);
    if (!ARCH.test(p.arch)) bad('arch', p.arch);
    if (!/^\d{1,10}$/.test(epoch === '' ? '0' : epoch)) bad('epoch', epoch);
    if (!VER.test(p.version)) bad('version', p.version);
    if (!VER.test(p.release)) bad('release', p.release);
    const hexLength = HEX_LENGTH[p.checksumType];
    if (hexLength !== undefined && !new RegExp(`^[0-9a-f]{${String(hexLength)}}$`).test(p.checksum)) bad(`${p.checksumType} checksum`, p.checksum);
    // A relative path inside the repository (a first segment with ":" would read as a URL scheme).
    const segments = p.location.split('/');
    if (!/^[A-Za-z0-9._+~^%@=,:/-]{1,1024}$/.test(p.location) || segments.some((x) => x === '..' || x === '.' || x === '') || (segments[0] ?? '').includes(':'))
      bad('location', p.location);
    yield p;
  }
}
