import { BulwarkError } from '../../core/errors.js';
import { promoteView, publishView, viewEnvironments, viewRepoConfig, viewVersions } from '../../services/content-views.js';
import { loadOrCreateSigningKey, rotateSigningKey, signingKeyStatus, stageNextSigningKey, type SigningKeyStatus } from '../../services/signing-key.js';
import { defaultObjectsDir } from '../../services/repos.js';
import { addAdvisoriesToView } from '../../services/view-incremental.js';
import { diffView, type ViewDiff, type ViewSide } from '../../services/view-diff.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { plural } from '../../lib/words.js';
import type { CliContext } from '../context.js';
import { describe, listOption, positiveInt } from '../options.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/** Published views live beside the object store: `published/<view>/<version>/`. */
export function publishDirOf(dbPath: string | undefined, env: NodeJS.ProcessEnv): string {
  return join(dirname(defaultObjectsDir(dbPath, env)), 'published');
}

/** The repository signing key: BULWARK_SIGNING_KEY_FILE, else `repo-signing-key.asc` beside the object store. */
export function signingKeyFileOf(dbPath: string | undefined, env: NodeJS.ProcessEnv): string {
  return env['BULWARK_SIGNING_KEY_FILE'] ?? join(dirname(defaultObjectsDir(dbPath, env)), 'repo-signing-key.asc');
}

