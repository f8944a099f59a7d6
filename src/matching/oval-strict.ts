import type { OvalCriteria, OvalOperator, OvalState, OvalTest } from '../core/oval.js';
import type { PackageFamily } from '../core/release.js';
import { versionScheme } from '../core/version/registry.js';
import { checkRpmEvr, parseRpmEvr, rpmvercmp } from '../core/version/rpm.js';

/**
 * OVAL evaluated literally, as an OVAL interpreter (OpenSCAP's `oscap oval eval`) does: the
 * `--oval-strict` mode, and the reference the normal mode's documented corrections are measured
 * against. Pure: the inventory comes in as data.
 *
 * Literal means: rpminfo/dpkginfo object names select installed packages as OpenSCAP's probes
 * do (an exact name, so a definition naming the source package `python-urllib3` does not see the
 * binary `python3-urllib3`; for rpminfo also `not equal` and `pattern match`), items carry the
 * fields the probes report (a dpkginfo item's version split into epoch, version and release),
 * EVRs compare as written (Microsoft's `0:` epoch included), and a test
 * Bulwark cannot evaluate (a signature key, a file's content) is "unknown", which the criteria
 * operators then propagate (OVAL 5.11 specification §5.3.3, OperatorEnumeration truth tables;
 * oval-definitions-schema CheckEnumeration and ExistenceEnumeration).
 */
export type OvalResult = 'true' | 'false' | 'unknown' | 'error';

export interface StrictItem {
  name: string;
  /**
   * rpm: epoch (null when the package has none), version, release; deb: the whole dpkg version
   * in `version` (epoch and release null): the evaluator splits it as the dpkginfo probe does.
   */
  epoch: number | null;
  version: string;
  release: string | null;
  arch: string;
}

export interface StrictInventory {
  family: PackageFamily;
  packages: readonly StrictItem[];
  /** `uname -r`, or null when unknown. */
  runningKernel: string | null;
}

/** Counts of each result among an operator's operands. */
interface Tally {
  t: number;
  f: number;
  u: number;
  e: number;
}

/** OVAL 5.11 §5.3.4 OperatorEnumeration, "not evaluated" and "not applicable" aside (never produced here). */
export function combine(op: OvalOperator, results: readonly OvalResult[]): OvalResult {
  const c: Tally = { t: 0, f: 0, u: 0, e: 0 };
  for (const r of results) {
    if (r === 'true') c.t++;
    else if (r === 'false') c.f++;
    else if (r === 'unknown') c.u++;
    else c.e++;
  }
  switch (op) {
    case 'AND':
      if (c.f > 0) return 'false';
      if (c.e > 0) return 'error';
      if (c.u > 0) return 'unknown';
      return 'true';
    case 'OR':
      if (c.t > 0) return 'true';
      if (c.e > 0) return 'error';
      if (c.u > 0) return 'unknown';
      return 'false';
    case 'ONE':
      if (c.t > 1) return 'false';
      if (c.t === 1 && c.e + c.u === 0) return 'true';
      if (c.t === 0 && c.e + c.u === 0) return 'false';
      return c.e > 0 ? 'error' : 'unknown';
    case 'XOR':
      if (c.e > 0) return 'error';
      if (c.u > 0) return 'unknown';
      return c.t % 2 === 1 ? 'true' : 'false';
  }
}

function negate(r: OvalResult, yes: boolean): OvalResult {
  if (!yes) return r;
  return r === 'true' ? 'false' : r === 'false' ? 'true' : r;
}

/** The entities of one OVAL item, as OpenSCAP's rpminfo / dpkginfo probes report them. */
interface ItemFields {
  name: string;
  arch: string;
  epoch: string;
  version: string;
  release: string;
  evr: string;
}

/**
 * The item an installed package is to an OVAL interpreter.
 *
 * rpminfo (OpenSCAP src/OVAL/probes/unix/linux/rpminfo_probe.c, pkgh2rep): `epoch` is rpm's
 * `%{EPOCH}`, "(none)" when the package has none; `evr` is "epoch:version-release" with 0 for a
 * missing epoch.
 *
 * dpkginfo (linux-definitions-schema dpkginfo_item: epoch, release, version, evr; OpenSCAP
 * 1.3.7 src/OVAL/probes/unix/linux/dpkginfo-helper.cxx, dpkginfo_get_by_name): the epoch is what
 * comes before the first ':' ("0" when there is none), the release what follows the FIRST '-' of
 * the whole version ("" for a native package), the version what lies between; `evr` is
 * "epoch:version-release", or "epoch:version" without a release. dpkg itself splits the
 * revision at the last '-' (deb-version(7)): for an upstream version holding a '-'
 * (`3.1-20221030-2`) the probe's version/release differ from dpkg's, and this follows the probe,
 * because strict mode answers what `oscap oval eval` answers.
 */
