import { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import { errorJson } from '../errors.js';
import { jsonSchema } from '../openapi.js';
import { AGENT_BODY_LIMIT, API_BODY_LIMIT, type Route } from '../routes/route.js';

/**
 * Bodies are limited before they are read: by Content-Length at once, else while streamed. Each
 * route reads its body only after its credential and role are checked: an /api-wide limit in
 * front read a chunked body of up to 2 MB from anyone before the token was looked at (issue #20,
 * item 13). A body without Content-Length is read here, within the limit, and kept for the route
 * (bodyBytes): not put back into a new Request to be streamed a second time (issue #14).
 */
export function routeBodyLimit(r: Route): MiddlewareHandler {
  const maxSize = r.maxBody ?? (r.path.startsWith('/api/') ? API_BODY_LIMIT : AGENT_BODY_LIMIT);
  const tooLarge = (c: Context): Response => errorJson(c, 'input.too-large', `the request body is larger than ${String(maxSize)} bytes`);
  return async (c, next) => {
    // Under `bulwark serve`, what the headers say, without making the web Request (nodeBody).
    if (nodeBody(c) !== null) {
      const length = c.req.header('content-length');
      if (length !== undefined) return parseInt(length, 10) > maxSize ? tooLarge(c) : next();
    }
    const raw = c.req.raw;
    if (raw.body === null) return next();
    const length = raw.headers.get('content-length');
    if (length !== null && !raw.headers.has('transfer-encoding')) return parseInt(length, 10) > maxSize ? tooLarge(c) : next();
    let size = 0;
    let buffer = new Uint8Array(0);
    const reader = (raw.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const offset = size;
      size += value.length;
      if (size > maxSize) return tooLarge(c);
      if (size > buffer.length) {
        const grown = new Uint8Array(Math.min(maxSize, Math.max(size, buffer.length * 2)));
        grown.set(buffer.subarray(0, offset));
        buffer = grown;
      }
      buffer.set(value, offset);
    }
    readBodies.set(raw, buffer.subarray(0, size));
    return next();
  };
}

/** Bodies the limit read (no Content-Length), by request. */
const readBodies = new WeakMap<Request, Uint8Array>();

/**
 * Under `bulwark serve` (@hono/node-server), the Node request of a body of Content-Length bytes
 * nobody has read yet: read from it, the body comes in Node's own buffers, without the web
 * Request and the web stream the server would otherwise make for it (a fifth of an agent
 * report's time in the server, issue #14). Node's parser gives exactly Content-Length bytes,
 * which routeBodyLimit checked. Null otherwise (a chunked body, app.request, HTTP/2): read as before.
 */
function nodeBody(c: Context): IncomingMessage | null {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (!(incoming instanceof IncomingMessage) || incoming.headers['content-length'] === undefined || incoming.headers['transfer-encoding'] !== undefined)
    return null;
  // Untouched: no web Request has begun to read it.
  return incoming.readableDidRead || incoming.readableFlowing !== null ? null : incoming;
}

async function readNodeBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/** A request's body as bytes: as the limit read it, else read now (once). */
export async function bodyBytes(c: Context): Promise<Buffer> {
  const kept = readBodies.get(c.req.raw);
  if (kept !== undefined) return Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength);
  const incoming = nodeBody(c);
  if (incoming === null) return Buffer.from(await c.req.arrayBuffer());
  const read = await readNodeBody(incoming);
  readBodies.set(c.req.raw, read);
  return read;
}

/** A request's body as text, decoded as Request.text() decodes it (UTF-8, a leading BOM dropped, bad bytes replaced). */
const bodyText = async (c: Context): Promise<string> => (readBodies.has(c.req.raw) || nodeBody(c) !== null ? utf8.decode(await bodyBytes(c)) : c.req.text());
const utf8 = new TextDecoder('utf-8');

/** A route's body: YAML or plain text as it came, or JSON parsed and checked against the route's schema. */
export async function readBody(r: Route, c: Context): Promise<unknown> {
  if (r.textBody === true) return noNul(await bodyText(c));
  if (r.body === undefined) return undefined;
  const text = await bodyText(c);
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

const queryKeys = new WeakMap<z.ZodType, ReadonlySet<string>>();

/**
 * A request's query parameters, each given once and each one the route takes: a misspelt filter
 * (`?sevrity=high`) answered every finding as if it had been asked for, and a parameter given
 * twice (`?status=open&status=fixed`) was read as its first value only.
 * @example strictQuery(route.query, c.req.queries(), 'GET /api/v1/findings')
 */
export function strictQuery(schema: z.ZodType | undefined, given: Record<string, string[]>, route: string): Record<string, string> {
  let known = schema === undefined ? new Set<string>() : queryKeys.get(schema);
  if (known === undefined) {
    const js = jsonSchema(schema as z.ZodType, 'input') as { properties?: Record<string, unknown> };
    known = new Set(Object.keys(js.properties ?? {}));
    queryKeys.set(schema as z.ZodType, known);
  }
  const out: Record<string, string> = {};
  for (const [k, values] of Object.entries(given)) {
    if (!known.has(k)) {
      const takes = known.size === 0 ? 'it takes none' : `it takes ${[...known].join(', ')}`;
      throw new BulwarkError('input.invalid', `query.${k}: ${route} has no such parameter (${takes})`, {
        issues: [{ path: `query.${k}`, message: 'no such parameter' }],
      });
    }
    if (values.length > 1)
      throw new BulwarkError(
        'input.invalid',
        `query.${k}: given ${String(values.length)} times; give it once (a list is comma-separated, e.g. status=open,fixed)`,
        {
          issues: [{ path: `query.${k}`, message: 'given more than once' }],
        },
      );
    out[k] = values[0] as string;
  }
  return out;
}
