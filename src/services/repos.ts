import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { BulwarkError } from '../core/errors.js';
import { parseSourceRpm } from '../core/package/nevra.js';
import { collectBytes, decompress } from '../lib/decompress.js';
import { redactLocation } from '../lib/location.js';
import { readTrustedKeys, verifyCleartext, verifyDetached } from '../lib/signatures.js';
import { countPackages, parseRelease } from '../repos/deb.js';
import { parseRepomd, primaryPackages } from '../repos/rpmmd.js';
import {
  defaultSqlitePath,
  getRepo,
  insertSnapshot,
  listRepoRows,
  retakeSnapshot,
  listSnapshotRows,
  recordRepoSourceNames,
  transaction,
  upsertRepo,
  type RepoRow,
  type SnapshotFile,
  type SnapshotRow,
  type Tx,
} from '../storage/index.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { readBoundedBytes } from './read-file.js';
import { putObject } from './object-store.js';
import { freshness, newestTimestamp, type SyncOptions } from './repo-freshness.js';
import { systemClock, type Clock, type Db } from './store.js';
import { fetchBytes, join2, MAX_FILE, sha } from './repo-fetch.js';

export { objectPath, putObject } from './object-store.js';
export type { SyncOptions } from './repo-freshness.js';
export { mirrorSnapshot, snapshotDebPackages, snapshotRpmPackages, type MirrorReport } from './repo-mirror.js';

/**
 * Repositories and snapshots (issue #7). `syncRepo` fetches an rpm-md repository's metadata,
 * verifies repomd.xml's OpenPGP signature against the keys trusted for that repository and every
 * listed file's size and checksum, and only then stores the files in the content-addressed object
 * store and records the snapshot: a repository whose metadata does not verify leaves nothing
 * behind. A snapshot is identified by the SHA-256 of its repomd.xml, so an unchanged repository
 * gives the same snapshot again.
 */
export type { RepoRow, SnapshotRow } from '../storage/index.js';

const MAX_REPOMD = 16 * 1024 * 1024;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Adds (or changes) a repository. Without `keys` its metadata is refused at sync unless `verify`
 * is explicitly false.
 * @example await addRepo(db, { id: 'azl3-base', url: 'https://packages.microsoft.com/azurelinux/3.0/prod/base/x86_64', keyFiles: ['/etc/pki/rpm-gpg/MICROSOFT-RPM-GPG-KEY'], verify: true, actor: { kind: 'cli', name: 'alice' } })
 */
export async function addRepo(
  db: Db,
  o: {
    id: string;
    url: string;
    keyFiles: string[];
    verify: boolean;
    actor: Actor;
    kind?: 'rpm-md' | 'deb';
    suite?: string | null;
    components?: string[];
    arches?: string[];
  },
  clock: Clock = systemClock,
): Promise<RepoRow> {
  if (!ID.test(o.id)) throw new BulwarkError('usage', `"${o.id}" is not a repository id (letters, digits, ".", "_", "-")`);
  const kind = o.kind ?? 'rpm-md';
  const word = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$/;
  for (const w of [...(o.suite === null || o.suite === undefined ? [] : [o.suite]), ...(o.components ?? []), ...(o.arches ?? [])])
    if (!word.test(w)) throw new BulwarkError('usage', `"${w}" is not a suite, component or architecture name`);
  if (kind === 'deb' && o.suite !== null && o.suite !== undefined && ((o.components ?? []).length === 0 || (o.arches ?? []).length === 0))
    throw new BulwarkError('usage', `repository ${o.id}: a Debian suite needs --component and --arch`);
  if (o.verify && o.keyFiles.length === 0)
    throw new BulwarkError('usage', `repository ${o.id}: give the key(s) its metadata is signed with (--key FILE), or --no-verify`);
  const keys = [];
  // Read and checked now, so a wrong file is refused when it is given, not at the first sync.
  for (const f of o.keyFiles) keys.push(...(await readTrustedKeys(await readBoundedBytes(f, 4 * 1024 * 1024), f)));
  const row: RepoRow = {
    id: o.id,
    kind,
    url: o.url,
    suite: kind === 'deb' ? (o.suite ?? null) : null,
    components: kind === 'deb' ? (o.components ?? []) : [],
    arches: kind === 'deb' ? (o.arches ?? []) : [],
    keys,
    verify: o.verify,
    createdAt: clock().toISOString(),
  };
  await upsertRepo(db, row);
  await recordAudit(db, o.actor, 'repo.add', o.id, { url: redactLocation(o.url), keys: o.keyFiles, verify: o.verify }, clock);
  return shown(row);
}

