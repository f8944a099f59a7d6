import type { Selectable } from 'kysely';
import { kx, type Executor } from '../database.js';
import type { ImageBuildsTable, ViewVersionsTable } from '../schema.js';

export interface RepoRow {
  id: string;
  kind: 'rpm-md' | 'deb';
  url: string;
  /** deb: dists/<suite>; null for rpm-md and for a flat Debian repository. */
  suite: string | null;
  components: string[];
  arches: string[];
  keys: { origin: string; armored: string }[];
  verify: boolean;
  createdAt: string;
}

export interface SnapshotFile {
  type: string;
  href: string;
  sha256: string;
  size: number;
}

export interface SnapshotRow {
  id: string;
  repoId: string;
  createdAt: string;
  revision: string | null;
  packages: number;
  signedBy: string | null;
  files: SnapshotFile[];
}

export async function upsertRepo(on: Executor, r: RepoRow): Promise<void> {
  const ex = kx(on);
  const values = {
    id: r.id,
    kind: r.kind,
    url: r.url,
    suite: r.suite,
    components: JSON.stringify(r.components),
    arches: JSON.stringify(r.arches),
    keys: JSON.stringify(r.keys),
    verify: r.verify ? 1 : 0,
    created_at: r.createdAt,
  };
  await ex
    .insertInto('repos')
    .values(values)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        kind: values.kind,
        url: values.url,
        suite: values.suite,
        components: values.components,
        arches: values.arches,
        keys: values.keys,
        verify: values.verify,
      }),
    )
    .execute();
}

const toRepo = (r: {
  id: string;
  kind: 'rpm-md' | 'deb';
  url: string;
  suite: string | null;
  components: string;
  arches: string;
  keys: string;
  verify: number;
  created_at: string;
}): RepoRow => ({
  id: r.id,
  kind: r.kind,
  url: r.url,
  suite: r.suite,
  components: JSON.parse(r.components) as string[],
  arches: JSON.parse(r.arches) as string[],
  keys: JSON.parse(r.keys) as RepoRow['keys'],
  verify: r.verify === 1,
  createdAt: r.created_at,
});

export async function getRepo(on: Executor, id: string): Promise<RepoRow | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('repos').selectAll().where('id', '=', id).executeTakeFirst();
  return r === undefined ? null : toRepo(r);
}

export async function listRepoRows(on: Executor): Promise<RepoRow[]> {
  const ex = kx(on);
  return (await ex.selectFrom('repos').selectAll().orderBy('id').execute()).map(toRepo);
}

