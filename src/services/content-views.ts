import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { constants as fsConstants, createReadStream, existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BulwarkError } from '../core/errors.js';
import { decompress } from '../lib/decompress.js';
import { keyInfo, readTrustedKeys } from '../lib/signatures.js';
import { debPackages } from '../repos/deb.js';
import { parseRepomd, primaryPackages } from '../repos/rpmmd.js';
import { advisoryBuilds, filterUpdateinfo, mergeUpdate, serializeElement, updateinfoDocument } from '../repos/updateinfo-filter.js';
import type { XmlElement } from '../lib/xml.js';
import { parseContentView, selectContent, withheldAdvisories, type AdvisoryFixes, type Candidate, type ContentView, type Deviation } from '../repos/content-view.js';
import { getRepo, getViewVersion, insertViewVersion, listEnvironments, listSnapshotRows, listViewVersions, promotedTo, setEnvironment, type ViewVersionRow } from '../storage/index.js';
import { withLease } from './lease.js';
import { advisoryFixedBuilds, snapshotFor, withoutLocalPaths } from './view-inputs.js';
import { PROCESS_ID } from './runs.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import { readBoundedBytes, readBoundedText } from './read-file.js';
import { mirrorSnapshot, objectPath, putObject, snapshotDebPackages, snapshotRpmPackages, type RepoRow } from './repos.js';
import { signVersion, type SigningKey } from './signing-key.js';
import { systemClock, type Clock, type Db } from './store.js';

const run = promisify(execFile);

/** The largest replacement package taken (it is read whole to be stored). */
const MAX_REPLACEMENT = 2 ** 30;

/**
 * Publishing content views (issue #7): the view's sources are the packages of verified snapshots
 * (mirrored, so every file matches its signed metadata), the overlays select and replace, and the
 * result is a real rpm-md repository made by createrepo_c — with the sources' updateinfo — in a
 * numbered, never-changed version directory, with the deviation report beside it. Environments
 * (dev, canary, prod…) point at versions; promoting is moving that pointer.
 */
export type { ViewVersionRow } from '../storage/index.js';

export interface PublishReport {
  view: string;
  version: number;
  dir: string;
  packages: number;
  deviations: Deviation[];
  /** Nothing changed since the latest version (`version`): nothing was published. */
  unchanged: boolean;
}