export async function viewPublishCommand(o: Common & { file: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await publishView(db, o.file, {
      objectsDir: defaultObjectsDir(o.dbPath, o.io.env),
      publishDir: publishDirOf(o.dbPath, o.io.env),
      actor: actorOf(o.io),
      signingKey: await loadOrCreateSigningKey(signingKeyFileOf(o.dbPath, o.io.env)),
    });
    if (r.unchanged) {
      await writeAll(
        o.io.stdout,
        `${r.view}: unchanged since version ${String(r.version)} (${plural(r.packages, 'package')}, ${plural(r.deviations.length, 'deviation')}): nothing published\n`,
      );
      return EXIT.ok;
    }
    const lines = [
      `${r.view} version ${String(r.version)}: ${plural(r.packages, 'package')}, ${plural(r.deviations.length, 'deviation')} from upstream, at ${r.dir}`,
    ];
    for (const d of r.deviations)
      lines.push(
        `  ${d.kind}${d.advisory === undefined ? '' : ` ${d.advisory}`} ${d.package} (${d.builds.join(', ')})${d.with === undefined ? '' : ` with ${d.with}`}: ${d.reason}`,
      );
    await writeAll(o.io.stdout, lines.join('\n') + '\n');
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `view add-advisory`: named advisories (and what they require) on top of a published version, as a new version. */
export async function viewAddAdvisoryCommand(o: Common & { view: string; advisories: string[]; from: number | undefined }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await addAdvisoriesToView(db, {
      view: o.view,
      advisories: o.advisories,
      ...(o.from !== undefined ? { from: o.from } : {}),
      objectsDir: defaultObjectsDir(o.dbPath, o.io.env),
      publishDir: publishDirOf(o.dbPath, o.io.env),
      actor: actorOf(o.io),
      signingKey: await loadOrCreateSigningKey(signingKeyFileOf(o.dbPath, o.io.env)),
    });
    const lines = [`${r.view} version ${String(r.version)}: ${plural(r.packages, 'package')}, ${o.advisories.join(', ')} added, at ${r.dir}`];
    for (const a of r.added) lines.push(`  added ${a.package} ${a.build}${a.neededBy === null ? ` (${a.advisory})` : ` (${a.neededBy})`}`);
    await writeAll(o.io.stdout, lines.join('\n') + '\n');
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function viewPromoteCommand(o: Common & { view: string; environment: string; version: number | undefined; force?: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await promoteView(db, {
      view: o.view,
      environment: o.environment,
      ...(o.version !== undefined ? { version: o.version } : {}),
      actor: actorOf(o.io),
      force: o.force === true,
    });
    await writeAll(o.io.stdout, `${o.view}: ${o.environment} now serves version ${String(r.version)}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function viewListCommand(o: Common & { view: string | undefined; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const versions = await viewVersions(db, o.view);
    const envs = await viewEnvironments(db, o.view);
    if (o.json) await writeAll(o.io.stdout, JSON.stringify({ versions, environments: envs }, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['VIEW', 'VERSION', 'PUBLISHED', 'BY', 'PACKAGES', 'DEVIATIONS', 'SERVED IN'],
          versions.map((v) => [
            v.view,
            String(v.version),
            v.createdAt,
            v.createdBy,
            String(v.packages),
            String(v.deviations.length),
            envs
              .filter((e) => e.view === v.view && e.version === v.version)
              .map((e) => e.environment)
              .join(', ') || '-',
          ]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** The deviation report of a version (default: the latest): every difference from upstream with its reason. */
export async function viewDeviationsCommand(o: Common & { view: string; version: number | undefined; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const versions = await viewVersions(db, o.view);
    const v = o.version === undefined ? versions[0] : versions.find((x) => x.version === o.version);
    if (v === undefined) throw new BulwarkError('usage', `content view ${o.view} has no such version`);
    const devs = v.deviations as { kind: string; package: string; builds: string[]; with?: string; advisory?: string; reason: string }[];
    if (o.json) await writeAll(o.io.stdout, JSON.stringify({ view: v.view, version: v.version, deviations: devs }, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['CHANGE', 'PACKAGE', 'UPSTREAM BUILDS', 'WITH', 'REASON'],
          devs.map((d) => [d.advisory === undefined ? d.kind : `${d.kind} ${d.advisory}`, d.package, d.builds.join(' '), d.with ?? '-', d.reason]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/**
 * `bulwark view diff VIEW V1 V2` (or `--env A --env B`, or one of each): what a promotion would
 * change, read before it is made.
 */
export async function viewDiffCommand(
  o: Common & { view: string; from: number | undefined; to: number | undefined; envs: string[]; json: boolean },
): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const versions = [o.from, o.to].filter((x): x is number => x !== undefined);
    const sides: ViewSide[] = [...o.envs.map((environment) => ({ environment })), ...versions.map((version) => ({ version }))];
    if (sides.length === 1) {
      const latest = (await viewVersions(db, o.view))[0];
      if (latest !== undefined) sides.push({ version: latest.version });
    }
    const [from, to] = sides;
    if (sides.length !== 2 || from === undefined || to === undefined)
      throw new BulwarkError(
        'usage',
        'view diff compares two sides: VIEW V1 V2, VIEW --env A --env B, or one of each (one alone is compared with the latest version)',
      );
    const d = await diffView(db, o.view, from, to);
    if (o.json) {
      await writeAll(o.io.stdout, JSON.stringify(d, null, 2) + '\n');
      return EXIT.ok;
    }
    const side = (x: ViewDiff['from']): string => `version ${String(x.version)}${x.environment === null ? '' : ` (${x.environment})`}`;
    const lines = [`${d.view}: ${side(d.from)} → ${side(d.to)}`];
    for (const p of d.added) lines.push(`  + ${p.package}.${p.arch} ${p.version}`);
    for (const p of d.removed) lines.push(`  - ${p.package}.${p.arch} ${p.version}`);
    for (const p of d.upgraded) lines.push(`  ↑ ${p.package}.${p.arch} ${p.from} → ${p.to}`);
    for (const p of d.downgraded) lines.push(`  ↓ ${p.package}.${p.arch} ${p.from} → ${p.to} (DOWNGRADE)`);
    for (const a of d.advisoriesGained) lines.push(`  advisory gained ${a}`);
    for (const a of d.advisoriesLost) lines.push(`  advisory lost ${a}`);
    for (const w of d.withheldGained) lines.push(`  withheld ${w.advisory} (${w.package}): ${w.reason}`);
    for (const w of d.withheldReleased) lines.push(`  no longer withheld ${w.advisory} (${w.package})`);
    if (lines.length === 1) lines.push('  no change');
    await writeAll(o.io.stdout, lines.join('\n') + '\n');
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** A host's configuration for an environment of a view: a .repo file or an apt sources line. */
export async function viewRepoFileCommand(o: Common & { view: string; environment: string; url: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    await writeAll(o.io.stdout, (await viewRepoConfig(db, { view: o.view, environment: o.environment, url: o.url })).text);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

function keyLines(s: SigningKeyStatus): string[] {
  const k = (x: { fingerprint: string; created: string }): string => `${x.fingerprint} (made ${x.created})`;
  return [
    `signing key: ${s.current === null ? 'none yet (publishing a view makes it)' : k(s.current)}`,
    `  file: ${s.file}`,
    `next key:    ${s.next === null ? 'none' : `${k(s.next)}, published beside the signing key; \`bulwark view key --rotate\` makes it the signing key`}`,
    ...s.retired.map((r) => `retired:     ${k(r.key)} (${r.file})`),
  ];
}

/** The repository signing key: status, making the next key (--next), rotating to it (--rotate). */
export async function viewKeyCommand(o: Common & { next: boolean; rotate: boolean; json: boolean }): Promise<ExitCode> {
  if (o.next && o.rotate) throw new BulwarkError('usage', 'give --next or --rotate, not both');
  const file = signingKeyFileOf(o.dbPath, o.io.env);
  if (!o.next && !o.rotate) {
    const s = await signingKeyStatus(file);
    await writeAll(o.io.stdout, o.json ? JSON.stringify(s, null, 2) + '\n' : keyLines(s).join('\n') + '\n');
    return EXIT.ok;
  }
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const lines: string[] = [];
    let status: SigningKeyStatus;
    if (o.next) {
      const r = await stageNextSigningKey(db, file, { actor: actorOf(o.io) });
      status = r.status;
      lines.push(
        `${String(r.resigned)} published versions now carry the next key's public half; hosts that pinned a keyring (apt signed-by) fetch it again before --rotate`,
      );
    } else {
      const r = await rotateSigningKey(db, file, { actor: actorOf(o.io) });
      status = r.status;
      lines.push(`rotated: ${String(r.resigned)} published versions signed again with the new signing key`);
      if (!r.staged)
        lines.push(
          'warning: no next key had been published; hosts whose keyrings hold only the old key refuse these repositories until they fetch the new key',
        );
    }
    await writeAll(o.io.stdout, o.json ? JSON.stringify(status, null, 2) + '\n' : [...keyLines(status), ...lines].join('\n') + '\n');
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark view publish | add-advisory | promote | list | deviations | diff | repo-file | key`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const viewCmd = describe(
    program.command('view'),
    'content views: snapshots plus declared overlays, published as numbered repositories and promoted through environments',
    'bulwark view publish -f views/azl3-base.yaml',
    'bulwark view promote azl3-base --to prod',
  );
  describe(viewCmd.command('publish'), 'publish the next version of a content view from its YAML', 'bulwark view publish -f views/azl3-base.yaml')
    .requiredOption('-f, --file <file>', 'the content view YAML')
    .action(async (o: { file: string }) => {
      ctx.exit = await viewPublishCommand({ io, dbPath: ctx.dbPath(), file: o.file });
    });
  const versionArg = positiveInt('version');
  describe(
    viewCmd.command('add-advisory'),
    'add advisories (with the packages they require) to a published version as a new version; nothing else changes',
    'bulwark view add-advisory azl3-base AZL-2026-0042',
    'bulwark view add-advisory azl3-base AZL-2026-0042 AZL-2026-0043 --from 7',
  )
    .argument('<view>', 'the content view')
    .argument('<advisory...>', "advisory ids of the view's upstream updateinfo")
    .option('--from <version>', 'the published version to start from (default: the latest)', versionArg)
    .action(async (view: string, advisories: string[], o: { from?: number }) => {
      ctx.exit = await viewAddAdvisoryCommand({ io, dbPath: ctx.dbPath(), view, advisories, from: o.from });
    });
  describe(
    viewCmd.command('promote'),
    "promote a version to an environment, along the view's promotion path",
    'bulwark view promote azl3-base --to canary',
    'bulwark view promote azl3-base 7 --to prod',
  )
    .argument('<view>', 'the content view')
    .argument('[version]', 'this version (default: the latest)', versionArg)
    .requiredOption('--to <environment>', 'e.g. dev, canary, prod')
    .option('--force', "skip the view's promotion path (audited as forced)")
    .action(async (view: string, version: number | undefined, o: { to: string; force?: boolean }) => {
      ctx.exit = await viewPromoteCommand({ io, dbPath: ctx.dbPath(), view, environment: o.to, version, force: o.force === true });
    });
  describe(
    viewCmd.command('list'),
    'list content views, their versions and which environment serves which',
    'bulwark view list',
    'bulwark view list azl3-base --json',
  )
    .argument('[view]', 'only this view')
    .option('--json', 'print JSON')
    .action(async (view: string | undefined, o: { json?: boolean }) => {
      ctx.exit = await viewListCommand({ io, dbPath: ctx.dbPath(), view, json: o.json === true });
    });
  describe(
    viewCmd.command('deviations'),
    'what a version changes from its upstream snapshots (each overlay and its reason)',
    'bulwark view deviations azl3-base',
    'bulwark view deviations azl3-base 7 --json',
  )
    .argument('<view>', 'the content view')
    .argument('[version]', 'this version (default: the latest)', versionArg)
    .option('--json', 'print JSON')
    .action(async (view: string, version: number | undefined, o: { json?: boolean }) => {
      ctx.exit = await viewDeviationsCommand({ io, dbPath: ctx.dbPath(), view, version, json: o.json === true });
    });
  describe(
    viewCmd.command('diff'),
    'what changes from one version (or environment) of a view to another: packages and advisories',
    'bulwark view diff azl3-base 6 7',
    'bulwark view diff azl3-base --env dev --env prod --json',
  )
    .argument('<view>', 'the content view')
    .argument('[from]', 'the version compared from', versionArg)
    .argument('[to]', 'the version compared to (default: the latest)', versionArg)
    .addOption(listOption('--env <environment>', 'an environment instead of a version (twice: from, then to)'))
    .option('--json', 'print JSON')
    .action(async (view: string, from: number | undefined, to: number | undefined, o: { env: string[]; json?: boolean }) => {
      ctx.exit = await viewDiffCommand({ io, dbPath: ctx.dbPath(), view, from, to, envs: o.env, json: o.json === true });
    });
  describe(
    viewCmd.command('repo-file'),
    'what a host needs to use an environment: a dnf/tdnf .repo file (id bulwark-<view>) or an apt sources line',
    'bulwark view repo-file azl3-base --env prod --url https://bulwark.example.com > /etc/yum.repos.d/bulwark.repo',
  )
    .argument('<view>', 'the content view')
    .requiredOption('--env <environment>', 'e.g. prod')
    .requiredOption('--url <url>', 'the address hosts reach bulwark serve at, e.g. https://bulwark.example.com')
    .action(async (view: string, o: { env: string; url: string }) => {
      ctx.exit = await viewRepoFileCommand({ io, dbPath: ctx.dbPath(), view, environment: o.env, url: o.url });
    });
  describe(
    viewCmd.command('key'),
    'the key published repositories are signed with: show it, publish the next one (--next), sign with it (--rotate)',
    'bulwark view key',
    'bulwark view key --next',
    'bulwark view key --rotate',
  )
    .option('--next', "make the next key and publish its public half beside the signing key's in every signed version")
    .option('--rotate', 'sign with the next key from now on (made at once if there is none) and sign every published version again')
    .option('--json', 'print JSON')
    .action(async (o: { next?: boolean; rotate?: boolean; json?: boolean }) => {
      ctx.exit = await viewKeyCommand({ io, dbPath: ctx.dbPath(), next: o.next === true, rotate: o.rotate === true, json: o.json === true });
    });
}
