import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import { decompress } from '../lib/decompress.js';
import { advisoryBuilds, filterUpdateinfo, mergeUpdate, serializeElement, updateinfoDocument } from '../repos/updateinfo-filter.js';
import type { XmlElement } from '../lib/xml.js';
import {
  parseContentView,
  selectContent,
  withheldAdvisories,
  type AdvisoryFixes,
  type Candidate,
  type ContentView,
  type Deviation,
} from '../repos/content-view.js';
import { getRepo, insertViewVersion, listSnapshotRows, listViewVersions, type ViewPartRef } from '../storage/index.js';
import { withLease } from './lease.js';
import { advisoryFixedBuilds, snapshotFor, withoutLocalPaths } from './view-inputs.js';
import { PROCESS_ID } from './runs.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import { readBoundedBytes, readBoundedText } from './read-file.js';
import { mirrorSnapshot, objectPath, putObject, snapshotDebPackages, snapshotRpmPackages, type RepoRow } from './repos.js';
import { signVersion, type SigningKey } from './signing-key.js';
import { systemClock, type Clock, type Db } from './store.js';
import { viewPart, type ViewPart } from './view-composite.js';
import { checkPublished, debIdentity, linkOrCopy, publishApt, rpmIdentity, safeFileName } from './view-packages.js';

const run = promisify(execFile);

type RepoSource = Extract<ContentView['sources'][number], { repo: string }>;

/** The largest replacement package taken (it is read whole to be stored). */
const MAX_REPLACEMENT = 2 ** 30;

/**
 * Publishing content views (issue #7): the view's sources are the packages of verified snapshots
 * (mirrored, so every file matches its signed metadata), the overlays select and replace, and the
 * result is a real rpm-md repository made by createrepo_c — with the sources' updateinfo — in a
 * numbered, never-changed version directory, with the deviation report beside it. Environments
 * (dev, canary, prod…) point at versions: view-environments.ts; the files: view-packages.ts.
 */
export type { ViewVersionRow } from '../storage/index.js';
export { publishedPackages, type PublishedPackage } from './view-packages.js';
export { environmentDir, promoteView, viewEnvironments, viewRepoConfig, viewVersion, viewVersions } from './view-environments.js';

export interface PublishReport {
  view: string;
  version: number;
  dir: string;
  packages: number;
  deviations: Deviation[];
  /** Nothing changed since the latest version (`version`): nothing was published. */
  unchanged: boolean;
}

/**
 * Publishes the next version of the view in `file`.
 * @example await publishView(db, 'azl3-prod.yaml', { objectsDir, publishDir, actor: { kind: 'cli', name: 'alice' } })
 */
