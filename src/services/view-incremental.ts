import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { decompress } from '../lib/decompress.js';
import { parseContentView, type Candidate, type Deviation } from '../repos/content-view.js';
import { resolveAdditions, type DepPackage } from '../repos/rpm-deps.js';
import { parseRepomd, primaryPackages } from '../repos/rpmmd.js';
import { advisoryBuilds } from '../repos/updateinfo-filter.js';
import { getRepo, getViewVersion, listSnapshotRows } from '../storage/index.js';
import { actorLabel, type Actor } from './audit.js';
import { writeVersion, type PublishReport } from './content-views.js';
import { withLease } from './lease.js';
import { mirrorSnapshot, objectPath, snapshotRpmPackages } from './repos.js';
import { PROCESS_ID } from './runs.js';
import type { SigningKey } from './signing-key.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Incremental update (issue #21, item 4): named advisories added to a published version as a new
 * version, without re-evaluating the rest of the view. The builds each advisory's updateinfo
 * lists are taken from the newest snapshot of each of the view's repositories, with what they
 * require resolved from that snapshot's primary metadata (what the base version already has
 * satisfies a requirement first); every other package stays exactly as in the base version, and
 * the deviation report says what was added on top, for which advisory, by whom. The next full
 * publish of the view evaluates its YAML again, as always.
 */
type Pkg = DepPackage & Candidate;

/** The packages a published rpm-md version lists, each at its own file (as viewPart reads them). */
async function versionPackages(dir: string, label: string): Promise<{ packages: Pkg[]; updateinfos: string[] }> {
  const repomdFile = join(dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomdFile)) throw new BulwarkError('usage', `${label} is not an rpm-md repository; advisories are added to rpm-md views`);
  const repomd = await parseRepomd(await readFile(repomdFile), repomdFile);
  const packages: Pkg[] = [];
  for (const e of repomd.entries.filter((x) => x.type === 'primary'))
    for await (const p of primaryPackages(decompress(createReadStream(join(dir, e.href)), e.href, 2 ** 31), join(dir, e.href))) {
      if (!/^Packages\/[^/]+\.rpm$/.test(p.location)) throw new BulwarkError('input.invalid', `${label}: ${p.name} is at ${p.location}, not under Packages/`);
      packages.push({ ...p, source: join(dir, p.location), origin: label });
    }
  return { packages, updateinfos: repomd.entries.filter((x) => x.type === 'updateinfo').map((x) => join(dir, x.href)) };
}

