import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { releaseFamily } from '../distros/registry.js';
import type { InstalledPackage } from '../core/target.js';
import { readPackageList } from '../images/azl-config.js';
import { buildRoot, gzipFile, removePackageDb, tarRoot, writeImageStamp, writeWslConf } from '../images/build.js';
import { buildDebRoot } from '../images/build-deb.js';
import { packageNameProblem, parseImageDefinition, type ImageDefinition } from '../images/definition.js';
import { writeOciLayout } from '../images/oci.js';
import { cycloneDx, spdxDocument, type SbomSubject } from '../images/sbom.js';
import { insertImageBuild, leaseHolder, listEnvironments, listViewVersions, nextImageBuild, type ImageBuildRow } from '../storage/index.js';
import { acquireLease } from './lease.js';
import { PROCESS_ID } from './runs.js';
import { VERSION } from '../version.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import { storeInventory } from './inventory.js';
import { readBoundedText } from './read-file.js';
import { scanTarget } from './scan.js';
import { systemClock, type Clock, type Db } from './store.js';
import { imageBuilds } from './image-builds.js';
import { MAX_DEFINITION_BYTES } from './image-import.js';
import type { FindingCounts } from '../storage/index.js';

/**
 * Images (issue #7): a definition (images/definition.ts) built from one published content-view
 * version with the real `dnf --installroot`, packed as an OCI image layout (container) or a
 * rootfs tarball (WSL, VM, bare metal), described by CycloneDX and SPDX SBOMs, and stored as a
 * target — `<image>@<build>` — so it is scanned like a host, and compared with the hosts built
 * from it (parity).
 */
export type { ImageBuildRow } from '../storage/index.js';
export { imageBuild, imageBuilds, imageParity, imageSbom } from './image-builds.js';
export { commentText, importAzlImageConfig } from './image-import.js';

export interface ImageBuildReport {
  image: string;
  build: number;
  type: ImageDefinition['type'];
  view: string;
  viewVersion: number;
  dir: string;
  /** The artifact's path: the OCI layout directory or the tarball. */
  artifact: string;
  digest: string;
  packages: number;
  /** The target the image is scanned as. */
  target: string;
  findings: FindingCounts;
  /** Names of the package set the definition asked for. */
  requested: string[];
  /** Containers: the tag in the OCI layout's index (`oci:<artifact>:<tag>`). */
  tag: string | null;
}

/**
 * Beside a build's image.yaml: the package names the definition resolved to (its own and its
 * package lists'), one a line, so --if-needed sees a changed list file the definition names.
 */
const REQUESTED_FILE = 'requested-packages.txt';

/** The package names a definition installs: its own plus its package lists', in order, once each. */
async function requestedPackages(def: ImageDefinition, file: string): Promise<string[]> {
  const names = [...def.packages];
  const family = releaseFamily(def.release) === 'deb' ? 'deb' : 'rpm';
  for (const list of def.packageLists) {
    const path = isAbsolute(list) ? list : resolve(dirname(file), list);
    for (const n of readPackageList(await readBoundedText(path, MAX_DEFINITION_BYTES), path)) {
      const problem = packageNameProblem(n, family);
      if (problem !== null) throw new BulwarkError('input.invalid', `${file}: package list ${path}: "${n}" ${problem}`, { file, list: path });
      names.push(n);
    }
  }
  return [...new Set(names)];
}

