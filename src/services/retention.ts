import { lstat, readdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { endOf, parseContentView } from '../repos/content-view.js';
import {
  deleteRepoRow,
  deleteSnapshotRow,
  deleteViewVersionRow,
  getRepo,
  listEnvironments,
  listImageBuilds,
  listPromotions,
  listRepoRows,
  listSnapshotRows,
  listViewVersions,
  transaction,
  type SnapshotRow,
  type ViewPartRef,
  type ViewVersionRow,
} from '../storage/index.js';
import { recordAudit, type Actor } from './audit.js';
import { snapshotDebPackages, snapshotRpmPackages } from './repos.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Retention (issue #21, item 7): snapshots and view versions pruned by age or count, repositories
 * removed, and the object store's garbage collected — each planned first (`planPrune`, what
 * `--dry-run` prints), then done exactly as planned (`applyPrune`), and audited.
 *
 * Never pruned: a view version an environment serves or a recorded image build was made from,
 * and the latest version of each view (its number is the next one's floor, and an unchanged
 * publish compares with it); a repository's latest snapshot (the anti-rollback floor) and every
 * snapshot a kept view version was made from — the one its YAML names, else the repository's
 * newest snapshot at the time the version was published; and every version a kept composite
 * version was made from (its recorded parts, else the version its part's environment served
 * when it was published, by the promotion history), and theirs in turn.
 */
export interface PruneOptions {
  objectsDir: string;
  /** Snapshots: keep this many newest per repository (default: all by count). */
  keepSnapshots?: number;
  /** Snapshots: keep those taken within this many days (default: all by age). */
  snapshotDays?: number;
  /** View versions: keep this many newest per view. */
  keepVersions?: number;
  /** View versions: keep those published within this many days. */
  versionDays?: number;
  clock?: Clock;
}

export interface PrunePlan {
  snapshots: { repo: string; snapshot: string; createdAt: string }[];
  versions: { view: string; version: number; createdAt: string; dir: string }[];
  /** Objects no kept snapshot lists and no published version links. */
  objects: { sha256: string; bytes: number }[];
  bytes: number;
}

const DAY = 86_400_000;

/** Whether a row is old enough and far enough down its list to go (an unset rule keeps everything). */
function expendable(rank: number, createdAt: string, keep: number | undefined, days: number | undefined, now: number): boolean {
  if (keep === undefined && days === undefined) return false;
  const byCount = keep === undefined || rank >= keep;
  const byAge = days === undefined || Date.parse(createdAt) < now - days * DAY;
  return byCount && byAge;
}

/** The snapshot a view version was made from, for each of its sources. */
function sourcesOf(v: ViewVersionRow, snapsByRepo: Map<string, SnapshotRow[]>): { repo: string; snapshot: string }[] {
  let spec;
  try {
    spec = parseContentView(v.spec, `${v.view} version ${String(v.version)}`);
  } catch {
    return [];
  }
  const out: { repo: string; snapshot: string }[] = [];
  for (const s of spec.sources) {
    if (!('repo' in s)) continue;
    const snaps = snapsByRepo.get(s.repo) ?? [];
    const date = s.date;
    const snap =
      s.snapshot !== undefined
        ? snaps.find((x) => x.id.startsWith(s.snapshot ?? '-'))
        : date !== undefined
          ? snaps.find((x) => Date.parse(x.createdAt) <= endOf(date))
          : snaps.find((x) => x.createdAt <= v.createdAt);
    if (snap !== undefined) out.push({ repo: s.repo, snapshot: snap.id });
  }
  return out;
}

type Promotion = Awaited<ReturnType<typeof listPromotions>>[number];

/** The versions of other views a composite version was made from: as recorded, else what each part's environment served at its publication. */
function partsOf(v: ViewVersionRow, promotions: readonly Promotion[]): ViewPartRef[] {
  if (v.parts !== null) return v.parts;
  let spec;
  try {
    spec = parseContentView(v.spec, `${v.view} version ${String(v.version)}`);
  } catch {
    return [];
  }
  const out: ViewPartRef[] = [];
  for (const s of spec.sources) {
    if ('repo' in s) continue;
    // listPromotions: oldest first; the last one before the version is what its environment served.
    const served = promotions.filter((p) => p.view === s.view && p.environment === s.environment && p.promotedAt <= v.createdAt).at(-1);
    if (served !== undefined) out.push({ view: s.view, environment: s.environment, version: served.version });
  }
  return out;
}

