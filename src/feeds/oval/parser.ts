import type { Advisory, Fix, Reference, Severity } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
import type { OvalCriteria, OvalOperator, OvalState, OvalStateOperation, OvalTest } from '../../core/oval.js';
import { releaseFamily } from '../../core/release.js';
import { versionScheme } from '../../core/version/registry.js';
import { child, childrenNamed, childText, xmlRecords, type XmlElement } from '../../lib/xml.js';
import { normaliseDate } from '../dates.js';
import type { FeedParser, FeedWarning, ParseOptions } from '../types.js';
import { releaseFromDistTag, releaseFromOvalId, releaseFromPlatformComment } from './releases.js';
import { ovalGeneratorDistribution, ovalNamespaceDistribution, releaseFact } from '../identity.js';

/**
 * OVAL 5.x definitions (rpminfo_test: Microsoft's Azure Linux / CBL-Mariner feeds, Red Hat style
 * with extend_definition and signature states; dpkginfo_test: Canonical's feeds with
 * constant_variable name lists and uname_test for kernels).
 *
 * OVAL puts all definitions first and the tests, objects and states they point to after them,
 * so no definition can be resolved before the document's end. The parser therefore streams the
 * XML record by record (src/lib/xml.ts, no entity expansion) into compact tables and resolves
 * each definition at the end: memory is proportional to the definitions' logic, not to the
 * XML text (a 4 MB Azure Linux file holds ~9k small records).
 */
export const id = 'oval';
export const displayName = 'OVAL 5.x definitions (rpminfo, dpkginfo)';
export const version = 4;
const PARSER = `${id}@${String(version)}`;

interface RawCriterion {
  kind: 'criterion';
  negate: boolean;
  testRef: string;
}
interface RawExtend {
  kind: 'extend';
  negate: boolean;
  definition: string;
  comment: string | null;
}
interface RawCriteria {
  kind: 'criteria';
  operator: OvalOperator;
  negate: boolean;
  children: RawNode[];
}
type RawNode = RawCriterion | RawExtend | RawCriteria;

interface RawDefinition {
  id: string;
  cls: string;
  line: number;
  metadata: XmlElement | undefined;
  criteria: RawCriteria | null;
}
interface RawTest {
  type: string;
  comment: string | null;
  check: string;
  checkExistence: string;
  objectRef: string | null;
  stateRefs: string[];
}
interface RawObject {
  name: string | null;
  varRef: string | null;
  /** The `<name>` element's operation attribute; null when absent (equals). */
  nameOperation: string | null;
}

const OPERATORS: readonly OvalOperator[] = ['AND', 'OR', 'ONE', 'XOR'];
const OPERATIONS: readonly OvalStateOperation[] = ['equals', 'not equal', 'less than', 'less than or equal', 'greater than', 'greater than or equal', 'pattern match'];

