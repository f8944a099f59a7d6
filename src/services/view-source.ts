import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BulwarkError } from '../core/errors.js';
import { collectBytes, decompress } from '../lib/decompress.js';
import { debPackages } from '../repos/deb.js';
import { parseRepomd, primaryPackages } from '../repos/rpmmd.js';
import { environmentDir } from './content-views.js';
import { buildOf, type AvailableBuild } from '../policy/plan.js';
import type { Db } from './store.js';

/**
 * What a content view's environment offers, for policies that patch from it (issue #7): package
 * name → the builds its published repository lists (`E:V-R` for rpm-md, the Debian version for apt). Published versions never change,
 * so each directory is read once per process.
 */
const cache = new Map<string, Map<string, AvailableBuild[]>>();
const MAX_INDEX = 2 ** 31;

/** A Debian view: every architecture's Packages index under dists/. */
async function readPublishedApt(dir: string): Promise<Map<string, AvailableBuild[]>> {
  const out = new Map<string, AvailableBuild[]>();
  for (const suite of await readdir(join(dir, 'dists')))
    for (const component of await readdir(join(dir, 'dists', suite), { withFileTypes: true }))
      if (component.isDirectory())
        for (const bin of await readdir(join(dir, 'dists', suite, component.name))) {
          const file = join(dir, 'dists', suite, component.name, bin, 'Packages');
          if (!existsSync(file)) continue;
          for (const p of debPackages(await readFile(file, 'utf8'), file)) {
            const list = out.get(p.name) ?? [];
            // Debian fixes name source versions: a binary whose version is not its source's
            // (libldb2 2:2.10 from samba 2:4.21) is compared by the source's, as matching does.
            const b: AvailableBuild = p.sourceVersion === p.version ? p.version : { build: p.version, source: p.sourceVersion };
            if (!list.some((x) => buildOf(x) === p.version)) list.push(b);
            out.set(p.name, list);
          }
        }
  return out;
}

async function readPublished(dir: string): Promise<Map<string, AvailableBuild[]>> {
  if (existsSync(join(dir, 'dists'))) return readPublishedApt(dir);
  const repomdFile = join(dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomdFile)) throw new BulwarkError('config.invalid', `${dir}: neither an rpm-md nor an apt repository`);
  const repomd = await parseRepomd(await readFile(repomdFile), repomdFile);
  const out = new Map<string, AvailableBuild[]>();
  for (const e of repomd.entries.filter((x) => x.type === 'primary')) {
    const file = join(dir, e.href);
    const bytes = await collectBytes(decompress(Readable.from([await readFile(file)]), file, MAX_INDEX), file, MAX_INDEX);
    for await (const p of primaryPackages(Readable.from([bytes]), file)) {
      const list = out.get(p.name) ?? [];
      const evr = `${String(p.epoch)}:${p.version}-${p.release}`;
      if (!list.includes(evr)) list.push(evr);
      out.set(p.name, list);
    }
  }
  return out;
}

/**
 * @example await viewAvailable(db, { view: 'azl3-prod', environment: 'prod' }) // Map { 'openssl' => ['1:3.3.5-5.azl3'] }
 */
export async function viewAvailable(db: Db, source: { view: string; environment: string }): Promise<Map<string, AvailableBuild[]>> {
  const dir = await environmentDir(db, source.view, source.environment);
  if (dir === null) throw new BulwarkError('config.invalid', `the policy's source: content view ${source.view} has no environment ${source.environment} (bulwark view promote)`);
  let m = cache.get(dir);
  if (m === undefined) {
    m = await readPublished(dir);
    if (cache.size >= 16) cache.clear();
    cache.set(dir, m);
  }
  return m;
}