/** Name, epoch, version, release, arch of an rpm file, read by the real rpm. */
async function rpmIdentity(file: string, label = file): Promise<Candidate> {
  let out: string;
  try {
    out = (await run('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n', file])).stdout;
  } catch (err) {
    throw new BulwarkError('input.invalid', `${label}: not an rpm package (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
  const [name = '', epoch = '0', version = '', release = '', arch = ''] = out.trim().split('\t');
  return { name, epoch: Number(epoch), version, release, arch, source: file };
}

/**
 * Publishes the next version of the view in `file`.
 * @example await publishView(db, 'azl3-prod.yaml', { objectsDir, publishDir, actor: { kind: 'cli', name: 'alice' } })
 */
export async function publishView(db: Db, file: string, o: { objectsDir: string; publishDir: string; actor: Actor; clock?: Clock; signingKey?: SigningKey | undefined }): Promise<PublishReport> {
  const clock = o.clock ?? systemClock;
  const text = await readBoundedText(file, 1024 * 1024);
  const view = parseContentView(text, file);
  const sources: { repo: RepoRow; src: ContentView['sources'][number] }[] = [];
  for (const src of view.sources) {
    const repo = await getRepo(db, src.repo);
    if (repo === null) throw new BulwarkError('usage', `${file}: no repository ${src.repo}`);
    sources.push({ repo, src });
  }
  const kinds = [...new Set(sources.map((x) => x.repo.kind))];
  if (kinds.length > 1) throw new BulwarkError('usage', `${file}: a view's sources are all rpm-md or all deb repositories; this one mixes ${kinds.join(' and ')}`);
  const family = kinds[0] === 'deb' ? 'deb' : 'rpm';
  const upstream: Candidate[] = [];
  const updateinfos: string[] = [];
  for (const { repo, src } of sources) {
    const snap = snapshotFor(await listSnapshotRows(db, repo.id), src, file);
    const only = src.advisories === undefined ? null : (await advisoryFixedBuilds(o.objectsDir, snap, src.advisories, file)).builds;
    // Every package file present and matching the snapshot's signed metadata, or no publication.
    const m = await mirrorSnapshot(db, repo.id, { objectsDir: o.objectsDir, snapshot: snap.id });
    if (m.refused.length > 0) throw new BulwarkError('input.invalid', `${file}: ${repo.id}: ${String(m.refused.length)} package(s) do not verify, e.g. ${m.refused[0]?.package ?? ''}: ${m.refused[0]?.reason ?? ''}`);
    if (family === 'rpm') {
      for (const f of snap.files) if (f.type === 'updateinfo') updateinfos.push(objectPath(o.objectsDir, f.sha256));
      for await (const p of snapshotRpmPackages(o.objectsDir, snap)) {
        if (only !== null && !only.has(`${p.name}|${String(p.epoch)}:${p.version}-${p.release}|${p.arch}`)) continue;
        if (p.checksumType !== 'sha256') throw new BulwarkError('input.invalid', `${repo.id}: ${p.name} has a ${p.checksumType} checksum; publishing needs sha256`);
        upstream.push({ name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch, source: objectPath(o.objectsDir, p.checksum), origin: repo.id });
      }
    } else if (only !== null) throw new BulwarkError('usage', `${file}: advisory filters need rpm-md sources (updateinfo)`);
    else for await (const p of snapshotDebPackages(o.objectsDir, snap)) upstream.push({ name: p.name, epoch: 0, version: p.version, release: '', arch: p.arch, source: objectPath(o.objectsDir, p.sha256), origin: repo.id });
  }
  const replacements: Candidate[] = [];
  for (const r of view.replace) {
    const ours = family === 'rpm' ? r.rpm : r.deb;
    if (ours === undefined) throw new BulwarkError('usage', `${file}: the replacement of ${r.package} needs ${family}: (this view's sources are ${family === 'rpm' ? 'rpm-md' : 'deb'})`);
    // Kept in the object store first, and read from there: the published version links that copy,
    // so a later change to the operator's file never reaches a version already published.
    const stored = objectPath(o.objectsDir, await putObject(o.objectsDir, await readBoundedBytes(ours, MAX_REPLACEMENT)));
    const c = family === 'rpm' ? await rpmIdentity(stored, ours) : await debIdentity(stored, ours);
    if (c.name !== r.package) throw new BulwarkError('input.invalid', `${file}: ${ours} is ${c.name}, not ${r.package}`);
    replacements.push(c);
  }
  const { packages, deviations } = selectContent(view, upstream, replacements, family);
  // The advisories whose fixes an overlay keeps out: named in the report, not dropped in silence.
  const fixes: AdvisoryFixes[] = [];
  for (const u of updateinfos) for await (const a of advisoryBuilds(decompress(createReadStream(u), u, 2 ** 31), u)) fixes.push(a);
  deviations.push(...withheldAdvisories(fixes, deviations));
  // One publication of a view at a time across processes: the version number and its directory are ours.
  // Renewed while it runs: a killed publication frees the view within half a minute.
  const holder = `${PROCESS_ID}:${randomUUID().slice(0, 8)}`;
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ text, family, signed: o.signingKey?.published ?? null, packages: packages.map((p) => [p.name, p.epoch, p.version, p.release, p.arch, basename(p.source)]), deviations, updateinfos: updateinfos.map((u) => basename(u)) }))
    .digest('hex');
  return withLease(db, `view:${view.name}`, holder, { busy: () => new BulwarkError('storage.conflict', `${view.name} is being published by another process`) }, async () => {
    // Nothing changed since the latest version: no new, identical version (which would mark
    // images behind and make --if-needed rebuild them).
    const latest = (await listViewVersions(db, view.name))[0];
    if (latest !== undefined && latest.fingerprint === fingerprint) return { view: view.name, version: latest.version, dir: latest.dir, packages: latest.packages, deviations: latest.deviations as Deviation[], unchanged: true };
    return writeVersion(db, { text, view, family, packages, deviations, updateinfos, arches: sources.flatMap((x) => x.repo.arches), fingerprint }, o, clock);
  });
}

