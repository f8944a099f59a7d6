import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { BulwarkError } from '../core/errors.js';
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
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, customTags: [] });
  const where = (offset: number | undefined): string => {
    if (offset === undefined) return file;
    const p = lines.linePos(offset);
    return `${file}:${String(p.line)}:${String(p.col)}`;
  };
  const first = doc.errors[0];
  if (first !== undefined) throw new BulwarkError('config.invalid', `${where(first.pos[0])}: ${first.message.split('\n')[0] ?? 'invalid YAML'}`, { file });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new BulwarkError('config.invalid', `${file}: ${(err as Error).message}`, { file });
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path ?? [];
  // Find the YAML node of the failing field (or its nearest parent) for the line number.
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as Node | null)?.range?.[0];
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
  const field = path.map((k) => (typeof k === 'number' ? `[${String(k)}]` : `.${String(k)}`)).join('').replace(/^\./, '');
  throw new BulwarkError('config.invalid', `${where(offset)}: ${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid'}`, { file, field });
}

/** The JSON Schema of a policy file, for editors (`bulwark policy schema`). */
export function policyJsonSchema(): unknown {
  return { ...z.toJSONSchema(Policy, { io: 'input' }), $id: 'https://bulwark.dev/schemas/policy-v1.json', title: 'Bulwark patch policy' };
}
