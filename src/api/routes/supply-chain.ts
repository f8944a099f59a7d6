import { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import { promoteView, viewEnvironments, viewVersion, viewVersions } from '../../services/content-views.js';
import { imageBuild, imageBuilds, imageParity, imageSbom } from '../../services/images.js';
import { listRepos, listSnapshots, repoById, syncRepo } from '../../services/repos.js';
import { diffView, type ViewSide } from '../../services/view-diff.js';
import { needAdmin, needFound, pathNumber, Raw, route, withoutSpec, type Route } from './route.js';

/**
 * Supply chain: repositories, content views, images. Publishing a view and building an image
 * read files named in their YAML (our own rpms, package lists) on the server, so they stay CLI
 * commands run by whoever owns those files; the API reads, syncs and promotes.
 */
export const SUPPLY_CHAIN_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/repos',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Upstream repositories, each with its latest snapshot',
    handle: async ({ db }) => {
      const snaps = await listSnapshots(db);
      return { items: (await listRepos(db)).map((r) => ({ ...r, latest: snaps.find((s) => s.repoId === r.id) ?? null })) };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/repos/:id/snapshots',
    access: 'viewer',
    tag: 'supply chain',
    summary: "A repository's snapshots, newest first",
    handle: async ({ db, params }) => {
      const repo = needFound(await repoById(db, params.id), `repository ${params.id}`);
      return { items: await listSnapshots(db, repo.id) };
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/repos/:id/sync',
    access: 'operator',
    tag: 'supply chain',
    summary:
      'Take a snapshot of a repository now (refused when its metadata does not verify, or is older than the last snapshot unless an admin gives allowRollback=true, audited as repo.rollback)',
    query: z.object({ allowRollback: z.enum(['true', 'false']).optional() }),
    adminQuery: ['allowRollback'],
    handle: async ({ db, params, query, config, actor, principal }) => {
      // Before anything is looked up: an operator learns nothing from a refused rollback.
      needAdmin(principal, query.allowRollback === 'true', 'allowRollback');
      const repo = needFound(await repoById(db, params.id), `repository ${params.id}`);
      if (config.objectsDir === undefined) throw new BulwarkError('config.invalid', 'this server has no object store configured');
      return syncRepo(db, repo.id, { objectsDir: config.objectsDir, actor, allowRollback: query.allowRollback === 'true' });
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/views',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Content view versions (newest first) and the version each environment serves',
    handle: async ({ db }) => ({
      items: (await viewVersions(db)).map((v) => ({ ...withoutSpec(v), deviations: v.deviations.length })),
      environments: await viewEnvironments(db),
    }),
  }),
  route({
    method: 'get',
    path: '/api/v1/views/:view/versions/:version',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'One published version: its YAML and its deviation report',
    handle: async ({ db, params }) => {
      const what = `version ${params.version} of content view ${params.view}`;
      const n = /^[1-9][0-9]{0,15}$/.test(params.version) ? Number(params.version) : null;
      return needFound(n === null ? null : await viewVersion(db, params.view, n), what);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/views/:view/diff',
    access: 'viewer',
    tag: 'supply chain',
    summary:
      'What changes between two versions or environments of a view (packages added, removed, up- and downgraded; advisories gained, lost, withheld), read before a promotion',
    query: z.object({
      from: z.coerce.number().int().positive().optional(),
      to: z.coerce.number().int().positive().optional(),
      fromEnv: z.string().min(1).max(32).optional(),
      toEnv: z.string().min(1).max(32).optional(),
    }),
    handle: async ({ db, params, query }) => {
      const side = (version: number | undefined, environment: string | undefined, what: string): ViewSide => {
        if ((version === undefined) === (environment === undefined)) throw new BulwarkError('input.invalid', `give ${what} or ${what}Env, one of them`);
        return environment !== undefined ? { environment } : { version: version ?? 0 };
      };
      return diffView(db, params.view, side(query.from, query.fromEnv, 'from'), side(query.to, query.toEnv, 'to'));
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/views/:view/promote',
    access: 'admin',
    tag: 'supply chain',
    summary: 'Point an environment at a version (default: the latest): what its hosts install changes',
    body: z.strictObject({ environment: z.string().min(1).max(32), version: z.number().int().positive().optional(), force: z.boolean().default(false) }),
    handle: async ({ db, params, body, actor }) => {
      needFound(await viewVersion(db, params.view), `content view ${params.view}`);
      return promoteView(db, {
        view: params.view,
        environment: body.environment,
        ...(body.version !== undefined ? { version: body.version } : {}),
        actor,
        force: body.force,
      });
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/images',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Image builds, newest first per image',
    handle: async ({ db }) => ({ items: (await imageBuilds(db)).map(withoutSpec) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/images/:image/builds/:build/sbom',
    access: 'viewer',
    tag: 'supply chain',
    summary: "A build's SBOM: CycloneDX 1.6 (default) or SPDX 2.3 JSON",
    query: z.object({ format: z.enum(['cyclonedx', 'spdx']).default('cyclonedx') }),
    handle: async ({ db, params, query }) => {
      const b = await imageBuild(db, params.image, pathNumber(params.build, 'build number'));
      return new Raw(
        await imageSbom(db, b.image, b.build, query.format),
        query.format === 'spdx' ? 'application/spdx+json' : 'application/vnd.cyclonedx+json; version=1.6',
      );
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/images/:image/parity',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Package differences between a build (default: the latest), hosts and other images',
    query: z.object({
      build: z.coerce.number().int().positive().optional(),
      hosts: z.string().optional(),
      tag: z.string().optional(),
      with: z.string().optional(),
    }),
    handle: async ({ db, params, query }) => {
      const latest = await imageBuild(db, params.image);
      const list = (s: string | undefined): string[] => (s ?? '').split(',').filter((x) => x !== '');
      return imageParity(db, { image: latest.image, build: query.build, hosts: list(query.hosts), tag: query.tag, others: list(query.with) });
    },
  }),
];
