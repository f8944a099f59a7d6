import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { need, requires, tool } from '../../test/needs.js';
import { ADMIN_QUERY, mayCall } from '../../test/route-roles.js';
import { apiRoutes } from './app.js';
import { openApiDocument } from './openapi.js';

/**
 * The OpenAPI document checked by tools that did not make it (issue #13: the old test compared it
 * with the route table it was generated from):
 * - openapi-spec-validator (python-openapi), a real OpenAPI 3.1 validator: the official OAS 3.1
 *   schema plus the checks a schema cannot make (path parameters declared, operationIds unique).
 *   It is a Python package of this machine kind's image (python3 -m pip show openapi-spec-validator);
 * - every Schema Object against the JSON Schema 2020-12 meta-schema (OAS 3.1's default dialect), with
 *   ajv's own copy of the meta-schema: the OAS schema lets any object through as a schema;
 * - each operation's security requirement names a declared scheme (no schema can say that);
 * - each operation's x-bulwark-role is the role written by hand in test/route-roles.ts.
 */
const doc = openApiDocument(apiRoutes(), 'test') as {
  openapi: string;
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<
    string,
    Record<
      string,
      {
        'x-bulwark-role': string;
        security: Record<string, unknown>[];
        parameters?: { name: string; in: string; schema: unknown; 'x-bulwark-role'?: string }[];
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
      }
    >
  >;
};

// Prints one line per error (its place in the document, then the message); nothing when valid.
const VALIDATE = `
import json, sys
from openapi_spec_validator import OpenAPIV31SpecValidator
spec = json.load(open(sys.argv[1]))
for e in OpenAPIV31SpecValidator(spec).iter_errors():
    print('/'.join(str(p) for p in e.absolute_path) + ': ' + e.message.splitlines()[0])
`;

const validator = spawnSync('python3', ['-c', 'import openapi_spec_validator'], { encoding: 'utf8' });
const needs = requires(
  tool('python3'),
  need(
    'openapi-spec-validator (Python)',
    validator.status === 0 ? null : `python3 cannot import it (${validator.stderr.trim().split('\n').pop() ?? ''}); it is in the node-svc machine image`,
  ),
);

describe('the OpenAPI document, by an independent validator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-openapi-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const validate = (d: unknown, name: string): string[] => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(d));
    const r = spawnSync('python3', ['-c', VALIDATE, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openapi-spec-validator failed: ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l !== '');
  };

  needs.it('is a valid OpenAPI 3.1 document to openapi-spec-validator', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(validate(doc, 'openapi.json')).toEqual([]);
  });

  needs.it('and that validator is live: it refuses a copy with an undeclared path parameter and one with a duplicate operationId', () => {
    const broken = structuredClone(doc);
    const host = broken.paths['/api/v1/hosts/{name}']?.['get'];
    expect(host).toBeDefined();
    if (host !== undefined) delete host.parameters;
    expect(validate(broken, 'broken.json').join('\n')).toMatch(/Path parameter 'name' for 'get' operation in '\/api\/v1\/hosts\/\{name\}' was not resolved/);
    const twice = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { operationId: string }>> };
    const [a, b] = [twice.paths['/api/v1/hosts']?.['get'], twice.paths['/api/v1/hosts']?.['post']];
    if (a !== undefined && b !== undefined) b.operationId = a.operationId;
    expect(validate(twice, 'twice.json').join('\n')).toMatch(/Operation ID '\w+' for 'post' in '\/api\/v1\/hosts' is not unique/);
  });

  it('has every Schema Object valid against the JSON Schema 2020-12 meta-schema', () => {
    const ajv = new Ajv2020({ strict: false });
    // Live: a misspelt type is refused.
    expect(ajv.validateSchema({ type: 'strng' })).toBe(false);
    const bad: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const schemas: [string, unknown][] = [
          ...(op.parameters ?? []).map((p, i): [string, unknown] => [`parameters/${String(i)}`, p.schema]),
          ...Object.entries(op.requestBody?.content ?? {}).map(([type, c]): [string, unknown] => [`requestBody/${type}`, c.schema]),
          ...Object.entries(op.responses).flatMap(([status, r]) =>
            Object.entries(r.content ?? {}).map(([type, c]): [string, unknown] => [`responses/${status}/${type}`, c.schema]),
          ),
        ];
        for (const [where, schema] of schemas)
          if (!ajv.validateSchema(schema as object)) bad.push(`${method.toUpperCase()} ${path} ${where}: ${ajv.errorsText(ajv.errors)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('names only declared security schemes, asks for what each route takes, and has the role written by hand', () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    const rows: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`;
        for (const s of op.security)
          for (const name of Object.keys(s)) if (!schemes.includes(name)) rows.push(`${key}: security scheme ${name} is not declared`);
        const role = mayCall(key);
        if (op['x-bulwark-role'] !== role) rows.push(`${key}: x-bulwark-role ${op['x-bulwark-role']}, by hand ${String(role)}`);
        // Public routes take no credential, agent routes an agent's signature (never a token),
        // the others a bearer token (an API token or a session).
        const takes = role === 'public' ? [] : role === 'agent' ? [{ agentSignature: [] }] : [{ bearer: [] }];
        if (JSON.stringify(op.security) !== JSON.stringify(takes))
          rows.push(`${key}: security ${JSON.stringify(op.security)}, but ${String(role)} routes take ${JSON.stringify(takes)}`);
      }
    }
    expect(rows).toEqual([]);
  });

  it('marks exactly the query parameters written by hand as admin-only (x-bulwark-role on the parameter)', () => {
    const marked: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const p of op.parameters ?? [])
          if (p['x-bulwark-role'] !== undefined)
            marked.push(`${method.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}?${p.name} ${p.in} ${p['x-bulwark-role']}`);
    expect(marked.sort()).toEqual(ADMIN_QUERY.map((q) => `${q} query admin`).sort());
  });
});
