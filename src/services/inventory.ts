import { BulwarkError } from '../core/errors.js';
import { releaseFamily } from '../core/release.js';
import { parseRpmQa } from '../inventory/rpm-qa.js';
import { saveInventory, transaction, upsertTarget, type Db, type StoredTarget } from '../storage/index.js';
import { readBoundedText } from './read-file.js';
import { systemClock, type Clock } from './store.js';

export const MAX_INVENTORY_BYTES = 64 * 1024 * 1024;

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
}

/**
 * Imports an `rpm -qa` listing as the inventory of the target `name` (created if new). A bad
 * line refuses the whole file, naming the line; nothing is stored then.
 */
export async function importRpmQaFile(db: Db, input: ImportInventoryInput, clock: Clock = systemClock): Promise<ImportInventoryReport> {
  if (releaseFamily(input.release) !== 'rpm') {
    throw new BulwarkError('usage', `release "${input.release}" is not an rpm-based release Bulwark knows (e.g. azurelinux:3.0)`);
  }
  const packages = parseRpmQa(await readBoundedText(input.file, MAX_INVENTORY_BYTES), input.file);
  const arches = new Set(packages.map((p) => p.arch).filter((a) => a !== 'noarch' && a !== '(none)'));
  const arch = arches.size === 1 ? ([...arches][0] ?? null) : null;
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const target = await upsertTarget(tx, { name: input.name, kind: input.kind ?? 'host', release: input.release, platform: input.platform ?? null }, now);
    const r = await saveInventory(tx, {
      targetId: target.id,
      collectedAt: now,
      release: input.release,
      arch,
      // An import cannot know which of the installed kernels runs; a live collector can.
      runningKernel: null,
      rebootRequired: null,
      packages,
    });
    return { target: { ...target, arch, inventoryAt: now }, ...r };
  });
}
