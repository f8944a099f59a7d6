import { globPattern } from '../core/glob.js';
import type { VersionScheme } from '../core/version/registry.js';
import type { AvailableBuild, PlanFinding, PlanInput } from './plan-types.js';
import type { Policy } from './schema.js';
import { zonedToUtc } from './time.js';

/**
 * Version selection: for one finding with a fix, whether its package is planned and to which
 * version — or why not (held, excluded, pinned away, not published by the content view).
 */
export const buildOf = (b: AvailableBuild): string => (typeof b === 'string' ? b : b.build);
const fixedBasisOf = (b: AvailableBuild): string => (typeof b === 'string' ? b : b.source);

type Hold = Policy['holds'][number];

/** The policy's package rules, compiled once per plan. */
export interface PackageRules {
  /** Holds still in force (the policy's and an operator's). */
  holds: readonly Hold[];
  excludes: readonly (readonly [glob: string, re: RegExp])[];
  pins: readonly (readonly [pkg: RegExp, version: RegExp, glob: string])[];
  source: Policy['source'];
  available: PlanInput['available'];
}

/**
 * The end of a hold: a hold until a date lasts to the end of that day in the policy's time zone.
 * @example holdEnd('2026-09-10', 'America/Los_Angeles') // 2026-09-11T07:00Z
 */
export function holdEnd(until: string, timezone: string): number {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(until);
  return d === null ? Date.parse(until) : zonedToUtc(Number(d[1]), Number(d[2]), Number(d[3]) + 1, 0, 0, timezone);
}

/** @example packageRules(policy, input, Date.now()) */
export function packageRules(policy: Policy, input: Pick<PlanInput, 'holds' | 'available'>, nowMs: number): PackageRules {
  return {
    holds: [...policy.holds, ...(input.holds ?? [])].filter((h) => holdEnd(h.until, policy.cadence.timezone) > nowMs),
    excludes: policy.exclude.map((g) => [g, globPattern(g)] as const),
    pins: Object.entries(policy.pins).map(([pkg, ver]) => [globPattern(pkg), globPattern(ver), ver] as const),
    source: policy.source,
    available: input.available,
  };
}

/**
 * What becomes of one finding. `excluded` says how to tell repeats apart: exclusions and pins are
 * listed once per package, a missing build once per package and reason.
 */
export type Selection =
  | { kind: 'held'; hold: Hold }
  | { kind: 'excluded'; why: string; once: 'per-package' | 'per-reason' }
  | { kind: 'planned'; fixed: string; to: string; pin?: string };

/**
 * The version a finding's package goes to: the advisory's fixed version, or with a content view
 * the lowest published build that fixes (compared by its source's version for a Debian binary,
 * as matching does) and that a pin allows. Holds come first, then exclusions, then pins.
 * @example selectVersion(finding, rules, versionScheme('rpm')) // { kind: 'planned', fixed: '0:8.11.1-4.azl3', to: '0:8.11.1-4.azl3' }
 */
export function selectVersion(f: PlanFinding, rules: PackageRules, scheme: VersionScheme): Selection | null {
  const hold = rules.holds.find((h) => h.advisory === f.advisoryId);
  if (hold !== undefined) return { kind: 'held', hold };
  const ex = rules.excludes.find(([, re]) => re.test(f.package));
  if (ex !== undefined) return { kind: 'excluded', why: `excluded by "${ex[0]}"`, once: 'per-package' };
  const fixed = f.fixed;
  if (fixed === null) return null;
  const pin = rules.pins.find(([pkg]) => pkg.test(f.package));
  if (pin !== undefined && !pin[1].test(fixed.replace(/^\d+:/, ''))) return { kind: 'excluded', why: `pinned to ${pin[2]}`, once: 'per-package' };
  let to = fixed;
  if (rules.source !== undefined && rules.available !== undefined) {
    const builds = (rules.available.get(f.package) ?? [])
      .filter((b) => scheme.compare(fixedBasisOf(b), fixed) >= 0 && (pin === undefined || pin[1].test(buildOf(b).replace(/^\d+:/, ''))))
      .map(buildOf)
      .sort((a, b) => scheme.compare(a, b));
    const first = builds[0];
    if (first === undefined)
      return { kind: 'excluded', why: `no build of ${fixed} or later in ${rules.source.view}/${rules.source.environment}`, once: 'per-reason' };
    to = first;
  }
  return { kind: 'planned', fixed, to, ...(pin !== undefined ? { pin: pin[2] } : {}) };
}