function itemFields(family: PackageFamily, p: StrictItem): ItemFields {
  if (family === 'deb') {
    const v = p.version;
    const colon = v.indexOf(':');
    const epoch = colon >= 0 ? v.slice(0, colon) : '0';
    const dash = v.indexOf('-');
    const version = dash >= 0 ? v.slice(colon + 1, dash) : v.slice(colon + 1);
    const release = dash >= 0 ? v.slice(dash + 1) : '';
    return { name: p.name, arch: p.arch, epoch, version, release, evr: dash >= 0 ? `${epoch}:${version}-${release}` : `${epoch}:${version}` };
  }
  return {
    name: p.name,
    arch: p.arch,
    epoch: p.epoch === null ? '(none)' : String(p.epoch),
    version: p.version,
    release: p.release ?? '',
    // OVAL's evr_string is "epoch:version-release" with the epoch always present (0 when none).
    evr: `${String(p.epoch ?? 0)}:${p.version}${p.release === null ? '' : `-${p.release}`}`,
  };
}

/**
 * OVAL `evr_string` comparison as OpenSCAP does it (src/OVAL/results/oval_cmp_evr_string.c,
 * rpmevrcmp): both sides split by rpm's parseEVR, then epoch, version and release compared with
 * rpmvercmp by compare_values, where a MISSING part is less than any present one — so, unlike
 * rpm's own rpmverCmp (a missing epoch is 0), an item's "0:1.0-1" is greater than a state's
 * "1.0-1". Null when a side cannot be parsed (empty, NUL).
 */
export function ovalEvrStringCompare(sys: string, state: string): number | null {
  if (checkRpmEvr(sys) !== null || checkRpmEvr(state) !== null) return null;
  const a = parseRpmEvr(sys);
  const b = parseRpmEvr(state);
  if (a === null || b === null) return null;
  const values = (x: string | null, y: string | null): number => (x === null && y === null ? 0 : y === null ? 1 : x === null ? -1 : rpmvercmp(x, y));
  return values(a.epoch, b.epoch) || values(a.version, b.version) || values(a.release, b.release);
}

function compareOp(op: string, c: number): OvalResult {
  switch (op) {
    case 'equals':
      return c === 0 ? 'true' : 'false';
    case 'not equal':
      return c !== 0 ? 'true' : 'false';
    case 'less than':
      return c < 0 ? 'true' : 'false';
    case 'less than or equal':
      return c <= 0 ? 'true' : 'false';
    case 'greater than':
      return c > 0 ? 'true' : 'false';
    case 'greater than or equal':
      return c >= 0 ? 'true' : 'false';
    default:
      return 'error';
  }
}

function stringOp(op: string, item: string, value: string): OvalResult {
  switch (op) {
    case 'equals':
      return item === value ? 'true' : 'false';
    case 'not equal':
      return item !== value ? 'true' : 'false';
    case 'pattern match':
      try {
        // OVAL patterns are Perl-compatible regular expressions, unanchored.
        return new RegExp(value).test(item) ? 'true' : 'false';
      } catch {
        return 'error';
      }
    default:
      return 'error';
  }
}

function fieldResult(f: OvalState, item: ItemFields, inv: StrictInventory): OvalResult {
  switch (f.field) {
    case 'evr': {
      // The state's datatype decides the comparison, whatever the item: OpenSCAP compares a
      // dpkginfo evr against an `evr_string` state with its rpm rules (1:2.38.1-5+deb12u3 equal
      // to 1:2.38.1-5.deb12u3); without a datatype, the inventory's own kind.
      const kind = f.datatype === 'debian_evr_string' ? 'deb' : f.datatype === 'evr_string' ? 'rpm' : inv.family;
      if (kind === 'rpm') {
        const c = ovalEvrStringCompare(item.evr, f.value);
        return c === null ? 'error' : compareOp(f.operation, c);
      }
      const scheme = versionScheme('deb');
      if (scheme.check(f.value) !== null) return 'error';
      if (scheme.check(item.evr) !== null) return 'error';
      return compareOp(f.operation, scheme.compare(item.evr, f.value));
    }
    case 'arch':
    case 'name':
    case 'version':
    case 'release':
    case 'epoch':
      return stringOp(f.operation, item[f.field], f.value);
    default:
      // signature_keyid, filepath… : facts an inventory does not hold.
      return 'unknown';
  }
}

function existence(mode: string, n: number): boolean {
  switch (mode) {
    case 'all_exist':
    case 'at_least_one_exists':
      return n >= 1;
    case 'any_exist':
      return true;
    case 'none_exist':
      return n === 0;
    case 'only_one_exists':
      return n === 1;
    default:
      return n >= 1;
  }
}

/**
 * CheckEnumeration over the items' results (OVAL 5.11 §5.3.5.2 check truth tables, which are the
 * operator tables: all = AND, at least one = OR, only one = ONE, none satisfy = NOT OR). An item
 * in error makes the check an error, not unknown, unless the other items decide it (oscap: a
 * state pattern that does not compile makes the definition "error").
 */
