import type { Fix } from '../../core/advisory.js';
import type { OvalCriteria, OvalStateOperation, OvalTest } from '../../core/oval.js';
import { versionScheme } from '../../core/version/registry.js';

/**
 * Deriving fixes from resolved OVAL criteria: the formula in disjunctive normal form, then per
 * conjunction the package tests' version bounds (`P < V` fixed in V, `P <= V` no fix yet, …).
 * Anything that cannot be expressed as a fix is warned about and left to --oval-strict, which
 * evaluates the literal tree itself.
 */

/** A literal of a criteria formula in disjunctive normal form. */
type Literal = { kind: 'test'; test: OvalTest; negate: boolean } | { kind: 'extend'; negate: boolean };
const MAX_CONJUNCTIONS = 4096;

/**
 * Criteria as a disjunction of conjunctions (De Morgan pushes each `negate` down to the
 * literals). Null when the formula uses ONE/XOR or grows past MAX_CONJUNCTIONS: those keep
 * only the literal tree (strict mode), not derived fixes.
 */
function toDnf(node: OvalCriteria, negated: boolean): Literal[][] | null {
  if (node.kind === 'criterion') return [[{ kind: 'test', test: node.test, negate: negated !== node.negate }]];
  if (node.kind === 'extend') return [[{ kind: 'extend', negate: negated !== node.negate }]];
  const neg = negated !== node.negate;
  if (node.operator === 'ONE' || node.operator === 'XOR') return null;
  const parts: Literal[][][] = [];
  for (const c of node.children) {
    const d = toDnf(c, neg);
    if (d === null) return null;
    parts.push(d);
  }
  // AND, or a negated OR, is a product; OR, or a negated AND, a union.
  if ((node.operator === 'AND') !== neg) {
    let acc: Literal[][] = [[]];
    for (const p of parts) {
      const next: Literal[][] = [];
      for (const a of acc) for (const b of p) next.push([...a, ...b]);
      if (next.length > MAX_CONJUNCTIONS) return null;
      acc = next;
    }
    return acc;
  }
  const all = parts.flat();
  return all.length > MAX_CONJUNCTIONS ? null : all;
}

const INVERSE: Partial<Record<OvalStateOperation, OvalStateOperation>> = {
  'less than': 'greater than or equal',
  'less than or equal': 'greater than',
  'greater than': 'less than or equal',
  'greater than or equal': 'less than',
};

/** Why a version from a state cannot be used: the garbage the data notes list, then the scheme's rules. */
function badVersion(v: string, family: 'rpm' | 'deb'): string | null {
  if (v !== v.trim() || /\s/.test(v)) return 'contains white space';
  if (v.includes(',')) return 'is a comma-separated list';
  if (/(^|[:.-])null([.-]|$)/i.test(v)) return 'is "null"';
  const why = versionScheme(family).check(v);
  if (why !== null) return why;
  // A version must start with a digit after the epoch in every feed seen; "0:.cm2" and the like are generator bugs.
  const afterEpoch = v.replace(/^\d+:/, '');
  if (!/^[0-9]/.test(afterEpoch)) return 'does not start with a digit';
  return null;
}

interface Bounds {
  upper: { version: string; inclusive: boolean } | null;
  lower: { version: string; inclusive: boolean } | null;
  arch: string | null;
  exists: boolean;
}

export interface DeriveContext {
  defId: string;
  release: string;
  family: 'rpm' | 'deb';
  packageKind: Fix['packageKind'];
  warn: (message: string) => void;
}

