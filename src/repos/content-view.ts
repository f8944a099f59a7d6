import { z } from 'zod';
import { compareDebVersions } from '../core/version/deb.js';
import { compareRpmEvr } from '../core/version/rpm.js';
import { parseYamlWith } from '../policy/load.js';
import { globPattern } from '../core/glob.js';
import { BulwarkError } from '../core/errors.js';
import { editDistance } from '../core/edit-distance.js';

/**
 * Content views (issue #7): what a fleet may install, declared in YAML — upstream snapshots plus
 * overlays, each with a reason — and the pure selection that turns snapshots' package lists into
 * the published set and the deviation report (every difference from upstream, with its reason).
 */
const reason = z.string().min(1).max(1024);
const glob = z.string().min(1).max(256);

/**
 * Which advisories a source contributes the fixes of: every list given must match (an advisory
 * of one of the types, and one of the severities, …), and `issuedUpTo` is a cut-off day or time.
 */
export const AdvisoryFilter = z.strictObject({
  types: z
    .array(z.enum(['security', 'bugfix', 'enhancement', 'newpackage']))
    .min(1)
    .optional(),
  severities: z.array(z.string().min(1).max(32)).min(1).optional(),
  ids: z.array(z.string().min(1).max(128)).min(1).optional(),
  cves: z
    .array(z.string().regex(/^CVE-\d{4}-\d{4,}$/))
    .min(1)
    .optional(),
  issuedUpTo: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/)
    .optional(),
});
export type AdvisoryFilter = z.infer<typeof AdvisoryFilter>;

/** A day (`2026-11-30`) as its last millisecond, a time as itself. */
export function endOf(dayOrTime: string): number {
  return /T/.test(dayOrTime) ? Date.parse(dayOrTime) : Date.parse(`${dayOrTime}T23:59:59.999Z`);
}

/** An advisory as a source's updateinfo gives it, for the filter. */
export interface AdvisoryFacts {
  id: string;
  type: string;
  severity: string | null;
  /** ISO time, or null when the advisory gives none. */
  issued: string | null;
  cves: string[];
}

/** Whether an advisory passes a filter (an advisory with no issue date fails a cut-off). */
export function advisoryMatches(f: AdvisoryFilter, a: AdvisoryFacts): boolean {
  const lower = (xs: readonly string[]): string[] => xs.map((x) => x.toLowerCase());
  if (f.types !== undefined && !f.types.includes(a.type as never)) return false;
  if (f.severities !== undefined && (a.severity === null || !lower(f.severities).includes(a.severity.toLowerCase()))) return false;
  if (f.ids !== undefined && !f.ids.includes(a.id)) return false;
  if (f.cves !== undefined && !a.cves.some((c) => f.cves?.includes(c) === true)) return false;
  if (f.issuedUpTo !== undefined && (a.issued === null || !(Date.parse(a.issued) <= endOf(f.issuedUpTo)))) return false;
  return true;
}

