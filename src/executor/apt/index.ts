import { BulwarkError } from '../../core/errors.js';
import { globPattern } from '../../core/glob.js';
import type { AvailableVersion, CommandResult, PackageManagerModule, PrecheckResult, Target } from '../types.js';
import { DEB_VERSION, debNames, debSpec, nothingToUpdate } from '../words.js';

/**
 * apt (Debian, Ubuntu): `apt-get install --only-upgrade name=version` installs exactly that
 * version; `apt-get -s` simulates it (the precheck; exit 0 on success). apt reads only the
 * package lists `apt-get update` last fetched, so a precheck refreshes them first. It has no
 * exclude option (the dry run's `Inst` lines are read for excluded packages), no per-command
 * repository choice (hosts are pointed at a content view in their sources) and no history undo
 * (a rollback installs the previous versions exactly).
 */
const SPEC_TAIL = ['install', '--only-upgrade', '--no-install-recommends'];

/** `apt-cache policy`: the installed versions, by package. */
export function readAptPolicy(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let name: string | null = null;
  for (const line of stdout.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head !== null) {
      name = (head[1] ?? '').replace(/:[A-Za-z0-9_]+$/, '');
      continue;
    }
    const installed = /^\s+Installed:\s*(\S+)\s*$/.exec(line)?.[1];
    if (name !== null && installed !== undefined && installed !== '(none)' && DEB_VERSION.test(installed)) out.set(name, [...(out.get(name) ?? []), installed]);
  }
  return out;
}

/** `apt-cache show`: the versions offered, by package, with their source's version. */
export function readAptShow(stdout: string): Map<string, AvailableVersion[]> {
  const out = new Map<string, AvailableVersion[]>();
  for (const para of stdout.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(para)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(para)?.[1];
    if (name === undefined || version === undefined || !DEB_VERSION.test(version)) continue;
    const list = out.get(name) ?? [];
    if (!list.some((x) => x.version === version)) list.push({ version, source: /^Source:\s*\S+\s+\(([^)\s]+)\)\s*$/m.exec(para)?.[1] ?? version });
    out.set(name, list);
  }
  return out;
}

/** Reads `apt-get -s install`: exit 0 when it resolves; its `Inst` lines for excluded packages; downgrades refused. */
export function readAptSimulation(r: CommandResult, o: { exclude?: readonly string[] } = {}): PrecheckResult {
  const text = `${r.stdout}\n${r.stderr}`;
  const excluded = (o.exclude ?? []).map(globPattern);
  const touched = [...text.matchAll(/^Inst (\S+)/gm)].map((m) => m[1] ?? '').filter((n) => excluded.some((re) => re.test(n.replace(/:[A-Za-z0-9_]+$/, ''))));
  if (touched.length > 0) return { ok: false, missing: [], message: `the update would also change excluded package(s): ${touched.join(', ')}` };
  const missing = [
    ...[...text.matchAll(/Version '([^']+)' for '([^']+)' was not found/g)].map((m) => `${m[2] ?? ''}=${m[1] ?? ''}`),
    ...[...text.matchAll(/E: Unable to locate package (\S+)/g)].map((m) => m[1] ?? ''),
  ];
  if (missing.length > 0) return { ok: false, missing, message: `not available: ${missing.join(', ')}` };
  if (/will be DOWNGRADED/.test(text)) return { ok: false, missing, message: 'the transaction would downgrade a package: refused' };
  return r.code === 0
    ? { ok: true, missing, message: 'apt-get -s resolved the upgrade' }
    : { ok: false, missing, message: text.trim().split('\n').slice(-3).join(' ') };
}

export const apt: PackageManagerModule = {
  id: 'apt',
  displayName: 'apt',
  version: '2.6',
  urls: ['https://github.com/Debian/apt/blob/main/doc/apt-get.8.xml', 'https://github.com/Debian/apt/blob/main/doc/apt-cache.8.xml'],
  scheme: 'deb',
  capabilities: { exclude: 'read-dry-run', advisoryUpdate: false, historyUndo: false, restartCandidates: false },
  spec: (t: Target) => debSpec(t),
  sourceArgv: () => [],
  refreshArgv: (o = {}) => ['apt-get', ...(o.extra ?? []), '-q', 'update'],
  precheckArgv(targets, o = {}) {
    nothingToUpdate(targets);
    return ['apt-get', ...(o.extra ?? []), '-s', '-q', ...SPEC_TAIL, ...targets.map(debSpec)];
  },
  readPrecheck: (r, o) => readAptSimulation(r, o),
  updateArgv(targets, o = {}) {
    nothingToUpdate(targets);
    // Keep the admin's configuration files; never prompt (DEBIAN_FRONTEND=noninteractive is set by the runner).
    return ['apt-get', ...(o.extra ?? []), '-y', '-q', '-o', 'Dpkg::Options::=--force-confold', ...SPEC_TAIL, ...targets.map(debSpec)];
  },
  readUpdate: (r) => ({ ok: r.code === 0, message: r.code === 0 ? 'updated' : `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-3).join(' ') }),
  // apt-cache exits 100 when a name is unknown: the others' versions are still listed.
  availableArgvs: (names, o = {}) => (names.length === 0 ? [] : [['apt-cache', ...(o.extra ?? []), 'show', ...debNames(names)]]),
  readAvailable: readAptShow,
  installedArgvs: (names, o = {}) => (names.length === 0 ? [] : [['apt-cache', ...(o.extra ?? []), 'policy', ...debNames(names)]]),
  readInstalled: readAptPolicy,
  restoreArgv(versions, o = {}) {
    if (versions.length === 0) throw new BulwarkError('usage', 'nothing to restore');
    const specs = versions.map((v) => debSpec({ name: v.name, version: v.version }));
    return [
      'apt-get',
      ...(o.extra ?? []),
      '-y',
      '-q',
      '-o',
      'Dpkg::Options::=--force-confold',
      '--allow-downgrades',
      'install',
      '--no-install-recommends',
      ...specs,
    ];
  },
  packageFilesArgv: (names) => ['dpkg-query', '-L', '--', ...debNames(names)],
};
