import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, defaultImagesDir, imageBuildNeeded, imageBuilds, imageParity, imageSbom, importAzlImageConfig } from '../../services/images.js';
import { defaultObjectsDir } from '../../services/repos.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/** Image builds live beside the object store: `images/<image>/<build>/` (or BULWARK_IMAGES_DIR). */
export function imagesDirOf(dbPath: string | undefined, env: NodeJS.ProcessEnv): string {
  return defaultImagesDir(defaultObjectsDir(dbPath, env), env);
}

export async function imageBuildCommand(o: Common & { file: string; keepRoot: boolean; ifNeeded?: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    if (o.ifNeeded === true) {
      const n = await imageBuildNeeded(db, o.file);
      if (!n.needed) {
        await writeAll(o.io.stdout, `${n.why}: nothing to build\n`);
        return EXIT.ok;
      }
      await writeAll(o.io.stderr, `building: ${n.why}\n`);
    }
    const r = await buildImage(db, o.file, { imagesDir: imagesDirOf(o.dbPath, o.io.env), actor: actorOf(o.io), keepRoot: o.keepRoot });
    const f = r.findings;
    await writeAll(
      o.io.stdout,
      [
        `${r.image} build ${String(r.build)} (${r.type}) from ${r.view} version ${String(r.viewVersion)}: ${String(r.packages)} packages`,
        `  artifact ${r.artifact}${r.tag === null ? '' : ` (oci:${r.artifact}:${r.tag})`}`,
        `  digest   ${r.digest}`,
        `  sboms    ${join(r.dir, 'sbom.cdx.json')}, ${join(r.dir, 'sbom.spdx.json')}`,
        `  scanned as ${r.target}: ${String(f.opened + f.kept + f.reopened)} findings (bulwark findings --host ${r.target})`,
        '',
      ].join('\n'),
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function imageListCommand(o: Common & { image: string | undefined; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const builds = await imageBuilds(db, o.image);
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(builds, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['IMAGE', 'BUILD', 'TYPE', 'FROM', 'BUILT', 'BY', 'PACKAGES', 'DIGEST', 'NOTE'],
          builds.map((b) => [b.image, String(b.build), b.type, `${b.view} v${String(b.viewVersion)}`, b.createdAt, b.createdBy, String(b.packages), `${b.digest.slice(0, 19)}…`, b.behind === null ? '' : `behind: ${b.behind.environment} serves v${String(b.behind.serves)}`]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function imageSbomCommand(o: Common & { image: string; build: number | undefined; format: 'cyclonedx' | 'spdx' }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    await writeAll(o.io.stdout, await imageSbom(db, o.image, o.build, o.format));
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function imageParityCommand(o: Common & { image: string; build: number | undefined; hosts: string[]; tag: string | undefined; others: string[]; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const p = await imageParity(db, { image: o.image, build: o.build, hosts: o.hosts, tag: o.tag, others: o.others });
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(p, null, 2) + '\n');
    else {
      const lines = [
        formatTable(['', ...p.sides.map((s) => s.toUpperCase())], p.rows.map((r) => [r.package, ...r.builds.map((b) => b ?? '-')])).trimEnd(),
        '',
        formatTable(['AGAINST THE IMAGE', 'SAME', 'DIFFERENT', 'MISSING', 'EXTRA'], p.summary.slice(1).map((s) => [s.label, String(s.same), String(s.different), String(s.missing), String(s.extra)])).trimEnd(),
        '',
      ];
      await writeAll(o.io.stdout, p.rows.length === 0 ? `all ${String(p.sides.length)} agree: no package differs\n` : lines.join('\n'));
    }
    // Like a scan over a threshold: drift exits 1, so a pipeline can gate on parity.
    return p.rows.length === 0 ? EXIT.ok : EXIT.findings;
  } finally {
    await db.close();
  }
}

export async function imageImportCommand(o: Common & { config: string; view: string; environment: string; release: string; systemConfig: string | undefined; type: 'container' | 'wsl' | 'vm' | 'bare-metal' | undefined; out: string | undefined }): Promise<ExitCode> {
  const r = await importAzlImageConfig(o.config, { view: o.view, environment: o.environment, release: o.release, systemConfig: o.systemConfig, type: o.type });
  if (o.out === undefined) await writeAll(o.io.stdout, r.yaml);
  else {
    await writeFile(o.out, r.yaml, { flag: 'wx' });
    await writeAll(o.io.stderr, `${o.out}: ${r.config.name} (${o.type ?? r.config.type}), ${String(r.packages.length)} packages${r.config.notCarried.length > 0 ? `; not carried over: ${r.config.notCarried.join(', ')}` : ''}\n`);
  }
  return EXIT.ok;
}
