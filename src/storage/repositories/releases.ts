import type { PackageFamily, Release } from '../../core/release.js';
import { kx, type Executor } from '../database.js';
import type { ReleasesTable } from '../schema.js';

function toRelease(r: ReleasesTable): Release {
  return {
    id: r.id,
    distro: r.distro,
    version: r.version,
    family: r.family as PackageFamily,
    name: r.name,
    ga: r.ga,
    endOfStandardSupport: r.end_of_standard_support,
    endOfSecuritySupport: r.end_of_security_support,
  };
}

/** Inserts or replaces a release by id. */
export async function upsertRelease(on: Executor, r: Release): Promise<void> {
  const ex = kx(on);
  const row: ReleasesTable = {
    id: r.id,
    distro: r.distro,
    version: r.version,
    family: r.family,
    name: r.name,
    ga: r.ga,
    end_of_standard_support: r.endOfStandardSupport,
    end_of_security_support: r.endOfSecuritySupport,
  };
  const rest = {
    distro: row.distro,
    version: row.version,
    family: row.family,
    name: row.name,
    ga: row.ga,
    end_of_standard_support: row.end_of_standard_support,
    end_of_security_support: row.end_of_security_support,
  };
  await ex
    .insertInto('releases')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet(rest))
    .execute();
}

export async function getRelease(on: Executor, id: string): Promise<Release | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toRelease(r) : null;
}

export async function listReleases(on: Executor): Promise<Release[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('releases').selectAll().orderBy('id').execute();
  return rows.map(toRelease);
}
