import type { InventorySnapshot } from '../core/target.js';
import { learnedFromClaims, resolveSourceNames, type SourceCounts } from '../inventory/source-names.js';
import {
  buildKey,
  learnedSourceNames,
  learnSourceNames,
  repoSourceNames,
  saveInventory,
  type Executor,
  type SavedInventory,
  type SourceClaims,
} from '../storage/index.js';

/**
 * Stores an inventory with a source name for every package (issue #13): what the inventory
 * carried is kept and learned for its release, as this target's claim; the rest is resolved from snapshotted
 * repositories, then what earlier inventories taught, then the shipped map, else assumed
 * (src/inventory/source-names.ts). Every collector stores through here. Call inside a transaction.
 * @example await saveInventoryWithSources(tx, { targetId, collectedAt: now, release: 'azurelinux:3.0', … })
 */
export async function saveInventoryWithSources(
  ex: Executor,
  snapshot: InventorySnapshot,
  now: string,
  o: { digest?: boolean } = {},
): Promise<SavedInventory & { sources: SourceCounts }> {
  const release = snapshot.release;
  let packages = snapshot.packages;
  let sources: SourceCounts = { given: packages.filter((p) => p.sourceName !== null).length, repository: 0, learned: 0, shipped: 0, assumed: 0 };
  if (release !== null) {
    const unknown = packages.filter((p) => p.sourceName === null).map((p) => p.name);
    const fromRepos = unknown.length === 0 ? new Map<string, string>() : await repoSourceNames(ex, unknown);
    const claims = unknown.length === 0 ? new Map<string, SourceClaims>() : await learnedSourceNames(ex, release, unknown);
    const r = resolveSourceNames(packages, release, {
      repository: (p) => fromRepos.get(buildKey(p)) ?? null,
      learned: (name) => learnedFromClaims(claims.get(name)),
    });
    packages = r.packages;
    sources = r.counts;
    await learnSourceNames(ex, release, snapshot.targetId, packages, now);
  }
  const saved = await saveInventory(ex, { ...snapshot, packages }, o);
  return { ...saved, sources };
}
