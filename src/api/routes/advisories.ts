import { z } from 'zod';
import { searchAdvisories, showAdvisory } from '../../services/advisories.js';
import { cveSignals } from '../../services/signals.js';
import { needFound, route, type Route } from './route.js';

/** Stored advisories: searched, and one with its change history. */
export const ADVISORY_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/advisories',
    access: 'viewer',
    tag: 'advisories',
    summary: 'Search advisories by CVE, package, release or source',
    query: z.object({
      cve: z.string().optional(),
      package: z.string().optional(),
      release: z.string().optional(),
      source: z.string().optional(),
      withdrawn: z.enum(['true', 'false']).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    handle: async ({ db, query }) => ({ items: await searchAdvisories(db, { ...query, withdrawn: query.withdrawn === 'true' }) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/advisories/:source/:id',
    access: 'viewer',
    tag: 'advisories',
    summary: 'One advisory with its change history',
    handle: async ({ db, params }) => needFound(await showAdvisory(db, params.source, params.id), `advisory ${params.id} in ${params.source}`),
  }),
  route({
    method: 'get',
    path: '/api/v1/signals/:cve',
    access: 'viewer',
    tag: 'advisories',
    summary: "One CVE's exploitation signals: its CISA KEV entry (dateAdded, dueDate, ransomware use), its FIRST EPSS score and its EPSS trend",
    handle: async ({ db, params }) => needFound(await cveSignals(db, params.cve), `exploitation signals for ${params.cve}`),
  }),
];
