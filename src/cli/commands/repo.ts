import { addRepo, defaultObjectsDir, listRepos, listSnapshots, mirrorSnapshot, syncRepo } from '../../services/repos.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { didYouMean, plural } from '../../lib/words.js';
import { BulwarkError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { describe, enumOption, listOption } from '../options.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

export async function repoAddCommand(o: Common & { id: string; url: string; keys: string[]; verify: boolean; kind?: 'rpm-md' | 'deb'; suite?: string | null; components?: string[]; arches?: string[] }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await addRepo(db, { id: o.id, url: o.url, keyFiles: o.keys, verify: o.verify, actor: actorOf(o.io), kind: o.kind ?? 'rpm-md', suite: o.suite ?? null, components: o.components ?? [], arches: o.arches ?? [] });
    await writeAll(o.io.stdout, `repository ${r.id}: ${r.url}${r.verify ? `, signed by ${String(r.keys.length)} trusted key(s)` : ', signature NOT checked'}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function repoListCommand(o: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const repos = await listRepos(db);
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(repos.map((r) => ({ ...r, keys: r.keys.map((k) => k.origin) })), null, 2) + '\n');
    else await writeAll(o.io.stdout, formatTable(['REPO', 'KIND', 'URL', 'VERIFY', 'KEYS'], repos.map((r) => [r.id, r.kind, r.url, r.verify ? 'yes' : 'NO', r.keys.map((k) => k.origin).join(', ')])));
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark repo sync [ID…]`: a snapshot of each (all when none given); exit 4 when one failed. */
export async function repoSyncCommand(o: Common & { ids: string[] }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const known = (await listRepos(db)).map((r) => r.id);
    // A mistyped repository is the caller's mistake (exit 2, with the closest name), not a refused sync (4).
    for (const id of o.ids) if (!known.includes(id)) throw new BulwarkError('usage', `no repository ${id}${didYouMean(id, known)} (add it with \`bulwark repo add\`)`, { repo: id });
    const ids = o.ids.length > 0 ? o.ids : known;
    let failed = false;
    for (const id of ids) {
      try {
        const r = await syncRepo(db, id, { objectsDir: defaultObjectsDir(o.dbPath, o.io.env) });
        await writeAll(o.io.stdout, `${id}: snapshot ${r.snapshot.slice(0, 16)} ${r.created ? 'new' : 'unchanged'}, ${plural(r.packages, 'package')}, ${plural(r.files, 'file')}, ${plural(r.bytes, 'byte')}${r.signedBy === null ? ', NOT signature-checked' : `, signed by ${r.signedBy}`}\n`);
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
    else await writeAll(o.io.stdout, formatTable(['REPO', 'SNAPSHOT', 'TAKEN', 'REVISION', 'PACKAGES', 'SIGNED BY'], snaps.map((s) => [s.repoId, s.id.slice(0, 16), s.createdAt, s.revision ?? '-', String(s.packages), s.signedBy ?? 'unchecked'])));
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark repo mirror ID [--snapshot S]`: the snapshot's package files, verified and stored; exit 4 when one was refused. */
export async function repoMirrorCommand(o: Common & { id: string; snapshot: string | undefined }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await mirrorSnapshot(db, o.id, { objectsDir: defaultObjectsDir(o.dbPath, o.io.env), ...(o.snapshot !== undefined ? { snapshot: o.snapshot } : {}) });
    await writeAll(o.io.stdout, `${o.id}: snapshot ${r.snapshot.slice(0, 16)}: ${plural(r.packages, 'package')}, ${String(r.fetched)} fetched (${plural(r.bytes, 'byte')}), ${String(r.alreadyStored)} already stored, ${String(r.refused.length)} refused\n`);
    for (const x of r.refused) await writeAll(o.io.stderr, `${o.id}: REFUSED ${x.package}: ${x.reason}\n`);
    return r.refused.length > 0 ? EXIT.targetsFailed : EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark repo add | list | sync | mirror | snapshots`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const repo = describe(program.command('repo'), 'package repositories: signed metadata verified, immutable content-addressed snapshots', 'bulwark repo add base --url https://mirror.example.com/base/x86_64 --key repo.asc', 'bulwark repo sync');
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
    .action(async (id: string, o: { url: string; key: string[]; verify: boolean; kind: 'rpm-md' | 'deb'; suite?: string; component: string[]; arch: string[] }) => {
      ctx.exit = await repoAddCommand({ io, dbPath: ctx.dbPath(), id, url: o.url, keys: o.key, verify: o.verify, kind: o.kind, suite: o.suite ?? null, components: o.component, arches: o.arch });
    });
  describe(repo.command('list'), 'list repositories, their kind, address and signing keys', 'bulwark repo list')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      ctx.exit = await repoListCommand({ io, dbPath: ctx.dbPath(), json: o.json === true });
    });
  describe(repo.command('sync'), 'take a snapshot of each repository (all when none is named)', 'bulwark repo sync', 'bulwark repo sync base')
    .argument('[id...]', 'repositories')
    .action(async (ids: string[]) => {
      ctx.exit = await repoSyncCommand({ io, dbPath: ctx.dbPath(), ids });
    });
  describe(repo.command('mirror'), "store a snapshot's package files, each verified against the snapshot's signed metadata", 'bulwark repo mirror base', 'bulwark repo mirror base --snapshot 3f2a9c')
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