export const ContentView = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('ContentView'),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  description: z.string().max(4096).optional(),
  /** Repositories whose snapshot (the latest, or one named by an id prefix) the view starts from, or other views' environments (a composite view). */
  sources: z
    .array(
      z
        .strictObject({
          repo: z.string().min(1),
          snapshot: z
            .string()
            .regex(/^[0-9a-f]{8,64}$/)
            .optional(),
          /** The newest snapshot taken on or before this day (or time): "the upstream snapshot of date D". */
          date: z
            .string()
            .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/)
            .optional(),
          /** Only the builds this source's advisories fix, of the advisories that match (Satellite's errata filters, Uyuni's "By Date"). */
          advisories: AdvisoryFilter.optional(),
        })
        .refine((s) => s.snapshot === undefined || s.date === undefined, 'give a snapshot or a date, not both')
        .or(
          /** Composite views: the version another view's environment serves, with its deviations carried into this one's report. */
          z.strictObject({ view: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/), environment: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/) }),
        ),
    )
    .min(1),
  /** When given, only packages whose name matches one of these globs. */
  include: z.array(glob).optional(),
  exclude: z.array(z.strictObject({ package: glob, reason })).default([]),
  /** Only versions (`V-R` or `E:V-R`) matching the glob stay. */
  pins: z.array(z.strictObject({ package: glob, version: glob, reason })).default([]),
  /** Our own build (an .rpm, or a .deb for Debian views) instead of upstream's: every upstream build of `package` goes. */
  replace: z
    .array(
      z
        .strictObject({
          package: z.string().min(1),
          rpm: z.string().min(1).optional(),
          deb: z.string().min(1).optional(),
          reason,
          /** A package of ours that upstream does not have: no upstream build to replace is expected. */ addition: z.boolean().optional(),
        })
        .refine((r) => (r.rpm === undefined) !== (r.deb === undefined), 'give the file of our build as rpm: or deb:'),
    )
    .default([]),
  /** Environments in order (e.g. dev, canary, prod): a version reaches each only after the one before. */
  promotion: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/))
    .min(2)
    .max(16)
    .optional(),
  /** Debian views: the suite and component the published apt repository has (default: the view's name, main). */
  suite: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    .optional(),
  component: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/)
    .optional(),
});
export type ContentView = z.infer<typeof ContentView>;

export function parseContentView(text: string, file: string): ContentView {
  return parseYamlWith(ContentView, text, file);
}

export interface Candidate {
  name: string;
  /** rpm: the epoch; deb: 0 (the epoch is part of `version`). */
  epoch: number;
  /** rpm: the version; deb: the full Debian version, epoch and revision included. */
  version: string;
  /** rpm: the release; deb: empty. */
  release: string;
  arch: string;
  /** Where its file is (in the object store). */
  source: string;
  /** The repository it comes from (upstream), for the report. */
  origin?: string;
}

export interface Deviation {
  kind: 'excluded' | 'not-included' | 'pinned-out' | 'replaced' | 'shadowed' | 'withheld' | 'added';
  package: string;
  /** The upstream builds affected, `E:V-R.arch`. */
  builds: string[];
  /** For replacements: our build. */
  with?: string;
  /** For `withheld`: the advisory whose fixes the view keeps out (`package` is the package, `reason` the overlay); for `added`: the advisory an incremental update added. */
  advisory?: string;
  reason: string;
}

type Family = 'rpm' | 'deb';
const evrOf = (family: Family, c: Candidate): string => (family === 'deb' ? c.version : `${String(c.epoch)}:${c.version}-${c.release}`);

/**
 * The packages a view publishes and how they differ from upstream.
 * @example selectContent(view, upstream, replacements)
 */