async function viewVersionOf(db: Db, def: ImageDefinition, file: string): Promise<{ version: number; dir: string; createdAt: string }> {
  const versions = await listViewVersions(db, def.from.view);
  let version: number | undefined;
  if ('environment' in def.from) {
    const env = (await listEnvironments(db, def.from.view)).find((e) => e.environment === (def.from as { environment: string }).environment);
    if (env === undefined)
      throw new BulwarkError('usage', `${file}: content view ${def.from.view} has no environment ${def.from.environment} (bulwark view promote)`);
    version = env.version;
  } else version = def.from.version;
  const v = versions.find((x) => x.version === version);
  if (v === undefined) throw new BulwarkError('usage', `${file}: content view ${def.from.view} has no version ${String(version)}`);
  // rpm releases are built with dnf from an rpm-md view, Debian and Ubuntu with mmdebstrap from an apt view.
  const deb = releaseFamily(def.release) === 'deb';
  if (deb ? !existsSync(join(v.dir, 'dists')) : !existsSync(join(v.dir, 'repodata', 'repomd.xml')))
    throw new BulwarkError(
      'usage',
      `${file}: ${def.from.view} version ${String(v.version)} is not ${deb ? 'an apt' : 'an rpm-md'} repository, which ${def.release} images are built from`,
    );
  return { version: v.version, dir: v.dir, createdAt: v.createdAt };
}

/** `<imagesDir>`: BULWARK_IMAGES_DIR, or `images/` beside the object store. */
export function defaultImagesDir(objectsDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env['BULWARK_IMAGES_DIR'] ?? join(dirname(objectsDir), 'images');
}

/**
 * Builds the next build of the image defined in `file`.
 * @example await buildImage(db, 'azl3-base.yaml', { imagesDir: '/var/lib/bulwark/images', actor: { kind: 'cli', name: 'alice' } })
 */
export async function buildImage(db: Db, file: string, o: { imagesDir: string; actor: Actor; clock?: Clock; keepRoot?: boolean }): Promise<ImageBuildReport> {
  const text = await readBoundedText(file, MAX_DEFINITION_BYTES);
  const def = parseImageDefinition(text, file);
  const requested = await requestedPackages(def, file);
  const view = await viewVersionOf(db, def, file);
  // One build of an image at a time, across processes: the build number and its directory are ours.
  const lease = `image:${def.name}`;
  const held = await acquireLease(db, lease, `${PROCESS_ID}:${randomUUID().slice(0, 8)}`, { ttlMs: IMAGE_LEASE_TTL_MS });
  if (held === null)
    throw new BulwarkError(
      'storage.conflict',
      `${def.name} is being built by another process (${(await leaseHolder(db, lease)) ?? 'gone since'}; a killed build's hold runs out within ${String(IMAGE_LEASE_TTL_MS / 1000)} s)`,
    );
  try {
    return await buildLeased(db, file, def, text, requested, view, o, held.lost);
  } finally {
    await held.release();
  }
}

/** How long an image build's lease lasts unless renewed (services/lease.ts renews it every third): what a killed build blocks its image for. */
export const IMAGE_LEASE_TTL_MS = 15_000;