export async function addAdvisoriesToView(
  db: Db,
  o: {
    view: string;
    advisories: string[];
    /** The published version to start from (default: the latest). */
    from?: number;
    objectsDir: string;
    publishDir: string;
    actor: Actor;
    clock?: Clock;
    signingKey?: SigningKey | undefined;
  },
): Promise<PublishReport & { added: { package: string; build: string; advisory: string; neededBy: string | null }[] }> {
  const clock = o.clock ?? systemClock;
  if (o.advisories.length === 0) throw new BulwarkError('usage', 'name at least one advisory');
  const base = await getViewVersion(db, o.view, o.from);
  if (base === null)
    throw new BulwarkError('storage.not-found', `content view ${o.view} has no ${o.from === undefined ? 'published' : `version ${String(o.from)}`} version`);
  const label = `${o.view} version ${String(base.version)}`;
  const view = parseContentView(base.spec, label);
  const have = await versionPackages(base.dir, label);
  // The advisories' builds and the pool to resolve from: each repository source's newest snapshot.
  const wantedKeys = new Map<string, string>();
  const found = new Set<string>();
  const pool: Pkg[] = [];
  const updateinfos = [...have.updateinfos];
  const repos = [...new Set(view.sources.flatMap((s) => ('repo' in s ? [s.repo] : [])))];
  if (repos.length === 0)
    throw new BulwarkError('usage', `${label} has no repository sources to take advisories from (a composite view: add them to its parts)`);
  for (const id of repos) {
    const repo = await getRepo(db, id);
    if (repo === null) throw new BulwarkError('usage', `${label}: no repository ${id}`);
    const snap = (await listSnapshotRows(db, id))[0];
    if (snap === undefined) throw new BulwarkError('usage', `${label}: ${id} has no snapshot (bulwark repo sync ${id})`);
    for (const f of snap.files.filter((x) => x.type === 'updateinfo')) {
      const path = objectPath(o.objectsDir, f.sha256);
      updateinfos.push(path);
      for await (const a of advisoryBuilds(decompress(createReadStream(path), f.href, 2 ** 31), f.href)) {
        if (!o.advisories.includes(a.id)) continue;
        found.add(a.id);
        for (const p of a.packages) wantedKeys.set(`${p.name}|${p.evr}|${p.arch}`, a.id);
      }
    }
    const m = await mirrorSnapshot(db, repo.id, { objectsDir: o.objectsDir, snapshot: snap.id });
    if (m.refused.length > 0)
      throw new BulwarkError(
        'input.invalid',
        `${repo.id}: ${String(m.refused.length)} package(s) do not verify, e.g. ${m.refused[0]?.package ?? ''}: ${m.refused[0]?.reason ?? ''}`,
      );
    for await (const p of snapshotRpmPackages(o.objectsDir, snap)) {
      if (p.checksumType !== 'sha256') continue;
      pool.push({ ...p, source: objectPath(o.objectsDir, p.checksum), origin: repo.id });
    }
  }
  const unknown = o.advisories.filter((a) => !found.has(a));
  if (unknown.length > 0)
    throw new BulwarkError('usage', `${label}: no advisory ${unknown.join(', ')} in the updateinfo of ${repos.join(', ')}'s newest snapshot`);
  const keyOf = (p: Pkg): string => `${p.name}|${String(p.epoch)}:${p.version}-${p.release}|${p.arch}`;
  // An advisory's builds for architectures the view does not carry are not wanted.
  const arches = new Set(have.packages.map((p) => p.arch));
  const wanted = pool.filter((p) => wantedKeys.has(keyOf(p)) && (arches.size === 0 || arches.has(p.arch) || p.arch === 'noarch'));
  if (wanted.length === 0) throw new BulwarkError('usage', `${label}: the upstream snapshot has none of the builds ${o.advisories.join(', ')} list`);
  const additions = resolveAdditions(wanted, have.packages, pool);
  const by = actorLabel(o.actor);
  // A dependency is added for the advisory of the build that required it (additions come in that order).
  const advisoryOf = new Map<string, string>();
  const added = additions.map((x) => {
    const p = x.package;
    const build = `${String(p.epoch)}:${p.version}-${p.release}.${p.arch}`;
    const advisory = (x.neededBy === null ? wantedKeys.get(keyOf(p)) : advisoryOf.get(x.neededBy.build)) ?? o.advisories.join(', ');
    advisoryOf.set(`${p.name}-${build}`, advisory);
    return { package: p.name, build, advisory, neededBy: x.neededBy === null ? null : `${x.neededBy.build} requires ${x.neededBy.requirement}` };
  });
  // Every other package exactly as in the base version; an added build takes the place of its name and arch.
  const replacedKeys = new Set(additions.map((x) => `${x.package.name}.${x.package.arch}`));
  const packages: Candidate[] = [...have.packages.filter((p) => !replacedKeys.has(`${p.name}.${p.arch}`)), ...additions.map((x) => x.package)]
    .map(({ name, epoch, version, release, arch, source, origin }) => ({
      name,
      epoch,
      version,
      release,
      arch,
      source,
      ...(origin !== undefined ? { origin } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.arch.localeCompare(b.arch));
  const deviations: Deviation[] = [
    // An advisory added on top is no longer withheld.
    ...(base.deviations as Deviation[]).filter((d) => !(d.kind === 'withheld' && d.advisory !== undefined && found.has(d.advisory))),
    ...added.map((a): Deviation => ({
      kind: 'added',
      package: a.package,
      builds: [a.build],
      advisory: a.advisory,
      reason: `${a.neededBy === null ? `advisory ${a.advisory}` : `for advisory ${a.advisory}: ${a.neededBy}`}, added on top of version ${String(base.version)} by ${by}`,
    })),
  ];
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        text: base.spec,
        incremental: { from: base.version, advisories: [...o.advisories].sort() },
        packages: packages.map((p) => [p.name, p.epoch, p.version, p.release, p.arch, basename(p.source)]),
        deviations,
      }),
    )
    .digest('hex');
  const report = await withLease(
    db,
    `view:${o.view}`,
    `${PROCESS_ID}:${randomUUID().slice(0, 8)}`,
    { busy: () => new BulwarkError('storage.conflict', `${o.view} is being published by another process`) },
    () =>
      writeVersion(
        db,
        { text: base.spec, view, family: 'rpm', packages, deviations, updateinfos, arches: [], fingerprint, parts: base.parts },
        {
          publishDir: o.publishDir,
          actor: o.actor,
          signingKey: o.signingKey,
          audit: { action: 'view.add-advisory', details: { from: base.version, advisories: o.advisories, added: added.map((a) => `${a.package}-${a.build}`) } },
        },
        clock,
      ),
  );
  return { ...report, added };
}
