import { isMap, isScalar, isSeq, Lexer, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { BulwarkError } from '../core/errors.js';
import { editDistance } from '../core/edit-distance.js';
import { Policy } from './schema.js';

/**
 * Reads a policy from YAML text. Errors name the file, line and column and the field:
 * `policy.yaml:12:5: rollout.rings[0].percent: Too big: expected number to be <=100`.
 * YAML aliases are limited (no billion-laughs) and only plain data is accepted (no custom tags).
 *
 * @example parsePolicy(readFileSync('prod.yaml', 'utf8'), 'prod.yaml')
 */
export function parsePolicy(text: string, file = '<policy>'): Policy {
  return parseYamlWith(Policy, text, file);
}

/**
 * Reads any declarative YAML file (policies, content views) against a zod schema, with the same
 * limits and the same `file:line:col: field: message` errors.
 */
export function parseYamlWith<T>(schema: z.ZodType<T>, text: string, file: string): T {
  const lines = new LineCounter();
  const where = (offset: number | undefined): string => {
    if (offset === undefined) return file;
    const p = lines.linePos(offset);
    return `${file}:${String(p.line)}:${String(p.col)}`;
  };
  const doc = parseYamlDocument(text, file, 'config.invalid', lines);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new BulwarkError('config.invalid', `${file}: ${(err as Error).message}`, { file });
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  // Every problem at once, in file order, each with its line (issue #17, item 4).
  const problems = describeIssues(schema, r.error.issues).map((p) => ({ ...p, offset: nodeOffset(doc, p.path) }));
  problems.sort((a, b) => (a.offset ?? -1) - (b.offset ?? -1));
  const shown = problems.map((p) => `${where(p.offset)}: ${p.field === '' ? '' : `${p.field}: `}${p.message}`);
  throw new BulwarkError('config.invalid', shown.length > 0 ? shown.join('\n') : `${file}: invalid`, { file, field: problems[0]?.field ?? '' });
}

type Problem = { path: readonly PropertyKey[]; field: string; message: string };

/**
 * zod's issues as one problem each. An unknown key is named on its own line with the known key
 * it is closest to (`deadlinehours`: did you mean `deadlineHours`?), and the required key it was
 * meant as is then not also reported missing.
 */
function describeIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): Problem[] {
  const fieldOf = (path: readonly PropertyKey[]): string =>
    path
      .map((k) => (typeof k === 'number' ? `[${String(k)}]` : `.${String(k)}`))
      .join('')
      .replace(/^\./, '');
  const out: Problem[] = [];
  const meant = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = objectKeys(schemaAt(schema, issue.path));
    for (const key of issue.keys) {
      const guess = closestKey(key, known);
      const path = [...issue.path, key];
      if (guess !== null) meant.add(fieldOf([...issue.path, guess]));
      out.push({ path, field: fieldOf(path), message: `Unrecognized key: "${key}"${guess === null ? '' : ` (did you mean "${guess}"?)`}` });
    }
  }
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const field = fieldOf(issue.path);
    if (issue.code === 'invalid_type' && meant.has(field)) continue;
    out.push({ path: issue.path, field, message: issue.message });
  }
  return out;
}

/** The known key a mistyped one was meant as: the same but for case, or one or two characters off. */
function closestKey(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k, 3);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** The schema of the value at `path` inside `schema` (through arrays, records and defaults), if it can be followed. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    if (s === undefined) return undefined;
    const def = s._zod.def as { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType };
    if (def.type === 'object' && typeof key === 'string') s = def.shape?.[key];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return undefined;
    s = s === undefined ? undefined : unwrap(s);
  }
  return s;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType !== undefined) s = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) s = def.in;
    else return s;
  }
}

function objectKeys(schema: z.ZodType | undefined): string[] {
  const def = schema?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape !== undefined ? Object.keys(def.shape) : [];
}

/** The offset of the YAML node at `path` (or its nearest parent), for a line number. */
function nodeOffset(doc: Document, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = doc.contents?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (pair === undefined) break;
      node = pair.value;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else break;
  }
  return offset;
}

/**
 * Where a field of a YAML file is, as `file:line:col` (for errors found after parsing, such as
 * a ring naming a host the store does not know).
 * @example yamlPosition(text, 'prod.yaml', ['rollout', 'rings', 0, 'hosts', 0]) // 'prod.yaml:38:29'
 */
export function yamlPosition(text: string, file: string, path: readonly PropertyKey[]): string {
  const lines = new LineCounter();
  // The text was parsed and checked already (parseYamlWith); yaml's own uniqueKeys check is
  // quadratic (a 90,000-key mapping held the server for 100 s), so it is not asked for again.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, customTags: [] });
  const offset = nodeOffset(doc, path);
  if (offset === undefined) return file;
  const p = lines.linePos(offset);
  return `${file}:${String(p.line)}:${String(p.col)}`;
}

/**
 * Parses YAML text with the limits every YAML reader here shares, or throws `code` naming the
 * file and line: size, depth and aliases capped before parsing (assertShallow), plain data only,
 * keys unique in each mapping. Keys are checked here, once per key with a set: the yaml package's
 * own check (uniqueKeys) compares each key with every key before it, and one mapping of 90,000
 * keys (890 KB, under the size cap) held the event loop for 100 s — every request to the server
 * waited.
 * @example parseYamlDocument('a: 1\n', 'x.yaml', 'config.invalid').toJS() // { a: 1 }
 */
