import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { backupDatabase, migrationStatus, openDatabase, restoreDatabase, type DatabaseLocation } from '../storage/index.js';
import { VERSION } from '../version.js';

/** What `bulwark backup` writes beside the database copy, and `bulwark restore` checks first. */
export interface BackupManifest {
  format: 'bulwark-backup/1';
  bulwarkVersion: string;
  createdAt: string;
  dialect: 'sqlite' | 'postgres';
  /** The database copy inside the backup directory. */
  database: string;
  /** The newest migration of the copied database: a restore needs a Bulwark that knows it. */
  migrations: string[];
  objects: { files: number; bytes: number } | null;
}

const MANIFEST = 'manifest.json';

function countFiles(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    files++;
    bytes += statSync(join(e.parentPath, e.name)).size;
  }
  return { files, bytes };
}

/**
 * A backup of a running installation into `output` (a new or empty directory): first the database,
 * consistently (SQLite's online backup API, or pg_dump's one snapshot), then the object store. The
 * objects are content-addressed and never changed in place, so copying them after the database
 * gives every object the copied rows name (a newer object is merely unreferenced).
 * @example await backup({ location: resolveLocation({ env }), objectsDir: '/var/lib/bulwark/objects', output: '/backup/2026-12-06' })
 */
export async function backup(o: { location: DatabaseLocation; objectsDir: string; output: string; now?: Date }): Promise<BackupManifest> {
  if (existsSync(o.output) && readdirSync(o.output).length > 0)
    throw new BulwarkError('usage', `${o.output} is not empty: back up into a new or empty directory`, { path: o.output });
  mkdirSync(o.output, { recursive: true, mode: 0o700 });
  // The schema is brought up to date first: a restore then needs this version of Bulwark, or a newer one.
  const db = await openDatabase(o.location);
  let migrations: string[];
  try {
    migrations = (await migrationStatus(db)).applied;
  } finally {
    await db.close();
  }
  const database = o.location.kind === 'sqlite' ? 'bulwark.db' : 'bulwark.pgdump';
  await backupDatabase(o.location, join(o.output, database));
  let objects: BackupManifest['objects'] = null;
  if (existsSync(o.objectsDir)) {
    cpSync(o.objectsDir, join(o.output, 'objects'), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    objects = countFiles(join(o.output, 'objects'));
  }
  const manifest: BackupManifest = {
    format: 'bulwark-backup/1',
    bulwarkVersion: VERSION,
    createdAt: (o.now ?? new Date()).toISOString(),
    dialect: o.location.kind,
    database,
    migrations,
    objects,
  };
  // Written last: a directory without it is an unfinished backup, which restore refuses.
  writeFileSync(join(o.output, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  return manifest;
}

/**
 * Restores a backup into an empty installation: the database must not exist yet (a SQLite file
 * that is not there; PostgreSQL: a database without Bulwark's tables) and the object store
 * directory must be missing or empty. The restored database is then opened, which migrates it
 * when it was made by an older Bulwark.
 * @example await restore({ input: '/backup/2026-12-06', location, objectsDir: '/var/lib/bulwark/objects' })
 */
export async function restore(o: { input: string; location: DatabaseLocation; objectsDir: string }): Promise<BackupManifest> {
  const file = join(o.input, MANIFEST);
  if (!existsSync(file)) throw new BulwarkError('usage', `${o.input} is not a finished Bulwark backup: it has no ${MANIFEST}`, { path: o.input });
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new BulwarkError('input.invalid', `${file}: not JSON (${(err as Error).message})`, { path: file });
  }
  if ((manifest.format as string) !== 'bulwark-backup/1')
    throw new BulwarkError('input.invalid', `${file}: unknown backup format "${manifest.format}"`, { path: file });
  if (manifest.dialect !== o.location.kind)
    throw new BulwarkError('usage', `the backup holds a ${manifest.dialect} database, and the configured database is ${o.location.kind}`, { path: o.input });
  if (existsSync(o.objectsDir) && readdirSync(o.objectsDir).length > 0)
    throw new BulwarkError('usage', `the object store ${o.objectsDir} is not empty: restore only into a new installation`, { path: o.objectsDir });
  if (o.location.kind === 'postgres') {
    const db = await openDatabase(o.location, { migrate: false });
    try {
      if ((await migrationStatus(db)).applied.length > 0)
        throw new BulwarkError('usage', `${db.description} already holds a Bulwark database: restore only into an empty one`, {});
    } finally {
      await db.close();
    }
  }
  await restoreDatabase(o.location, join(o.input, manifest.database));
  if (manifest.objects !== null) cpSync(join(o.input, 'objects'), o.objectsDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const db = await openDatabase(o.location);
  await db.close();
  return manifest;
}
