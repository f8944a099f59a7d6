import { z } from 'zod';
import { auditLog } from '../../services/audit.js';
import { route, type Route } from './route.js';

/** The append-only audit log (the services write it; this only reads). */
export const AUDIT_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/audit',
    access: 'operator',
    tag: 'audit',
    summary: 'The append-only audit log, newest first',
    query: z.object({ subject: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    handle: async ({ db, query }) => ({ items: await auditLog(db, query) }),
  }),
];
