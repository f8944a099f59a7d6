import { BulwarkError } from '../core/errors.js';
import { EXAMPLE_RELEASE, releaseFamily } from '../distros/registry.js';
import { checkHostName, checkImageName, type InstalledPackage, type TargetStreams } from '../core/target.js';
import { parseInventoryToScan, releaseFromPackages } from '../inventory/imports.js';
import { collectLocal } from '../inventory/local.js';
import { collectRoot } from '../inventory/root.js';
import { parseRpmQa } from '../inventory/rpm-qa.js';
import { setTargetImage, transaction, upsertTarget, type Db, type StoredTarget } from '../storage/index.js';
import { MAX_INVENTORY_BYTES, readBoundedText } from './read-file.js';
import { saveInventoryWithSources } from './source-names.js';
import type { SourceCounts } from '../inventory/source-names.js';
import { systemClock, type Clock } from './store.js';

export { MAX_INVENTORY_BYTES };

export interface ImportInventoryInput {
  /** The target's unique name, e.g. the host name. */
  name: string;
  release: string;
  /** A file of `rpm -qa` output in RPM_QA_QUERYFORMAT. */
  file: string;
  kind?: 'host' | 'image';
  platform?: string | null;
}

export interface ImportInventoryReport {
  target: StoredTarget;
  packages: number;
  newPackages: number;
  /** How many packages had their source name given, resolved (repository, shipped map), learned or assumed. */
  sources: SourceCounts;
  /** What the import left out, each naming its record (e.g. SBOM components without a package URL). */
  warnings: string[];
}

/**
 * Imports an `rpm -qa` listing as the inventory of the target `name` (created if new). A bad
 * line refuses the whole file, naming the line; nothing is stored then.
 */
export async function importRpmQaFile(db: Db, input: ImportInventoryInput, clock: Clock = systemClock): Promise<ImportInventoryReport> {
  if (releaseFamily(input.release) !== 'rpm') {
    throw new BulwarkError('usage', `release "${input.release}" is not an rpm-based release Bulwark knows (e.g. ${EXAMPLE_RELEASE})`);
  }
  if ((input.kind ?? 'host') === 'host') checkHostName(input.name);
  const packages = parseRpmQa(await readBoundedText(input.file, MAX_INVENTORY_BYTES), input.file);
  const arches = new Set(packages.map((p) => p.arch).filter((a) => a !== 'noarch' && a !== '(none)'));
  const arch = arches.size === 1 ? ([...arches][0] ?? null) : null;
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const target = await upsertTarget(tx, { name: input.name, kind: input.kind ?? 'host', release: input.release, platform: input.platform ?? null }, now);
    const r = await saveInventoryWithSources(
      tx,
      {
        targetId: target.id,
        collectedAt: now,
        release: input.release,
        arch,
        // An import cannot know which of the installed kernels runs; a live collector can.
        runningKernel: null,
        rebootRequired: null,
        packages,
      },
      now,
    );
    return { target: { ...target, arch, inventoryAt: now }, ...r, warnings: [] };
  });
}

/** Stores `packages` as the inventory of the target `name` (created if new). */
export async function storeInventory(
  db: Db,
  t: { name: string; release: string; kind: 'host' | 'image'; platform: string | null },
  packages: InstalledPackage[],
  clock: Clock,
  warnings: string[] = [],
  streams?: TargetStreams,
): Promise<ImportInventoryReport> {
  if (t.kind === 'host') checkHostName(t.name);
  else checkImageName(t.name);
  const arches = new Set(packages.map((p) => p.arch).filter((a) => a !== 'noarch' && a !== 'all' && a !== '(none)'));
  const arch = arches.size === 1 ? ([...arches][0] ?? null) : null;
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const target = await upsertTarget(tx, { name: t.name, kind: t.kind, release: t.release, platform: t.platform }, now);
    const r = await saveInventoryWithSources(
      tx,
      {
        targetId: target.id,
        collectedAt: now,
        release: t.release,
        arch,
        runningKernel: null,
        rebootRequired: null,
        packages,
        ...(streams === undefined ? {} : { streams }),
      },
      now,
    );
    return { target: { ...target, arch, inventoryAt: now }, ...r, warnings };
  });
}