export async function publishView(
  db: Db,
  file: string,
  o: { objectsDir: string; publishDir: string; actor: Actor; clock?: Clock; signingKey?: SigningKey | undefined },
): Promise<PublishReport> {
  const clock = o.clock ?? systemClock;
  const text = await readBoundedText(file, 1024 * 1024);
  const view = parseContentView(text, file);
  const sources: { repo: RepoRow; src: RepoSource }[] = [];
  const parts: ViewPart[] = [];
  for (const src of view.sources) {
    if (!('repo' in src)) {
      parts.push(await viewPart(db, src, file, view.name));
      continue;
    }
    const repo = await getRepo(db, src.repo);
    if (repo === null) throw new BulwarkError('usage', `${file}: no repository ${src.repo}`);
    sources.push({ repo, src });
  }
  const kinds = [...new Set([...sources.map((x) => x.repo.kind), ...(parts.length > 0 ? ['rpm-md' as const] : [])])];
  if (kinds.length > 1)
    throw new BulwarkError('usage', `${file}: a view's sources are all rpm-md or all deb repositories; this one mixes ${kinds.join(' and ')}`);
  const family = kinds[0] === 'deb' ? 'deb' : 'rpm';
  const upstream: Candidate[] = parts.flatMap((x) => x.packages);
  const updateinfos: string[] = parts.flatMap((x) => x.updateinfos);
  for (const { repo, src } of sources) {
    const snap = snapshotFor(await listSnapshotRows(db, repo.id), src, file);
    const only = src.advisories === undefined ? null : (await advisoryFixedBuilds(o.objectsDir, snap, src.advisories, file)).builds;
    // Every package file present and matching the snapshot's signed metadata, or no publication.
    const m = await mirrorSnapshot(db, repo.id, { objectsDir: o.objectsDir, snapshot: snap.id });
    if (m.refused.length > 0)
      throw new BulwarkError(
        'input.invalid',
        `${file}: ${repo.id}: ${String(m.refused.length)} package(s) do not verify, e.g. ${m.refused[0]?.package ?? ''}: ${m.refused[0]?.reason ?? ''}`,
      );
    if (family === 'rpm') {
      for (const f of snap.files) if (f.type === 'updateinfo') updateinfos.push(objectPath(o.objectsDir, f.sha256));
      for await (const p of snapshotRpmPackages(o.objectsDir, snap)) {
        if (only !== null && !only.has(`${p.name}|${String(p.epoch)}:${p.version}-${p.release}|${p.arch}`)) continue;
        if (p.checksumType !== 'sha256')
          throw new BulwarkError('input.invalid', `${repo.id}: ${p.name} has a ${p.checksumType} checksum; publishing needs sha256`);
        upstream.push({
          name: p.name,
          epoch: p.epoch,
          version: p.version,
          release: p.release,
          arch: p.arch,
          source: objectPath(o.objectsDir, p.checksum),
          origin: repo.id,
        });
      }
    } else if (only !== null) throw new BulwarkError('usage', `${file}: advisory filters need rpm-md sources (updateinfo)`);
    else
      for await (const p of snapshotDebPackages(o.objectsDir, snap))
        upstream.push({ name: p.name, epoch: 0, version: p.version, release: '', arch: p.arch, source: objectPath(o.objectsDir, p.sha256), origin: repo.id });
  }
  const replacements: Candidate[] = [];
  for (const r of view.replace) {
    const ours = family === 'rpm' ? r.rpm : r.deb;
    if (ours === undefined)
      throw new BulwarkError(
        'usage',
        `${file}: the replacement of ${r.package} needs ${family}: (this view's sources are ${family === 'rpm' ? 'rpm-md' : 'deb'})`,
      );
    // Kept in the object store first, and read from there: the published version links that copy,
    // so a later change to the operator's file never reaches a version already published.
    const stored = objectPath(o.objectsDir, await putObject(o.objectsDir, await readBoundedBytes(ours, MAX_REPLACEMENT)));
    const c = family === 'rpm' ? await rpmIdentity(stored, ours) : await debIdentity(stored, ours);
    if (c.name !== r.package) throw new BulwarkError('input.invalid', `${file}: ${ours} is ${c.name}, not ${r.package}`);
    replacements.push(c);
  }
  const { packages, deviations } = selectContent(view, upstream, replacements, family);
  // A composite view's report: its parts' deviations first (each naming its part), then its own.
  deviations.unshift(...parts.flatMap((x) => x.deviations));
  // The advisories whose fixes an overlay keeps out: named in the report, not dropped in silence.
  const fixes: AdvisoryFixes[] = [];
  for (const u of updateinfos) for await (const a of advisoryBuilds(decompress(createReadStream(u), u, 2 ** 31), u)) fixes.push(a);
  deviations.push(...withheldAdvisories(fixes, deviations));
  // One publication of a view at a time across processes: the version number and its directory are ours.
  // Renewed while it runs: a killed publication frees the view within half a minute.
  const holder = `${PROCESS_ID}:${randomUUID().slice(0, 8)}`;
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        text,
        family,
        signed: o.signingKey?.published ?? null,
        packages: packages.map((p) => [p.name, p.epoch, p.version, p.release, p.arch, basename(p.source)]),
        deviations,
        updateinfos: updateinfos.map((u) => basename(u)),
      }),
    )
    .digest('hex');
  return withLease(
    db,
    `view:${view.name}`,
    holder,
    { busy: () => new BulwarkError('storage.conflict', `${view.name} is being published by another process`) },
    async () => {
      // Nothing changed since the latest version: no new, identical version (which would mark
      // images behind and make --if-needed rebuild them).
      const latest = (await listViewVersions(db, view.name))[0];
      if (latest !== undefined && latest.fingerprint === fingerprint)
        return {
          view: view.name,
          version: latest.version,
          dir: latest.dir,
          packages: latest.packages,
          deviations: latest.deviations as Deviation[],
          unchanged: true,
        };
      const partRefs = parts.map((x) => ({ view: x.view, environment: x.environment, version: x.version }));
      return writeVersion(
        db,
        { text, view, family, packages, deviations, updateinfos, arches: sources.flatMap((x) => x.repo.arches), fingerprint, parts: partRefs },
        o,
        clock,
      );
    },
  );
}

/** Writes and records the next version of a view (also an incremental update's: view-incremental.ts). */
export async function writeVersion(
  db: Db,
  v: {
    text: string;
    view: ContentView;
    family: 'rpm' | 'deb';
    packages: Candidate[];
    deviations: Deviation[];
    updateinfos: string[];
    arches: string[];
    fingerprint: string;
    /** A composite view's parts, the version of each taken (kept with the version: retention keeps them). */
    parts?: ViewPartRef[] | null;
  },
  o: { publishDir: string; actor: Actor; signingKey?: SigningKey | undefined; audit?: { action: string; details: Record<string, unknown> } },
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
        const r = await filterUpdateinfo(decompress(createReadStream(u), u, 2 ** 31), u, (p) =>
          published.has(`${p.name}|${String(p.epoch)}|${p.version}|${p.release}|${p.arch}`),
        );
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
    await publishApt(dir, packages, {
      suite: view.suite ?? view.name,
      component: view.component ?? 'main',
      arches: arches.length > 0 ? arches : ['amd64'],
      label: `${view.name} version ${String(next)}`,
      date: clock(),
    });
    await checkPublished(dir, family, packages);
  }
  // dnf's convention: repo_gpgcheck checks repomd.xml.asc, gpgkey=<baseurl>/repodata/repomd.xml.key;
  // apt's: InRelease (or Release + Release.gpg) against the signed-by keyring.
  if (o.signingKey !== undefined) await signVersion(dir, o.signingKey);
  await writeFile(join(dir, 'deviations.json'), JSON.stringify({ view: view.name, version: next, deviations }, null, 2) + '\n');
  await writeFile(join(dir, 'view.yaml'), withoutLocalPaths(text, view));
  const version = await insertViewVersion(db, {
    view: view.name,
    createdAt: clock().toISOString(),
    createdBy: actorLabel(o.actor),
    spec: text,
    packages: packages.length,
    deviations,
    dir,
    fingerprint: v.fingerprint,
    parts: v.parts ?? null,
  });
  if (version !== next) throw new BulwarkError('storage.conflict', `${view.name}: version ${String(next)} was published at the same time by someone else`);
  await recordAudit(
    db,
    o.actor,
    o.audit?.action ?? 'view.publish',
    view.name,
    { version, packages: packages.length, deviations: deviations.length, ...o.audit?.details },
    clock,
  );
  return { view: view.name, version, dir, packages: packages.length, deviations, unchanged: false };
}