async function buildLeased(
  db: Db,
  file: string,
  def: ImageDefinition,
  text: string,
  requested: string[],
  view: { version: number; dir: string; createdAt: string },
  o: { imagesDir: string; actor: Actor; clock?: Clock; keepRoot?: boolean },
  leaseLost: () => boolean,
): Promise<ImageBuildReport> {
  const clock = o.clock ?? systemClock;
  // Under the lease no other build of this image runs: work directories left are from killed builds.
  const imageDir = join(o.imagesDir, def.name);
  if (existsSync(imageDir)) for (const d of await readdir(imageDir)) if (d.startsWith('.work-')) await rm(join(imageDir, d), { recursive: true, force: true });
  const build = await nextImageBuild(db, def.name);
  const created = clock();
  // Reproducible (issue #21, item 8): every time inside the image is the view version's, and the
  // stamp names the first build of the same inputs, so building again gives the same digest.
  const contentTime = new Date(view.createdAt);
  const stampBuild = (await sameInputsBuild(db, def, text, requested, view.version)) ?? build;
  const finalDir = join(o.imagesDir, def.name, String(build));
  const work = join(o.imagesDir, def.name, `.work-${String(build)}-${randomUUID().slice(0, 8)}`);
  const out = join(work, 'out');
  await mkdir(out, { recursive: true });
  try {
    const input = {
      repoDir: view.dir,
      work,
      release: def.release,
      packages: requested,
      remove: def.remove,
      docs: def.docs,
      sourceDateEpoch: Math.floor(contentTime.getTime() / 1000),
    };
    const r = await (releaseFamily(def.release) === 'deb' ? buildDebRoot(input) : buildRoot(input)).catch((err: unknown) => {
      // dnf's and mmdebstrap's words, said of this definition and image.
      const e = err instanceof BulwarkError ? err : null;
      throw new BulwarkError(
        e?.code ?? 'internal',
        `${file}: image ${def.name}: ${(err as Error).message}`,
        { ...e?.details, file, image: def.name },
        { cause: err },
      );
    });
    await writeImageStamp(r.root, { image: def.name, build: stampBuild, view: def.from.view, viewVersion: view.version });
    if (def.type === 'wsl') await writeWslConf(r.root, { defaultName: def.wsl?.defaultName ?? def.name, defaultUid: def.wsl?.defaultUid });
    if (def.removeRpmDb) await removePackageDb(r.root);
    const tar = join(work, 'rootfs.tar');
    await tarRoot(r.root, tar, contentTime);
    let artifact: string;
    let digest: string;
    let tag: string | null = null;
    if (def.type === 'container') {
      const c = def.container;
      tag = c?.tag ?? String(build);
      // The image's architecture is its packages' (gpg-pubkey's "(none)" and noarch say nothing).
      const arch = r.packages.find((p) => !['noarch', '(none)', 'all'].includes(p.arch))?.arch ?? process.arch;
      const layout = await writeOciLayout(join(out, 'oci'), tar, {
        tag,
        arch,
        created: contentTime.toISOString(),
        createdBy: `bulwark ${VERSION} image build (${def.from.view} version ${String(view.version)})`,
        config: {
          entrypoint: c?.entrypoint,
          cmd: c?.cmd,
          env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(c?.env ?? {}) },
          labels: c?.labels ?? {},
          workingDir: c?.workingDir,
          user: c?.user,
        },
        annotations: {
          'org.opencontainers.image.title': def.name,
          'org.opencontainers.image.version': String(stampBuild),
          'org.opencontainers.image.created': contentTime.toISOString(),
        },
      });
      artifact = 'oci';
      digest = layout.manifest.digest;
    } else {
      artifact = def.type === 'wsl' ? `${def.name}-${String(build)}.wsl` : 'rootfs.tar.gz';
      digest = await gzipFile(tar, join(out, artifact));
    }
    const subject: SbomSubject = { name: def.name, version: String(build), type: def.type, release: def.release, digest };
    const ctx = { created: created.toISOString(), uuid: randomUUID(), tool: { name: 'bulwark', version: VERSION } };
    await writeFile(join(out, 'sbom.cdx.json'), JSON.stringify(cycloneDx(subject, r.packages, ctx), null, 2) + '\n');
    await writeFile(join(out, 'sbom.spdx.json'), JSON.stringify(spdxDocument(subject, r.packages, ctx), null, 2) + '\n');
    await writeFile(join(out, 'image.yaml'), text);
    await writeFile(join(out, REQUESTED_FILE), requested.map((n) => `${n}\n`).join(''));
    await writeFile(join(out, 'build.log'), r.log);
    if (o.keepRoot === true) await rename(r.root, join(out, 'rootfs'));
    // Another process may have taken the image over if this one stalled past its lease.
    if (leaseLost())
      throw new BulwarkError(
        'storage.conflict',
        `${file}: image ${def.name}: the build's lease was not renewed in time (this process stalled for over ${String(IMAGE_LEASE_TTL_MS / 1000)} s); build ${String(build)} is not kept`,
      );
    // A directory without a stored build is a crashed attempt: this build number is ours.
    await rm(finalDir, { recursive: true, force: true });
    await mkdir(dirname(finalDir), { recursive: true });
    await rename(out, finalDir);
    const target = `${def.name}@${String(build)}`;
    await storeInventory(db, { name: target, release: def.release, kind: 'image', platform: def.type }, r.packages.map(toInstalled), clock);
    const scan = await scanTarget(db, target, clock);
    const row: ImageBuildRow = {
      image: def.name,
      build,
      type: def.type,
      release: def.release,
      view: def.from.view,
      viewVersion: view.version,
      createdAt: created.toISOString(),
      createdBy: actorLabel(o.actor),
      spec: text,
      dir: finalDir,
      artifact,
      digest,
      packages: r.packages.length,
      target,
    };
    await insertImageBuild(db, row);
    await recordAudit(
      db,
      o.actor,
      'image.build',
      def.name,
      { build, view: def.from.view, viewVersion: view.version, digest, packages: r.packages.length },
      clock,
    );
    return {
      image: def.name,
      build,
      type: def.type,
      view: def.from.view,
      viewVersion: view.version,
      dir: finalDir,
      artifact: join(finalDir, artifact),
      digest,
      packages: r.packages.length,
      target,
      findings: scan.counts,
      requested,
      tag,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The first earlier build of the image made from the same inputs — the same definition text, the
 * same package names asked for, the same view version — whose number the new build's stamp
 * (/etc/bulwark-image) and OCI version carry: its content is the same, so its digest is too.
 */
async function sameInputsBuild(db: Db, def: ImageDefinition, text: string, requested: readonly string[], viewVersion: number): Promise<number | null> {
  const want = requested.map((n) => `${n}\n`).join('');
  const builds = (await imageBuilds(db, def.name))
    .filter((b) => b.spec === text && b.view === def.from.view && b.viewVersion === viewVersion)
    .sort((a, b) => a.build - b.build);
  for (const b of builds) {
    const file = join(b.dir, REQUESTED_FILE);
    if (existsSync(file) && (await readBoundedText(file, 16 * MAX_DEFINITION_BYTES)) === want) return b.build;
  }
  return null;
}

function toInstalled(p: InstalledPackage): InstalledPackage {
  return {
    family: p.family,
    name: p.name,
    epoch: p.epoch,
    version: p.version,
    release: p.release,
    arch: p.arch,
    sourceName: p.sourceName,
    sourceVersion: p.sourceVersion,
  };
}

/**
 * Whether the definition in `file` needs a build: none yet, its text changed since the latest
 * build, its package lists give other names than the latest build's, or the latest is behind its
 * environment. For timers and pipelines (`image build --if-needed`).
 */
export async function imageBuildNeeded(db: Db, file: string): Promise<{ needed: boolean; why: string }> {
  const text = await readBoundedText(file, MAX_DEFINITION_BYTES);
  const def = parseImageDefinition(text, file);
  const latest = (await imageBuilds(db, def.name))[0];
  if (latest === undefined) return { needed: true, why: 'never built' };
  if (latest.spec !== text) return { needed: true, why: `the definition changed since build ${String(latest.build)}` };
  // The same text can name package lists that changed since.
  const requested = new Set(await requestedPackages(def, file));
  const recordedFile = join(latest.dir, REQUESTED_FILE);
  if (!existsSync(recordedFile)) {
    if (def.packageLists.length > 0) return { needed: true, why: `build ${String(latest.build)} does not record what its package lists gave` };
  } else {
    const recorded = new Set((await readBoundedText(recordedFile, 16 * MAX_DEFINITION_BYTES)).split('\n').filter((l) => l !== ''));
    const added = [...requested].filter((n) => !recorded.has(n));
    const dropped = [...recorded].filter((n) => !requested.has(n));
    if (added.length + dropped.length > 0)
      return {
        needed: true,
        why: `the package lists changed since build ${String(latest.build)}: ${[...added.map((n) => `+${n}`), ...dropped.map((n) => `-${n}`)].join(' ')}`,
      };
  }
  if (latest.behind !== null)
    return {
      needed: true,
      why: `${latest.behind.environment} serves ${def.from.view} version ${String(latest.behind.serves)}; build ${String(latest.build)} has version ${String(latest.viewVersion)}`,
    };
  return { needed: false, why: `build ${String(latest.build)} is up to date (${def.from.view} version ${String(latest.viewVersion)})` };
}