function needRelease(release: string | null, what: string, family: 'rpm' | 'deb'): string {
  if (release === null) throw new BulwarkError('usage', `${what}: cannot tell the release; give --release (e.g. ${EXAMPLE_RELEASE})`);
  const f = releaseFamily(release);
  if (f === null) throw new BulwarkError('usage', `"${release}" is not a release Bulwark knows`);
  if (f !== family) throw new BulwarkError('usage', `${what} lists ${family} packages but ${release} is ${f === 'rpm' ? 'an rpm' : 'a deb'} release`);
  return release;
}

/**
 * Imports any supported inventory file (rpm -qa, dpkg-query, manifest, CycloneDX, SPDX) as
 * the target `name`. The release is given, or told by Azure Linux dist tags.
 * @example await importInventoryFile(db, { file: 'web-01.tsv', name: 'web-01', release: 'azurelinux:3.0' })
 */
export async function importInventoryFile(
  db: Db,
  input: { file: string; name: string; release?: string | undefined },
  clock: Clock = systemClock,
): Promise<ImportInventoryReport> {
  checkHostName(input.name);
  const inv = parseInventoryToScan(await readBoundedText(input.file, MAX_INVENTORY_BYTES), input.file);
  const release = needRelease(input.release ?? releaseFromPackages(inv.packages), input.file, inv.family);
  return storeInventory(db, { name: input.name, release, kind: 'host', platform: null }, inv.packages, clock, inv.warnings);
}

/**
 * Reads a directory tree's package database (an image rootfs, or a host's root with kind 'host')
 * and stores it as the target `name`.
 * @example await importRootInventory(db, { dir: '/srv/rootfs', name: 'azl3-base' })
 */
export async function importRootInventory(
  db: Db,
  input: { dir: string; name: string; release?: string | undefined; kind?: 'host' | 'image' },
  clock: Clock = systemClock,
): Promise<ImportInventoryReport> {
  const inv = await collectRoot(input.dir, { release: input.release });
  // No package database, or an empty one (a wrong directory, an unpacked image without
  // /var/lib/rpm): a scan of it would pass --fail-on having judged nothing, and stored it would
  // empty the target's inventory and close its findings as fixed (issue #13).
  if (inv.packages.length === 0)
    throw new BulwarkError(
      'input.invalid',
      `${input.dir}: rpm found no installed packages under it (no package database, or an empty one); a scan of it would prove nothing`,
      { file: input.dir },
    );
  // A deb tree (dpkg-query --admindir) is as readable as an rpm one.
  const release = needRelease(inv.release ?? releaseFromPackages(inv.packages), input.dir, inv.packages[0]?.family ?? 'rpm');
  // A tree is an image's rootfs unless the caller says it is a host's (a mounted disk, a test host root).
  const kind = input.kind ?? 'image';
  const r = await storeInventory(db, { name: input.name, release, kind, platform: kind === 'image' ? 'rootfs' : null }, inv.packages, clock, [], inv.streams);
  // A host made from one of our images says which (an image's own tree names itself).
  if (kind === 'host') await setTargetImage(db, r.target.id, inv.image);
  return r;
}

/**
 * Collects this machine's inventory and stores it as the host `name`.
 * @example await importLocalInventory(db, { name: 'bulwark-server' })
 */
export async function importLocalInventory(
  db: Db,
  input: { name: string; release?: string | undefined },
  clock: Clock = systemClock,
): Promise<ImportInventoryReport> {
  checkHostName(input.name);
  const inv = await collectLocal();
  const family = inv.packages[0]?.family ?? 'rpm';
  const release = needRelease(input.release ?? inv.release, 'this machine', family);
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const target = await upsertTarget(tx, { name: input.name, kind: 'host', release, arch: inv.arch, platform: 'local' }, now);
    const r = await saveInventoryWithSources(
      tx,
      {
        targetId: target.id,
        collectedAt: now,
        release,
        arch: inv.arch,
        runningKernel: inv.runningKernel,
        rebootRequired: inv.rebootRequired,
        packages: inv.packages,
        streams: inv.streams,
      },
      now,
    );
    return { target: { ...target, arch: inv.arch, inventoryAt: now, runningKernel: inv.runningKernel }, ...r, warnings: [] };
  });
}
