import { addRepo, defaultObjectsDir, listRepos, listSnapshots, mirrorSnapshot, syncRepo } from '../../services/repos.js';
import { applyPrune, planPrune, removeRepo, type PruneOptions } from '../../services/retention.js';
import { openStore } from '../../services/store.js';
import { publishDirOf } from './view.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

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
export async function repoSyncCommand(o: Common & { ids: string[]; allowRollback?: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const ids = o.ids.length > 0 ? o.ids : (await listRepos(db)).map((r) => r.id);
    let failed = false;
    for (const id of ids) {
      try {
        const r = await syncRepo(db, id, { objectsDir: defaultObjectsDir(o.dbPath, o.io.env), allowRollback: o.allowRollback === true, actor: actorOf(o.io) });
        const state = r.rolledBack ? 'ROLLED BACK (allowed)' : r.notAdvancedSince !== null ? `unchanged: not advanced since ${r.notAdvancedSince}` : r.created ? 'new' : 'unchanged';
        await writeAll(o.io.stdout, `${id}: snapshot ${r.snapshot.slice(0, 16)} ${state}, ${String(r.packages)} packages, ${String(r.files)} files, ${String(r.bytes)} bytes${r.signedBy === null ? ', NOT signature-checked' : `, signed by ${r.signedBy}`}\n`);
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
    await writeAll(o.io.stdout, `${o.id}: snapshot ${r.snapshot.slice(0, 16)}: ${String(r.packages)} packages, ${String(r.fetched)} fetched (${String(r.bytes)} bytes), ${String(r.alreadyStored)} already stored, ${String(r.refused.length)} refused\n`);
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
    const lines = [...plan.versions.map((v) => `view ${v.view} version ${String(v.version)} (${v.createdAt})`), ...plan.snapshots.map((s) => `snapshot ${s.repo} ${s.snapshot.slice(0, 16)} (${s.createdAt})`), ...plan.objects.map((x) => `object ${x.sha256} ${String(x.bytes)} bytes`)];
    if (!o.dryRun) await applyPrune(db, plan, { objectsDir, publishDir: publishDirOf(o.dbPath, o.io.env), actor: actorOf(o.io) });
    const verb = o.dryRun ? 'would remove' : 'removed';
    await writeAll(o.io.stdout, [...lines.map((l) => `${verb} ${l}`), `${o.dryRun ? 'dry run: ' : ''}${String(plan.versions.length)} view version(s), ${String(plan.snapshots.length)} snapshot(s), ${String(plan.objects.length)} object(s) (${String(plan.bytes)} bytes) ${verb}`, ''].join('\n'));
    return EXIT.ok;
  } finally {
    await db.close();
  }
}
