import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { keyInfo, readTrustedKeys } from '../lib/signatures.js';
import { parseContentView } from '../repos/content-view.js';
import { getViewVersion, listEnvironments, listViewVersions, promotedTo, setEnvironment, type ViewVersionRow } from '../storage/index.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import { systemClock, type Clock, type Db } from './store.js';

// Environments (dev, canary, prod…) point at published versions; promoting is moving that pointer.

/** Points an environment at a published version (default: the latest). */
export async function promoteView(
  db: Db,
  o: { view: string; environment: string; version?: number; actor: Actor; clock?: Clock; force?: boolean },
): Promise<{ version: number }> {
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(o.environment)) throw new BulwarkError('usage', `"${o.environment}" is not an environment name`);
  const versions = await listViewVersions(db, o.view);
  const v = o.version === undefined ? versions[0] : versions.find((x) => x.version === o.version);
  if (v === undefined)
    throw new BulwarkError(
      'storage.not-found',
      `content view ${o.view} has no ${o.version === undefined ? 'published' : `version ${String(o.version)}`} version`,
    );
  // The version's own YAML says the way through the environments.
  const path = parseContentView(v.spec, `${o.view} version ${String(v.version)}`).promotion;
  if (path !== undefined && o.force !== true) {
    const i = path.indexOf(o.environment);
    if (i < 0) throw new BulwarkError('usage', `${o.view}: ${o.environment} is not on its promotion path (${path.join(' → ')})`);
    const before = path[i - 1];
    if (before !== undefined && !(await promotedTo(db, o.view, v.version)).includes(before))
      throw new BulwarkError(
        'usage',
        `${o.view} version ${String(v.version)} has not been in ${before} yet (${path.join(' → ')}); promote it there first, or force it`,
      );
  }
  const clock = o.clock ?? systemClock;
  await setEnvironment(db, { view: o.view, environment: o.environment, version: v.version, at: clock().toISOString(), by: actorLabel(o.actor) });
  await recordAudit(
    db,
    o.actor,
    'view.promote',
    o.view,
    { environment: o.environment, version: v.version, ...(o.force === true ? { forced: true } : {}) },
    clock,
  );
  return { version: v.version };
}

/** One version of a view (default: its latest), or null. */
export function viewVersion(db: Db, view: string, version?: number): Promise<ViewVersionRow | null> {
  return getViewVersion(db, view, version);
}

export function viewVersions(db: Db, view?: string): Promise<ViewVersionRow[]> {
  return listViewVersions(db, view);
}

export function viewEnvironments(db: Db, view?: string): ReturnType<typeof listEnvironments> {
  return listEnvironments(db, view);
}

/** The directory an environment of a view serves, or null. */
export async function environmentDir(db: Db, view: string, environment: string): Promise<string | null> {
  const env = (await listEnvironments(db, view)).find((e) => e.environment === environment);
  if (env === undefined) return null;
  return (await listViewVersions(db, view)).find((v) => v.version === env.version)?.dir ?? null;
}

/**
 * What a host needs to use an environment of a view: a dnf/tdnf `.repo` file (repository id
 * `bulwark-<view>`, the id a policy's `source.repoId` names) or an apt sources line.
 * @example await viewRepoConfig(db, { view: 'azl3-prod', environment: 'prod', url: 'https://bulwark.example.com' })
 */
/** Comment lines giving the fingerprints of the keys in a published key file, to check against what a host is shown. */
async function fingerprintLines(file: string, shownBy: string): Promise<string[]> {
  const keys = await readTrustedKeys(await readFile(file), file);
  const fprs = await Promise.all(keys.map(async (k) => (await keyInfo(k.armored, k.origin)).fingerprint));
  return [`# key fingerprint${fprs.length > 1 ? 's (the signing key, then the next one)' : ''}: ${fprs.join(', ')} — check against ${shownBy}`];
}

export async function viewRepoConfig(db: Db, o: { view: string; environment: string; url: string }): Promise<{ kind: 'rpm-md' | 'deb'; text: string }> {
  const dir = await environmentDir(db, o.view, o.environment);
  if (dir === null) throw new BulwarkError('usage', `content view ${o.view} has no environment ${o.environment} (bulwark view promote)`);
  if (!/^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/.test(o.url))
    throw new BulwarkError('usage', `"${o.url}" is not the server's address (https://host[:port][/path])`);
  const base = `${o.url.replace(/\/+$/, '')}/repos/${o.view}/${o.environment}/`;
  const spec = (await listViewVersions(db, o.view)).find((v) => v.dir === dir);
  const view = spec === undefined ? null : parseContentView(spec.spec, `${o.view} (published)`);
  const auth = '# with `bulwark serve --repos-need-token`: username=bulwark and password=<a viewer token>';
  if (existsSync(join(dir, 'dists'))) {
    const keyring = `/etc/apt/keyrings/bulwark-${o.view}.asc`;
    const keyFile = join(dir, 'bulwark-archive-key.asc');
    const signed = existsSync(keyFile);
    return {
      kind: 'deb',
      text: [
        `# /etc/apt/sources.list.d/bulwark-${o.view}.list — content view ${o.view}, environment ${o.environment}`,
        ...(signed
          ? [
              `# the signing key, once: curl -fsS ${base}bulwark-archive-key.asc -o ${keyring}`,
              ...(await fingerprintLines(keyFile, `gpg --show-keys ${keyring}`)),
            ]
          : ['# this version is not signed: publish it again with a signing key']),
        '# (with --repos-need-token: the token in /etc/apt/auth.conf.d/, "machine <host> login bulwark password <token>")',
        `deb [${signed ? `signed-by=${keyring}` : 'trusted=yes'}] ${base} ${view?.suite ?? o.view} ${view?.component ?? 'main'}`,
        '',
      ].join('\n'),
    };
  }
  const signed = existsSync(join(dir, 'repodata', 'repomd.xml.asc'));
  // Upstream packages keep their vendor's signatures (the host's imported keys check them); our
  // own replacement builds may not be signed, and then dnf cannot check them.
  const ours = (view?.replace.length ?? 0) > 0;
  return {
    kind: 'rpm-md',
    text: [
      `# /etc/yum.repos.d/bulwark-${o.view}.repo — content view ${o.view}, environment ${o.environment}`,
      `[bulwark-${o.view}]`,
      `name=Bulwark content view ${o.view} (${o.environment})`,
      `baseurl=${base}`,
      'enabled=1',
      ...(ours
        ? ['# this view replaces upstream packages with builds of your own: sign them and set gpgcheck=1', 'gpgcheck=0']
        : ['# packages keep their vendor signatures, checked with the keys the host has imported', 'gpgcheck=1']),
      ...(signed
        ? [
            '# the metadata is signed by Bulwark',
            ...(await fingerprintLines(join(dir, 'repodata', 'repomd.xml.key'), 'dnf, when it imports the key')),
            'repo_gpgcheck=1',
            `gpgkey=${base}repodata/repomd.xml.key`,
          ]
        : ['repo_gpgcheck=0']),
      auth,
      '',
    ].join('\n'),
  };
}