async function writeVersion(
  db: Db,
  v: { text: string; view: ContentView; family: 'rpm' | 'deb'; packages: Candidate[]; deviations: Deviation[]; updateinfos: string[]; arches: string[]; fingerprint: string },
  o: { publishDir: string; actor: Actor; signingKey?: SigningKey | undefined },
  clock: Clock,
): Promise<PublishReport> {
  const { text, view, family, packages, deviations, updateinfos } = v;
  const versions = await listViewVersions(db, view.name);
  const next = (versions[0]?.version ?? 0) + 1;
  const dir = join(o.publishDir, view.name, String(next));
  // A directory of a version never recorded is a crashed attempt: none of its files may stay.
  await rm(dir, { recursive: true, force: true });
  if (family === 'rpm') {
    await mkdir(join(dir, 'Packages'), { recursive: true });
    const names = new Set<string>();
    for (const p of packages) {
      // Two builds differing only by epoch would share the usual name: the second carries its epoch.
      let name = safeFileName(`${p.name}-${p.version}-${p.release}.${p.arch}.rpm`);
      if (names.has(name)) name = safeFileName(`${p.name}-${String(p.epoch)}:${p.version}-${p.release}.${p.arch}.rpm`);
      names.add(name);
      await linkOrCopy(p.source, join(dir, 'Packages', name));
    }
    await run('createrepo_c', ['--quiet', dir]);
    await checkPublished(dir, family, packages);
    if (updateinfos.length > 0) {
      // The sources' advisories, each with only the packages this version publishes; one file
      // for all sources (modifyrepo_c keeps one record per type).
      const published = new Set(packages.map((p) => `${p.name}|${String(p.epoch)}|${p.version}|${p.release}|${p.arch}`));
      const byId = new Map<string, XmlElement>();
      for (const u of updateinfos) {
        const r = await filterUpdateinfo(decompress(createReadStream(u), u, 2 ** 31), u, (p) => published.has(`${p.name}|${String(p.epoch)}|${p.version}|${p.release}|${p.arch}`));
        for (const x of r.updates) {
          // The same advisory from two sources (a repository per architecture): one record, every package.
          const first = byId.get(x.id);
          if (first === undefined) byId.set(x.id, x.element);
          else mergeUpdate(first, x.element);
        }
      }
      const file = join(o.publishDir, view.name, `.updateinfo-${String(next)}.xml`);
      await writeFile(file, updateinfoDocument([...byId.values()].map(serializeElement)));
      await run('modifyrepo_c', ['--mdtype=updateinfo', file, join(dir, 'repodata')]);
      await rm(file, { force: true });
    }
  } else {
    const arches = [...new Set([...v.arches, ...packages.map((p) => p.arch)].filter((a) => a !== 'all'))].sort();
    await publishApt(dir, packages, { suite: view.suite ?? view.name, component: view.component ?? 'main', arches: arches.length > 0 ? arches : ['amd64'], label: `${view.name} version ${String(next)}`, date: clock() });
    await checkPublished(dir, family, packages);
  }
  // dnf's convention: repo_gpgcheck checks repomd.xml.asc, gpgkey=<baseurl>/repodata/repomd.xml.key;
  // apt's: InRelease (or Release + Release.gpg) against the signed-by keyring.
  if (o.signingKey !== undefined) await signVersion(dir, o.signingKey);
  await writeFile(join(dir, 'deviations.json'), JSON.stringify({ view: view.name, version: next, deviations }, null, 2) + '\n');
  await writeFile(join(dir, 'view.yaml'), withoutLocalPaths(text, view));
  const version = await insertViewVersion(db, { view: view.name, createdAt: clock().toISOString(), createdBy: actorLabel(o.actor), spec: text, packages: packages.length, deviations, dir, fingerprint: v.fingerprint });
  if (version !== next) throw new BulwarkError('storage.conflict', `${view.name}: version ${String(next)} was published at the same time by someone else`);
  await recordAudit(db, o.actor, 'view.publish', view.name, { version, packages: packages.length, deviations: deviations.length }, clock);
  return { view: view.name, version, dir, packages: packages.length, deviations, unchanged: false };
}

// The object store's files are written once and never changed: a hard link is a safe copy.
// Never onto an existing file: a copy onto a hard link would rewrite the object it links.
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw new BulwarkError('internal', `cannot publish ${to}: ${code ?? (err as Error).message}`, {}, { cause: err });
    await copyFile(from, to, fsConstants.COPYFILE_EXCL);
  }
}

/** A package's file name in a published version: one path segment, nothing a path could climb with. */
function safeFileName(name: string): string {
  if (!/^[A-Za-z0-9_+][A-Za-z0-9._+~^%:-]*$/.test(name) || name.length > 255) throw new BulwarkError('input.invalid', `"${name.slice(0, 120)}" cannot be a published file name`);
  return name;
}

/**
 * What createrepo_c or dpkg-scanpackages put in the published metadata must be exactly the
 * selected packages — a file it skipped, or two builds in one file, would make the deviation
 * report and the repository disagree.
 */
