import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { compareDebVersions } from '../core/version/deb.js';
import { compareRpmEvr } from '../core/version/rpm.js';
import { decompress } from '../lib/decompress.js';
import type { Deviation } from '../repos/content-view.js';
import { parseRepomd } from '../repos/rpmmd.js';
import { advisoryBuilds } from '../repos/updateinfo-filter.js';
import { listEnvironments, listViewVersions } from '../storage/index.js';
import { publishedPackages } from './content-views.js';
import type { Db } from './store.js';

/**
 * What changes between two versions of a content view (issue #21, item 6) — what a host of an
 * environment gets when the other version is promoted there: packages added, removed, up- and
 * downgraded (by each name and architecture's newest build, compared as rpm or dpkg compare
 * them), the advisories its updateinfo gains and loses, and those the view withholds in one
 * version and not in the other, with the overlay that withholds them.
 */
export interface ViewDiff {
  view: string;
  from: { version: number; environment: string | null };
  to: { version: number; environment: string | null };
  added: { package: string; arch: string; version: string }[];
  removed: { package: string; arch: string; version: string }[];
  upgraded: { package: string; arch: string; from: string; to: string }[];
  downgraded: { package: string; arch: string; from: string; to: string }[];
  advisoriesGained: string[];
  advisoriesLost: string[];
  /** Withheld in `to` and not in `from`: the advisory, its package, the overlay. */
  withheldGained: { advisory: string; package: string; reason: string }[];
  /** Withheld in `from`, no longer in `to`. */
  withheldReleased: { advisory: string; package: string; reason: string }[];
}

export type ViewSide = { version: number } | { environment: string };

async function resolve(db: Db, view: string, side: ViewSide): Promise<{ version: number; environment: string | null; dir: string; deviations: Deviation[] }> {
  const versions = await listViewVersions(db, view);
  if (versions.length === 0) throw new BulwarkError('storage.not-found', `no content view ${view}`);
  let version: number;
  let environment: string | null = null;
  if ('environment' in side) {
    const env = (await listEnvironments(db, view)).find((e) => e.environment === side.environment);
    if (env === undefined) throw new BulwarkError('usage', `content view ${view} has no environment ${side.environment}`);
    version = env.version;
    environment = env.environment;
  } else version = side.version;
  const v = versions.find((x) => x.version === version);
  if (v === undefined) throw new BulwarkError('usage', `content view ${view} has no version ${String(version)}`);
  return { version, environment, dir: v.dir, deviations: v.deviations as Deviation[] };
}

/** The advisory ids a published rpm-md version's updateinfo lists (none for apt). */
async function publishedAdvisories(dir: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const repomdFile = join(dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomdFile)) return ids;
  const repomd = await parseRepomd(await readFile(repomdFile), repomdFile);
  for (const e of repomd.entries.filter((x) => x.type === 'updateinfo'))
    for await (const a of advisoryBuilds(decompress(createReadStream(join(dir, e.href)), e.href, 2 ** 31), join(dir, e.href))) ids.add(a.id);
  return ids;
}

/**
 * @example await diffView(db, 'azl3', { environment: 'prod' }, { environment: 'dev' })
 */
export async function diffView(db: Db, view: string, fromSide: ViewSide, toSide: ViewSide): Promise<ViewDiff> {
  const a = await resolve(db, view, fromSide);
  const b = await resolve(db, view, toSide);
  const deb = existsSync(join(b.dir, 'dists'));
  const cmp = deb ? compareDebVersions : compareRpmEvr;
  const newest = async (dir: string): Promise<Map<string, { name: string; arch: string; version: string }>> => {
    const m = new Map<string, { name: string; arch: string; version: string }>();
    for await (const p of publishedPackages(dir)) {
      const k = `${p.name}.${p.arch}`;
      const have = m.get(k);
      if (have === undefined || cmp(p.version, have.version) > 0) m.set(k, { name: p.name, arch: p.arch, version: p.version });
    }
    return m;
  };
  const [pa, pb] = [await newest(a.dir), await newest(b.dir)];
  const out: ViewDiff = {
    view,
    from: { version: a.version, environment: a.environment },
    to: { version: b.version, environment: b.environment },
    added: [],
    removed: [],
    upgraded: [],
    downgraded: [],
    advisoriesGained: [],
    advisoriesLost: [],
    withheldGained: [],
    withheldReleased: [],
  };
  for (const [k, p] of pb) {
    const old = pa.get(k);
    if (old === undefined) out.added.push({ package: p.name, arch: p.arch, version: p.version });
    else {
      const c = cmp(p.version, old.version);
      if (c > 0) out.upgraded.push({ package: p.name, arch: p.arch, from: old.version, to: p.version });
      else if (c < 0) out.downgraded.push({ package: p.name, arch: p.arch, from: old.version, to: p.version });
    }
  }
  for (const [k, p] of pa) if (!pb.has(k)) out.removed.push({ package: p.name, arch: p.arch, version: p.version });
  const [aa, ab] = [await publishedAdvisories(a.dir), await publishedAdvisories(b.dir)];
  out.advisoriesGained = [...ab].filter((x) => !aa.has(x)).sort();
  out.advisoriesLost = [...aa].filter((x) => !ab.has(x)).sort();
  const withheld = (ds: Deviation[]): Map<string, { advisory: string; package: string; reason: string }> =>
    new Map(
      ds
        .filter((d) => d.kind === 'withheld' && d.advisory !== undefined)
        .map((d) => [`${d.advisory ?? ''}|${d.package}`, { advisory: d.advisory ?? '', package: d.package, reason: d.reason }]),
    );
  const [wa, wb] = [withheld(a.deviations), withheld(b.deviations)];
  out.withheldGained = [...wb].filter(([k]) => !wa.has(k)).map(([, w]) => w);
  out.withheldReleased = [...wa].filter(([k]) => !wb.has(k)).map(([, w]) => w);
  const byName = <T extends { package: string; arch: string }>(x: T[]): T[] =>
    x.sort((p, q) => p.package.localeCompare(q.package) || p.arch.localeCompare(q.arch));
  for (const l of [out.added, out.removed]) byName(l);
  for (const l of [out.upgraded, out.downgraded]) byName(l);
  return out;
}
