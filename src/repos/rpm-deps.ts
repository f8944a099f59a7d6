import { BulwarkError } from '../core/errors.js';
import { compareRpmEvr, compareRpmEvrParts } from '../core/version/rpm.js';
import type { PrimaryDep } from './rpmmd.js';

/**
 * Dependency closure from rpm-md metadata (issue #21, item 4: an incremental update adds the
 * builds named advisories fix and what they need). Requirements and provides as primary.xml
 * lists them; a range matches as rpm's does (rpmdsCompare): no version on either side matches
 * any, a missing release on either side matches any release, a missing epoch is 0.
 */
export interface DepPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  requires: PrimaryDep[];
  provides: PrimaryDep[];
}

const evrOf = (p: { epoch: number; version: string; release: string }): string => `${String(p.epoch)}:${p.version}-${p.release}`;

export function depText(d: PrimaryDep): string {
  if (d.flags === null || d.version === null) return d.name;
  const op = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' }[d.flags];
  return `${d.name} ${op} ${d.epoch !== null && d.epoch !== '0' ? `${d.epoch}:` : ''}${d.version}${d.release !== null ? `-${d.release}` : ''}`;
}

/** Whether a provide satisfies a requirement (same name, overlapping ranges). */
export function satisfies(provide: PrimaryDep, req: PrimaryDep): boolean {
  if (provide.name !== req.name) return false;
  if (req.flags === null || req.version === null || provide.flags === null || provide.version === null) return true;
  const both = provide.release !== null && req.release !== null;
  const c = compareRpmEvrParts(
    { epoch: provide.epoch ?? '0', version: provide.version, release: both ? provide.release : null },
    { epoch: req.epoch ?? '0', version: req.version, release: both ? req.release : null },
  );
  // The provide is a point (EQ) for real packages; other provide flags are read as that point.
  switch (req.flags) {
    case 'EQ':
      return c === 0;
    case 'LT':
      return c < 0;
    case 'LE':
      return c <= 0;
    case 'GT':
      return c > 0;
    case 'GE':
      return c >= 0;
  }
}

const provides = (p: DepPackage, req: PrimaryDep): boolean => p.provides.some((x) => satisfies(x, req));

/**
 * The packages to add so that `wanted` and everything they require are satisfied: a requirement
 * that `have` (with the added builds in place of the same name and arch) already satisfies adds
 * nothing; otherwise the newest build of `pool` that provides it (the same arch or noarch
 * preferred) is added, and its own requirements followed. Refuses a requirement nothing in the
 * pool provides, naming it and who requires it, and a requirement of a package kept that an added
 * build takes away.
 * Returns each added build with why: null for a wanted one, else the build and requirement that pulled it.
 */
export function resolveAdditions<P extends DepPackage>(
  wanted: readonly P[],
  have: readonly P[],
  pool: readonly P[],
): { package: P; neededBy: { build: string; requirement: string } | null }[] {
  const key = (p: DepPackage): string => `${p.name}.${p.arch}`;
  const added = new Map<string, { package: P; neededBy: { build: string; requirement: string } | null }>();
  const current = (): P[] => [...have.filter((p) => !added.has(key(p))), ...[...added.values()].map((x) => x.package)];
  const queue: P[] = [];
  for (const w of wanted) {
    added.set(key(w), { package: w, neededBy: null });
    queue.push(w);
  }
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const p = next;
    for (const req of p.requires) {
      if (current().some((x) => provides(x, req))) continue;
      const options = pool.filter((x) => provides(x, req) && !added.has(key(x)));
      options.sort(
        (a, b) => Number(b.arch === p.arch || b.arch === 'noarch') - Number(a.arch === p.arch || a.arch === 'noarch') || compareRpmEvr(evrOf(b), evrOf(a)),
      );
      const pick = options[0];
      if (pick === undefined)
        throw new BulwarkError(
          'input.invalid',
          `${p.name}-${evrOf(p)}.${p.arch} requires "${depText(req)}", which nothing in the view or its upstream snapshot provides`,
          { requirement: depText(req), package: p.name },
        );
      added.set(key(pick), { package: pick, neededBy: { build: `${p.name}-${evrOf(p)}.${p.arch}`, requirement: depText(req) } });
      queue.push(pick);
    }
  }
  // What stays of the version must stay installable: a requirement the version satisfied before
  // (openssl = 3.3.0 of a package kept) and the added builds no longer do is refused, named.
  const after = current();
  for (const p of have) {
    if (added.has(key(p))) continue;
    for (const req of p.requires)
      if (have.some((x) => provides(x, req)) && !after.some((x) => provides(x, req)))
        throw new BulwarkError(
          'input.invalid',
          `${p.name}-${evrOf(p)}.${p.arch} requires "${depText(req)}", which the added builds take away (${[...added.values()]
            .filter((x) => have.some((h) => key(h) === key(x.package)))
            .map((x) => `${x.package.name}-${evrOf(x.package)}.${x.package.arch}`)
            .join(', ')})`,
          { requirement: depText(req), package: p.name },
        );
  }
  return [...added.values()];
}