async function checkPublished(dir: string, family: 'rpm' | 'deb', packages: readonly Candidate[]): Promise<void> {
  const want = new Set(packages.map((p) => (family === 'rpm' ? `${p.name}-${String(p.epoch)}:${p.version}-${p.release}.${p.arch}` : `${p.name}_${p.version}_${p.arch}`)));
  const got = new Set<string>();
  for await (const p of publishedPackages(dir)) got.add(family === 'rpm' ? `${p.name}-${p.version}.${p.arch}` : `${p.name}_${p.version}_${p.arch}`);
  const missing = [...want].filter((x) => !got.has(x));
  const extra = [...got].filter((x) => !want.has(x));
  if (missing.length > 0 || extra.length > 0) throw new BulwarkError('internal', `${dir}: the published metadata does not list exactly the selected packages (missing: ${missing.slice(0, 5).join(', ') || 'none'}; unexpected: ${extra.slice(0, 5).join(', ') || 'none'})`);
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
          for (const p of debPackages(await readFile(file, 'utf8'), file)) yield { name: p.name, version: p.version, arch: p.arch, sourceVersion: p.sourceVersion };
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
async function debIdentity(file: string, label = file): Promise<Candidate> {
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
async function publishApt(dir: string, packages: readonly Candidate[], o: { suite: string; component: string; arches: string[]; label: string; date: Date }): Promise<void> {
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
    const { stdout } = packages.length === 0 ? { stdout: '' } : await run('dpkg-scanpackages', ['--multiversion', '--arch', arch, 'pool'], { cwd: dir, maxBuffer: 512 * 1024 * 1024 });
    await writeFile(join(dists, rel), stdout);
    await writeFile(join(dists, `${rel}.gz`), gzipSync(stdout, { level: 9 }));
    listed.push(rel, `${rel}.gz`);
  }
  const sums: string[] = [];
  for (const rel of listed) {
    const bytes = await readFile(join(dists, rel));
    sums.push(` ${createHash('sha256').update(bytes).digest('hex')} ${String(bytes.length)} ${rel}`);
  }
  const release = ['Origin: Bulwark', `Label: ${o.label}`, `Suite: ${o.suite}`, `Codename: ${o.suite}`, `Date: ${o.date.toUTCString()}`, `Architectures: ${o.arches.join(' ')}`, `Components: ${o.component}`, 'SHA256:', ...sums, ''].join('\n');
  await writeFile(join(dists, 'Release'), release);
}

/** Points an environment at a published version (default: the latest). */
export async function promoteView(db: Db, o: { view: string; environment: string; version?: number; actor: Actor; clock?: Clock; force?: boolean }): Promise<{ version: number }> {
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(o.environment)) throw new BulwarkError('usage', `"${o.environment}" is not an environment name`);
  const versions = await listViewVersions(db, o.view);
  const v = o.version === undefined ? versions[0] : versions.find((x) => x.version === o.version);
  if (v === undefined) throw new BulwarkError('storage.not-found', `content view ${o.view} has no ${o.version === undefined ? 'published' : `version ${String(o.version)}`} version`);
  // The version's own YAML says the way through the environments.
  const path = parseContentView(v.spec, `${o.view} version ${String(v.version)}`).promotion;
  if (path !== undefined && o.force !== true) {
    const i = path.indexOf(o.environment);
    if (i < 0) throw new BulwarkError('usage', `${o.view}: ${o.environment} is not on its promotion path (${path.join(' → ')})`);
    const before = path[i - 1];
    if (before !== undefined && !(await promotedTo(db, o.view, v.version)).includes(before)) throw new BulwarkError('usage', `${o.view} version ${String(v.version)} has not been in ${before} yet (${path.join(' → ')}); promote it there first, or force it`);
  }
  const clock = o.clock ?? systemClock;
  await setEnvironment(db, { view: o.view, environment: o.environment, version: v.version, at: clock().toISOString(), by: actorLabel(o.actor) });
  await recordAudit(db, o.actor, 'view.promote', o.view, { environment: o.environment, version: v.version, ...(o.force === true ? { forced: true } : {}) }, clock);
  return { version: v.version };
}

/** One version of a view (default: its latest), or null. */
export function viewVersion(db: Db, view: string, version?: number): Promise<ViewVersionRow | null> {
  return getViewVersion(db, view, version);
}

export function viewVersions(db: Db, view?: string): Promise<ViewVersionRow[]> {
  return listViewVersions(db, view);
}

