import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { BulwarkError } from '../core/errors.js';
import { collectBytes, decompress } from '../lib/decompress.js';
import { redactLocation } from '../lib/location.js';
import { debPackages, type DebPackage } from '../repos/deb.js';
import { primaryPackages, type PrimaryPackage } from '../repos/rpmmd.js';
import { getRepo, listSnapshotRows, type SnapshotFile, type SnapshotRow } from '../storage/index.js';
import { objectPath, putObject } from './object-store.js';
import { fetchBytes, join2, MAX_FILE, sha } from './repo-fetch.js';
import type { Db } from './store.js';

// Mirroring (issue #7): a snapshot's package files, each kept only when it matches its signed metadata.

/** A decompressed index held in memory (a Buffer cannot grow much past this anyway). */
const MAX_INDEX = 2 ** 31;

/** A stored metadata file of a snapshot, decompressed. */
async function storedIndex(objectsDir: string, f: SnapshotFile): Promise<Buffer> {
  const bytes = await readFile(objectPath(objectsDir, f.sha256));
  return collectBytes(decompress(Readable.from([bytes]), f.href, MAX_INDEX), f.href, MAX_INDEX);
}

/** The packages an rpm-md snapshot lists, read from its stored primary metadata. */
export async function* snapshotRpmPackages(objectsDir: string, snap: SnapshotRow): AsyncGenerator<PrimaryPackage> {
  for (const f of snap.files.filter((x) => x.type === 'primary')) yield* primaryPackages(Readable.from([await storedIndex(objectsDir, f)]), f.href);
}

/** The packages a Debian snapshot lists, read from its stored Packages indexes. */
export async function* snapshotDebPackages(objectsDir: string, snap: SnapshotRow): AsyncGenerator<DebPackage> {
  for (const f of snap.files.filter((x) => x.type === 'packages')) yield* debPackages((await storedIndex(objectsDir, f)).toString('utf8'), f.href);
}

export interface MirrorReport {
  repo: string;
  snapshot: string;
  packages: number;
  fetched: number;
  alreadyStored: number;
  bytes: number;
  /** Packages refused (missing, or not matching the checksum their signed metadata gives). */
  refused: { package: string; reason: string }[];
}

/**
 * Stores the package files a snapshot lists (its latest, or the one named): each is fetched from
 * the repository and kept only when it matches the checksum in the snapshot's verified metadata.
 * Files already in the object store are not fetched again. A package that does not verify is
 * reported and left out; the others are kept.
 * @example await mirrorSnapshot(db, 'azl3-base', { objectsDir })
 */
export async function mirrorSnapshot(db: Db, id: string, o: { objectsDir: string; snapshot?: string }): Promise<MirrorReport> {
  const repo = await getRepo(db, id);
  if (repo === null) throw new BulwarkError('usage', `no repository ${id}`);
  const snaps = await listSnapshotRows(db, id);
  const snap = o.snapshot === undefined ? snaps[0] : snaps.find((s) => s.id.startsWith(o.snapshot ?? '-'));
  if (snap === undefined)
    throw new BulwarkError('usage', `repository ${id} has no ${o.snapshot === undefined ? '' : `${o.snapshot} `}snapshot (bulwark repo sync ${id})`);
  const wanted: { name: string; url: string; alg: string; sum: string }[] = [];
  // Debian Filenames are relative to the archive root; rpm-md locations to the repository.
  const base = repo.url;
  for await (const p of snapshotRpmPackages(o.objectsDir, snap))
    wanted.push({
      name: `${p.name}-${String(p.epoch)}:${p.version}-${p.release}.${p.arch}`,
      url: join2(base, p.location),
      alg: p.checksumType,
      sum: p.checksum,
    });
  for (const f of snap.files.filter((x) => x.type === 'packages'))
    for (const p of debPackages((await storedIndex(o.objectsDir, f)).toString('utf8'), f.href))
      wanted.push({ name: `${p.name}_${p.version}_${p.arch}`, url: join2(base, p.filename), alg: 'sha256', sum: p.sha256 });
  const report: MirrorReport = { repo: id, snapshot: snap.id, packages: wanted.length, fetched: 0, alreadyStored: 0, bytes: 0, refused: [] };
  for (const w of wanted) {
    if (w.alg !== 'sha256' && w.alg !== 'sha512') {
      report.refused.push({ package: w.name, reason: `a ${w.alg || 'missing'} checksum` });
      continue;
    }
    if (w.alg === 'sha256') {
      try {
        await stat(objectPath(o.objectsDir, w.sum));
        report.alreadyStored++;
        continue;
      } catch {
        // not stored yet
      }
    }
    let bytes: Buffer | null;
    try {
      bytes = await fetchBytes(w.url, MAX_FILE, true);
    } catch (err) {
      report.refused.push({ package: w.name, reason: (err as Error).message });
      continue;
    }
    if (bytes === null) {
      report.refused.push({ package: w.name, reason: `missing at ${redactLocation(w.url)}` });
      continue;
    }
    if (sha(w.alg, bytes) !== w.sum) {
      report.refused.push({ package: w.name, reason: `does not match the ${w.alg} in the snapshot's signed metadata` });
      continue;
    }
    await putObject(o.objectsDir, bytes);
    report.fetched++;
    report.bytes += bytes.length;
  }
  return report;
}