export function selectContent(
  view: ContentView,
  upstream: readonly Candidate[],
  replacements: readonly Candidate[],
  family: Family = 'rpm',
): { packages: Candidate[]; deviations: Deviation[] } {
  const evr = (c: Candidate): string => evrOf(family, c);
  const build = (c: Candidate): string => `${evr(c)}.${c.arch}`;
  // A pin's glob is tried on the version as people write it, with and without the epoch.
  const pinned = (ver: RegExp, c: Candidate): boolean =>
    family === 'deb' ? ver.test(c.version) || ver.test(c.version.replace(/^\d+:/, '')) : ver.test(`${c.version}-${c.release}`) || ver.test(evr(c));
  const deviations: Deviation[] = [];
  const note = (kind: Deviation['kind'], pkg: string, c: Candidate, why: string, withBuild?: string): void => {
    const d = deviations.find((x) => x.kind === kind && x.package === pkg && x.reason === why);
    if (d !== undefined) d.builds.push(build(c));
    else deviations.push({ kind, package: pkg, builds: [build(c)], reason: why, ...(withBuild !== undefined ? { with: withBuild } : {}) });
  };
  const include = view.include?.map(globPattern);
  const excludes = view.exclude.map((e) => ({ ...e, re: globPattern(e.package) }));
  const pins = view.pins.map((p) => ({ ...p, re: globPattern(p.package), ver: globPattern(p.version) }));
  const replaced = new Map(view.replace.map((r) => [r.package, r]));
  const withBuilds = (pkg: string): string | undefined => {
    const ours = replacements.filter((r) => r.name === pkg).map(build);
    return ours.length === 0 ? undefined : ours.join(', ');
  };
  checkOverlays(view, upstream, replacements, { include, excludes, pins, pinned });
  const out: Candidate[] = [];
  // The same build from two sources: one file is published, the first source's; a different
  // file under the same name-epoch-version-release-arch is reported, never published beside it.
  const seen = new Map<string, Candidate>();
  for (const c of upstream) {
    const key = `${c.name}|${evr(c)}|${c.arch}`;
    const first = seen.get(key);
    if (first !== undefined) {
      if (first.source !== c.source)
        note(
          'shadowed',
          c.name,
          c,
          `${c.origin ?? 'a later source'} has a different file for this build; ${first.origin ?? 'the first source'}'s is published`,
        );
      continue;
    }
    seen.set(key, c);
    const rep = replaced.get(c.name);
    if (rep !== undefined) {
      note('replaced', c.name, c, rep.reason, withBuilds(c.name));
      continue;
    }
    if (include !== undefined && !include.some((re) => re.test(c.name))) {
      note('not-included', c.name, c, "not in the view's include list");
      continue;
    }
    const ex = excludes.find((e) => e.re.test(c.name));
    if (ex !== undefined) {
      note('excluded', c.name, c, ex.reason);
      continue;
    }
    // Every pin whose glob names the package must allow the build.
    const pin = pins.find((p) => p.re.test(c.name) && !pinned(p.ver, c));
    if (pin !== undefined) {
      note('pinned-out', c.name, c, `${pin.reason} (pinned to ${pin.version})`);
      continue;
    }
    out.push(c);
  }
  // A replacement with no upstream build is an addition: reported as well, with no builds.
  for (const [pkg, rep] of replaced) {
    if (deviations.some((d) => d.kind === 'replaced' && d.package === pkg)) continue;
    const ours = withBuilds(pkg);
    deviations.push({ kind: 'replaced', package: pkg, builds: [], reason: rep.reason, ...(ours !== undefined ? { with: ours } : {}) });
  }
  out.push(...replacements);
  out.sort(
    (a, b) =>
      a.name.localeCompare(b.name) ||
      (family === 'deb' ? compareDebVersions(a.version, b.version) : compareRpmEvr(evr(a), evr(b))) ||
      a.arch.localeCompare(b.arch),
  );
  return { packages: out, deviations };
}

/** The upstream name closest to what was written, when one is close enough to be a typo. */
export function didYouMean(written: string, names: Iterable<string>): string | null {
  const plain = written.replace(/[*?]/g, '');
  let best: { name: string; d: number } | null = null;
  for (const n of names) {
    const d = editDistance(plain, written.includes('*') ? n.slice(0, plain.length + 2) : n);
    if (best === null || d < best.d || (d === best.d && n < best.name)) best = { name: n, d };
  }
  return best !== null && best.d <= Math.max(2, Math.floor(plain.length / 4)) ? best.name : null;
}

/**
 * Overlays that cannot silently miss (issue #21, item 2): an include, exclude, pin or replace
 * that matches no upstream package is a typo until proved otherwise (`opensssl` let openssl 3.4
 * ship); a pin set that leaves no build of a package, an exclude that also pins or replaces one
 * package, and two replacements of one package for one architecture contradict themselves. Every
 * problem is named at once, with the closest upstream name.
 */