/** Adds one test literal's conditions to the per-package bounds of a conjunction; false = the conjunction yields no fix. */
function applyLiteral(lit: { test: OvalTest; negate: boolean }, byName: Map<string, Bounds>, ctx: DeriveContext): boolean {
  const t = lit.test;
  if (t.names.length === 0) return true; // not a package test (uname, textfilecontent, variable): a platform condition
  if (t.nameOperation !== undefined && t.nameOperation !== 'equals') {
    // "^r.m$" or "not equal rpm" selects packages by pattern, not a package a fix can name.
    ctx.warn(`test ${t.id}: an object name with operation "${t.nameOperation}" names no package a fix can be given for (kept for --oval-strict)`);
    return false;
  }
  const evrConds: { operation: OvalStateOperation; value: string }[] = [];
  let arch: string | null = null;
  let otherField: string | null = null;
  for (const state of t.states) {
    for (const f of state) {
      if (f.field === 'evr') evrConds.push({ operation: f.operation, value: f.value });
      else if (f.field === 'arch') arch = f.operation === 'equals' ? f.value : arch;
      else if (f.field !== 'signature_keyid') otherField ??= f.field;
    }
  }
  if (evrConds.length === 0) {
    // A state without a version (Red Hat's "signed with key", "RHEL 9 is installed" as a version
    // pattern on redhat-release) is a condition, not a statement about the package's fix.
    if (t.states.length > 0) return true;
    // An existence test: "installed" (no fix for any version) or "not installed" (no fix at all).
    const absent = t.checkExistence === 'none_exist';
    if (lit.negate !== absent) return false;
    if (lit.negate) return true;
  } else if (otherField !== null) {
    ctx.warn(`test ${t.id}: a version state with a "${otherField}" condition is not used to derive fixes (kept for --oval-strict)`);
    return false;
  }
  if (t.states.length > 1 && evrConds.length > 1) {
    ctx.warn(`test ${t.id}: several version states in one test are not used to derive fixes`);
    return false;
  }
  for (const name of t.names) {
    let b = byName.get(name);
    if (b === undefined) byName.set(name, (b = { upper: null, lower: null, arch, exists: true }));
    for (const c of evrConds) {
      const op = lit.negate ? INVERSE[c.operation] : c.operation;
      if (op === undefined || op === 'not equal' || op === 'pattern match') {
        ctx.warn(`test ${t.id}: version operation "${lit.negate ? 'not ' : ''}${c.operation}" cannot be expressed as a fix`);
        return false;
      }
      const why = badVersion(c.value, ctx.family);
      if (why !== null) {
        ctx.warn(`state of test ${t.id}: version "${c.value}" ${why}; fix skipped`);
        return false;
      }
      if (op === 'less than' || op === 'less than or equal' || op === 'equals') {
        if (b.upper !== null && b.upper.version !== c.value) {
          ctx.warn(`test ${t.id}: two upper bounds for ${name}; fix skipped`);
          return false;
        }
        b.upper = { version: c.value, inclusive: op !== 'less than' };
      }
      if (op === 'greater than' || op === 'greater than or equal' || op === 'equals') b.lower = { version: c.value, inclusive: op !== 'greater than' };
    }
  }
  return true;
}

/**
 * The fixes a definition's criteria imply, one per (package, conjunction): `P < V` → fixed in V;
 * `P <= V` → no fix yet, last affected V; `P > L` → introduced after L; a package test with no
 * version → no fix yet for every version.
 */
export function deriveFixes(criteria: OvalCriteria, ctx: DeriveContext): Fix[] {
  const dnf = toDnf(criteria, false);
  if (dnf === null) {
    ctx.warn('criteria use ONE/XOR or are too large to derive fixes (kept for --oval-strict)');
    return [];
  }
  const fixes: Fix[] = [];
  const seen = new Set<string>();
  for (const conj of dnf) {
    const byName = new Map<string, Bounds>();
    let ok = true;
    for (const lit of conj) if (lit.kind === 'test' && !applyLiteral(lit, byName, ctx)) ok = false;
    if (!ok) continue;
    for (const [name, b] of byName) {
      const fix: Fix = {
        release: ctx.release,
        package: name,
        packageKind: ctx.packageKind,
        arch: b.arch,
        status: b.upper !== null && !b.upper.inclusive ? 'fixed' : 'no-fix-yet',
        fixed: b.upper !== null && !b.upper.inclusive ? b.upper.version : null,
        lastAffected: b.upper?.inclusive === true ? b.upper.version : null,
        introduced: b.lower,
      };
      const key = JSON.stringify(fix);
      if (!seen.has(key)) {
        seen.add(key);
        fixes.push(fix);
      }
    }
  }
  return fixes;
}
