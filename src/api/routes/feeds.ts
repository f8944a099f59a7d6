import { isIP } from 'node:net';
import { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import { blockedAddress } from '../../lib/address.js';
import { feedAllowForApi, type FeedAllow } from '../../lib/feed-allow.js';
import { addSource, listSources, removeSource, syncSources } from '../../services/feeds.js';
import { name, route, type Route } from './route.js';

/**
 * A feed location added through the API: an https:// URL to a host that is not a loopback,
 * link-local or private address. Local files stay with the CLI (`bulwark feeds add`), run by
 * whoever owns them — through the API an admin token made the server read its own files (its
 * errors told which exist) or fetch from inside its network. A host in the operator's
 * BULWARK_FEED_ALLOW (a name, or an address in an allowed block) may be named as well when the
 * operator sets BULWARK_FEED_ALLOW_API=yes; the source is stored as added through the API, and
 * its downloads use the allow-list only under that same setting.
 */
export function apiFeedLocation(location: string, allow: FeedAllow = feedAllowForApi()): void {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    url = new URL('file:///');
  }
  if (url.protocol !== 'https:')
    throw new BulwarkError(
      'input.invalid',
      `body.location: through the API a feed's location is an https:// URL; a local file is added with the CLI (bulwark feeds add ID --location FILE)`,
    );
  // WHATWG URL has already written 2130706433, 0x7f.1 and the like as dotted quads.
  // A trailing dot names the same host (`localhost.` passed as a public name).
  const host = url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
    .replace(/\.$/, '');
  const ip = isIP(host);
  // Every address that is not public (lib/address.ts): a location that names one literally is
  // the one a download lets through as the operator's choice, so only the CLI may name one.
  // A host the operator allows in BULWARK_FEED_ALLOW may be named here too: the download judges
  // every hop by that list again, at connect time, on the addresses it resolves to.
  if (allow.names(host)) return;
  if (host === 'localhost' || host.endsWith('.localhost') || (ip !== 0 && blockedAddress(host) !== null))
    throw new BulwarkError(
      'input.invalid',
      `body.location: ${url.hostname} is a loopback, link-local or private address; feeds on the server's own network are added with the CLI`,
    );
}

/** Feed sources: the catalog and the operator's own; synced on demand. */
export const FEED_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/feeds',
    access: 'viewer',
    tag: 'feeds',
    summary:
      "Feed sources (the catalog and your own) with their last sync and freshness (newest date inside, last attempt and its error, stale or not by the source's threshold)",
    // Viewers see where feeds come from, never the access keys a URL may carry.
    // FeedLocation serialises redacted, wherever it is in the answer (state.location, summaries).
    handle: async ({ db }) => ({ items: await listSources(db) }),
  }),
  route({
    method: 'post',
    path: '/api/v1/feeds',
    access: 'admin',
    tag: 'feeds',
    summary: 'Add a feed source, or point a catalog source elsewhere',
    status: 201,
    body: z.strictObject({
      id: name,
      location: z.string().min(1).max(4096),
      format: z.string().optional(),
      release: z.string().optional(),
      description: z.string().max(1024).optional(),
      staleAfterDays: z.number().int().min(1).max(3650).optional(),
    }),
    handle: ({ db, body, actor }) => {
      apiFeedLocation(body.location);
      return addSource(db, { ...body, via: 'api' }, actor);
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/feeds/:id',
    access: 'admin',
    tag: 'feeds',
    summary: 'Remove a feed source of your own (its advisories stay until re-synced away)',
    handle: async ({ db, params, actor }) => {
      // An unknown id (or a catalog source not overridden) changes nothing: 404, nothing audited.
      if (!(await removeSource(db, params.id, actor))) throw new BulwarkError('storage.not-found', `no feed source "${params.id}" of your own`);
      return { removed: params.id };
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/feeds/:id/sync',
    access: 'operator',
    tag: 'feeds',
    summary: 'Sync one feed source now',
    body: z.strictObject({ force: z.boolean().optional(), allowWithdraw: z.boolean().optional() }).optional(),
    handle: async ({ db, params, body, actor }) => {
      const [r] = await syncSources(db, [params.id], { force: body?.force === true, allowWithdraw: body?.allowWithdraw === true, actor });
      return r;
    },
  }),
];
