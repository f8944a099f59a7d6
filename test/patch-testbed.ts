import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { importRootInventory } from '../src/services/inventory.js';
import { scanTarget } from '../src/services/scan.js';
import type { Clock, Db } from '../src/services/store.js';
import { buildDummyRpms } from './rpm-tools.js';

/**
 * A patch testbed with real parts (../shared/testbed recipes 1-3): a local rpm repository with
 * old and new builds, host roots installed at the old ones with the real dnf, and a feed whose
 * advisories the new builds fix.
 */
/** A repository with old and new builds, and host roots installed at the old ones with the real dnf. */
export function testbed(dir: string, hosts: string[]): { repo: string; extra: (repo: string) => string[]; roots: Map<string, string> } {
  buildDummyRpms(dir, [
    { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
    { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
    { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
    { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
    { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
    { name: 'kernel', version: '6.6.1', release: '1.azl3' },
    { name: 'kernel', version: '6.6.2', release: '1.azl3' },
  ]);
  const repo = join(dir, 'rpms');
  execFileSync('createrepo_c', ['--quiet', repo]);
  const extra = (r: string): string[] => [
    '--releasever=3.0',
    '--disablerepo=*',
    `--repofrompath=local,file://${r}`,
    '--enablerepo=local',
    '--nogpgcheck',
    '--setopt=install_weak_deps=False',
    '--setopt=reposdir=/nonexistent',
    `--setopt=cachedir=${join(dir, 'cache')}`,
  ];
  const roots = new Map<string, string>();
  for (const h of hosts) {
    const root = join(dir, 'hosts', h);
    execFileSync(
      'dnf',
      ['-y', `--installroot=${root}`, ...extra(repo), 'install', 'bw-openssl-1:3.3.0-2.azl3', 'bw-curl-8.8.0-1.azl3', 'kernel-6.6.1-1.azl3'],
      { stdio: 'pipe' },
    );
    roots.set(h, root);
  }
  return { repo, extra, roots };
}

export function installed(root: string): string[] {
  return execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' }).trim().split('\n').sort();
}

export const FEED = {
  source: 'test-azl3',
  advisories: [
    ['ADV-1', 'bw-openssl', '1:3.3.5-5.azl3', 'critical'],
    ['ADV-2', 'bw-curl', '0:8.11.1-3.azl3', 'high'],
    ['ADV-3', 'kernel', '0:6.6.2-1.azl3', 'high'],
  ].map(([id, pkg, fixed, severity]) => ({
    id,
    title: id,
    description: '',
    severity,
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: [],
    publishedAt: '2026-11-20T00:00:00Z',
    updatedAt: null,
    parser: 'native@1',
    fixes: [{ release: 'azurelinux:3.0', package: pkg, packageKind: 'binary', arch: null, status: 'fixed', fixed, lastAffected: null, introduced: null }],
  })),
};

export interface TestbedHosts {
  /** Target id → the root and the dnf arguments rootTransport gives it. */
  hosts: Map<string, { root: string; extra: readonly string[] }>;
  /** Target id → host name. */
  names: Map<string, string>;
  /** A re-scan as a run's rescan step does it: the root's package list imported again and matched. */
  rescan: (targetId: string) => Promise<void>;
}

/**
 * The testbed's roots as hosts in `db` (inventory imported, kind host), for rootTransport; each
 * host's dnf uses `repoOf(name)` (default: the testbed's repository).
 */
export async function importTestbed(
  db: Db,
  tb: ReturnType<typeof testbed>,
  o: { repoOf?: (name: string) => string; clock?: Clock } = {},
): Promise<TestbedHosts> {
  const hosts = new Map<string, { root: string; extra: readonly string[] }>();
  const names = new Map<string, string>();
  for (const [name, root] of tb.roots) {
    const t = await importRootInventory(db, { dir: root, name, release: 'azurelinux:3.0', kind: 'host' });
    hosts.set(t.target.id, { root, extra: tb.extra(o.repoOf?.(name) ?? tb.repo) });
    names.set(t.target.id, name);
  }
  const rescan = async (id: string): Promise<void> => {
    const t = await importRootInventory(db, { dir: hosts.get(id)?.root ?? '', name: names.get(id) ?? id, release: 'azurelinux:3.0', kind: 'host' });
    await scanTarget(db, t.target.id, o.clock);
  };
  return { hosts, names, rescan };
}
