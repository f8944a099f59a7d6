import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsConstants, createReadStream, existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BulwarkError } from '../core/errors.js';
import { decompress } from '../lib/decompress.js';
import { debPackages } from '../repos/deb.js';
import { parseRepomd, primaryPackages } from '../repos/rpmmd.js';
import type { Candidate } from '../repos/content-view.js';

const run = promisify(execFile);

// The files of a published version (issue #7): reading a package's identity, placing it, the apt
// archive's indexes, and what a published version's own metadata lists.

/** Name, epoch, version, release, arch of an rpm file, read by the real rpm. */
export async function rpmIdentity(file: string, label = file): Promise<Candidate> {
  let out: string;
  try {
    out = (await run('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n', file])).stdout;
  } catch (err) {
    throw new BulwarkError('input.invalid', `${label}: not an rpm package (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
  const [name = '', epoch = '0', version = '', release = '', arch = ''] = out.trim().split('\t');
  return { name, epoch: Number(epoch), version, release, arch, source: file };
}

// The object store's files are written once and never changed: a hard link is a safe copy.
// Never onto an existing file: a copy onto a hard link would rewrite the object it links.
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK')
      throw new BulwarkError('internal', `cannot publish ${to}: ${code ?? (err as Error).message}`, {}, { cause: err });
    await copyFile(from, to, fsConstants.COPYFILE_EXCL);
  }
}

/** A package's file name in a published version: one path segment, nothing a path could climb with. */
export function safeFileName(name: string): string {
  if (!/^[A-Za-z0-9_+][A-Za-z0-9._+~^%:-]*$/.test(name) || name.length > 255)
    throw new BulwarkError('input.invalid', `"${name.slice(0, 120)}" cannot be a published file name`);
  return name;
}

/**
 * What createrepo_c or dpkg-scanpackages put in the published metadata must be exactly the
 * selected packages — a file it skipped, or two builds in one file, would make the deviation
 * report and the repository disagree.
 */
export async function checkPublished(dir: string, family: 'rpm' | 'deb', packages: readonly Candidate[]): Promise<void> {
  const want = new Set(
    packages.map((p) => (family === 'rpm' ? `${p.name}-${String(p.epoch)}:${p.version}-${p.release}.${p.arch}` : `${p.name}_${p.version}_${p.arch}`)),
  );
  const got = new Set<string>();
  for await (const p of publishedPackages(dir)) got.add(family === 'rpm' ? `${p.name}-${p.version}.${p.arch}` : `${p.name}_${p.version}_${p.arch}`);
  const missing = [...want].filter((x) => !got.has(x));
  const extra = [...got].filter((x) => !want.has(x));
  if (missing.length > 0 || extra.length > 0)
    throw new BulwarkError(
      'internal',
      `${dir}: the published metadata does not list exactly the selected packages (missing: ${missing.slice(0, 5).join(', ') || 'none'}; unexpected: ${extra.slice(0, 5).join(', ') || 'none'})`,
    );
}

/** A package as a published version's own metadata lists it. */
export interface PublishedPackage {
  name: string;
  /** rpm: `E:V-R`; deb: the Debian version. */
  version: string;
  arch: string;
  /** deb: the version of its source (`Source: name (version)`), else its own; rpm: its version. */
  sourceVersion: string;
}

/** The packages a published version lists: its primary.xml (rpm-md), or every Packages index under dists/ (apt). */
export async function* publishedPackages(dir: string): AsyncGenerator<PublishedPackage> {
  if (existsSync(join(dir, 'dists'))) {
    for (const suite of await readdir(join(dir, 'dists')))
      for (const component of (await readdir(join(dir, 'dists', suite), { withFileTypes: true })).filter((d) => d.isDirectory()))
        for (const bin of await readdir(join(dir, 'dists', suite, component.name))) {
          const file = join(dir, 'dists', suite, component.name, bin, 'Packages');
          if (!existsSync(file)) continue;
          for (const p of debPackages(await readFile(file, 'utf8'), file))
            yield { name: p.name, version: p.version, arch: p.arch, sourceVersion: p.sourceVersion };
        }
    return;
  }
  const repomdFile = join(dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomdFile)) throw new BulwarkError('config.invalid', `${dir}: neither an rpm-md nor an apt repository`);
  const repomd = await parseRepomd(await readFile(repomdFile), repomdFile);
  for (const e of repomd.entries.filter((x) => x.type === 'primary'))
    for await (const p of primaryPackages(decompress(createReadStream(join(dir, e.href)), e.href, 2 ** 31), join(dir, e.href))) {
      const evr = `${String(p.epoch)}:${p.version}-${p.release}`;
      yield { name: p.name, version: evr, arch: p.arch, sourceVersion: evr };
    }
}

/** Package, version and architecture of a .deb, read by the real dpkg-deb. */
export async function debIdentity(file: string, label = file): Promise<Candidate> {
  let out: string;
  try {
    out = (await run('dpkg-deb', ['--field', file, 'Package', 'Version', 'Architecture'])).stdout;
  } catch (err) {
    throw new BulwarkError('input.invalid', `${label}: not a Debian package (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
  const field = (f: string): string => new RegExp(`^${f}: *(\\S+)$`, 'm').exec(out)?.[1] ?? '';
  return { name: field('Package'), epoch: 0, version: field('Version'), release: '', arch: field('Architecture'), source: file };
}

/**
 * A Debian archive in `dir` (https://wiki.debian.org/DebianRepository/Format): the packages under
 * pool/, one Packages index per architecture made by the real dpkg-scanpackages (an
 * architecture's index holds its own and the `all` packages), and a Release listing each
 * index's size and SHA-256. Signed afterwards (signVersion) when there is a key.
 */
export async function publishApt(
  dir: string,
  packages: readonly Candidate[],
  o: { suite: string; component: string; arches: string[]; label: string; date: Date },
): Promise<void> {
  for (const p of packages) {
    const prefix = p.name.startsWith('lib') ? p.name.slice(0, 4) : p.name.slice(0, 1);
    const poolDir = join(dir, 'pool', o.component, prefix, safeFileName(p.name));
    await mkdir(poolDir, { recursive: true });
    let name = safeFileName(`${p.name}_${p.version.replace(/^\d+:/, '')}_${p.arch}.deb`);
    // Two versions differing only by epoch would share the pool's usual name: the second keeps its epoch.
    if (existsSync(join(poolDir, name))) name = safeFileName(`${p.name}_${p.version.replace(':', '%3a')}_${p.arch}.deb`);
    await linkOrCopy(p.source, join(poolDir, name));
  }
  const dists = join(dir, 'dists', o.suite);
  const listed: string[] = [];
  for (const arch of o.arches) {
    const rel = `${o.component}/binary-${arch}/Packages`;
    await mkdir(join(dists, o.component, `binary-${arch}`), { recursive: true });
    const { stdout } =
      packages.length === 0
        ? { stdout: '' }
        : await run('dpkg-scanpackages', ['--multiversion', '--arch', arch, 'pool'], { cwd: dir, maxBuffer: 512 * 1024 * 1024 });
    await writeFile(join(dists, rel), stdout);
    await writeFile(join(dists, `${rel}.gz`), gzipSync(stdout, { level: 9 }));
    listed.push(rel, `${rel}.gz`);
  }
  const sums: string[] = [];
  for (const rel of listed) {
    const bytes = await readFile(join(dists, rel));
    sums.push(` ${createHash('sha256').update(bytes).digest('hex')} ${String(bytes.length)} ${rel}`);
  }
  const release = [
    'Origin: Bulwark',
    `Label: ${o.label}`,
    `Suite: ${o.suite}`,
    `Codename: ${o.suite}`,
    `Date: ${o.date.toUTCString()}`,
    `Architectures: ${o.arches.join(' ')}`,
    `Components: ${o.component}`,
    'SHA256:',
    ...sums,
    '',
  ].join('\n');
  await writeFile(join(dists, 'Release'), release);
}
