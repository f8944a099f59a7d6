import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, defaultImagesDir, imageBuildNeeded, imageBuilds, imageParity, imageSbom, importAzlImageConfig } from '../../services/images.js';
import { EXAMPLE_RELEASE } from '../../distros/registry.js';
import { defaultObjectsDir } from '../../services/repos.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { plural } from '../../lib/words.js';
import type { CliContext } from '../context.js';
import { describe, enumOption, intOption, listOption, pathOption, positiveInt } from '../options.js';

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
        `${r.image} build ${String(r.build)} (${r.type}) from ${r.view} version ${String(r.viewVersion)}: ${plural(r.packages, 'package')}`,
        `  artifact ${r.artifact}${r.tag === null ? '' : ` (oci:${r.artifact}:${r.tag})`}`,
        `  digest   ${r.digest}`,
        `  sboms    ${join(r.dir, 'sbom.cdx.json')}, ${join(r.dir, 'sbom.spdx.json')}`,
        `  scanned as ${r.target}: ${plural(f.opened + f.kept + f.reopened, 'finding')} (bulwark findings --host ${r.target})`,
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
          builds.map((b) => [
            b.image,
            String(b.build),
            b.type,
            `${b.view} v${String(b.viewVersion)}`,
            b.createdAt,
            b.createdBy,
            String(b.packages),
            `${b.digest.slice(0, 19)}…`,
            b.behind === null ? '' : `behind: ${b.behind.environment} serves v${String(b.behind.serves)}`,
          ]),
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

