import { BulwarkError } from '../core/errors.js';
import { environmentDir, publishedPackages } from './content-views.js';
import { buildOf, type AvailableBuild } from '../policy/plan.js';
import type { Db } from './store.js';

/**
 * What a content view's environment offers, for policies that patch from it (issue #7): package
 * name → the builds its published repository lists (`E:V-R` for rpm-md, the Debian version for apt). Published versions never change,
 * so each directory is read once per process.
 */
const cache = new Map<string, Map<string, AvailableBuild[]>>();

async function readPublished(dir: string): Promise<Map<string, AvailableBuild[]>> {
  const out = new Map<string, AvailableBuild[]>();
  for await (const p of publishedPackages(dir)) {
    const list = out.get(p.name) ?? [];
    // Debian fixes name source versions: a binary whose version is not its source's (libldb2
    // 2:2.10 from samba 2:4.21) is compared by the source's, as matching does.
    const b: AvailableBuild = p.sourceVersion === p.version ? p.version : { build: p.version, source: p.sourceVersion };
    if (!list.some((x) => buildOf(x) === p.version)) list.push(b);
    out.set(p.name, list);
  }
  return out;
}

/**
 * @example await viewAvailable(db, { view: 'azl3-prod', environment: 'prod' }) // Map { 'openssl' => ['1:3.3.5-5.azl3'] }
 */
export async function viewAvailable(db: Db, source: { view: string; environment: string }): Promise<Map<string, AvailableBuild[]>> {
  const dir = await environmentDir(db, source.view, source.environment);
  if (dir === null)
    throw new BulwarkError(
      'config.invalid',
      `the policy's source: content view ${source.view} has no environment ${source.environment} (bulwark view promote)`,
    );
  let m = cache.get(dir);
  if (m === undefined) {
    m = await readPublished(dir);
    if (cache.size >= 16) cache.clear();
    cache.set(dir, m);
  }
  return m;
}
