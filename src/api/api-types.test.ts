import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { API_TYPES_FILE, apiTypes } from '../../scripts/gen-api-types.js';

/** The console's API types are generated from the OpenAPI document: a route changed without regenerating them fails here. */
it('web/src/api-types.ts is what scripts/gen-api-types.ts writes from the current OpenAPI document (run it to update)', async () => {
  expect(readFileSync(API_TYPES_FILE, 'utf8')).toBe(await apiTypes());
}, 60_000);
