import type { OvalCriteria, OvalOperator, OvalState, OvalTest } from '../core/oval.js';
import type { PackageFamily } from '../core/release.js';
import { versionScheme } from '../core/version/registry.js';

/**
 * OVAL evaluated literally, as an OVAL interpreter (OpenSCAP's `oscap oval eval`) does: the
 * `--oval-strict` mode, and the reference the normal mode's documented corrections are measured
 * against. Pure: the inventory comes in as data.
 *
 * Literal means: rpminfo/dpkginfo object names match installed package names exactly (so a
 * definition naming the source package `python-urllib3` does not see the binary
 * `python3-urllib3`), EVRs compare as written (Microsoft's `0:` epoch included), and a test
 * Bulwark cannot evaluate (a signature key, a file's content) is "unknown", which the criteria
 * operators then propagate (OVAL 5.11 specification §5.3.3, OperatorEnumeration truth tables;
 * oval-definitions-schema CheckEnumeration and ExistenceEnumeration).
 */
export type OvalResult = 'true' | 'false' | 'unknown' | 'error';

export interface StrictItem {
  name: string;
  /** rpm: epoch (0 when none), version, release; deb: the whole version in `version`. */
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

function itemEvr(family: PackageFamily, p: StrictItem): string {
  if (family === 'deb') return p.version;
  // OVAL's evr_string is "epoch:version-release" with the epoch always present (0 when none).
  return `${String(p.epoch ?? 0)}:${p.version}${p.release === null ? '' : `-${p.release}`}`;
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

function fieldResult(f: OvalState, p: StrictItem, inv: StrictInventory): OvalResult {
  switch (f.field) {
    case 'evr': {
      const family: PackageFamily = f.datatype === 'debian_evr_string' ? 'deb' : inv.family;
      const scheme = versionScheme(family);
      if (scheme.check(f.value) !== null) return 'error';
      const mine = itemEvr(family, p);
      if (scheme.check(mine) !== null) return 'error';
      return compareOp(f.operation, scheme.compare(mine, f.value));
    }
    case 'arch':
      return stringOp(f.operation, p.arch, f.value);
    case 'name':
      return stringOp(f.operation, p.name, f.value);
    case 'version':
      return stringOp(f.operation, p.version, f.value);
    case 'release':
      return stringOp(f.operation, p.release ?? '', f.value);
    case 'epoch':
      return stringOp(f.operation, String(p.epoch ?? '(none)'), f.value);
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

function check(mode: string, results: readonly OvalResult[]): OvalResult {
  const c = { t: 0, f: 0, o: 0 };
  for (const r of results) {
    if (r === 'true') c.t++;
    else if (r === 'false') c.f++;
    else c.o++;
  }
  switch (mode) {
    case 'all':
      if (c.f > 0) return 'false';
      return c.o > 0 ? 'unknown' : 'true';
    case 'at least one':
      if (c.t > 0) return 'true';
      return c.o > 0 ? 'unknown' : 'false';
    case 'none satisfy':
    case 'none exist':
      if (c.t > 0) return 'false';
      return c.o > 0 ? 'unknown' : 'true';
    case 'only one':
      if (c.t > 1) return 'false';
      if (c.o > 0) return 'unknown';
      return c.t === 1 ? 'true' : 'false';
    default:
      return 'error';
  }
}

/** One test against the inventory (OVAL 5.11 §5.3.5.2: existence, then check over the items' state results). */
export function evaluateTest(t: OvalTest, inv: StrictInventory, byName: ReadonlyMap<string, readonly StrictItem[]>): OvalResult {
  if (t.type === 'rpminfo_test' || t.type === 'dpkginfo_test') {
    const items = t.names.flatMap((n) => byName.get(n) ?? []);
    if (!existence(t.checkExistence, items.length)) return 'false';
    if (t.states.length === 0 || items.length === 0) return 'true';
    const perItem = items.map((p) => combine('AND', t.states.map((state) => combine('AND', state.map((f) => fieldResult(f, p, inv))))));
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
