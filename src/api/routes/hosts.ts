import { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import { hostDetail } from '../../services/host-detail.js';
import { addHost, getHost, HOST_PACKAGE_MANAGERS, listHosts, removeHost, scanHosts, tagHost } from '../../services/hosts.js';
import { name, needFound, page, paginate, route, type Route } from './route.js';

/** Hosts reached over SSH: listed, added, removed, scanned. */
export const HOST_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/hosts',
    access: 'viewer',
    tag: 'hosts',
    summary: 'Hosts, filtered by tag and release, sorted and paged',
    query: page.extend({ tag: z.string().optional(), release: z.string().optional() }),
    handle: async ({ db, query }) => {
      const hosts = (await listHosts(db)).filter(
        (h) => (query.tag === undefined || h.tags.includes(query.tag)) && (query.release === undefined || h.release === query.release),
      );
      return paginate(hosts, query, ['name', 'release', 'inventoryAt', 'createdAt']);
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/hosts',
    access: 'admin',
    tag: 'hosts',
    summary: 'Add (or update) a host reached over SSH',
    status: 201,
    body: z.strictObject({
      name,
      address: z.string().min(1).max(512),
      identityFile: z.string().startsWith('/').max(4096).optional(),
      sudo: z.boolean().optional(),
      tags: z.array(name).max(64).optional(),
      packageManager: z.enum(HOST_PACKAGE_MANAGERS).optional(),
    }),
    handle: ({ db, body, actor, config }) => addHost(db, body, actor, { identityDir: config.sshKeyDir ?? null }),
  }),
  route({
    method: 'get',
    path: '/api/v1/hosts/:name',
    access: 'viewer',
    tag: 'hosts',
    summary: 'One host: its packages, open findings and history (findings closed, runs that touched it)',
    handle: ({ db, params }) => hostDetail(db, params.name),
  }),
  route({
    method: 'delete',
    path: '/api/v1/hosts/:name',
    access: 'admin',
    tag: 'hosts',
    summary: 'Remove a host with its inventory and findings',
    handle: async ({ db, params, actor }) => {
      if (!(await removeHost(db, params.name, actor))) throw new BulwarkError('storage.not-found', `no host named "${params.name}"`);
      return { removed: params.name };
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/hosts/:name/tags',
    access: 'admin',
    tag: 'hosts',
    summary: 'Add and remove tags of a host (imported ones too); answers the host with its tags after',
    body: z.strictObject({ add: z.array(z.string().min(1).max(63)).max(64).default([]), remove: z.array(z.string().min(1).max(63)).max(64).default([]) }),
    handle: ({ db, params, body, actor }) => tagHost(db, params.name, body, actor),
  }),
  route({
    method: 'post',
    path: '/api/v1/hosts/:name/scan',
    access: 'operator',
    tag: 'hosts',
    summary: "Collect the host's inventory over SSH and match it now",
    handle: async ({ db, params, config, actor }) => {
      const host = needFound(await getHost(db, params.name), `host named "${params.name}"`);
      const [r] = await scanHosts(db, [host.name], {
        knownHostsFile: config.knownHostsFile,
        acceptNewHostKey: false,
        concurrency: 1,
        identityDir: config.sshKeyDir ?? null,
        actor,
      });
      if (r === undefined || !r.ok) throw new BulwarkError('target.unreachable', r?.error ?? 'scan failed');
      return { host: r.host, counts: r.report?.counts, findings: r.report?.active.length };
    },
  }),
];
