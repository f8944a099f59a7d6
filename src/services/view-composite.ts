import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { decompress } from '../lib/decompress.js';
import type { Candidate, Deviation } from '../repos/content-view.js';
import { parseRepomd, primaryPackages } from '../repos/rpmmd.js';
import { listEnvironments, listViewVersions } from '../storage/index.js';
import type { Db } from './store.js';

/**
 * A composite view's part (issue #21, item 5): the version another view's environment serves —
 * its packages as that version's own primary metadata lists them (their files are the version's,
 * themselves links to the object store), its updateinfo, and its deviation report, each entry
 * carried into the whole with the part named in its reason.
 */
export interface ViewPart {
  label: string;
  view: string;
  environment: string;
  version: number;
  packages: Candidate[];
  updateinfos: string[];
  deviations: Deviation[];
}

export async function viewPart(db: Db, src: { view: string; environment: string }, file: string, self: string): Promise<ViewPart> {
  if (src.view === self) throw new BulwarkError('usage', `${file}: a view cannot be a source of itself`);
  const env = (await listEnvironments(db, src.view)).find((e) => e.environment === src.environment);
  if (env === undefined) throw new BulwarkError('usage', `${file}: content view ${src.view} has no environment ${src.environment} (bulwark view promote)`);
  const v = (await listViewVersions(db, src.view)).find((x) => x.version === env.version);
  if (v === undefined) throw new BulwarkError('usage', `${file}: content view ${src.view} has no version ${String(env.version)}`);
  const label = `${src.view}/${src.environment} (version ${String(v.version)})`;
  const repomdFile = join(v.dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomdFile)) throw new BulwarkError('usage', `${file}: ${label} is not an rpm-md repository; composite views are made of rpm-md views`);
  const repomd = await parseRepomd(await readFile(repomdFile), repomdFile);
  const packages: Candidate[] = [];
  for (const e of repomd.entries.filter((x) => x.type === 'primary'))
    for await (const p of primaryPackages(decompress(createReadStream(join(v.dir, e.href)), e.href, 2 ** 31), join(v.dir, e.href))) {
      // The version's own file, one path segment under Packages/ (as writeVersion named it).
      if (!/^Packages\/[^/]+\.rpm$/.test(p.location)) throw new BulwarkError('input.invalid', `${label}: ${p.name} is at ${p.location}, not under Packages/`);
      packages.push({ name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch, source: join(v.dir, p.location), origin: label });
    }
  const updateinfos = repomd.entries.filter((x) => x.type === 'updateinfo').map((x) => join(v.dir, x.href));
  const deviations = (v.deviations as Deviation[]).map((d) => ({ ...d, reason: `${label}: ${d.reason}` }));
  return { label, view: src.view, environment: src.environment, version: v.version, packages, updateinfos, deviations };
}
