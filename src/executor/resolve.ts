import { globPattern } from '../core/glob.js';
import type { AvailableVersion, Target } from './types.js';

/**
 * The versions to install. A package already at or above its planned version (updated since
 * the scan) is left alone: never downgraded. Otherwise the planned version where the host's
 * repositories offer it, else the lowest offered build that reaches it (the fix superseded by a
 * later build), newer than what is installed and within the policy's pin; a package with none
 * keeps its planned version, which the precheck then reports missing.
 *
 * `basis`: what the planned version is. `fix` — an advisory's fixed version, which for Debian
 * names the source's version, so a build is compared by its source's version (libldb2 by samba's);
 * `build` — a build a content view publishes, compared as it is.
 */
export function resolveTargets(
  targets: readonly Target[],
  available: ReadonlyMap<string, readonly AvailableVersion[]>,
  compare: (a: string, b: string) => number,
  o: { installed?: ReadonlyMap<string, readonly string[]>; basis?: 'fix' | 'build' } = {},
): { targets: Target[]; changed: string[]; current: string[] } {
  const changed: string[] = [];
  const current: string[] = [];
  const out: Target[] = [];
  for (const t of targets) {
    const offered = available.get(t.name) ?? [];
    const sourceOf = (v: string): string => (o.basis === 'build' ? v : (offered.find((x) => x.version === v)?.source ?? v));
    const installed = [...(o.installed?.get(t.name) ?? [])].sort(compare).at(-1);
    if (installed !== undefined && compare(sourceOf(installed), t.version) >= 0) {
      current.push(`${t.name} ${installed} (at or above the planned ${t.version})`);
      continue;
    }
    if (offered.some((x) => x.version === t.version)) {
      out.push(t);
      continue;
    }
    // The same version written another way (rpm: with or without a 0 epoch): the repository's spelling.
    const same = offered.find((x) => compare(x.version, t.version) === 0);
    if (same !== undefined) {
      out.push({ ...t, version: same.version });
      continue;
    }
    const pin = t.pin === undefined ? null : globPattern(t.pin);
    const later = offered
      .filter((x) => compare(o.basis === 'build' ? x.version : x.source, t.version) >= 0)
      .filter((x) => installed === undefined || compare(x.version, installed) > 0)
      .filter((x) => pin === null || pin.test(x.version.replace(/^\d+:/, '')))
      .sort((a, b) => compare(a.version, b.version))[0];
    if (later === undefined) {
      out.push(t);
      continue;
    }
    changed.push(`${t.name} ${later.version} (the planned ${t.version} is no longer offered)`);
    out.push({ ...t, version: later.version });
  }
  return { targets: out, changed, current };
}