/** `kept` grown by every version a kept version was made from as a part, transitively. */
function withParts(kept: readonly ViewVersionRow[], all: readonly ViewVersionRow[], promotions: readonly Promotion[]): ViewVersionRow[] {
  const key = (view: string, version: number): string => `${view}|${String(version)}`;
  const byKey = new Map(all.map((v) => [key(v.view, v.version), v]));
  const out = new Map(kept.map((v) => [key(v.view, v.version), v]));
  const queue = [...kept];
  for (let v = queue.shift(); v !== undefined; v = queue.shift())
    for (const p of partsOf(v, promotions)) {
      const part = byKey.get(key(p.view, p.version));
      if (part === undefined || out.has(key(p.view, p.version))) continue;
      out.set(key(p.view, p.version), part);
      queue.push(part);
    }
  return [...out.values()];
}

/** What a prune with these options removes (nothing is changed). */
export async function planPrune(db: Db, o: PruneOptions): Promise<PrunePlan> {
  const now = (o.clock ?? systemClock)().getTime();
  const versions = await listViewVersions(db);
  const envs = await listEnvironments(db);
  const images = await listImageBuilds(db);
  const pinned = new Set([...envs.map((e) => `${e.view}|${String(e.version)}`), ...images.map((b) => `${b.view}|${String(b.viewVersion)}`)]);
  const chosen: ViewVersionRow[] = [];
  const rankOf = new Map<string, number>();
  for (const v of versions) {
    // listViewVersions: by view, newest first.
    const rank = rankOf.get(v.view) ?? 0;
    rankOf.set(v.view, rank + 1);
    if (!(rank > 0 && !pinned.has(`${v.view}|${String(v.version)}`) && expendable(rank, v.createdAt, o.keepVersions, o.versionDays, now))) chosen.push(v);
  }
  // A kept composite version's parts stay: it was made from them (and a rebuild or a diff reads them).
  const keptVersions = withParts(chosen, versions, await listPromotions(db));
  const keep = new Set(keptVersions);
  const goVersions: PrunePlan['versions'] = versions
    .filter((v) => !keep.has(v))
    .map((v) => ({ view: v.view, version: v.version, createdAt: v.createdAt, dir: v.dir }));
  const snapsByRepo = new Map<string, SnapshotRow[]>();
  for (const r of await listRepoRows(db)) snapsByRepo.set(r.id, await listSnapshotRows(db, r.id));
  const used = new Set(keptVersions.flatMap((v) => sourcesOf(v, snapsByRepo)).map((x) => `${x.repo}|${x.snapshot}`));
  const goSnapshots: PrunePlan['snapshots'] = [];
  const keptSnapshots: SnapshotRow[] = [];
  for (const [repo, snaps] of snapsByRepo)
    for (const [rank, s] of snaps.entries()) {
      if (rank > 0 && !used.has(`${repo}|${s.id}`) && expendable(rank, s.createdAt, o.keepSnapshots, o.snapshotDays, now))
        goSnapshots.push({ repo, snapshot: s.id, createdAt: s.createdAt });
      else keptSnapshots.push(s);
    }
  // Files of the versions that go are links the store's objects lose in the same prune.
  const leaving = new Map<string, number>();
  for (const v of goVersions) await countLinks(v.dir, leaving);
  const objects = await garbage(o.objectsDir, keptSnapshots, leaving);
  return { snapshots: goSnapshots, versions: goVersions, objects, bytes: objects.reduce((n, x) => n + x.bytes, 0) };
}

/** Counts, by device and inode, the regular files under `dir` (the links a published version holds). */
async function countLinks(dir: string, into: Map<string, number>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await countLinks(path, into);
    else if (e.isFile()) {
      const st = await lstat(path);
      const key = `${String(st.dev)}:${String(st.ino)}`;
      into.set(key, (into.get(key) ?? 0) + 1);
    }
  }
}

