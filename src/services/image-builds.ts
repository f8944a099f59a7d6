import { join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { parseImageDefinition, type ImageDefinition } from '../images/definition.js';
import { parity, type ParityReport, type ParitySide } from '../images/parity.js';
import { getImageBuild, getTarget, listEnvironments, listImageBuilds, listTargets, loadInventory, type ImageBuildRow } from '../storage/index.js';
import { readBoundedText } from './read-file.js';
import type { Db } from './store.js';

// What was built (issue #7): the builds of an image, one build, its SBOM, and its parity with hosts.

/**
 * Image builds, newest first per image. `behind` is set on an image's latest build when it was
 * built from an environment that serves a newer version of its view now: the image is due to be
 * built again (what hosts of that environment install has moved on).
 */
export async function imageBuilds(db: Db, image?: string): Promise<(ImageBuildRow & { behind: { environment: string; serves: number } | null })[]> {
  const rows = await listImageBuilds(db, image);
  const envs = await listEnvironments(db);
  const seen = new Set<string>();
  return rows.map((b) => {
    const latest = !seen.has(b.image);
    seen.add(b.image);
    let behind: { environment: string; serves: number } | null = null;
    if (latest) {
      let from: ImageDefinition['from'] | null = null;
      try {
        from = parseImageDefinition(b.spec, `${b.image} build ${String(b.build)}`).from;
      } catch {
        // A definition stored by an older Bulwark that no longer parses: no verdict.
      }
      if (from !== null && 'environment' in from) {
        const env = from.environment;
        const serves = envs.find((e) => e.view === b.view && e.environment === env)?.version;
        if (serves !== undefined && serves !== b.viewVersion) behind = { environment: env, serves };
      }
    }
    return { ...b, behind };
  });
}

/** One build of an image: the given one, or the latest. */
export async function imageBuild(db: Db, image: string, build?: number): Promise<ImageBuildRow> {
  const b = await getImageBuild(db, image, build);
  if (b === null)
    throw new BulwarkError(
      'storage.not-found',
      build === undefined ? `no image named ${image} has been built` : `image ${image} has no build ${String(build)}`,
    );
  return b;
}

/**
 * Package differences between an image build, hosts (named, by tag, or else those made from the
 * image, as their /etc/bulwark-image says) and other targets, e.g. a developer's WSL image build
 * (`dev-wsl@2`, or `dev-wsl` for its latest build).
 * @example await imageParity(db, { image: 'azl3-base', hosts: ['web-01'], others: ['dev-wsl'] })
 */
export async function imageParity(
  db: Db,
  o: { image: string; build?: number | undefined; hosts: string[]; tag?: string | undefined; others: string[] },
): Promise<ParityReport> {
  const b = await imageBuild(db, o.image, o.build);
  const sides: ParitySide[] = [];
  const add = async (label: string, name: string): Promise<void> => {
    const t = await getTarget(db, name);
    if (t === null) throw new BulwarkError('usage', `no target named ${name}`);
    if (t.inventoryAt === null) throw new BulwarkError('usage', `${name} has no inventory yet (scan it first)`);
    sides.push({ label, packages: await loadInventory(db, t.id) });
  };
  await add(`image ${b.target}`, b.target);
  const all = await listTargets(db);
  const hosts = [...o.hosts];
  if (o.tag !== undefined) for (const t of all) if (t.kind === 'host' && t.tags.includes(o.tag) && !hosts.includes(t.name)) hosts.push(t.name);
  // Named nowhere: the hosts that say (/etc/bulwark-image) they were made from this image.
  if (o.hosts.length === 0 && o.tag === undefined)
    for (const t of all) if (t.kind === 'host' && t.image?.startsWith(`${o.image}@`) === true) hosts.push(t.name);
  for (const h of hosts) {
    const from = all.find((t) => t.name === h)?.image ?? null;
    await add(from === null ? h : `${h} (from ${from})`, h);
  }
  for (const other of o.others) {
    if (other.includes('@') || (await getTarget(db, other)) !== null) await add(other, other);
    else {
      const ob = await imageBuild(db, other);
      await add(`image ${ob.target}`, ob.target);
    }
  }
  if (sides.length < 2) throw new BulwarkError('usage', 'parity needs something to compare the image with: --hosts, --tag or --with');
  return parity(sides);
}

/** The SBOM of a build as written at build time (CycloneDX or SPDX JSON text). */
export async function imageSbom(db: Db, image: string, build: number | undefined, format: 'cyclonedx' | 'spdx'): Promise<string> {
  const b = await imageBuild(db, image, build);
  return readBoundedText(join(b.dir, format === 'spdx' ? 'sbom.spdx.json' : 'sbom.cdx.json'), 256 * 1024 * 1024);
}
