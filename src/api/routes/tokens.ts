import { z } from 'zod';
import { createToken, listTokens, revokeToken } from '../../services/tokens.js';
import { route, type Route } from './route.js';

/** API tokens: listed (never their secrets), created (the secret shown once), revoked. */
export const TOKEN_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/tokens',
    access: 'admin',
    tag: 'tokens',
    summary: 'API tokens (never their secrets)',
    handle: async ({ db }) => ({ items: await listTokens(db) }),
  }),
  route({
    method: 'post',
    path: '/api/v1/tokens',
    access: 'admin',
    tag: 'tokens',
    summary: 'Create a token; its secret is in this response only',
    status: 201,
    body: z.strictObject({
      name: z.string().min(1).max(64),
      role: z.enum(['viewer', 'operator', 'admin']),
      expiresInDays: z.number().int().min(1).max(3650).nullable().default(90),
    }),
    handle: async ({ db, body, actor }) => createToken(db, { ...body, actor }),
  }),
  route({
    method: 'delete',
    path: '/api/v1/tokens/:id',
    access: 'admin',
    tag: 'tokens',
    summary: 'Revoke a token',
    handle: async ({ db, params, actor }) => {
      await revokeToken(db, params.id, actor);
      return { revoked: params.id };
    },
  }),
];
