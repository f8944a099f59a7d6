import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { isBulwarkError } from '../core/errors.js';
import { databaseClock, migrationStatus, newestRecordedTime, openDatabase, type DatabaseLocation } from '../storage/index.js';
import { listSources } from './feed-sources.js';
import { sshKeyDir } from './hosts.js';
import { systemClock, type Clock } from './store.js';

/** One finding of `bulwark doctor`: what was checked, its verdict, and what to do when it is not ok. */
export interface Check {
  area: 'tools' | 'ssh' | 'database' | 'feeds' | 'clock';
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to do about it; null when ok. */
  fix: string | null;
}

/**
 * The tools Bulwark runs, what needs them and how to get them on Debian. None is required for
 * every use: rpm and dnf build and check rpm images and repositories, oscap cross-checks OVAL,
 * xz and zstd read compressed feeds faster than the built-in decoders.
 */
const TOOLS: readonly { tool: string; needed: string; install: string }[] = [
  { tool: 'rpm', needed: 'rpm inventories of images, rpm repositories', install: 'apt-get install rpm' },
  { tool: 'dnf', needed: 'building rpm images (dnf4)', install: 'apt-get install dnf' },
  { tool: 'dnf5', needed: 'building images of releases that use dnf5', install: 'install dnf5 from your distribution' },
  { tool: 'tdnf', needed: 'building images of releases that use tdnf', install: 'install tdnf from your distribution' },
  { tool: 'xz', needed: 'xz-compressed feeds', install: 'apt-get install xz-utils' },
  { tool: 'zstd', needed: 'zstd-compressed feeds and repositories', install: 'apt-get install zstd' },
  { tool: 'oscap', needed: 'cross-checking OVAL results with the reference evaluator', install: 'apt-get install openscap-scanner' },
  { tool: 'pg_dump', needed: 'bulwark backup on PostgreSQL', install: 'apt-get install postgresql-client' },
];

