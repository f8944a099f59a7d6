import { saveInventoryWithSources } from './source-names.js';
import { dirname, join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { checkHostName } from '../core/target.js';
import { didYouMean } from '../lib/words.js';
import { releaseFamily } from '../distros/registry.js';
import { PACKAGE_MANAGER_IDS, type PackageManager } from '../executor/registry.js';
import { checkIdentityFile, mapBounded } from '../inventory/ssh.js';
import { requireTransport, transportOf } from './host-transports/index.js';
import { sshAddress } from './host-transports/ssh.js';
import {
  defaultSqlitePath,
  getTarget,
  listTargets,
  removeTarget,
  setTargetImage,
  setTargetTags,
  type StoredTarget,
  transaction,
  upsertTarget,
} from '../storage/index.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { scanTarget, type ScanReport } from './scan.js';
import { systemClock, type Clock, type Db } from './store.js';

/** The package managers a host can be added with (`--package-manager`), one module each in executor/. */
export const HOST_PACKAGE_MANAGERS: readonly [PackageManager, ...PackageManager[]] = PACKAGE_MANAGER_IDS as [PackageManager, ...PackageManager[]];
export type { PackageManager };
/**
 * Hosts reached over SSH (issue #4). A host's connection is its target address,
 * `ssh://user@host:port?identity=/path/key&sudo=1&pm=dnf` — no secret is stored: the key stays in
 * its file (or the SSH agent).
 */
export interface HostInput {
  name: string;
  /** `user@host`, `user@host:port`, `host`… (user defaults to root, port to 22). */
  address: string;
  identityFile?: string | null | undefined;
  sudo?: boolean | undefined;
  tags?: string[] | undefined;
  /** The host's package manager when its release's default is not the one installed (e.g. dnf on Azure Linux 3.0). */
  packageManager?: PackageManager | undefined;
}

/** @example parseSshAddress('bulwark@10.0.0.5:2222') // { user: 'bulwark', host: '10.0.0.5', port: 2222 } */
export function parseSshAddress(address: string): { user: string; host: string; port: number } {
  const m = /^(?:([A-Za-z_][A-Za-z0-9._-]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?$/.exec(address);
  const port = Number(m?.[3] ?? 22);
  if (!m?.[2] || port < 1 || port > 65535) throw new BulwarkError('usage', `"${address}" is not an SSH address (user@host[:port])`);
  return { user: m[1] ?? 'root', host: m[2].replace(/^\[|\]$/g, ''), port };
}

export { packageManagerOf } from './host-transports/index.js';
export { sshTargetOf } from './host-transports/ssh.js';

/**
 * The directory SSH identity files must be in: BULWARK_SSH_KEY_DIR, else for `bulwark serve`
 * (`server: true`) `ssh-keys/` beside the default database, else none (the CLI reads any file its
 * user can).
 */
export function sshKeyDir(env: NodeJS.ProcessEnv = process.env, o: { server?: boolean } = {}): string | null {
  const dir = env['BULWARK_SSH_KEY_DIR'];
  if (dir !== undefined && dir !== '') {
    if (!dir.startsWith('/'))
      throw new BulwarkError('config.invalid', `BULWARK_SSH_KEY_DIR must be an absolute path, not "${dir}"`, { variable: 'BULWARK_SSH_KEY_DIR' });
    return dir;
  }
  return o.server === true ? join(dirname(defaultSqlitePath(env)), 'ssh-keys') : null;
}

/**
 * Adds a host, or replaces the one of that name, audited as `host.add`. With `replace: false`
 * (the CLI without --replace) an existing name is refused instead of being replaced silently.
 * @example await addHost(db, { name: 'web-01', address: 'bulwark@10.0.0.5', identityFile: '/etc/bulwark/id_ed25519', sudo: true }, { kind: 'cli', name: 'alice' })
 */
export async function addHost(
  db: Db,
  input: HostInput,
  actor: Actor = SYSTEM,
  o: { identityDir?: string | null; clock?: Clock; replace?: boolean } = {},
): Promise<StoredTarget> {
  checkHostName(input.name);
  if (o.replace === false) {
    const existing = await getTarget(db, input.name);
    if (existing?.name === input.name)
      throw new BulwarkError(
        'usage',
        `a ${existing.kind === 'host' ? 'host' : existing.kind} named "${input.name}" exists${existing.address === null ? '' : ` (${existing.address})`}; --replace replaces it`,
        { name: input.name },
      );
  }
  // Refused when added, too (the same check runs before every connection).
  if (input.identityFile !== undefined && input.identityFile !== null) await checkIdentityFile(input.identityFile, o.identityDir);
  const address = sshAddress({ ...parseSshAddress(input.address), identityFile: input.identityFile, sudo: input.sudo, packageManager: input.packageManager });
  const clock = o.clock ?? systemClock;
  const t = await upsertTarget(
    db,
    { name: input.name, kind: 'host', address, ...(input.tags !== undefined ? { tags: input.tags } : {}) },
    clock().toISOString(),
  );
  await recordAudit(db, actor, 'host.add', t.name, { address: t.address, tags: t.tags }, clock);
  return t;
}

export async function listHosts(db: Db): Promise<StoredTarget[]> {
  return (await listTargets(db)).filter((t) => t.kind === 'host');
}

/** One host by name (or id); null when there is none (an image of that name is not a host). */
export async function getHost(db: Db, name: string): Promise<StoredTarget | null> {
  const t = await getTarget(db, name);
  return t?.kind === 'host' ? t : null;
}

/** Removes a host with its inventory and findings, audited as `host.remove`; false when there was none (nothing audited). */
export async function removeHost(db: Db, name: string, actor: Actor = SYSTEM, clock: Clock = systemClock): Promise<boolean> {
  const removed = await transaction(db, (tx) => removeTarget(tx, name));
  if (removed) await recordAudit(db, actor, 'host.remove', name, {}, clock);
  return removed;
}

/**
 * Adds and removes tags of a host, imported targets (no address) too, audited as `host.tag` with
 * the tags after and what changed. Tags are kept sorted, once each. An unknown name is refused
 * with the closest known one.
 * @example await tagHost(db, 'web-1', { add: ['prod'], remove: ['staging'] }, actor)
 */
export async function tagHost(
  db: Db,
  name: string,
  change: { add: readonly string[]; remove: readonly string[] },
  actor: Actor = SYSTEM,
  clock: Clock = systemClock,
): Promise<StoredTarget> {
  if (change.add.length + change.remove.length === 0) throw new BulwarkError('usage', 'give --tag TAG or --untag TAG (each repeatable)');
  for (const tag of [...change.add, ...change.remove])
    if (!TAG.test(tag)) throw new BulwarkError('usage', `"${tag}" is not a tag (letters, digits, ".", "_", ":", "/", "-"; no spaces or commas)`);
  const t = await transaction(db, async (tx) => {
    const old = await getTarget(tx, name);
    if (old?.kind !== 'host') return null;
    const tags = [...new Set([...old.tags.filter((x) => !change.remove.includes(x)), ...change.add])].sort();
    return setTargetTags(tx, old.id, tags);
  });
  if (t === null) {
    const names = (await listHosts(db)).map((h) => h.name);
    throw new BulwarkError('usage', `no host named "${name}"${didYouMean(name, names)} (\`bulwark hosts list\` shows them)`, { name });
  }
  await recordAudit(db, actor, 'host.tag', t.name, { tags: t.tags, added: change.add, removed: change.remove }, clock);
  return t;
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,62}$/;

/** The known_hosts file Bulwark keeps beside its default database. */
export function defaultKnownHosts(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(defaultSqlitePath(env)), 'known_hosts');
}

export interface HostScanOptions {
  knownHostsFile: string;
  acceptNewHostKey: boolean;
  /** The directory identity files must be in (sshKeyDir). */
  identityDir?: string | null;
  concurrency?: number;
  timeoutMs?: number;
  clock?: Clock;
  /** Who asked: each host scanned is audited as `host.scan` (default: Bulwark itself). */
  actor?: Actor;
}

export interface HostScanResult {
  host: string;
  ok: boolean;
  report?: ScanReport;
  error?: string;
}

/**
 * Collects each host over SSH (at most `concurrency` at once), stores its inventory and scans
 * it. A host that fails is an error on that host; the others go on.
 */
export async function scanHosts(db: Db, names: readonly string[] | 'all', opts: HostScanOptions): Promise<HostScanResult[]> {
  const all = await listHosts(db);
  // Every host the server collects itself (SSH); agents report by themselves.
  const chosen =
    names === 'all' ? all.filter((t) => transportOf(t)?.collect !== undefined) : names.map((n) => all.find((t) => t.name === n || t.id === n) ?? n);
  const clock = opts.clock ?? systemClock;
  const results = await mapBounded(chosen, opts.concurrency ?? 16, async (t) => {
    if (typeof t === 'string') throw new BulwarkError('storage.not-found', `no host named "${t}"`);
    const tr = requireTransport(t);
    const collect = tr.collect;
    if (collect === undefined)
      throw new BulwarkError(
        'usage',
        `host "${t.name}" is reached through its ${tr.id}, which reports its inventory by itself: \`hosts scan\` collects the hosts the server reaches`,
      );
    const inv = await collect(t, {
      knownHostsFile: opts.knownHostsFile,
      acceptNewHostKey: opts.acceptNewHostKey,
      identityDir: opts.identityDir ?? null,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    const release = inv.release ?? t.release;
    if (release === null || releaseFamily(release) === null) throw new BulwarkError('input.invalid', `${t.name}: cannot tell its release from /etc/os-release`);
    const now = clock().toISOString();
    await transaction(db, async (tx) => {
      await upsertTarget(tx, { name: t.name, kind: 'host', release, arch: inv.arch }, now);
      await saveInventoryWithSources(
        tx,
        {
          targetId: t.id,
          collectedAt: now,
          release,
          arch: inv.arch,
          runningKernel: inv.runningKernel,
          rebootRequired: inv.rebootRequired,
          packages: inv.packages,
          streams: inv.streams,
          livePatches: inv.livePatches,
        },
        now,
      );
      await setTargetImage(tx, t.id, inv.image);
    });
    const report = await scanTarget(db, t.id, clock);
    await recordAudit(db, opts.actor ?? SYSTEM, 'host.scan', t.name, { packages: inv.packages.length, findings: report.active.length }, clock);
    return report;
  });
  return results.map((r, i) => {
    const t = chosen[i];
    const host = typeof t === 'string' ? t : (t?.name ?? '?');
    return r.ok ? { host, ok: true, report: r.value } : { host, ok: false, error: r.error.message };
  });
}
