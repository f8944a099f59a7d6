import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import { errorJson } from '../errors.js';
import { AGENT_BODY_LIMIT, API_BODY_LIMIT, type Route } from '../routes/route.js';

/**
 * Bodies are limited before they are read: by Content-Length at once, else while streamed. Each
 * route reads its body only after its credential and role are checked: an /api-wide limit in
 * front read a chunked body of up to 2 MB from anyone before the token was looked at (issue #20,
 * item 13).
 */
export function routeBodyLimit(r: Route): MiddlewareHandler {
  const maxSize = r.maxBody ?? (r.path.startsWith('/api/') ? API_BODY_LIMIT : AGENT_BODY_LIMIT);
  return bodyLimit({ maxSize, onError: (c) => errorJson(c, 'input.too-large', `the request body is larger than ${String(maxSize)} bytes`) });
}

/** A route's body: YAML or plain text as it came, or JSON parsed and checked against the route's schema. */
export async function readBody(r: Route, c: Context): Promise<unknown> {
  if (r.textBody === true) return noNul(await c.req.text());
  if (r.body === undefined) return undefined;
  const text = await c.req.text();
  let json: unknown = undefined;
  if (text.trim() !== '') {
    if (!/^application\/json\b/.test(c.req.header('content-type') ?? ''))
      throw new BulwarkError('input.invalid', 'the body must be JSON (Content-Type: application/json)');
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      throw new BulwarkError('input.invalid', 'the body is not valid JSON');
    }
  }
  return parse(r.body, noNulIn(json), 'body');
}

/** A text body without NUL (a 400 at the edge; PostgreSQL cannot store one). */
export function noNul(text: string): string {
  if (text.includes('\0')) throw new BulwarkError('input.invalid', 'the body holds a NUL byte');
  return text;
}

/** A JSON body none of whose strings (keys or values, at any depth) holds NUL: `"a\u0000b"`. */
function noNulIn(value: unknown): unknown {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') noNul(v);
    else if (Array.isArray(v)) for (const x of v as unknown[]) stack.push(x);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        noNul(k);
        stack.push(x);
      }
    }
  }
  return value;
}

/** Strict validation of a query or a body: every issue named with its place (`query.severity`). */
export function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (schema === undefined) return undefined;
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
    throw new BulwarkError('input.invalid', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
  }
  return r.data;
}