export async function imageParityCommand(
  o: Common & { image: string; build: number | undefined; hosts: string[]; tag: string | undefined; others: string[]; json: boolean },
): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const p = await imageParity(db, { image: o.image, build: o.build, hosts: o.hosts, tag: o.tag, others: o.others });
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(p, null, 2) + '\n');
    else {
      const lines = [
        formatTable(
          ['', ...p.sides.map((s) => s.toUpperCase())],
          p.rows.map((r) => [r.package, ...r.builds.map((b) => b ?? '-')]),
        ).trimEnd(),
        '',
        formatTable(
          ['AGAINST THE IMAGE', 'SAME', 'DIFFERENT', 'MISSING', 'EXTRA'],
          p.summary.slice(1).map((s) => [s.label, String(s.same), String(s.different), String(s.missing), String(s.extra)]),
        ).trimEnd(),
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

export async function imageImportCommand(
  o: Common & {
    config: string;
    view: string;
    environment: string;
    release: string;
    systemConfig: string | undefined;
    type: 'container' | 'wsl' | 'vm' | 'bare-metal' | undefined;
    out: string | undefined;
  },
): Promise<ExitCode> {
  const r = await importAzlImageConfig(o.config, { view: o.view, environment: o.environment, release: o.release, systemConfig: o.systemConfig, type: o.type });
  if (o.out === undefined) await writeAll(o.io.stdout, r.yaml);
  else {
    await writeFile(o.out, r.yaml, { flag: 'wx' });
    await writeAll(
      o.io.stderr,
      `${o.out}: ${r.config.name} (${o.type ?? r.config.type}), ${plural(r.packages.length, 'package')}${r.config.notCarried.length > 0 ? `; not carried over: ${r.config.notCarried.join(', ')}` : ''}\n`,
    );
  }
  return EXIT.ok;
}

/** `bulwark image build | import | list | sbom | parity`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const imageCmd = describe(
    program.command('image'),
    'images (container, WSL, VM, bare metal) built with dnf --installroot from a content view version, with SBOMs, scanned like hosts',
    'bulwark image build -f images/azl3-base.yaml',
    'bulwark image list',
  );
  describe(
    imageCmd.command('build'),
    'build the next build of an image definition',
    'bulwark image build -f images/azl3-base.yaml',
    'bulwark image build -f images/azl3-base.yaml --if-needed',
  )
    .requiredOption('-f, --file <file>', 'the image definition YAML')
    .option('--keep-root', 'also keep the unpacked root filesystem beside the artifact')
    .option('--if-needed', 'only when never built, the definition changed, or its environment serves a newer view version')
    .action(async (o: { file: string; keepRoot?: boolean; ifNeeded?: boolean }) => {
      ctx.exit = await imageBuildCommand({ io, dbPath: ctx.dbPath(), file: o.file, keepRoot: o.keepRoot === true, ifNeeded: o.ifNeeded === true });
    });
  describe(
    imageCmd.command('import'),
    "write an image definition from one of Azure Linux's image configs (toolkit JSON or Image Customizer YAML)",
    `bulwark image import imageconfigs/3.0/core-container.json --view azl3-base --release ${EXAMPLE_RELEASE} -o images/core.yaml`,
  )
    .argument('<config>', 'e.g. imageconfigs/3.0/core-container.json (its package lists are read beside it)')
    .requiredOption('--view <view>', 'the content view to build from')
    .option('--environment <env>', 'the environment of the view', 'prod')
    .requiredOption('--release <release>', `e.g. ${EXAMPLE_RELEASE}`)
    .option('--system-config <name>', 'which of several SystemConfigs (default: the first)')
    .addOption(enumOption('--type <type>', 'override the kind of image read from the config', ['container', 'wsl', 'vm', 'bare-metal']))
    .addOption(pathOption('-o, --out <file>', 'write the definition here (never over an existing file) instead of printing it', { parent: 'must-exist' }))
    .action(
      async (
        config: string,
        o: { view: string; environment: string; release: string; systemConfig?: string; type?: 'container' | 'wsl' | 'vm' | 'bare-metal'; out?: string },
      ) => {
        ctx.exit = await imageImportCommand({
          io,
          dbPath: ctx.dbPath(),
          config,
          view: o.view,
          environment: o.environment,
          release: o.release,
          systemConfig: o.systemConfig,
          type: o.type,
          out: o.out,
        });
      },
    );
  describe(
    imageCmd.command('list'),
    'list images and their builds: type, view version, packages, digest',
    'bulwark image list',
    'bulwark image list azl3-base --json',
  )
    .argument('[image]', 'only this image')
    .option('--json', 'print JSON')
    .action(async (image: string | undefined, o: { json?: boolean }) => {
      ctx.exit = await imageListCommand({ io, dbPath: ctx.dbPath(), image, json: o.json === true });
    });
  describe(
    imageCmd.command('sbom'),
    "print a build's SBOM (CycloneDX or SPDX)",
    'bulwark image sbom azl3-base > azl3-base.cdx.json',
    'bulwark image sbom azl3-base 3 --format spdx',
  )
    .argument('<image>', 'the image')
    .argument('[build]', 'this build (default: the latest)', positiveInt('build'))
    .addOption(enumOption('--format <format>', 'SBOM format', ['cyclonedx', 'spdx'], { default: 'cyclonedx' }))
    .action(async (image: string, build: number | undefined, o: { format: 'cyclonedx' | 'spdx' }) => {
      ctx.exit = await imageSbomCommand({ io, dbPath: ctx.dbPath(), image, build, format: o.format });
    });
  describe(
    imageCmd.command('parity'),
    'package differences between an image build, hosts built from it and other images (exit 1 when any)',
    'bulwark image parity azl3-base --tag web',
    'bulwark image parity azl3-base --hosts web-01,web-02 --with azl3-base@2',
  )
    .argument('<image>', 'the image')
    .addOption(intOption('--build <n>', 'this build (default: the latest)', { min: 1 }))
    .addOption(listOption('--hosts <names>', 'hosts to compare, comma-separated', { split: true }))
    .option('--tag <tag>', 'every host with this tag')
    .addOption(listOption('--with <targets>', 'other images (name for the latest build, or name@build) or targets', { split: true }))
    .option('--json', 'print JSON')
    .action(async (image: string, o: { build?: number; hosts: string[]; tag?: string; with: string[]; json?: boolean }) => {
      ctx.exit = await imageParityCommand({
        io,
        dbPath: ctx.dbPath(),
        image,
        build: o.build,
        hosts: o.hosts,
        tag: o.tag,
        others: o.with,
        json: o.json === true,
      });
    });
}