/**
 * Repositories as shown (CLI, API, dashboard): a URL's user name, password and query values are
 * *** — viewers read repository access keys (`https://user:KEY@…`, `?token=…`) in full, as
 * they did feed keys (issue #20, item 1). Syncs read the stored row itself (getRepo).
 */
export async function listRepos(db: Db): Promise<RepoRow[]> {
  return (await listRepoRows(db)).map(shown);
}

function shown(row: RepoRow): RepoRow {
  return { ...row, url: redactLocation(row.url) };
}

/** One repository as shown (its URL's keys as ***), or null. */
export async function repoById(db: Db, id: string): Promise<RepoRow | null> {
  const row = await getRepo(db, id);
  return row === null ? null : shown(row);
}

export function listSnapshots(db: Db, repoId?: string): Promise<SnapshotRow[]> {
  return listSnapshotRows(db, repoId);
}

export interface SyncReport {
  repo: string;
  snapshot: string;
  created: boolean;
  packages: number;
  signedBy: string | null;
  files: number;
  bytes: number;
  /** The same metadata as the last snapshot: when that one was taken (the source has not advanced since). */
  notAdvancedSince: string | null;
  /** Older metadata taken because the operator allowed it (audited as repo.rollback). */
  rolledBack: boolean;
}

/**
 * Takes a snapshot of a repository's metadata now (see the module comment and `freshness`),
 * audited as `repo.sync` with its actor (default: Bulwark itself).
 */
export async function syncRepo(db: Db, id: string, o: SyncOptions): Promise<SyncReport> {
  const r = await syncRepoMetadata(db, id, o);
  await recordAudit(
    db,
    o.actor ?? SYSTEM,
    'repo.sync',
    id,
    { snapshot: r.snapshot, created: r.created, packages: r.packages, ...(r.rolledBack ? { rolledBack: true } : {}) },
    o.clock ?? systemClock,
  );
  return r;
}

async function syncRepoMetadata(db: Db, id: string, o: SyncOptions): Promise<SyncReport> {
  const repo = await getRepo(db, id);
  if (repo === null) throw new BulwarkError('storage.not-found', `no repository ${id} (add it with \`bulwark repo add\`)`);
  if (repo.kind === 'deb') return syncDeb(db, repo, o);
  const repomdUrl = join2(repo.url, 'repodata/repomd.xml');
  const repomd = await fetchBytes(repomdUrl, MAX_REPOMD);
  if (repomd === null) throw new BulwarkError('input.invalid', `${redactLocation(repomdUrl)}: missing`);
  let signedBy: string | null = null;
  let asc: Buffer | null = null;
  if (repo.verify) {
    asc = await fetchBytes(`${repomdUrl}.asc`, 1024 * 1024, true);
    if (asc === null) throw new BulwarkError('input.invalid', `repository ${id}: ${redactLocation(repomdUrl)}.asc is missing: the metadata is not signed`);
    signedBy = await verifyDetached(repomd, asc.toString('utf8'), repo.keys, `repository ${id}: repomd.xml`);
  }
  const md = await parseRepomd(repomd, `repository ${id}: repomd.xml`);
  const fetched: { entry: (typeof md.entries)[number]; bytes: Buffer }[] = [];
  for (const e of md.entries) {
    const bytes = await fetchBytes(join2(repo.url, e.href), MAX_FILE);
    if (bytes === null) throw new BulwarkError('input.invalid', `repository ${id}: ${e.href} is missing`);
    if (e.size !== null && bytes.length !== e.size)
      throw new BulwarkError('input.invalid', `repository ${id}: ${e.href} is ${String(bytes.length)} bytes, repomd.xml says ${String(e.size)}`);
    const got = sha(e.checksumType, bytes);
    if (got !== e.checksum)
      throw new BulwarkError(
        'input.invalid',
        `repository ${id}: ${e.href} does not match its ${e.checksumType} in repomd.xml (got ${got.slice(0, 16)}…, want ${e.checksum.slice(0, 16)}…)`,
      );
    fetched.push({ entry: e, bytes });
  }
  const primary = fetched.find((f) => f.entry.type === 'primary');
  let packages = 0;
  const builds: { name: string; version: string; release: string; sourceName: string }[] = [];
  if (primary !== undefined) {
    for await (const p of primaryPackages(
      decompress(Readable.from([primary.bytes]), primary.entry.href, 4 * MAX_FILE),
      `repository ${id}: ${primary.entry.href}`,
    )) {
      if (p.name === '' || p.location === '')
        throw new BulwarkError('input.invalid', `repository ${id}: ${primary.entry.href}: a package without a name or location`);
      packages++;
      // What each build was built from: the first source of names an inventory lacks (issue #13).
      if (p.arch !== 'src' && p.arch !== 'nosrc' && p.sourceRpm !== null && p.sourceRpm !== '') {
        let source: string | null;
        try {
          source = parseSourceRpm(p.sourceRpm)?.name ?? null;
        } catch (err) {
          throw new BulwarkError('input.invalid', `repository ${id}: ${primary.entry.href}: package ${p.name}: rpm:sourcerpm: ${(err as Error).message}`);
        }
        if (source !== null) builds.push({ name: p.name, version: p.version, release: p.release, sourceName: source });
      }
    }
  }
  // Everything verified: store the objects, then the snapshot row.
  mkdirSync(o.objectsDir, { recursive: true });
  const files: SnapshotFile[] = [{ type: 'repomd', href: 'repodata/repomd.xml', sha256: await putObject(o.objectsDir, repomd), size: repomd.length }];
  if (asc !== null) files.push({ type: 'repomd-signature', href: 'repodata/repomd.xml.asc', sha256: await putObject(o.objectsDir, asc), size: asc.length });
  for (const f of fetched) files.push({ type: f.entry.type, href: f.entry.href, sha256: await putObject(o.objectsDir, f.bytes), size: f.bytes.length });
  const snapshot = sha('sha256', repomd);
  const fresh = await freshness(db, repo, snapshot, { revision: md.revision, newest: newestTimestamp(md) }, o);
  const createdAt = (o.clock ?? systemClock)().toISOString();
  return storeSnapshot(db, { id: snapshot, repoId: id, createdAt, revision: md.revision, packages, signedBy, files }, fresh, (tx) =>
    recordRepoSourceNames(tx, snapshot, builds),
  );
}