/** Stores a snapshot unless the same one (same repomd.xml) is there already; true when new. */
export async function insertSnapshot(on: Executor, s: SnapshotRow): Promise<boolean> {
  const ex = kx(on);
  const r = await ex
    .insertInto('repo_snapshots')
    .values({
      id: s.id,
      repo_id: s.repoId,
      created_at: s.createdAt,
      revision: s.revision,
      packages: s.packages,
      signed_by: s.signedBy,
      files: JSON.stringify(s.files),
    })
    .onConflict((oc) => oc.columns(['repo_id', 'id']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** An earlier snapshot taken again (an allowed rollback): it becomes the latest. */
export async function retakeSnapshot(on: Executor, repoId: string, id: string, at: string): Promise<void> {
  await kx(on).updateTable('repo_snapshots').set({ created_at: at }).where('repo_id', '=', repoId).where('id', '=', id).execute();
}

export async function listSnapshotRows(on: Executor, repoId?: string): Promise<SnapshotRow[]> {
  const ex = kx(on);
  let q = ex.selectFrom('repo_snapshots').selectAll();
  if (repoId !== undefined) q = q.where('repo_id', '=', repoId);
  return (await q.orderBy('created_at', 'desc').execute()).map((r) => ({
    id: r.id,
    repoId: r.repo_id,
    createdAt: r.created_at,
    revision: r.revision,
    packages: r.packages,
    signedBy: r.signed_by,
    files: JSON.parse(r.files) as SnapshotFile[],
  }));
}

export interface ViewVersionRow {
  view: string;
  version: number;
  createdAt: string;
  createdBy: string;
  spec: string;
  packages: number;
  deviations: unknown[];
  dir: string;
  /** What it was made of, as one SHA-256 (null: published before fingerprints were kept). */
  fingerprint: string | null;
  /** A composite view's parts: the version of each it was made from (null: no parts, or published before they were kept). */
  parts: ViewPartRef[] | null;
}

export interface ViewPartRef {
  view: string;
  environment: string;
  version: number;
}

export async function insertViewVersion(
  on: Executor,
  v: Omit<ViewVersionRow, 'version' | 'fingerprint' | 'parts'> & { fingerprint?: string | null; parts?: ViewPartRef[] | null },
): Promise<number> {
  const ex = kx(on);
  const last = await ex
    .selectFrom('view_versions')
    .select((eb) => eb.fn.max<number | string | null>('version').as('v'))
    .where('view', '=', v.view)
    .executeTakeFirst();
  const version = Number(last?.v ?? 0) + 1;
  await ex
    .insertInto('view_versions')
    .values({
      view: v.view,
      version,
      created_at: v.createdAt,
      created_by: v.createdBy,
      spec: v.spec,
      packages: v.packages,
      deviations: JSON.stringify(v.deviations),
      dir: v.dir,
      fingerprint: v.fingerprint ?? null,
      parts: v.parts === undefined || v.parts === null || v.parts.length === 0 ? null : JSON.stringify(v.parts),
    })
    .execute();
  return version;
}

export async function listViewVersions(on: Executor, view?: string): Promise<ViewVersionRow[]> {
  const ex = kx(on);
  let q = ex.selectFrom('view_versions').selectAll();
  if (view !== undefined) q = q.where('view', '=', view);
  return (await q.orderBy('view').orderBy('version', 'desc').execute()).map(toViewVersion);
}

const toViewVersion = (r: Selectable<ViewVersionsTable>): ViewVersionRow => ({
  view: r.view,
  version: r.version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  spec: r.spec,
  packages: r.packages,
  deviations: JSON.parse(r.deviations) as unknown[],
  dir: r.dir,
  fingerprint: r.fingerprint,
  parts: r.parts === null ? null : (JSON.parse(r.parts) as ViewPartRef[]),
});

/** One version of a content view (default: its latest); null when there is none. */
export async function getViewVersion(on: Executor, view: string, version?: number): Promise<ViewVersionRow | null> {
  const ex = kx(on);
  let q = ex.selectFrom('view_versions').selectAll().where('view', '=', view);
  if (version !== undefined) q = q.where('version', '=', version);
  const r = await q.orderBy('version', 'desc').limit(1).executeTakeFirst();
  return r === undefined ? null : toViewVersion(r);
}

export async function setEnvironment(on: Executor, e: { view: string; environment: string; version: number; at: string; by: string }): Promise<void> {
  const ex = kx(on);
  await ex
    .insertInto('view_promotions')
    .values({ view: e.view, environment: e.environment, version: e.version, promoted_at: e.at, promoted_by: e.by })
    .execute();
  await ex
    .insertInto('view_environments')
    .values({ view: e.view, environment: e.environment, version: e.version, promoted_at: e.at, promoted_by: e.by })
    .onConflict((oc) => oc.columns(['view', 'environment']).doUpdateSet({ version: e.version, promoted_at: e.at, promoted_by: e.by }))
    .execute();
}

export async function listEnvironments(
  on: Executor,
  view?: string,
): Promise<{ view: string; environment: string; version: number; promotedAt: string; promotedBy: string }[]> {
  const ex = kx(on);
  let q = ex.selectFrom('view_environments').selectAll();
  if (view !== undefined) q = q.where('view', '=', view);
  return (await q.orderBy('view').orderBy('environment').execute()).map((r) => ({
    view: r.view,
    environment: r.environment,
    version: r.version,
    promotedAt: r.promoted_at,
    promotedBy: r.promoted_by,
  }));
}

export interface ImageBuildRow {
  image: string;
  build: number;
  type: string;
  release: string;
  view: string;
  viewVersion: number;
  createdAt: string;
  createdBy: string;
  spec: string;
  dir: string;
  artifact: string;
  digest: string;
  packages: number;
  target: string;
}

/** The next build number of an image (builds are numbered from 1 and never reused). */
export async function nextImageBuild(on: Executor, image: string): Promise<number> {
  const ex = kx(on);
  const last = await ex
    .selectFrom('image_builds')
    .select((eb) => eb.fn.max<number | string | null>('build').as('b'))
    .where('image', '=', image)
    .executeTakeFirst();
  return Number(last?.b ?? 0) + 1;
}

export async function insertImageBuild(on: Executor, b: ImageBuildRow): Promise<void> {
  const ex = kx(on);
  await ex
    .insertInto('image_builds')
    .values({
      image: b.image,
      build: b.build,
      type: b.type,
      release: b.release,
      view: b.view,
      view_version: b.viewVersion,
      created_at: b.createdAt,
      created_by: b.createdBy,
      spec: b.spec,
      dir: b.dir,
      artifact: b.artifact,
      digest: b.digest,
      packages: b.packages,
      target: b.target,
    })
    .execute();
}

export async function listImageBuilds(on: Executor, image?: string): Promise<ImageBuildRow[]> {
  const ex = kx(on);
  let q = ex.selectFrom('image_builds').selectAll();
  if (image !== undefined) q = q.where('image', '=', image);
  return (await q.orderBy('image').orderBy('build', 'desc').execute()).map(toImageBuild);
}

const toImageBuild = (r: Selectable<ImageBuildsTable>): ImageBuildRow => ({
  image: r.image,
  build: r.build,
  type: r.type,
  release: r.release,
  view: r.view,
  viewVersion: r.view_version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  spec: r.spec,
  dir: r.dir,
  artifact: r.artifact,
  digest: r.digest,
  packages: r.packages,
  target: r.target,
});

/** One build of an image (default: its latest); null when there is none. */
export async function getImageBuild(on: Executor, image: string, build?: number): Promise<ImageBuildRow | null> {
  const ex = kx(on);
  let q = ex.selectFrom('image_builds').selectAll().where('image', '=', image);
  if (build !== undefined) q = q.where('build', '=', build);
  const r = await q.orderBy('build', 'desc').limit(1).executeTakeFirst();
  return r === undefined ? null : toImageBuild(r);
}

/** Every promotion ever made (the history of what served where), oldest first. */
export async function listPromotions(on: Executor): Promise<{ view: string; environment: string; version: number; promotedAt: string }[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('view_promotions').select(['view', 'environment', 'version', 'promoted_at']).orderBy('promoted_at').execute();
  return rows.map((r) => ({ view: r.view, environment: r.environment, version: r.version, promotedAt: r.promoted_at }));
}

/** The environments a version of a view has ever been promoted to. */
export async function promotedTo(on: Executor, view: string, version: number): Promise<string[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('view_promotions').select('environment').distinct().where('view', '=', view).where('version', '=', version).execute();
  return rows.map((r) => r.environment).sort();
}

/** Retention (issue #21, item 7): a snapshot's row goes; its objects are the object store's garbage collection's. */
export async function deleteSnapshotRow(on: Executor, repoId: string, id: string): Promise<void> {
  const ex = kx(on);
  await ex.deleteFrom('repo_snapshots').where('repo_id', '=', repoId).where('id', '=', id).execute();
}

/** A repository and every snapshot of it. */
export async function deleteRepoRow(on: Executor, id: string): Promise<void> {
  const ex = kx(on);
  await ex.deleteFrom('repo_snapshots').where('repo_id', '=', id).execute();
  await ex.deleteFrom('repos').where('id', '=', id).execute();
}

/** A view version's row (its promotions stay: the history of what served where). */
export async function deleteViewVersionRow(on: Executor, view: string, version: number): Promise<void> {
  const ex = kx(on);
  await ex.deleteFrom('view_versions').where('view', '=', view).where('version', '=', version).execute();
}
