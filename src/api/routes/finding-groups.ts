import { z } from 'zod';
import { FINDING_GROUP_SORTS, type FindingGroupSort } from '../../services/finding-groups.js';
import { pooledJson } from '../../services/read-pool.js';
import { csv, findingStatus, Raw, route, severity, type Route } from './route.js';

type Status = (typeof findingStatus)[number];
const SORTS = FINDING_GROUP_SORTS.flatMap((s) => [s, `-${s}`]) as [`${'' | '-'}${FindingGroupSort}`, ...`${'' | '-'}${FindingGroupSort}`[]];

/** Findings folded by advisory or source package (issue #17), for the console and shared links. */
export const FINDING_GROUP_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/findings/groups',
    access: 'viewer',
    tag: 'findings',
    summary:
      'Findings folded by advisory (by=advisory) or by source package (by=source), each with its worst severity, hosts and findings counted and the binaries and hosts under it; filtered (host, tag, release, status, severity, cve, text, and risk: kev=true for known exploited, epssAbove), sorted and paged by the database',
    query: z.object({
      by: z.enum(['advisory', 'source']).default('advisory'),
      host: z.string().min(1).optional(),
      tag: z.string().min(1).optional(),
      release: z.string().min(1).optional(),
      status: csv(findingStatus).optional(),
      severity: severity.optional(),
      cve: z.string().min(1).optional(),
      text: z.string().max(200).optional(),
      kev: z.enum(['true', 'false']).optional(),
      epssAbove: z.coerce.number().min(0).max(1).optional(),
      sort: z.enum(SORTS).default('-severity'),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).default(0),
    }),
    // On SQLite, answered by a read worker (services/read-pool.ts): the server's thread stays free.
    handle: async ({ db, query }) =>
      new Raw(
        await pooledJson(db, 'findingGroupsPage', [
          query.by,
          {
            ...(query.host !== undefined ? { host: query.host } : {}),
            ...(query.tag !== undefined ? { tag: query.tag } : {}),
            ...(query.release !== undefined ? { release: query.release } : {}),
            status: (query.status as Status[] | undefined) ?? ['open', 'no-fix', 'mitigated'],
            ...(query.severity !== undefined ? { minSeverity: query.severity } : {}),
            ...(query.cve !== undefined ? { cve: query.cve } : {}),
            ...(query.text !== undefined && query.text.trim() !== '' ? { text: query.text.trim() } : {}),
            ...(query.kev === 'true' ? { kev: true } : {}),
            ...(query.epssAbove !== undefined ? { epssAbove: query.epssAbove } : {}),
          },
          { limit: query.limit, offset: query.offset, sort: query.sort },
        ]),
        'application/json',
      ),
  }),
];