/**
 * A verified snapshot's row stored (taken again when the repository rolled back to it), with
 * `also` in the same transaction, and the sync's report of it.
 */
async function storeSnapshot(
  db: Db,
  row: SnapshotRow,
  fresh: { notAdvancedSince: SyncReport['notAdvancedSince']; rolledBack: boolean },
  also?: (tx: Tx) => Promise<void>,
): Promise<SyncReport> {
  const created = await transaction(db, async (tx) => {
    const inserted = await insertSnapshot(tx, row);
    if (!inserted && fresh.rolledBack) await retakeSnapshot(tx, row.repoId, row.id, row.createdAt);
    await also?.(tx);
    return inserted;
  });
  return {
    repo: row.repoId,
    snapshot: row.id,
    created,
    packages: row.packages,
    signedBy: row.signedBy,
    files: row.files.length,
    bytes: row.files.reduce((n, f) => n + f.size, 0),
    notAdvancedSince: fresh.notAdvancedSince,
    rolledBack: fresh.rolledBack,
  };
}

/**
 * The object store: BULWARK_OBJECTS_DIR, else `objects/` beside the SQLite file: `--db`, else
 * the file a `sqlite:PATH` BULWARK_DATABASE_URL names (also what the configuration file's
 * database.path becomes), else the default one (PostgreSQL too).
 */
export function defaultObjectsDir(dbPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const set = env['BULWARK_OBJECTS_DIR'];
  if (set !== undefined && set !== '') return set;
  const url = env['BULWARK_DATABASE_URL'];
  const fromUrl = url !== undefined && url.startsWith('sqlite:') && url !== 'sqlite::memory:' ? url.slice('sqlite:'.length) : undefined;
  const file = dbPath !== undefined && dbPath !== '' ? dbPath : (fromUrl ?? defaultSqlitePath(env));
  return join(dirname(file), 'objects');
}

/**
 * A Debian repository: InRelease (clearsigned; else Release with Release.gpg) verified against
 * the trusted keys and its Valid-Until, then each component's Packages index for each
 * architecture (the most compressed form the Release lists) checked against its size and SHA-256.
 */