function checkOverlays(
  view: ContentView,
  upstream: readonly Candidate[],
  replacements: readonly Candidate[],
  o: {
    include: RegExp[] | undefined;
    excludes: { package: string; re: RegExp }[];
    pins: { package: string; version: string; re: RegExp; ver: RegExp }[];
    pinned: (ver: RegExp, c: Candidate) => boolean;
  },
): void {
  const names = [...new Set(upstream.map((c) => c.name))].sort();
  const problems: string[] = [];
  const missing = (what: string, glob: string): void => {
    const near = didYouMean(glob, names);
    problems.push(`${what} "${glob}" matches no upstream package${near === null ? '' : ` (did you mean "${near}"?)`}`);
  };
  for (const [i, g] of (view.include ?? []).entries()) if (!names.some((n) => o.include?.[i]?.test(n) === true)) missing('include', g);
  for (const e of o.excludes) if (!names.some((n) => e.re.test(n))) missing('exclude', e.package);
  for (const p of o.pins) if (!names.some((n) => p.re.test(n))) missing('pin', p.package);
  for (const r of view.replace) if (r.addition !== true && !names.includes(r.package)) missing('replace', r.package);
  for (const r of view.replace)
    if (r.addition === true && names.includes(r.package)) problems.push(`replace "${r.package}" says addition, but upstream has ${r.package}`);
  for (const n of names) {
    const ex = o.excludes.find((e) => e.re.test(n));
    if (ex === undefined) continue;
    const pin = o.pins.find((p) => p.re.test(n));
    if (pin !== undefined) problems.push(`${n} is both excluded ("${ex.package}") and pinned ("${pin.package}" to ${pin.version}): the pin would never apply`);
    if (view.replace.some((r) => r.package === n)) problems.push(`${n} is both excluded ("${ex.package}") and replaced: say which`);
  }
  // Two replacements of one package for one architecture would publish both builds.
  const ours = new Map<string, number>();
  for (const r of replacements) ours.set(`${r.name}.${r.arch}`, (ours.get(`${r.name}.${r.arch}`) ?? 0) + 1);
  for (const [k, count] of ours) if (count > 1) problems.push(`${String(count)} replacements of ${k}: one build of ours per package and architecture`);
  // A pin set that leaves no build: every pin naming the package must allow a build.
  const replaced = new Set(view.replace.map((r) => r.package));
  for (const n of names) {
    if (replaced.has(n) || o.excludes.some((e) => e.re.test(n))) continue;
    const pins = o.pins.filter((p) => p.re.test(n));
    if (pins.length === 0) continue;
    const builds = upstream.filter((c) => c.name === n);
    if (!builds.some((c) => pins.every((p) => o.pinned(p.ver, c))))
      problems.push(
        `the pins on ${n} (${pins.map((p) => `"${p.package}" to ${p.version}`).join(', ')}) leave none of its ${String(builds.length)} upstream build(s)`,
      );
  }
  if (problems.length > 0) throw new BulwarkError('config.invalid', `content view ${view.name}: ${problems.join('; ')}`, { problems });
}

/** An advisory as a source's updateinfo lists it: its id and the builds (`name`, `E:V-R`, arch) that fix it. */
export interface AdvisoryFixes {
  id: string;
  packages: { name: string; evr: string; arch: string }[];
}

/**
 * The advisories a view withholds (issue #21, item 2): each whose fixed builds are upstream but
 * were taken out by an overlay, with the overlay (the deviation) that took them. The published
 * updateinfo drops or trims such an advisory; this report says so instead of staying silent.
 */
export function withheldAdvisories(advisories: readonly AdvisoryFixes[], deviations: readonly Deviation[]): Deviation[] {
  const byBuild = new Map<string, Deviation>();
  // Packages a view never meant to carry (not in its include list) withhold nothing of their own.
  for (const d of deviations)
    if (d.kind !== 'withheld' && d.kind !== 'shadowed' && d.kind !== 'not-included') for (const b of d.builds) byBuild.set(`${d.package}|${b}`, d);
  const out: Deviation[] = [];
  for (const a of advisories)
    for (const p of a.packages) {
      const d = byBuild.get(`${p.name}|${p.evr}.${p.arch}`);
      if (d === undefined) continue;
      const reason = `${d.kind} ${d.package}: ${d.reason}`;
      const have = out.find((x) => x.advisory === a.id && x.package === p.name && x.reason === reason);
      if (have !== undefined) have.builds.push(`${p.evr}.${p.arch}`);
      else out.push({ kind: 'withheld', package: p.name, builds: [`${p.evr}.${p.arch}`], advisory: a.id, reason });
    }
  return out;
}
