import { z } from 'zod';
import { complianceReport } from '../../services/compliance.js';
import { listProfiles } from '../../services/compliance-profiles.js';
import { complianceCsv, complianceHtml } from '../../services/compliance-render.js';
import { hostEvidence } from '../../services/evidence.js';
import { isoTime, name, Raw, route, type Route } from './route.js';

const DAY = 86_400_000;

/** A bare date as `to` includes that day. */
function periodOf(q: { from?: string | undefined; to?: string | undefined }): { from: Date; to: Date } {
  const to = q.to === undefined ? new Date() : /^\d{4}-\d{2}-\d{2}$/.test(q.to) ? new Date(Date.parse(`${q.to}T00:00:00Z`) + DAY) : new Date(q.to);
  return { from: q.from === undefined ? new Date(to.getTime() - 365 * DAY) : new Date(q.from), to };
}

/** Compliance reports for auditors (issue #18 item 3): the same data as `bulwark compliance`. */
export const COMPLIANCE_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/compliance/report',
    access: 'viewer',
    tag: 'compliance',
    summary: 'SLA attainment per severity (and KEV), policy, release and month, with exceptions; JSON, or CSV or HTML with `format`',
    query: z.object({
      deadlines: name.default('fedramp'),
      from: isoTime.optional(),
      to: isoTime.optional(),
      format: z.enum(['json', 'csv', 'html']).default('json'),
    }),
    handle: async ({ db, query }) => {
      const r = await complianceReport(db, { deadlines: query.deadlines, ...periodOf(query) });
      if (query.format === 'csv') return new Raw(complianceCsv(r), 'text/csv; charset=utf-8');
      if (query.format === 'html') return new Raw(complianceHtml(r), 'text/html; charset=utf-8');
      return r;
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/compliance/evidence',
    access: 'viewer',
    tag: 'compliance',
    summary: 'For a host and period: every run that touched it, the packages and versions changed, who approved, the findings it closed',
    query: z.object({ host: z.string().min(1).max(255), from: isoTime.optional(), to: isoTime.optional() }),
    handle: ({ db, query }) => hostEvidence(db, { host: query.host, ...periodOf(query) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/compliance/profiles',
    access: 'viewer',
    tag: 'compliance',
    summary: "Deadline profiles: the built-in FedRAMP and PCI DSS ones (as edited) and the operators' own",
    handle: async ({ db }) => ({ items: await listProfiles(db) }),
  }),
];