async function syncDeb(db: Db, repo: RepoRow, o: SyncOptions): Promise<SyncReport> {
  const id = repo.id;
  const clock = o.clock ?? systemClock;
  const base = repo.suite === null ? repo.url.replace(/\/+$/, '') : join2(repo.url, `dists/${repo.suite}`);
  const inRelease = await fetchBytes(join2(base, 'InRelease'), MAX_REPOMD, true);
  let releaseText: string;
  let signedBy: string | null = null;
  const kept: { type: string; href: string; bytes: Buffer }[] = [];
  if (inRelease !== null) {
    kept.push({ type: 'inrelease', href: 'InRelease', bytes: inRelease });
    if (repo.verify) {
      const v = await verifyCleartext(inRelease.toString('utf8'), repo.keys, `repository ${id}: InRelease`);
      releaseText = v.text;
      signedBy = v.signedBy;
    } else
      releaseText = inRelease
        .toString('utf8')
        .replace(/^-----BEGIN PGP SIGNED MESSAGE-----\n(?:[^\n]+\n)*\n/, '')
        .replace(/\n-----BEGIN PGP SIGNATURE-----[\s\S]*$/, '');
  } else {
    const release = await fetchBytes(join2(base, 'Release'), MAX_REPOMD, true);
    if (release === null) throw new BulwarkError('input.invalid', `repository ${id}: neither InRelease nor Release at ${redactLocation(base)}`);
    kept.push({ type: 'release', href: 'Release', bytes: release });
    if (repo.verify) {
      const sig = await fetchBytes(join2(base, 'Release.gpg'), 1024 * 1024, true);
      if (sig === null) throw new BulwarkError('input.invalid', `repository ${id}: Release.gpg is missing: the metadata is not signed`);
      signedBy = await verifyDetached(release, sig.toString('utf8'), repo.keys, `repository ${id}: Release`);
      kept.push({ type: 'release-signature', href: 'Release.gpg', bytes: sig });
    }
    releaseText = release.toString('utf8');
  }
  const rel = parseRelease(releaseText, `repository ${id}: Release`);
  // A validly signed Release of another suite (oldstable for stable) would be a downgrade.
  if (repo.suite !== null && rel.suite !== repo.suite && rel.codename !== repo.suite)
    throw new BulwarkError(
      'input.invalid',
      `repository ${id}: the Release is for suite ${rel.suite ?? '(none)'}, codename ${rel.codename ?? '(none)'}, not ${repo.suite}`,
    );
  if (rel.validUntil !== null && !(Date.parse(rel.validUntil) > clock().getTime()))
    throw new BulwarkError('input.invalid', `repository ${id}: the Release expired (Valid-Until ${rel.validUntil}): refusing stale metadata`);
  const wanted = repo.suite === null ? [''] : repo.components.flatMap((c) => repo.arches.map((a) => `${c}/binary-${a}/`));
  let packages = 0;
  for (const dir of wanted) {
    const path = ['Packages.xz', 'Packages.gz', 'Packages'].map((f) => `${dir}${f}`).find((p) => rel.sha256.has(p));
    if (path === undefined) throw new BulwarkError('input.invalid', `repository ${id}: the Release lists no ${dir}Packages index`);
    const want = rel.sha256.get(path) ?? { size: -1, hash: '' };
    const bytes = await fetchBytes(join2(base, path), MAX_FILE);
    if (bytes === null) throw new BulwarkError('input.invalid', `repository ${id}: ${path} is missing`);
    if (bytes.length !== want.size)
      throw new BulwarkError('input.invalid', `repository ${id}: ${path} is ${String(bytes.length)} bytes, the Release says ${String(want.size)}`);
    if (sha('sha256', bytes) !== want.hash) throw new BulwarkError('input.invalid', `repository ${id}: ${path} does not match its SHA256 in the Release`);
    const text = (await collectBytes(decompress(Readable.from([bytes]), path, 4 * MAX_FILE), path, 4 * MAX_FILE)).toString('utf8');
    packages += countPackages(text, `repository ${id}: ${path}`);
    kept.push({ type: 'packages', href: path, bytes });
  }
  mkdirSync(o.objectsDir, { recursive: true });
  const files: SnapshotFile[] = [];
  for (const k of kept) files.push({ type: k.type, href: k.href, sha256: await putObject(o.objectsDir, k.bytes), size: k.bytes.length });
  // The Release and the indexes taken from it: the same Release read for other architectures or
  // components is another snapshot.
  const snapshot = sha('sha256', Buffer.from(files.map((f) => `${f.type} ${f.href} ${f.sha256}`).join('\n')));
  // Nor may an older Release, still within its Valid-Until, replace a newer one already taken.
  const fresh = await freshness(db, repo, snapshot, { revision: rel.date, newest: null }, o);
  const createdAt = clock().toISOString();
  return storeSnapshot(db, { id: snapshot, repoId: id, createdAt, revision: rel.date, packages, signedBy, files }, fresh);
}
