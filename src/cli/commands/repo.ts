import { addRepo, defaultObjectsDir, listRepos, listSnapshots, mirrorSnapshot, syncRepo } from '../../services/repos.js';
import { applyPrune, planPrune, removeRepo, type PruneOptions } from '../../services/retention.js';
import { openStore } from '../../services/store.js';
import { publishDirOf } from './view.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { didYouMean, plural } from '../../lib/words.js';
import { BulwarkError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { describe, enumOption, intOption, listOption } from '../options.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

export async function repoAddCommand(
  o: Common & {
    id: string;
    url: string;
    keys: string[];
    verify: boolean;
    kind?: 'rpm-md' | 'deb';
    suite?: string | null;
    components?: string[];
    arches?: string[];
  },
): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await addRepo(db, {
      id: o.id,
      url: o.url,
      keyFiles: o.keys,
      verify: o.verify,
      actor: actorOf(o.io),
      kind: o.kind ?? 'rpm-md',
      suite: o.suite ?? null,
      components: o.components ?? [],
      arches: o.arches ?? [],
    });
    await writeAll(
      o.io.stdout,
      `repository ${r.id}: ${r.url}${r.verify ? `, signed by ${String(r.keys.length)} trusted key(s)` : ', signature NOT checked'}\n`,
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function repoListCommand(o: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const repos = await listRepos(db);
    if (o.json)
      await writeAll(
        o.io.stdout,
        JSON.stringify(
          repos.map((r) => ({ ...r, keys: r.keys.map((k) => k.origin) })),
          null,
          2,
        ) + '\n',
      );
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['REPO', 'KIND', 'URL', 'VERIFY', 'KEYS'],
          repos.map((r) => [r.id, r.kind, r.url, r.verify ? 'yes' : 'NO', r.keys.map((k) => k.origin).join(', ')]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark repo sync [ID…]`: a snapshot of each (all when none given); exit 4 when one failed. */
export async function repoSyncCommand(o: Common & { ids: string[]; allowRollback?: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const known = (await listRepos(db)).map((r) => r.id);
    // A mistyped repository is the caller's mistake (exit 2, with the closest name), not a refused sync (4).
    for (const id of o.ids)
      if (!known.includes(id)) throw new BulwarkError('usage', `no repository ${id}${didYouMean(id, known)} (add it with \`bulwark repo add\`)`, { repo: id });
    const ids = o.ids.length > 0 ? o.ids : known;
    let failed = false;
    for (const id of ids) {
      try {
        const r = await syncRepo(db, id, { objectsDir: defaultObjectsDir(o.dbPath, o.io.env), allowRollback: o.allowRollback === true, actor: actorOf(o.io) });
        const state = r.rolledBack
          ? 'ROLLED BACK (allowed)'
          : r.notAdvancedSince !== null
            ? `unchanged: not advanced since ${r.notAdvancedSince}`
            : r.created
              ? 'new'
              : 'unchanged';
        await writeAll(
          o.io.stdout,
          `${id}: snapshot ${r.snapshot.slice(0, 16)} ${state}, ${plural(r.packages, 'package')}, ${plural(r.files, 'file')}, ${plural(r.bytes, 'byte')}${r.signedBy === null ? ', NOT signature-checked' : `, signed by ${r.signedBy}`}\n`,
        );
      } catch (err) {
        failed = true;
        await writeAll(o.io.stderr, `${id}: REFUSED: ${(err as Error).message}\n`);
      }
    }
    return failed ? EXIT.targetsFailed : EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function repoSnapshotsCommand(o: Common & { id: string | undefined; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const snaps = await listSnapshots(db, o.id);
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(snaps, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['REPO', 'SNAPSHOT', 'TAKEN', 'REVISION', 'PACKAGES', 'SIGNED BY'],
          snaps.map((s) => [s.repoId, s.id.slice(0, 16), s.createdAt, s.revision ?? '-', String(s.packages), s.signedBy ?? 'unchecked']),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark repo mirror ID [--snapshot S]`: the snapshot's package files, verified and stored; exit 4 when one was refused. */
export async function repoMirrorCommand(o: Common & { id: string; snapshot: string | undefined }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await mirrorSnapshot(db, o.id, {
      objectsDir: defaultObjectsDir(o.dbPath, o.io.env),
      ...(o.snapshot !== undefined ? { snapshot: o.snapshot } : {}),
    });
    await writeAll(
      o.io.stdout,
      `${o.id}: snapshot ${r.snapshot.slice(0, 16)}: ${plural(r.packages, 'package')}, ${String(r.fetched)} fetched (${plural(r.bytes, 'byte')}), ${String(r.alreadyStored)} already stored, ${String(r.refused.length)} refused\n`,
    );
    for (const x of r.refused) await writeAll(o.io.stderr, `${o.id}: REFUSED ${x.package}: ${x.reason}\n`);
    return r.refused.length > 0 ? EXIT.targetsFailed : EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark repo remove ID`: the repository and its snapshots (refused while a kept view version uses it). */
export async function repoRemoveCommand(o: Common & { id: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await removeRepo(db, o.id, { actor: actorOf(o.io) });
    await writeAll(o.io.stdout, `repository ${o.id} removed with ${String(r.snapshots)} snapshot(s); its objects go at the next \`bulwark repo prune\`\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/**
 * `bulwark repo prune [--keep-snapshots N] [--snapshot-days D] [--keep-versions N] [--version-days D] [--dry-run]`:
 * every line it prints is one thing removed; with --dry-run, the same lines, nothing removed.
 */
export async function repoPruneCommand(o: Common & { rules: Omit<PruneOptions, 'objectsDir' | 'clock'>; dryRun: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const objectsDir = defaultObjectsDir(o.dbPath, o.io.env);
    const plan = await planPrune(db, { ...o.rules, objectsDir });
    const lines = [
      ...plan.versions.map((v) => `view ${v.view} version ${String(v.version)} (${v.createdAt})`),
      ...plan.snapshots.map((s) => `snapshot ${s.repo} ${s.snapshot.slice(0, 16)} (${s.createdAt})`),
      ...plan.objects.map((x) => `object ${x.sha256} ${String(x.bytes)} bytes`),
    ];
    if (!o.dryRun) await applyPrune(db, plan, { objectsDir, publishDir: publishDirOf(o.dbPath, o.io.env), actor: actorOf(o.io) });
    const verb = o.dryRun ? 'would remove' : 'removed';
    await writeAll(
      o.io.stdout,
      [
        ...lines.map((l) => `${verb} ${l}`),
        `${o.dryRun ? 'dry run: ' : ''}${String(plan.versions.length)} view version(s), ${String(plan.snapshots.length)} snapshot(s), ${String(plan.objects.length)} object(s) (${String(plan.bytes)} bytes) ${verb}`,
        '',
      ].join('\n'),
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark repo add | list | sync | remove | prune | mirror | snapshots`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const repo = describe(
    program.command('repo'),
    'package repositories: signed metadata verified, immutable content-addressed snapshots',
    'bulwark repo add base --url https://mirror.example.com/base/x86_64 --key repo.asc',
    'bulwark repo sync',
  );
  describe(
    repo.command('add'),
    'add a repository to take snapshots of',
    'bulwark repo add base --url https://mirror.example.com/base/x86_64 --key repo.asc',
    'bulwark repo add stable --kind deb --url https://mirror.example.com/deb --suite stable --component main --arch amd64 --key archive.asc',
  )
    .argument('<id>', 'a name for it, e.g. azl3-base')
    .requiredOption('--url <url>', 'the repository (https://…, file://… or a directory) holding repodata/')
    .addOption(listOption('--key <file>', 'an ASCII-armored OpenPGP public key its repomd.xml is signed with (repeatable)'))
    .option('--no-verify', 'take its metadata without a signature (checksums are still checked)')
    .addOption(enumOption('--kind <kind>', 'rpm-md (dnf, tdnf) or deb (apt)', ['rpm-md', 'deb'], { default: 'rpm-md' }))
    .option('--suite <suite>', 'deb: the suite under dists/ (none: a flat repository)')
    .addOption(listOption('--component <c>', 'deb: a component, e.g. main (repeatable)'))
    .addOption(listOption('--arch <a>', 'deb: an architecture, e.g. amd64 (repeatable)'))
    .action(
      async (id: string, o: { url: string; key: string[]; verify: boolean; kind: 'rpm-md' | 'deb'; suite?: string; component: string[]; arch: string[] }) => {
        ctx.exit = await repoAddCommand({
          io,
          dbPath: ctx.dbPath(),
          id,
          url: o.url,
          keys: o.key,
          verify: o.verify,
          kind: o.kind,
          suite: o.suite ?? null,
          components: o.component,
          arches: o.arch,
        });
      },
    );
  describe(repo.command('list'), 'list repositories, their kind, address and signing keys', 'bulwark repo list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      ctx.exit = await repoListCommand({ io, dbPath: ctx.dbPath(), json: o.json === true });
    });
  describe(repo.command('sync'), 'take a snapshot of each repository (all when none is named)', 'bulwark repo sync', 'bulwark repo sync base')
    .argument('[id...]', 'repositories')
    .option('--allow-rollback', 'take metadata older than the last snapshot (audited)')
    .action(async (ids: string[], o: { allowRollback?: boolean }) => {
      ctx.exit = await repoSyncCommand({ io, dbPath: ctx.dbPath(), ids, allowRollback: o.allowRollback === true });
    });
  describe(repo.command('remove'), 'remove a repository and its snapshots (refused while a kept view version uses it)', 'bulwark repo remove old-base')
    .argument('<id>', 'the repository')
    .action(async (id: string) => {
      ctx.exit = await repoRemoveCommand({ io, dbPath: ctx.dbPath(), id });
    });
  describe(
    repo.command('prune'),
    'prune snapshots and view versions by age or count, then unused objects (never what an environment serves or an image was built from)',
    'bulwark repo prune --keep-snapshots 30 --dry-run',
    'bulwark repo prune --snapshot-days 90 --keep-versions 12',
  )
    .addOption(intOption('--keep-snapshots <n>', 'keep this many newest snapshots per repository', { min: 0 }))
    .addOption(intOption('--snapshot-days <d>', 'keep snapshots taken within this many days', { min: 0 }))
    .addOption(intOption('--keep-versions <n>', 'keep this many newest versions per view', { min: 0 }))
    .addOption(intOption('--version-days <d>', 'keep view versions published within this many days', { min: 0 }))
    .option('--dry-run', 'list what would be removed, remove nothing')
    .action(async (o: { keepSnapshots?: number; snapshotDays?: number; keepVersions?: number; versionDays?: number; dryRun?: boolean }) => {
      const rules = {
        ...(o.keepSnapshots !== undefined ? { keepSnapshots: o.keepSnapshots } : {}),
        ...(o.snapshotDays !== undefined ? { snapshotDays: o.snapshotDays } : {}),
        ...(o.keepVersions !== undefined ? { keepVersions: o.keepVersions } : {}),
        ...(o.versionDays !== undefined ? { versionDays: o.versionDays } : {}),
      };
      ctx.exit = await repoPruneCommand({ io, dbPath: ctx.dbPath(), rules, dryRun: o.dryRun === true });
    });
  describe(
    repo.command('mirror'),
    "store a snapshot's package files, each verified against the snapshot's signed metadata",
    'bulwark repo mirror base',
    'bulwark repo mirror base --snapshot 3f2a9c',
  )
    .argument('<id>', 'the repository')
    .option('--snapshot <id>', 'this snapshot (a prefix of its id) instead of the latest')
    .action(async (id: string, o: { snapshot?: string }) => {
      ctx.exit = await repoMirrorCommand({ io, dbPath: ctx.dbPath(), id, snapshot: o.snapshot });
    });
  describe(repo.command('snapshots'), 'list snapshots: when taken, revision, packages, who signed', 'bulwark repo snapshots base')
    .argument('[id]', 'only this repository')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, o: { json?: boolean }) => {
      ctx.exit = await repoSnapshotsCommand({ io, dbPath: ctx.dbPath(), id, json: o.json === true });
    });
}
