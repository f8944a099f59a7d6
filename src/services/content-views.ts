import { execFile } from 'node:child_process';
import { copyFile, link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import { parseContentView, selectContent, type Candidate, type Deviation } from '../repos/content-view.js';
import { getRepo, insertViewVersion, listEnvironments, listSnapshotRows, listViewVersions, setEnvironment, type ViewVersionRow } from '../storage/index.js';
import { recordAudit } from './audit.js';
import { readBoundedText } from './read-file.js';
import { mirrorSnapshot, objectPath, snapshotRpmPackages } from './repos.js';
import { systemClock, type Clock, type Db } from './store.js';

const run = promisify(execFile);

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
}

/** Name, epoch, version, release, arch of an rpm file, read by the real rpm. */
async function rpmIdentity(file: string): Promise<Candidate> {
  let out: string;
  try {
    out = (await run('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n', file])).stdout;
  } catch (err) {
    throw new BulwarkError('input.invalid', `${file}: not an rpm package (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
  const [name = '', epoch = '0', version = '', release = '', arch = ''] = out.trim().split('\t');
  return { name, epoch: Number(epoch), version, release, arch, source: file };
}

/**
 * Publishes the next version of the view in `file`.
 * @example await publishView(db, 'azl3-prod.yaml', { objectsDir, publishDir, actor: 'cli:alice' })
 */
export async function publishView(db: Db, file: string, o: { objectsDir: string; publishDir: string; actor: string; clock?: Clock }): Promise<PublishReport> {
  const clock = o.clock ?? systemClock;
  const text = await readBoundedText(file, 1024 * 1024);
  const view = parseContentView(text, file);
  const upstream: Candidate[] = [];
  const updateinfos: string[] = [];
  for (const src of view.sources) {
    const repo = await getRepo(db.kysely, src.repo);
    if (repo === null) throw new BulwarkError('usage', `${file}: no repository ${src.repo}`);
    if (repo.kind !== 'rpm-md') throw new BulwarkError('usage', `${file}: ${src.repo} is a ${repo.kind} repository; content views publish rpm-md for now`);
    const snaps = await listSnapshotRows(db.kysely, src.repo);
    const snap = src.snapshot === undefined ? snaps[0] : snaps.find((s) => s.id.startsWith(src.snapshot ?? '-'));
    if (snap === undefined) throw new BulwarkError('usage', `${file}: ${src.repo} has no ${src.snapshot ?? ''} snapshot (bulwark repo sync ${src.repo})`);
    // Every package file present and matching the snapshot's signed metadata, or no publication.
    const m = await mirrorSnapshot(db, src.repo, { objectsDir: o.objectsDir, snapshot: snap.id });
    if (m.refused.length > 0) throw new BulwarkError('input.invalid', `${file}: ${src.repo}: ${String(m.refused.length)} package(s) do not verify, e.g. ${m.refused[0]?.package ?? ''}: ${m.refused[0]?.reason ?? ''}`);
    for (const f of snap.files) if (f.type === 'updateinfo') updateinfos.push(objectPath(o.objectsDir, f.sha256));
    for await (const p of snapshotRpmPackages(o.objectsDir, snap)) {
      if (p.checksumType !== 'sha256') throw new BulwarkError('input.invalid', `${src.repo}: ${p.name} has a ${p.checksumType} checksum; publishing needs sha256`);
      upstream.push({ name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch, source: objectPath(o.objectsDir, p.checksum) });
    }
  }
  const replacements: Candidate[] = [];
  for (const r of view.replace) {
    const c = await rpmIdentity(r.rpm);
    if (c.name !== r.package) throw new BulwarkError('input.invalid', `${file}: ${r.rpm} is ${c.name}, not ${r.package}`);
    replacements.push(c);
  }
  const { packages, deviations } = selectContent(view, upstream, replacements);
  const versions = await listViewVersions(db.kysely, view.name);
  const next = (versions[0]?.version ?? 0) + 1;
  const dir = join(o.publishDir, view.name, String(next));
  await mkdir(join(dir, 'Packages'), { recursive: true });
  for (const p of packages) {
    const target = join(dir, 'Packages', `${p.name}-${p.version}-${p.release}.${p.arch}.rpm`);
    // The object store's files are written once and never changed: a hard link is a safe copy.
    await link(p.source, target).catch(() => copyFile(p.source, target));
  }
  await run('createrepo_c', ['--quiet', dir]);
  for (const u of updateinfos) {
    const copy = join(o.publishDir, view.name, `.updateinfo-${String(next)}.xml.gz`);
    await copyFile(u, copy);
    await run('modifyrepo_c', ['--mdtype=updateinfo', copy, join(dir, 'repodata')]);
  }
  await writeFile(join(dir, 'deviations.json'), JSON.stringify({ view: view.name, version: next, deviations }, null, 2) + '\n');
  await writeFile(join(dir, 'view.yaml'), text);
  const version = await insertViewVersion(db.kysely, { view: view.name, createdAt: clock().toISOString(), createdBy: o.actor, spec: text, packages: packages.length, deviations, dir });
  if (version !== next) throw new BulwarkError('storage.conflict', `${view.name}: version ${String(next)} was published at the same time by someone else`);
  await recordAudit(db, o.actor, 'view.publish', view.name, { version, packages: packages.length, deviations: deviations.length }, clock);
  return { view: view.name, version, dir, packages: packages.length, deviations };
}

/** Points an environment at a published version (default: the latest). */
export async function promoteView(db: Db, o: { view: string; environment: string; version?: number; actor: string; clock?: Clock }): Promise<{ version: number }> {
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(o.environment)) throw new BulwarkError('usage', `"${o.environment}" is not an environment name`);
  const versions = await listViewVersions(db.kysely, o.view);
  const v = o.version === undefined ? versions[0] : versions.find((x) => x.version === o.version);
  if (v === undefined) throw new BulwarkError('usage', `content view ${o.view} has no ${o.version === undefined ? 'published' : `version ${String(o.version)}`} version`);
  const clock = o.clock ?? systemClock;
  await setEnvironment(db.kysely, { view: o.view, environment: o.environment, version: v.version, at: clock().toISOString(), by: o.actor });
  await recordAudit(db, o.actor, 'view.promote', o.view, { environment: o.environment, version: v.version }, clock);
  return { version: v.version };
}

export function viewVersions(db: Db, view?: string): Promise<ViewVersionRow[]> {
  return listViewVersions(db.kysely, view);
}

export function viewEnvironments(db: Db, view?: string): ReturnType<typeof listEnvironments> {
  return listEnvironments(db.kysely, view);
}

/** The directory an environment of a view serves, or null. */
export async function environmentDir(db: Db, view: string, environment: string): Promise<string | null> {
  const env = (await listEnvironments(db.kysely, view)).find((e) => e.environment === environment);
  if (env === undefined) return null;
  return (await listViewVersions(db.kysely, view)).find((v) => v.version === env.version)?.dir ?? null;
}