/** The executable `tool` on PATH, or null. */
export function findOnPath(tool: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** How far this machine's clock may be from the database server's before doctor says so. */
export const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * Checks an installation: tools, SSH identities, the database (reachable, migrated, not newer
 * than this Bulwark), feed freshness and the clock. Never throws for what it finds: every
 * problem is a check with its fix. Runs no migration.
 * @example (await doctor({ location: resolveLocation({ env }), env })).filter((c) => c.status !== 'ok')
 */
export async function doctor(o: { location: DatabaseLocation; env: NodeJS.ProcessEnv; clock?: Clock }): Promise<Check[]> {
  const clock = o.clock ?? systemClock;
  const out: Check[] = [];
  for (const t of TOOLS) {
    const at = findOnPath(t.tool, o.env);
    out.push(
      at !== null
        ? { area: 'tools', name: t.tool, status: 'ok', detail: at, fix: null }
        : { area: 'tools', name: t.tool, status: 'warn', detail: `not found on PATH; needed for ${t.needed}`, fix: t.install },
    );
  }

  let keyDir: string | null = null;
  try {
    keyDir = sshKeyDir(o.env, { server: true });
  } catch (err) {
    out.push({
      area: 'ssh',
      name: 'key directory',
      status: 'fail',
      detail: (err as Error).message,
      fix: 'set BULWARK_SSH_KEY_DIR (paths.ssh_keys) to an absolute path',
    });
  }
  if (keyDir !== null) {
    const keys = existsSync(keyDir) ? readdirSync(keyDir).filter((f) => /^id_[a-z0-9]+$/.test(f)) : [];
    out.push(
      keys.length > 0
        ? { area: 'ssh', name: 'identities', status: 'ok', detail: `${keyDir}: ${keys.join(', ')}`, fix: null }
        : {
            area: 'ssh',
            name: 'identities',
            status: 'warn',
            detail: `no SSH identity in ${keyDir}: hosts cannot be reached over SSH (agents and imports still work)`,
            fix: `ssh-keygen -t ed25519 -N '' -f ${join(keyDir, 'id_ed25519')}`,
          },
    );
  }

  if (o.location.kind === 'sqlite' && o.location.path !== ':memory:' && !existsSync(o.location.path)) {
    // Opening would make an empty file: doctor looks, it does not create.
    out.push({
      area: 'database',
      name: 'reachable',
      status: 'fail',
      detail: `no database at ${o.location.path}`,
      fix: 'check --db, database.path or BULWARK_DATABASE_URL; `bulwark restore` a backup, or any command (`bulwark hosts list`) creates an empty one',
    });
    return out;
  }
  let db;
  try {
    db = await openDatabase(o.location, { migrate: false });
  } catch (err) {
    out.push({
      area: 'database',
      name: 'reachable',
      status: 'fail',
      detail: isBulwarkError(err) ? err.message : String(err),
      fix:
        o.location.kind === 'sqlite'
          ? `check that ${o.location.path} is readable and writable by the service user`
          : 'check BULWARK_DATABASE_URL (database.url): host, port, user, password, database',
    });
    return out;
  }
  try {
    out.push({ area: 'database', name: 'reachable', status: 'ok', detail: `${db.dialect} ${db.description}`, fix: null });
    const m = await migrationStatus(db);
    if (m.unknown.length > 0)
      out.push({
        area: 'database',
        name: 'schema',
        status: 'fail',
        detail: `migrated by a newer Bulwark (${m.unknown.join(', ')} unknown to this one)`,
        fix: 'run the newer Bulwark, or restore a backup made by this version',
      });
    else if (m.pending.length > 0)
      out.push({
        area: 'database',
        name: 'schema',
        status: m.applied.length === 0 ? 'warn' : 'fail',
        detail: m.applied.length === 0 ? 'empty: no Bulwark tables yet' : `${String(m.pending.length)} migrations pending (${m.pending.join(', ')})`,
        fix: 'any bulwark command that opens the database migrates it, e.g. `bulwark hosts list`; take a `bulwark backup` first',
      });
    else out.push({ area: 'database', name: 'schema', status: 'ok', detail: `${String(m.applied.length)} migrations, up to date`, fix: null });

    const now = clock();
    const server = await databaseClock(db);
    if (server !== null) {
      const skew = Math.abs(server.getTime() - now.getTime());
      out.push(
        skew > MAX_CLOCK_SKEW_MS
          ? {
              area: 'clock',
              name: 'database server',
              status: 'fail',
              detail: `this machine's clock and the database server's differ by ${String(Math.round(skew / 1000))} s`,
              fix: 'run NTP on both (systemctl enable --now systemd-timesyncd)',
            }
          : { area: 'clock', name: 'database server', status: 'ok', detail: `within ${String(Math.round(skew / 1000))} s of this machine`, fix: null },
      );
    }
    if (m.pending.length === 0 && m.unknown.length === 0) {
      const newest = await newestRecordedTime(db);
      out.push(
        newest !== null && Date.parse(newest) > now.getTime() + MAX_CLOCK_SKEW_MS
          ? {
              area: 'clock',
              name: 'recorded times',
              status: 'fail',
              detail: `the audit log holds ${newest}, later than now (${now.toISOString()}): the clock went back`,
              fix: 'set the clock right (NTP); deadlines and freshness are computed from it',
            }
          : { area: 'clock', name: 'recorded times', status: 'ok', detail: `now ${now.toISOString()}, newest record ${newest ?? 'none'}`, fix: null },
      );
      const synced = (await listSources(db, clock)).filter((s) => s.freshness.state !== 'never-synced');
      if (synced.length === 0)
        out.push({
          area: 'feeds',
          name: 'sources',
          status: 'warn',
          detail: 'no feed source was ever synced: nothing can be matched',
          fix: 'bulwark feeds sync',
        });
      for (const s of synced)
        out.push(
          s.freshness.state === 'fresh'
            ? { area: 'feeds', name: s.id, status: 'ok', detail: `fresh (last read ${s.freshness.lastSuccessAt ?? '?'})`, fix: null }
            : { area: 'feeds', name: s.id, status: 'warn', detail: s.freshness.reason ?? 'stale', fix: `bulwark feeds sync --source ${s.id}` },
        );
    }
  } finally {
    await db.close();
  }
  return out;
}
