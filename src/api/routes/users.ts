import { z } from 'zod';
import { listUsers, removeUser, setUser } from '../../services/sessions.js';
import { route, type Route } from './route.js';

/** People who log in to the console: listed, added or changed (role, password), disabled — as `bulwark users` does. */
export const USER_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/users',
    access: 'admin',
    tag: 'users',
    summary: 'Users of the console with their roles (never their password hashes)',
    handle: async ({ db }) => ({
      items: (await listUsers(db)).map((u) => ({ name: u.name, role: u.role, createdAt: u.createdAt, disabledAt: u.disabledAt })),
    }),
  }),
  route({
    method: 'put',
    path: '/api/v1/users/:name',
    access: 'admin',
    tag: 'users',
    summary: 'Add a user, or set an existing one’s role and password (at least 12 characters)',
    body: z.strictObject({ role: z.enum(['viewer', 'operator', 'admin']), password: z.string().min(12).max(1024) }),
    handle: async ({ db, params, body, actor }) => {
      await setUser(db, { name: params.name, role: body.role, password: body.password, actor });
      return { user: params.name, role: body.role };
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/users/:name',
    access: 'admin',
    tag: 'users',
    summary: 'Disable a user: their sessions end and they can no longer log in',
    handle: async ({ db, params, actor }) => {
      await removeUser(db, params.name, actor);
      return { disabled: params.name };
    },
  }),
];