export function parseYamlDocument(text: string, file: string, code: 'config.invalid' | 'input.invalid', lines = new LineCounter()): Document.Parsed {
  assertShallow(text, file, code);
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, customTags: [] });
  const where = (offset: number | undefined): string => {
    if (offset === undefined) return file;
    const p = lines.linePos(offset);
    return `${file}:${String(p.line)}:${String(p.col)}`;
  };
  const first = doc.errors[0];
  if (first !== undefined) throw new BulwarkError(code, `${where(first.pos[0])}: ${first.message.split('\n')[0] ?? 'invalid YAML'}`, { file });
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        // As yaml's uniqueKeys: scalar keys by value; a collection as a key is never equal to another.
        if (!isScalar(pair.key)) continue;
        const key: unknown = pair.key.value;
        if (seen.has(key)) throw new BulwarkError(code, `${where(pair.key.range?.[0])}: Map keys must be unique`, { file });
        seen.add(key);
      }
    },
  });
  return doc;
}

/** The most bytes of a declarative YAML file (a policy of a thousand rules is under 100 KB). */
export const MAX_YAML_BYTES = 1024 * 1024;
/** The deepest nesting taken (a real policy nests under ten levels). */
export const MAX_YAML_DEPTH = 64;
/**
 * The most aliases (`*name`) taken: the yaml package finds each alias's anchor by walking the
 * document, so 20,000 aliases over 60,000 anchors (1 MB) took 58 s of one CPU. Policies and
 * content views use a few, if any; toJS separately limits how far aliases expand (billion laughs).
 */
export const MAX_YAML_ALIASES = 100;

/**
 * Refuses a YAML text too large or nested too deep before the parser sees it: the yaml
 * package's parser recurses per level, and 5,000 nested `[` (10 KB) ran V8 out of memory and
 * killed the process (issue #20, item 3) — no try/catch can answer that. yaml's Lexer is flat
 * (no recursion, linear) and tells quoted text from indicators exactly, so the depth counted
 * from its tokens is the depth the parser would build:
 * - flow collections: each `[` or `{` opens a level until its `]` or `}`;
 * - block collections: each `-`, `?` or `:` indicator on a line (outside flow) may open a level (`- - - x`
 *   is three sequences), and indentation is bounded by the levels it can hold, so a line's
 *   indentation (counted as levels at one space each, the most YAML allows) plus its
 *   indicators bounds the block depth from above.
 * Counting from above can refuse a legal but absurd file; it never lets a deep one through.
 * Every YAML reader calls it (Azure Linux image configs too, whose errors are `input.invalid`).
 */
export function assertShallow(text: string, file: string, code: 'config.invalid' | 'input.invalid' = 'config.invalid'): void {
  if (Buffer.byteLength(text, 'utf8') > MAX_YAML_BYTES)
    throw new BulwarkError(code, `${file}: the file is larger than ${String(MAX_YAML_BYTES)} bytes`, { file });
  let flow = 0;
  let indent = 0;
  let indicators = 0;
  let atLineStart = true;
  let line = 1;
  let prev = '';
  let aliases = 0;
  const tooDeep = (): never => {
    throw new BulwarkError(code, `${file}:${String(line)}: nested deeper than ${String(MAX_YAML_DEPTH)} levels`, { file });
  };
  for (const tok of new Lexer().lex(text)) {
    // A plain scalar's text follows the scalar marker \x1f: "-" or "[" there is text, not syntax.
    const isScalar = prev === '\x1f';
    prev = tok;
    if (isScalar) {
      line += (tok.match(/\n/g) ?? []).length;
      continue;
    }
    if (tok === '\n' || tok === '\r\n') {
      line++;
      atLineStart = true;
      indent = 0;
      indicators = 0;
      continue;
    }
    if (atLineStart && /^[ \t]+$/.test(tok)) {
      indent = tok.length;
      atLineStart = false;
      continue;
    }
    atLineStart = false;
    if (tok === '[' || tok === '{') flow++;
    else if (tok === ']' || tok === '}') flow = Math.max(0, flow - 1);
    // Inside [ ] and { } a ":" or "?" separates, it does not nest (a one-line map of many keys).
    else if (flow === 0 && (tok === '-' || tok === '?' || tok === ':')) indicators++;
    // The lexer gives an alias as one token starting with * (quoted text starts with its quote).
    else if (tok.startsWith('*')) {
      if (++aliases > MAX_YAML_ALIASES) throw new BulwarkError(code, `${file}:${String(line)}: more than ${String(MAX_YAML_ALIASES)} aliases`, { file });
    } else line += (tok.match(/\n/g) ?? []).length;
    if (flow + indicators > MAX_YAML_DEPTH || flow + indicators + indent > 2 * MAX_YAML_DEPTH) tooDeep();
  }
}

/** The JSON Schema of a policy file, for editors (`bulwark policy schema`). */
export function policyJsonSchema(): unknown {
  return { ...z.toJSONSchema(Policy, { io: 'input' }), $id: 'https://bulwark.dev/schemas/policy-v1.json', title: 'Bulwark patch policy' };
}