/** Objects in the store that nothing kept needs. */
async function garbage(objectsDir: string, kept: readonly SnapshotRow[], leaving: ReadonlyMap<string, number>): Promise<PrunePlan['objects']> {
  const live = new Set<string>();
  for (const s of kept) {
    for (const f of s.files) live.add(f.sha256);
    for await (const p of snapshotRpmPackages(objectsDir, s)) if (p.checksumType === 'sha256') live.add(p.checksum);
    for await (const p of snapshotDebPackages(objectsDir, s)) live.add(p.sha256);
  }
  const out: PrunePlan['objects'] = [];
  const root = join(objectsDir, 'sha256');
  let shards: string[];
  try {
    shards = await readdir(root);
  } catch {
    return out;
  }
  for (const shard of shards.sort()) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of (await readdir(join(root, shard))).sort()) {
      if (!/^[0-9a-f]{64}$/.test(name) || live.has(name)) continue;
      const st = await lstat(join(root, shard, name));
      // Linked into a published version (a replacement build of ours, a package): still in use.
      if (!st.isFile() || st.nlink - (leaving.get(`${String(st.dev)}:${String(st.ino)}`) ?? 0) > 1) continue;
      out.push({ sha256: name, bytes: st.size });
    }
  }
  return out;
}

/** Does what `plan` says, in its order: versions, snapshots (rows, in one transaction), then objects; audited. */
export async function applyPrune(db: Db, plan: PrunePlan, o: { objectsDir: string; publishDir: string; actor: Actor; clock?: Clock }): Promise<void> {
  await transaction(db, async (tx) => {
    for (const v of plan.versions) await deleteViewVersionRow(tx, v.view, v.version);
    for (const s of plan.snapshots) await deleteSnapshotRow(tx, s.repo, s.snapshot);
  });
  const publishRoot = resolve(o.publishDir) + sep;
  // Only a directory under the publish directory, as the version recorded it.
  for (const v of plan.versions) if (resolve(v.dir).startsWith(publishRoot)) await rm(v.dir, { recursive: true, force: true });
  for (const x of plan.objects) await rm(join(o.objectsDir, 'sha256', x.sha256.slice(0, 2), x.sha256), { force: true });
  await recordAudit(
    db,
    o.actor,
    'content.prune',
    'content',
    { versions: plan.versions.map((v) => `${v.view}@${String(v.version)}`), snapshots: plan.snapshots.length, objects: plan.objects.length, bytes: plan.bytes },
    o.clock ?? systemClock,
  );
}

/**
 * Removes a repository and its snapshots (the objects go at the next prune); refused while a
 * view version that is kept (served, built from, a view's latest, or a kept composite's part) takes it as a source.
 */
export async function removeRepo(db: Db, id: string, o: { actor: Actor; clock?: Clock }): Promise<{ snapshots: number }> {
  if ((await getRepo(db, id)) === null) throw new BulwarkError('usage', `no repository ${id}`);
  const versions = await listViewVersions(db);
  const envs = await listEnvironments(db);
  const images = await listImageBuilds(db);
  const latest = new Set<string>();
  const seen = new Set<string>();
  for (const v of versions) {
    if (seen.has(v.view)) continue;
    seen.add(v.view);
    latest.add(`${v.view}|${String(v.version)}`);
  }
  const kept = withParts(
    versions.filter(
      (v) =>
        latest.has(`${v.view}|${String(v.version)}`) ||
        envs.some((e) => e.view === v.view && e.version === v.version) ||
        images.some((b) => b.view === v.view && b.viewVersion === v.version),
    ),
    versions,
    await listPromotions(db),
  );
  const users = kept.filter((v) => {
    try {
      return parseContentView(v.spec, v.view).sources.some((s) => 'repo' in s && s.repo === id);
    } catch {
      return false;
    }
  });
  if (users.length > 0)
    throw new BulwarkError(
      'usage',
      `repository ${id} is a source of ${users.map((v) => `${v.view} version ${String(v.version)}`).join(', ')}, which are kept (served, built from, or the latest)`,
    );
  const snapshots = (await listSnapshotRows(db, id)).length;
  await transaction(db, (tx) => deleteRepoRow(tx, id));
  await recordAudit(db, o.actor, 'repo.remove', id, { snapshots }, o.clock ?? systemClock);
  return { snapshots };
}