function check(mode: string, results: readonly OvalResult[]): OvalResult {
  switch (mode) {
    case 'all':
      return combine('AND', results);
    case 'at least one':
      return combine('OR', results);
    case 'none satisfy':
    case 'none exist':
      return negate(combine('OR', results), true);
    case 'only one':
      return combine('ONE', results);
    default:
      return 'error';
  }
}

/**
 * The items a package object selects, as OpenSCAP's probes collect them.
 *
 * rpminfo (rpminfo_probe.c, get_rpminfo): `equals` looks the name up, `not equal` takes every
 * package whose name differs, `pattern match` every package whose name the regular expression
 * matches anywhere (rpm's RPMMIRE_REGEX, then OVAL's own unanchored comparison); any other
 * operation is refused by the probe (an error). A variable's values are each applied.
 *
 * dpkginfo (dpkginfo_probe.c, OpenSCAP 1.3.7 and later): the probe reads only the name's value and
 * looks it up in the package cache whatever the operation, so `^dpk.$` finds nothing and
 * `not equal dpkg` finds dpkg. That is what `oscap oval eval` answers, so it is followed here.
 */
function selectItems(t: OvalTest, inv: StrictInventory, byName: ReadonlyMap<string, readonly StrictItem[]>): readonly StrictItem[] | 'error' {
  const op = t.nameOperation ?? 'equals';
  // A variable naming a package twice still collects its item once: an object's items are a set
  // (oscap reports one item, and a check of "only one" holds).
  if (t.type === 'dpkginfo_test' || op === 'equals') return [...new Set(t.names)].flatMap((n) => byName.get(n) ?? []);
  if (op === 'not equal') return inv.packages.filter((p) => !t.names.includes(p.name));
  if (op !== 'pattern match') return 'error';
  const out = new Set<StrictItem>();
  for (const n of t.names) {
    let re: RegExp;
    try {
      re = new RegExp(n);
    } catch {
      return 'error';
    }
    for (const p of inv.packages) if (re.test(p.name)) out.add(p);
  }
  return [...out];
}

/**
 * The installed packages a package test's object selects (none for other tests, or when the
 * object cannot be evaluated): what a finding names.
 * @example selectedPackages(test, inv, indexByName(inv)).map((p) => p.name) // ['rpm', 'rom']
 */
export function selectedPackages(t: OvalTest, inv: StrictInventory, byName: ReadonlyMap<string, readonly StrictItem[]>): readonly StrictItem[] {
  if (t.type !== 'rpminfo_test' && t.type !== 'dpkginfo_test') return [];
  const items = selectItems(t, inv, byName);
  return items === 'error' ? [] : items;
}

/** One test against the inventory (OVAL 5.11 §5.3.5.2: existence, then check over the items' state results). */
export function evaluateTest(t: OvalTest, inv: StrictInventory, byName: ReadonlyMap<string, readonly StrictItem[]>): OvalResult {
  if (t.type === 'rpminfo_test' || t.type === 'dpkginfo_test') {
    const items = selectItems(t, inv, byName);
    if (items === 'error') return 'error';
    if (!existence(t.checkExistence, items.length)) return 'false';
    if (t.states.length === 0 || items.length === 0) return 'true';
    const perItem = items.map((p) => {
      const fields = itemFields(inv.family, p);
      return combine(
        'AND',
        t.states.map((state) =>
          combine(
            'AND',
            state.map((f) => fieldResult(f, fields, inv)),
          ),
        ),
      );
    });
    return check(t.check, perItem);
  }
  if (t.type === 'uname_test') {
    if (inv.runningKernel === null) return 'unknown';
    const kernel = inv.runningKernel;
    const fields = t.states.flat().filter((f) => f.field === 'os_release');
    if (fields.length === 0) return 'unknown';
    return combine(
      'AND',
      fields.map((f) => stringOp(f.operation, kernel, f.value)),
    );
  }
  return 'unknown';
}

/**
 * A definition's criteria against an inventory, literally.
 * @example evaluateCriteria(advisory.oval, { family: 'rpm', packages, runningKernel: null }) // 'true'
 */
export function evaluateCriteria(node: OvalCriteria, inv: StrictInventory, byName: ReadonlyMap<string, readonly StrictItem[]> = indexByName(inv)): OvalResult {
  switch (node.kind) {
    case 'criterion':
      return negate(evaluateTest(node.test, inv, byName), node.negate);
    case 'extend':
      return negate(node.criteria === undefined ? 'unknown' : evaluateCriteria(node.criteria, inv, byName), node.negate);
    case 'criteria':
      return negate(
        combine(
          node.operator,
          node.children.map((c) => evaluateCriteria(c, inv, byName)),
        ),
        node.negate,
      );
  }
}

/** Installed packages by name, built once per inventory. */
export function indexByName(inv: StrictInventory): Map<string, StrictItem[]> {
  const m = new Map<string, StrictItem[]>();
  for (const p of inv.packages) {
    let l = m.get(p.name);
    if (l === undefined) m.set(p.name, (l = []));
    l.push(p);
  }
  return m;
}
