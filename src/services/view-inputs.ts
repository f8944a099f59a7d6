import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { decompress } from '../lib/decompress.js';
import { advisoryMatches, endOf, type AdvisoryFilter, type ContentView } from '../repos/content-view.js';
import { advisoryBuilds } from '../repos/updateinfo-filter.js';
import type { SnapshotRow } from '../storage/index.js';
import { objectPath } from './object-store.js';

/**
 * What a view's source takes from its repository (issue #21, items 3 and 6): the snapshot — the
 * latest, one named by an id prefix, or the newest taken on or before a day ("the upstream
 * snapshot of date D") — and, with an advisory filter, only the builds the matching advisories
 * of that snapshot's updateinfo fix ("plus only the security advisories issued up to D2").
 */
export function snapshotFor(
  snaps: readonly SnapshotRow[],
  src: { repo: string; snapshot?: string | undefined; date?: string | undefined },
  file: string,
): SnapshotRow {
  // listSnapshotRows: newest first.
  const date = src.date;
  const snap =
    src.snapshot !== undefined
      ? snaps.find((x) => x.id.startsWith(src.snapshot ?? '-'))
      : date !== undefined
        ? snaps.find((x) => Date.parse(x.createdAt) <= endOf(date))
        : snaps[0];
  if (snap === undefined)
    throw new BulwarkError(
      'usage',
      `${file}: ${src.repo} has no snapshot ${src.snapshot ?? (date !== undefined ? `taken on or before ${date}` : '')} (bulwark repo sync ${src.repo})`,
    );
  return snap;
}

/** The builds (`name|E:V-R|arch`) the advisories of a snapshot that pass `filter` fix. */
export async function advisoryFixedBuilds(
  objectsDir: string,
  snap: SnapshotRow,
  filter: AdvisoryFilter,
  file: string,
): Promise<{ builds: Set<string>; advisories: string[] }> {
  const builds = new Set<string>();
  const advisories: string[] = [];
  const infos = snap.files.filter((f) => f.type === 'updateinfo');
  if (infos.length === 0)
    throw new BulwarkError('usage', `${file}: ${snap.repoId} snapshot ${snap.id.slice(0, 16)} has no updateinfo: an advisory filter would take nothing`);
  for (const f of infos) {
    const path = objectPath(objectsDir, f.sha256);
    for await (const a of advisoryBuilds(decompress(createReadStream(path), f.href, 2 ** 31), f.href)) {
      if (!advisoryMatches(filter, a)) continue;
      advisories.push(a.id);
      for (const p of a.packages) builds.add(`${p.name}|${p.evr}|${p.arch}`);
    }
  }
  return { builds, advisories };
}

/**
 * The view's YAML as published beside the packages: our builds' local paths (`rpm: /home/…`)
 * are the build machine's, not the fleet's business; each is given as its file name only. The
 * stored version keeps the text as it was given.
 */
export function withoutLocalPaths(text: string, view: ContentView): string {
  let out = text;
  for (const r of view.replace) for (const path of [r.rpm, r.deb]) if (path !== undefined && path.includes('/')) out = out.split(path).join(basename(path));
  return out;
}
