import type { OvalCriteria, OvalState, OvalTest } from '../../core/oval.js';
import type { RawNode, Tables } from './read.js';

/**
 * Resolving a raw definition's criteria against the document's tables: each criterion's test
 * with its object's package names (or a variable's list) and its states, extend_definition
 * inlined. What cannot be found is listed in `missing` (the definition then yields no fixes).
 */

/** How deep extend_definition chains are inlined (real feeds use one or two levels). */
const MAX_EXTEND_DEPTH = 8;

export function resolve(node: RawNode, tables: Tables, missing: string[], stack: readonly string[] = []): OvalCriteria {
  if (node.kind === 'extend') {
    const target = tables.definitions.get(node.definition);
    // A cycle or a chain too deep is left unresolved: strict evaluation then says "unknown".
    if (target === undefined || target === null || stack.includes(node.definition) || stack.length >= MAX_EXTEND_DEPTH) return { ...node };
    return { ...node, criteria: resolve(target, tables, missing, [...stack, node.definition]) };
  }
  if (node.kind === 'criteria')
    return { kind: 'criteria', operator: node.operator, negate: node.negate, children: node.children.map((c) => resolve(c, tables, missing, stack)) };
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

function isPackageTest(type: string): boolean {
  return type === 'rpminfo_test' || type === 'dpkginfo_test';
}

/** All package-test versions in a criteria tree (to tell the release by dist tag). */
export function* versionsIn(node: OvalCriteria): Generator<string> {
  if (node.kind === 'criteria') for (const c of node.children) yield* versionsIn(c);
  else if (node.kind === 'criterion') for (const s of node.test.states) for (const f of s) if (f.field === 'evr') yield f.value;
}

export function* commentsIn(node: OvalCriteria): Generator<string> {
  if (node.kind === 'criteria') for (const c of node.children) yield* commentsIn(c);
  else if (node.kind === 'extend') {
    if (node.comment !== null) yield node.comment;
  } else if (node.test.comment !== null) yield node.test.comment;
}

export function hasPackageTest(node: OvalCriteria): boolean {
  if (node.kind === 'criteria') return node.children.some(hasPackageTest);
  return node.kind === 'criterion' && isPackageTest(node.test.type);
}