export function viewEnvironments(db: Db, view?: string): ReturnType<typeof listEnvironments> {
  return listEnvironments(db, view);
}

/** The directory an environment of a view serves, or null. */
export async function environmentDir(db: Db, view: string, environment: string): Promise<string | null> {
  const env = (await listEnvironments(db, view)).find((e) => e.environment === environment);
  if (env === undefined) return null;
  return (await listViewVersions(db, view)).find((v) => v.version === env.version)?.dir ?? null;
}

/**
 * What a host needs to use an environment of a view: a dnf/tdnf `.repo` file (repository id
 * `bulwark-<view>`, the id a policy's `source.repoId` names) or an apt sources line.
 * @example await viewRepoConfig(db, { view: 'azl3-prod', environment: 'prod', url: 'https://bulwark.example.com' })
 */
/** Comment lines giving the fingerprints of the keys in a published key file, to check against what a host is shown. */
async function fingerprintLines(file: string, shownBy: string): Promise<string[]> {
  const keys = await readTrustedKeys(await readFile(file), file);
  const fprs = await Promise.all(keys.map(async (k) => (await keyInfo(k.armored, k.origin)).fingerprint));
  return [`# key fingerprint${fprs.length > 1 ? 's (the signing key, then the next one)' : ''}: ${fprs.join(', ')} — check against ${shownBy}`];
}

export async function viewRepoConfig(db: Db, o: { view: string; environment: string; url: string }): Promise<{ kind: 'rpm-md' | 'deb'; text: string }> {
  const dir = await environmentDir(db, o.view, o.environment);
  if (dir === null) throw new BulwarkError('usage', `content view ${o.view} has no environment ${o.environment} (bulwark view promote)`);
  if (!/^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/.test(o.url)) throw new BulwarkError('usage', `"${o.url}" is not the server's address (https://host[:port][/path])`);
  const base = `${o.url.replace(/\/+$/, '')}/repos/${o.view}/${o.environment}/`;
  const spec = (await listViewVersions(db, o.view)).find((v) => v.dir === dir);
  const view = spec === undefined ? null : parseContentView(spec.spec, `${o.view} (published)`);
  const auth = '# with `bulwark serve --repos-need-token`: username=bulwark and password=<a viewer token>';
  if (existsSync(join(dir, 'dists'))) {
    const keyring = `/etc/apt/keyrings/bulwark-${o.view}.asc`;
    const keyFile = join(dir, 'bulwark-archive-key.asc');
    const signed = existsSync(keyFile);
    return {
      kind: 'deb',
      text: [
        `# /etc/apt/sources.list.d/bulwark-${o.view}.list — content view ${o.view}, environment ${o.environment}`,
        ...(signed ? [`# the signing key, once: curl -fsS ${base}bulwark-archive-key.asc -o ${keyring}`, ...(await fingerprintLines(keyFile, `gpg --show-keys ${keyring}`))] : ['# this version is not signed: publish it again with a signing key']),
        '# (with --repos-need-token: the token in /etc/apt/auth.conf.d/, "machine <host> login bulwark password <token>")',
        `deb [${signed ? `signed-by=${keyring}` : 'trusted=yes'}] ${base} ${view?.suite ?? o.view} ${view?.component ?? 'main'}`,
        '',
      ].join('\n'),
    };
  }
  const signed = existsSync(join(dir, 'repodata', 'repomd.xml.asc'));
  // Upstream packages keep their vendor's signatures (the host's imported keys check them); our
  // own replacement builds may not be signed, and then dnf cannot check them.
  const ours = (view?.replace.length ?? 0) > 0;
  return {
    kind: 'rpm-md',
    text: [
      `# /etc/yum.repos.d/bulwark-${o.view}.repo — content view ${o.view}, environment ${o.environment}`,
      `[bulwark-${o.view}]`,
      `name=Bulwark content view ${o.view} (${o.environment})`,
      `baseurl=${base}`,
      'enabled=1',
      ...(ours ? ['# this view replaces upstream packages with builds of your own: sign them and set gpgcheck=1', 'gpgcheck=0'] : ['# packages keep their vendor signatures, checked with the keys the host has imported', 'gpgcheck=1']),
      ...(signed ? ['# the metadata is signed by Bulwark', ...(await fingerprintLines(join(dir, 'repodata', 'repomd.xml.key'), 'dnf, when it imports the key')), 'repo_gpgcheck=1', `gpgkey=${base}repodata/repomd.xml.key`] : ['repo_gpgcheck=0']),
      auth,
      '',
    ].join('\n'),
  };
}
