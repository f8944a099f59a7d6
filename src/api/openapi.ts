import { z } from 'zod';
import type { Route } from './routes/index.js';

/**
 * The OpenAPI 3.1 document, generated from the route table (so it cannot drift from the
 * routes): paths with their parameters, query and body schemas (zod → JSON Schema), the bearer
 * security scheme, and each route's role as `x-bulwark-role`.
 */
const ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
    },
  },
};

/** A schema as the OpenAPI document states it (the request checks read the same: middleware/body.ts strictQuery). */
export function jsonSchema(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}

export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: Record<string, unknown>[] = [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (r.query !== undefined) {
      const q = jsonSchema(r.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {}))
        parameters.push({
          name,
          in: 'query',
          required: q.required?.includes(name) ?? false,
          schema,
          ...(r.adminQuery?.includes(name) === true ? { 'x-bulwark-role': 'admin' } : {}),
        });
    }
    const op: Record<string, unknown> = {
      operationId: `${r.method}${r.path.replace(/^\/api\/v1/, '').replace(/[/:{}-]+([a-z])?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: r.summary,
      tags: [r.tag],
      'x-bulwark-role': r.access,
      // Agent routes take an enrolled agent's signature, never a token.
      security: r.access === 'public' ? [] : r.access === 'agent' ? [{ agentSignature: [] }] : [{ bearer: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      responses: {
        [String(r.status ?? 200)]: { description: 'success', content: { 'application/json': { schema: {} } } },
        ...(r.access === 'public'
          ? {}
          : r.access === 'agent'
            ? { '401': { description: 'no valid agent signature', content: { 'application/json': { schema: ERROR } } } }
            : {
                '401': { description: 'no valid token', content: { 'application/json': { schema: ERROR } } },
                '403': { description: `needs the ${r.access} role`, content: { 'application/json': { schema: ERROR } } },
              }),
        '400': { description: 'invalid input', content: { 'application/json': { schema: ERROR } } },
      },
    };
    if (r.body !== undefined)
      op['requestBody'] = { required: !r.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } };
    if (r.textBody === true) op['requestBody'] = { required: true, content: { 'application/yaml': { schema: { type: 'string' } } } };
    paths[path] = { ...(paths[path] ?? {}), [r.method]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bulwark API',
      version,
      description:
        'Patch and vulnerability lifecycle management. Routes under /api/v1 take a bearer token (an API token) or a session, except health, login and this document; agent routes (/agent/v1) take the signature of an enrolled agent, and its script and enrollment none. Each route names its least role (viewer < operator < admin) in x-bulwark-role.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token: bwk_<id>_<secret> (bulwark tokens create)' },
        agentSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'x-bulwark-signature',
          description:
            "An enrolled agent's HMAC-SHA256 of the request (with its x-bulwark-agent, x-bulwark-timestamp and x-bulwark-nonce headers), made with the key it got at enrollment; tokens are refused here",
        },
      },
    },
    paths,
  };
}
