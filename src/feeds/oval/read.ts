import { BulwarkError } from '../../core/errors.js';
import type { OvalOperator, OvalState, OvalStateOperation } from '../../core/oval.js';
import { child, childrenNamed, childText, xmlRecords, type XmlElement } from '../../lib/xml.js';
import type { ParseOptions } from '../types.js';

/**
 * Reading an OVAL definitions document: the XML streamed record by record (src/lib/xml.ts, no
 * entity expansion) into compact tables of raw definitions, tests, objects, states and
 * variables. OVAL puts all definitions first and what they point to after them, so nothing is
 * resolved here (resolve.ts does it once the document has been read): memory is proportional to
 * the definitions' logic, not to the XML text (a 4 MB file holds ~9k small records).
 */

export interface RawCriterion {
  kind: 'criterion';
  negate: boolean;
  testRef: string;
}
export interface RawExtend {
  kind: 'extend';
  negate: boolean;
  definition: string;
  comment: string | null;
}
export interface RawCriteria {
  kind: 'criteria';
  operator: OvalOperator;
  negate: boolean;
  children: RawNode[];
}
export type RawNode = RawCriterion | RawExtend | RawCriteria;

export interface RawDefinition {
  id: string;
  cls: string;
  line: number;
  metadata: XmlElement | undefined;
  criteria: RawCriteria | null;
}
export interface RawTest {
  type: string;
  comment: string | null;
  check: string;
  checkExistence: string;
  objectRef: string | null;
  stateRefs: string[];
}
export interface RawObject {
  name: string | null;
  varRef: string | null;
  /** The `<name>` element's operation attribute; null when absent (equals). */
  nameOperation: string | null;
}

const OPERATORS: readonly OvalOperator[] = ['AND', 'OR', 'ONE', 'XOR'];
const OPERATIONS: readonly OvalStateOperation[] = [
  'equals',
  'not equal',
  'less than',
  'less than or equal',
  'greater than',
  'greater than or equal',
  'pattern match',
];

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
      if (c.name === 'extend_definition')
        return [{ kind: 'extend', negate: bool(c.attrs.negate), definition: c.attrs.definition_ref ?? '', comment: c.attrs.comment ?? null }];
      return [];
    }),
  };
}

export interface Tables {
  /** Every definition's criteria, for extend_definition. */
  definitions: Map<string, RawCriteria | null>;
  tests: Map<string, RawTest>;
  objects: Map<string, RawObject>;
  states: Map<string, OvalState[]>;
  variables: Map<string, string[]>;
}

function readState(el: XmlElement): OvalState[] {
  return el.children.map((f) => {
    const op = (f.attrs.operation ?? 'equals') as OvalStateOperation;
    return { field: f.name, datatype: f.attrs.datatype ?? null, operation: OPERATIONS.includes(op) ? op : ('equals' as const), value: f.text };
  });
}

/** The whole document as raw definitions (in document order) and the tables they refer to. */
export interface OvalDocument {
  definitions: RawDefinition[];
  tables: Tables;
}

/**
 * Reads one OVAL definitions document; `generator` is told the generator's product name when
 * it is read (before any definition is resolved).
 * @example const { definitions, tables } = await readOval(bytes, { source: 'my-oval', name: f, warn }, () => {})
 */
export async function readOval(input: AsyncIterable<Uint8Array>, opts: ParseOptions, generator: (productName: string | null) => void): Promise<OvalDocument> {
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
      if (path[0] !== 'oval_definitions')
        throw new BulwarkError('input.invalid', `${opts.name}: not an OVAL definitions document (root element <${path[0] ?? ''}>)`, { file: opts.name });
      rootChecked = true;
    }
    const section = path[1];
    const rid = el.attrs.id;
    if (section === 'generator') {
      generator(childText(el, 'product_name'));
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
      tables.objects.set(rid, {
        name: n === undefined || n.attrs.var_ref !== undefined ? null : n.text.trim(),
        varRef: n?.attrs.var_ref ?? null,
        nameOperation: n?.attrs.operation ?? null,
      });
    } else if (section === 'states') {
      tables.states.set(rid, readState(el));
    } else if (section === 'variables') {
      tables.variables.set(
        rid,
        childrenNamed(el, 'value').map((v) => v.text.trim()),
      );
    }
  }
  if (!rootChecked)
    throw new BulwarkError('input.invalid', `${opts.name}: not an OVAL definitions document (no definitions, tests, objects or states)`, { file: opts.name });
  return { definitions: defs, tables };
}