function bool(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

function readCriteria(el: XmlElement): RawCriteria {
  const op = (el.attrs.operator ?? 'AND').toUpperCase() as OvalOperator;
  return {
    kind: 'criteria',
    operator: OPERATORS.includes(op) ? op : 'AND',
    negate: bool(el.attrs.negate),
    children: el.children.flatMap((c): RawNode[] => {
      if (c.name === 'criteria') return [readCriteria(c)];
      if (c.name === 'criterion') return [{ kind: 'criterion', negate: bool(c.attrs.negate), testRef: c.attrs.test_ref ?? '' }];
      if (c.name === 'extend_definition') return [{ kind: 'extend', negate: bool(c.attrs.negate), definition: c.attrs.definition_ref ?? '', comment: c.attrs.comment ?? null }];
      return [];
    }),
  };
}

/** Severity words of the three publishers (Microsoft: NVD ratings; Red Hat; Canonical priorities). */
function mapSeverity(s: string | null): Severity {
  switch (s?.trim().toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'important':
    case 'high':
      return 'high';
    case 'moderate':
    case 'medium':
      return 'medium';
    case 'low':
    case 'negligible':
      return 'low';
    case 'none':
      return 'none';
    default:
      return 'unknown';
  }
}

const CVE = /^CVE-\d{4}-\d{4,}$/;

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

interface Context {
  defId: string;
  release: string;
  family: 'rpm' | 'deb';
  packageKind: Fix['packageKind'];
  warn: (message: string) => void;
}

/** Adds one test literal's conditions to the per-package bounds of a conjunction; false = the conjunction yields no fix. */
function applyLiteral(lit: { test: OvalTest; negate: boolean }, byName: Map<string, Bounds>, ctx: Context): boolean {
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
function deriveFixes(criteria: OvalCriteria, ctx: Context): Fix[] {
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

interface Tables {
  /** Every definition's criteria, for extend_definition. */
  definitions: Map<string, RawCriteria | null>;
  tests: Map<string, RawTest>;
  objects: Map<string, RawObject>;
  states: Map<string, OvalState[]>;
  variables: Map<string, string[]>;
}

/** How deep extend_definition chains are inlined (real feeds use one or two levels). */
const MAX_EXTEND_DEPTH = 8;

function resolve(node: RawNode, tables: Tables, missing: string[], stack: readonly string[] = []): OvalCriteria {
  if (node.kind === 'extend') {
    const target = tables.definitions.get(node.definition);
    // A cycle or a chain too deep is left unresolved: strict evaluation then says "unknown".
    if (target === undefined || target === null || stack.includes(node.definition) || stack.length >= MAX_EXTEND_DEPTH) return { ...node };
    return { ...node, criteria: resolve(target, tables, missing, [...stack, node.definition]) };
  }
  if (node.kind === 'criteria') return { kind: 'criteria', operator: node.operator, negate: node.negate, children: node.children.map((c) => resolve(c, tables, missing, stack)) };
  const raw = tables.tests.get(node.testRef);
  if (raw === undefined) missing.push(`test ${node.testRef}`);
  const obj = raw?.objectRef === null || raw === undefined ? undefined : tables.objects.get(raw.objectRef);
  if (raw?.objectRef !== null && raw !== undefined && obj === undefined) missing.push(`object ${raw.objectRef}`);
  let names: string[] = [];
  if (obj?.name !== undefined && obj.name !== null) names = [obj.name];
  else if (obj?.varRef !== undefined && obj.varRef !== null) {
    const vals = tables.variables.get(obj.varRef);
    if (vals === undefined) missing.push(`variable ${obj.varRef}`);
    names = vals ?? [];
  }
  const states: OvalState[][] = [];
  for (const ref of raw?.stateRefs ?? []) {
    const st = tables.states.get(ref);
    if (st === undefined) missing.push(`state ${ref}`);
    else states.push(st);
  }
  const test: OvalTest = {
    id: node.testRef,
    type: raw?.type ?? 'missing',
    comment: raw?.comment ?? null,
    check: raw?.check ?? 'all',
    checkExistence: raw?.checkExistence ?? 'at_least_one_exists',
    names,
    states,
  };
  if (obj?.nameOperation !== undefined && obj.nameOperation !== null && obj.nameOperation !== 'equals') test.nameOperation = obj.nameOperation;
  return { kind: 'criterion', negate: node.negate, test };
}

function readState(el: XmlElement): OvalState[] {
  return el.children.map((f) => {
    const op = (f.attrs.operation ?? 'equals') as OvalStateOperation;
    return { field: f.name, datatype: f.attrs.datatype ?? null, operation: OPERATIONS.includes(op) ? op : ('equals' as const), value: f.text };
  });
}

function isPackageTest(type: string): boolean {
  return type === 'rpminfo_test' || type === 'dpkginfo_test';
}

/** All package-test versions in a criteria tree (to tell the release by dist tag). */
function* versionsIn(node: OvalCriteria): Generator<string> {
  if (node.kind === 'criteria') for (const c of node.children) yield* versionsIn(c);
  else if (node.kind === 'criterion') for (const s of node.test.states) for (const f of s) if (f.field === 'evr') yield f.value;
}

function* commentsIn(node: OvalCriteria): Generator<string> {
  if (node.kind === 'criteria') for (const c of node.children) yield* commentsIn(c);
  else if (node.kind === 'extend') {
    if (node.comment !== null) yield node.comment;
  } else if (node.test.comment !== null) yield node.test.comment;
}

function hasPackageTest(node: OvalCriteria): boolean {
  if (node.kind === 'criteria') return node.children.some(hasPackageTest);
  return node.kind === 'criterion' && isPackageTest(node.test.type);
}

function buildAdvisory(def: RawDefinition, tables: Tables, opts: ParseOptions, warn: (w: FeedWarning) => void): Advisory | null {
  const md = def.metadata;
  const say = (message: string): void => {
    warn({ record: def.id, message });
  };
  if (def.cls === 'inventory' || def.cls === 'compliance' || def.cls === 'miscellaneous') return null;
  // The id's namespace names the distribution (Canonical's also the release), whatever the criteria hold.
  const nsDistribution = ovalNamespaceDistribution(def.id);
  if (nsDistribution !== null) opts.identity?.({ distribution: nsDistribution, release: releaseFromOvalId(def.id), evidence: `definition id ${def.id}` });
  const title = (md === undefined ? null : childText(md, 'title')) ?? def.id;
  const refs: Reference[] = [];
  const cves = new Set<string>();
  for (const r of md === undefined ? [] : childrenNamed(md, 'reference')) {
    const src = (r.attrs.source ?? '').toUpperCase();
    const rid = r.attrs.ref_id ?? null;
    if (src === 'CVE' && rid !== null && CVE.test(rid)) cves.add(rid);
    refs.push({ type: src === 'CVE' ? 'cve' : src === 'RHSA' || src === 'USN' || src === 'ALSA' ? 'advisory' : 'other', id: rid, url: r.attrs.ref_url ?? null });
  }
  const adv = md === undefined ? undefined : child(md, 'advisory');
  let cvssScore: number | null = null;
  let cvssVector: string | null = null;
  for (const c of adv === undefined ? [] : childrenNamed(adv, 'cve')) {
    const t = c.text.trim();
    if (CVE.test(t)) cves.add(t);
    // Red Hat: cvss3="7.5/CVSS:3.1/AV:N/…"; Canonical: cvss_score="7.5" cvss_vector="CVSS:3.1/…".
    const rh = /^(\d+(?:\.\d+)?)\/(CVSS:3\.\d\/\S+)$/.exec(c.attrs.cvss3 ?? '');
    const score = rh?.[1] !== undefined ? Number(rh[1]) : c.attrs.cvss_score !== undefined ? Number(c.attrs.cvss_score) : NaN;
    if (Number.isFinite(score) && score >= 0 && score <= 10 && (cvssScore === null || score > cvssScore)) {
      cvssScore = score;
      cvssVector = rh?.[2] ?? c.attrs.cvss_vector ?? null;
    }
  }
  for (const b of adv === undefined ? [] : childrenNamed(adv, 'bugzilla')) refs.push({ type: 'bugzilla', id: b.attrs.id ?? null, url: b.attrs.href ?? null });
  const severity = mapSeverity((md === undefined ? null : childText(md, 'severity')) ?? (adv === undefined ? null : childText(adv, 'severity')));
  const issued = adv === undefined ? undefined : child(adv, 'issued');
  const updated = adv === undefined ? undefined : child(adv, 'updated');
  const publishedAt = normaliseDate((md === undefined ? null : childText(md, 'advisory_date')) ?? issued?.attrs.date);
  const updatedAt = normaliseDate(updated?.attrs.date) ?? publishedAt;

  const base: Advisory = {
    source: opts.source,
    id: def.id,
    kind: 'security',
    title,
    description: (md === undefined ? null : childText(md, 'description')) ?? '',
    severity,
    cvssScore,
    cvssVector,
    cves: [...cves].sort(),
    references: refs,
    publishedAt,
    updatedAt,
    parser: PARSER,
    fixes: [],
  };
  if (def.criteria === null) {
    say('definition has no criteria');
    return base;
  }
  const missing: string[] = [];
  const criteria = resolve(def.criteria, tables, missing);
  base.oval = criteria;
  if (missing.length > 0) {
    say(`definition refers to ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${String(missing.length - 3)} more` : ''} that the document does not have; no fixes derived`);
    return base;
  }
  if (!hasPackageTest(criteria)) return base;

  // What the document says, whatever the source says: reported for the identity check.
  let said: { release: string; evidence: string } | null = null;
  for (const v of versionsIn(criteria)) {
    const r = releaseFromDistTag(v);
    if (r !== null) {
      said = { release: r, evidence: `${def.id}: version ${v}` };
      break;
    }
  }
  if (said === null) {
    const r = releaseFromOvalId(def.id);
    if (r !== null) said = { release: r, evidence: `definition id ${def.id}` };
  }
  if (said === null)
    for (const c of commentsIn(criteria)) {
      const r = releaseFromPlatformComment(c);
      if (r !== null) {
        said = { release: r, evidence: `${def.id}: "${c}"` };
        break;
      }
    }
  if (said !== null) {
    const f = releaseFact(said.release, said.evidence);
    if (f !== null) opts.identity?.(f);
  }
  const release: string | null = opts.release ?? said?.release ?? null;
  if (release === null) {
    say('cannot tell which release this definition is for (no dist tag, namespace or platform comment); give the source a release');
    return base;
  }
  const family = releaseFamily(release);
  if (family === null) {
    say(`release "${release}" is not a distribution Bulwark knows`);
    return base;
  }
  // Microsoft's feeds name source packages (data notes 1.4-1); Red Hat's and Canonical's name binaries.
  const packageKind = def.id.startsWith('oval:com.microsoft.') ? 'source' : 'binary';
  let fixes = deriveFixes(criteria, { defId: def.id, release, family, packageKind, warn: say });
  const patchable = md === undefined ? null : childText(md, 'patchable');
  if (patchable !== null) {
    const p = patchable.toLowerCase();
    if (p === 'not applicable') {
      // "This CVE either no longer is or was never applicable" (data notes 1.3): not affected.
      fixes = fixes.map((f) => ({ ...f, status: 'not-affected', fixed: null, lastAffected: null, introduced: null }));
    } else if (p === 'false') {
      // No patch yet: a "less than V" bound is not a fixed version.
      fixes = fixes.map((f) => (f.status === 'fixed' ? { ...f, status: 'no-fix-yet', fixed: null } : f));
    }
  }
  // Microsoft writes "0:" for every package, whatever its epoch (data notes 1.4-2).
  if (packageKind === 'source') fixes = fixes.map((f) => ({ ...f, epochUnreliable: true }));
  base.fixes = fixes;
  return base;
}

/**
 * Parses one OVAL definitions document.
 *
 * @example for await (const a of ovalParser.parse(bytes, { source: 'azurelinux-3.0-oval', name: f, warn })) …
 */
export async function* parseOval(input: AsyncIterable<Uint8Array>, opts: ParseOptions): AsyncGenerator<Advisory> {
  const defs: RawDefinition[] = [];
  const tables: Tables = { definitions: new Map(), tests: new Map(), objects: new Map(), states: new Map(), variables: new Map() };
  let rootChecked = false;
  const sections = new Set(['definitions', 'tests', 'objects', 'states', 'variables']);
  const records = xmlRecords(input, {
    name: opts.name,
    select: (p) => (p.length === 3 && sections.has(p[1] ?? '')) || (p.length === 2 && p[1] === 'generator'),
  });
  for await (const { path, element: el } of records) {
    if (!rootChecked) {
      if (path[0] !== 'oval_definitions') throw new BulwarkError('input.invalid', `${opts.name}: not an OVAL definitions document (root element <${path[0] ?? ''}>)`, { file: opts.name });
      rootChecked = true;
    }
    const section = path[1];
    const rid = el.attrs.id;
    if (section === 'generator') {
      const product = childText(el, 'product_name');
      const d = product === null ? null : ovalGeneratorDistribution(product);
      if (d !== null) opts.identity?.({ distribution: d, release: null, evidence: `generator "${product ?? ''}"` });
      continue;
    }
    if (rid === undefined) {
      opts.warn({ record: null, message: `${opts.name}:${String(el.line)}: <${el.name}> without an id skipped` });
      continue;
    }
    if (section === 'definitions') {
      const crit = child(el, 'criteria');
      const criteria = crit === undefined ? null : readCriteria(crit);
      tables.definitions.set(rid, criteria);
      defs.push({ id: rid, cls: el.attrs.class ?? 'vulnerability', line: el.line, metadata: child(el, 'metadata'), criteria });
    } else if (section === 'tests') {
      const obj = child(el, 'object');
      tables.tests.set(rid, {
        type: el.name,
        comment: el.attrs.comment ?? null,
        check: el.attrs.check ?? 'all',
        checkExistence: el.attrs.check_existence ?? 'at_least_one_exists',
        objectRef: obj?.attrs.object_ref ?? null,
        stateRefs: childrenNamed(el, 'state').flatMap((s) => (s.attrs.state_ref === undefined ? [] : [s.attrs.state_ref])),
      });
    } else if (section === 'objects') {
      const n = child(el, 'name');
      tables.objects.set(rid, { name: n === undefined || n.attrs.var_ref !== undefined ? null : n.text.trim(), varRef: n?.attrs.var_ref ?? null, nameOperation: n?.attrs.operation ?? null });
    } else if (section === 'states') {
      tables.states.set(rid, readState(el));
    } else if (section === 'variables') {
      tables.variables.set(
        rid,
        childrenNamed(el, 'value').map((v) => v.text.trim()),
      );
    }
  }
  if (!rootChecked) throw new BulwarkError('input.invalid', `${opts.name}: not an OVAL definitions document (no definitions, tests, objects or states)`, { file: opts.name });
  for (const def of defs) {
    const a = buildAdvisory(def, tables, opts, opts.warn);
    if (a !== null) yield a;
  }
}

export const ovalParser: FeedParser = {
  id,
  displayName,
  version,
  specs: [
    'https://oval.mitre.org/language/version5.11/OVAL_Language_Specification_09-14-2011.pdf',
    'https://oval.mitre.org/language/version5.11/ovaldefinition/documentation/linux-definitions-schema.html',
  ],
  parse: parseOval,
};
