import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BulwarkError } from '../core/errors.js';
import { collectBytes, decompress } from '../lib/decompress.js';
import { parseRepomd, primaryPackages } from '../repos/rpmmd.js';
import { environmentDir } from './content-views.js';
import type { Db } from './store.js';

/**
 * What a content view's environment offers, for policies that patch from it (issue #7): package
 * name → the builds (`E:V-R`) its published repository lists. Published versions never change,
 * so each directory is read once per process.
 */
const cache = new Map<string, Map<string, string[]>>();
const MAX_INDEX = 2 ** 31;

async function readPublished(dir: string): Promise<Map<string, string[]>> {
  const repomdFile = join(dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomdFile)) throw new BulwarkError('config.invalid', `${dir}: not an rpm-md repository (policies patch from rpm-md views)`);
  const repomd = await parseRepomd(await readFile(repomdFile), repomdFile);
  const out = new Map<string, string[]>();
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
export async function viewAvailable(db: Db, source: { view: string; environment: string }): Promise<Map<string, string[]>> {
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
