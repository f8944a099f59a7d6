import { z } from 'zod';
import { fleetOverview } from '../../services/overview.js';
import { RISK_SORTS } from '../../core/risk.js';
import { pooledJson } from '../../services/read-pool.js';
import { writeReport } from '../../services/report-write.js';
import { acceptRisk, unacceptRisk } from '../../services/risk-acceptance.js';
import { csv, findingStatus, isoTime, page, Raw, route, severity, type Route } from './route.js';

type Status = (typeof findingStatus)[number];

const names = z.array(z.string().min(1).max(255)).max(10_000).optional();
/** Which findings an acceptance names: hosts or tags, and advisories or CVEs, optionally packages. */
const selection = z.strictObject({
  hosts: names,
  tags: names,
  advisories: names,
  cves: names,
  packages: names,
});

/**
 * A byte stream of what `produce` writes, pulled by the reader: `produce` waits while the reader
 * has enough queued, and stops (its next write throws) when the reader goes away.
 */
function textStream(produce: (sink: (s: string | Uint8Array) => Promise<void>) => Promise<unknown>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let wake: (() => void) | null = null;
  const state = { cancelled: false };
  const gone = (): boolean => state.cancelled;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const sink = async (s: string | Uint8Array): Promise<void> => {
          if (state.cancelled) throw new Error('the client went away');
          // A chunk of bytes is the writer's to give away (never written again): queued as it is.
          controller.enqueue(typeof s === 'string' ? encoder.encode(s) : s);
          while ((controller.desiredSize ?? 1) <= 0 && !gone()) await new Promise<void>((resolve) => (wake = resolve));
        };
        produce(sink).then(
          () => {
            if (!state.cancelled) controller.close();
          },
          (err: unknown) => {
            if (!state.cancelled) controller.error(err);
          },
        );
      },
      pull() {
        wake?.();
        wake = null;
      },
      cancel() {
        state.cancelled = true;
        wake?.();
        wake = null;
      },
    },
    { highWaterMark: 4 },
  );
}

/** The fleet at a glance, findings paged by the database, and reports. */
export const FINDING_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/overview',
    access: 'viewer',
    tag: 'findings',
    summary: 'The fleet at a glance: hosts by release and support state, open exposure by severity and release, open findings per day',
    query: z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }),
    handle: ({ db, query }) => fleetOverview(db, { days: query.days }),
  }),
  route({
    method: 'get',
    path: '/api/v1/findings',
    access: 'viewer',
    tag: 'findings',
    summary:
      'Findings (default: open, no-fix and mitigated), filtered, sorted and paged; each with its risk (score and reason from severity, CVSS, EPSS and KEV); sort=risk|epss|kev orders by it',
    query: page.extend({
      host: z.string().optional(),
      severity: severity.optional(),
      cve: z.string().optional(),
      status: csv(findingStatus).optional(),
      kev: z.enum(['true', 'false']).optional(),
      epssAbove: z.coerce.number().min(0).max(1).optional(),
    }),
    // Paged by the database: a fleet of 10,000 hosts has hundreds of thousands of findings.
    // On SQLite, answered by a read worker (services/read-pool.ts): the server's thread stays free.
    handle: async ({ db, query }) =>
      new Raw(
        await pooledJson(db, 'findingsPage', [
          {
            hosts: query.host === undefined ? undefined : [query.host],
            minSeverity: query.severity,
            cve: query.cve,
            status: query.status as Status[] | undefined,
            kev: query.kev === 'true',
            epssAbove: query.epssAbove,
          },
          { limit: query.limit, offset: query.offset, sort: query.sort },
        ]),
        'application/json',
      ),
  }),
  route({
    method: 'get',
    path: '/api/v1/reports/findings',
    access: 'viewer',
    tag: 'findings',
    summary: 'A findings report as JSON, CSV, CycloneDX VEX or HTML',
    query: z.object({
      format: z.enum(['json', 'csv', 'cyclonedx-vex', 'html']).default('json'),
      host: z.string().optional(),
      severity: severity.optional(),
      status: csv(findingStatus).optional(),
      sort: z.enum(RISK_SORTS).default('severity'),
      kev: z.enum(['true', 'false']).optional(),
      epssAbove: z.coerce.number().min(0).max(1).optional(),
    }),
    handle: ({ db, query }) => {
      const type = {
        json: 'application/json',
        csv: 'text/csv; charset=utf-8',
        'cyclonedx-vex': 'application/vnd.cyclonedx+json',
        html: 'text/html; charset=utf-8',
      }[query.format];
      // Streamed as it is written (issue #14): the server never holds the fleet's findings.
      const body = textStream((sink) =>
        writeReport(
          db,
          {
            hosts: query.host === undefined ? undefined : [query.host],
            minSeverity: query.severity,
            status: query.status as Status[] | undefined,
            sort: query.sort,
            kev: query.kev === 'true',
            epssAbove: query.epssAbove,
          },
          query.format,
          sink,
        ),
      );
      return Promise.resolve(new Raw(body, type));
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/findings/accept',
    access: 'operator',
    tag: 'findings',
    summary:
      'Accept the risk of findings (open, no-fix, or accepted: renewed) chosen by hosts or tags and advisories or CVEs (optionally packages), with a reason and an optional expiry (a date: its end, UTC)',
    body: selection.extend({ reason: z.string().min(1).max(1024), until: isoTime.optional() }),
    handle: ({ db, body, actor }) => acceptRisk(db, { ...body, until: body.until ?? null, actor }),
  }),
  route({
    method: 'post',
    path: '/api/v1/findings/unaccept',
    access: 'operator',
    tag: 'findings',
    summary: 'Revoke the acceptance of findings chosen as for accept: they are open (or no-fix) again and go back into plans',
    body: selection.extend({ reason: z.string().max(1024).optional() }),
    handle: ({ db, body, actor }) => unacceptRisk(db, { ...body, actor }),
  }),
];
