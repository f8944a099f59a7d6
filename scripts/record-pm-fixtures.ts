/**
 * Records the real outputs the package-manager modules' parsers are tested on
 * (src/executor/<manager>/__fixtures__/<case>.json): each case is a command Bulwark sends (built
 * by the module itself) or a quirk worth keeping, run by the real tool on a test host — an rpm
 * root made by the real dnf from a local repository with updateinfo, bound over this machine's
 * files in a mount namespace of its own, as the sshd test hosts are (test/pm-hosts.ts).
 *
 *   sudo npx tsx scripts/record-pm-fixtures.ts [tdnf|dnf5|dnf ...] [--only CASE,CASE]
 *
 * `--only`: every case still runs (later ones depend on what earlier ones did to the host), but
 * only these are written, and the other recorded files are kept.
 *
 * Needs root, rpmbuild, createrepo_c, dnf, and tdnf/dnf5 as scripts/setup-test.sh installs them.
 * Outputs are kept as the tools print them (dnf5's progress bars and speeds included), so a
 * re-recording shows as a diff of what changed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageManager } from '../src/executor/registry.js';
import type { CommandOptions, Target } from '../src/executor/types.js';
import { prepareRpmHost, type RpmHostFiles, type RpmManager } from '../test/pm-hosts.js';
import { buildRepo, inNamespace, type RepoAdvisory } from '../test/ssh-fleet.js';

const PKGS = [
  { name: 'bw-openssl', epoch: 1, version: '3.2.0', release: '1.azl3' },
  { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
  { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
  { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
  { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
  { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
];
const INITIAL = ['bw-openssl-1:3.3.0-2.azl3', 'bw-curl-8.8.0-1.azl3'];
const issued = new Date('2026-11-20T00:00:00Z');
const ADVISORIES: RepoAdvisory[] = [
  { id: 'ADV-SSL', severity: 'Critical', issued, cves: ['CVE-2026-1001'], packages: [{ name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' }] },
  { id: 'ADV-CURL', severity: 'Important', issued, cves: ['CVE-2026-1002'], packages: [{ name: 'bw-curl', version: '8.11.1', release: '3.azl3' }] },
];
const UP: Target[] = [
  { name: 'bw-openssl', version: '1:3.3.5-5.azl3' },
  { name: 'bw-curl', version: '0:8.11.1-3.azl3' },
];

type Case = [name: string, argv: readonly string[]];

function cases(pm: RpmManager, o: CommandOptions): Case[] {
  const m = packageManager(pm);
  const names = ['bw-openssl', 'bw-curl', 'bw-nosuch'];
  const queries = (kind: 'available' | 'installed'): Case[] => {
    const argvs = kind === 'available' ? m.availableArgvs(names, o) : m.installedArgvs(names, o);
    return argvs.length === 1 ? [[kind, argvs[0] ?? []]] : argvs.map((a, i): Case => [`${kind}-${names[i] ?? ''}`, a]);
  };
  const head = m.installedArgvs(['x'], o)[0]?.slice(0, m.installedArgvs(['x'], o)[0]?.indexOf(pm === 'dnf' ? '-q' : pm === 'tdnf' ? '-j' : '-q')) ?? [pm];
  const dry: Case[] = [
    ['precheck-upgrade', m.precheckArgv(UP, o)],
    ['precheck-missing', m.precheckArgv([{ name: 'bw-openssl', version: '1:9.9-1.azl3' }, ...UP.slice(1)], o)],
    ['precheck-excluded', m.precheckArgv(UP.slice(1), { ...o, exclude: ['bw-curl'] })],
    ['precheck-downgrade', m.precheckArgv([{ name: 'bw-openssl', version: '1:3.2.0-1.azl3' }], o)],
    ['unknown-option', [...head, '--bogus', 'install', 'bw-curl']],
  ];
  const after: Case[] = [
    ['update', m.updateArgv(UP, o)],
    ['precheck-nothing', m.precheckArgv(UP.slice(0, 1), o)],
    ...(m.history === undefined ? [] : [['history-list', m.history.listArgv(o)] as Case]),
  ];
  // A rollback without a history undo: the exact older build installed again (a downgrade).
  const restore: Case[] = [
    ['restore', m.restoreArgv([{ name: 'bw-openssl', version: '1:3.2.0-1.azl3' }], o)],
    ['installed-after-restore', m.installedArgvs(['bw-openssl'], o)[0] ?? []],
  ];
  switch (pm) {
    case 'tdnf':
      return [
        ...queries('available'),
        ...queries('installed'),
        ['repoquery-two-names', [...head, '-j', 'repoquery', '--installed', 'bw-openssl', 'bw-curl']],
        ['no-releasever', ['tdnf', '-c', '/etc/tdnf/tdnf.conf', '-j', 'repoquery', '--installed', 'bw-curl']],
        ...dry,
        ['check-update', [...head, 'check-update']],
        ['check-update-json-exclude', [...head, '--exclude=bw-curl', '-j', 'check-update']],
        ['update-excluded', m.updateArgv(UP.slice(1), { ...o, exclude: ['bw-curl'] })],
        ...after,
        // tdnf 3.5.9 reads `history undo N` (and N-M) as `--from N [--to M]` (parsehistoryargs.c): seen as the same plan as --from's.
        ['history-undo-positional-assumeno', [...head, '--assumeno', 'history', 'undo', '2']],
        ['history-undo-assumeno', [...head, '--assumeno', 'history', 'undo', '--from', '2']],
        // tdnf 3.5.9 with -j runs the undo even with --assumeno: recorded, then what it left.
        ['history-undo-json-assumeno', [...head, '-j', '--assumeno', 'history', 'undo', '--from', '2']],
        ['installed-after-json-undo-bw-openssl', m.installedArgvs(['bw-openssl'], o)[0] ?? []],
        ...restore,
      ];
    case 'dnf5':
      return [
        ...queries('available'),
        ...queries('installed'),
        ['repoquery-tab', [...head, '-q', 'repoquery', '--installed', '--queryformat', '%{name}\\t%{evr}', 'bw-openssl', 'bw-curl']],
        ['repoquery-dashdash', [...head, '-q', 'repoquery', '--installed', '--queryformat', '%{name}\\n', '--', 'bw-curl']],
        ...dry,
        ['check-upgrade', [...head, '-q', 'check-upgrade']],
        ['advisory-list', [...head, '-q', 'advisory', 'list']],
        ['advisory-info', [...head, '-q', 'advisory', 'info', 'ADV-SSL']],
        ['upgrade-advisories-dry', [...head, '-q', '--assumeno', 'upgrade', '--advisories=ADV-SSL']],
        ...after,
        ['history-list', [...head, '-q', 'history', 'list']],
        ['history-undo', [...head, '-q', 'history', 'undo', '1']],
        ['needs-restarting', [...head, '-q', 'needs-restarting']],
        ...restore,
      ];
    case 'dnf':
      return [
        ...queries('available'),
        ...queries('installed'),
        ...dry,
        ['updateinfo-list', [...head, '-q', 'updateinfo', 'list', '--security']],
        ...after,
        ['history-undo-dry', [...head, '--assumeno', 'history', 'undo', 'last']],
        ...restore,
      ];
  }
}

async function record(dir: string, repo: string, pm: RpmManager, only: readonly string[]): Promise<void> {
  const host: RpmHostFiles = prepareRpmHost(join(dir, 'hosts'), { name: pm, manager: pm, localRepo: repo, repoUrl: `file://${repo}`, initial: INITIAL });
  const o: CommandOptions = pm === 'tdnf' ? { releasever: '3.0' } : {};
  const out = join(import.meta.dirname, '..', 'src', 'executor', pm, '__fixtures__');
  if (only.length === 0) rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const version = (await inNamespace(host.binds, [pm, '--version'], { ...process.env, PATH: `/usr/local/sbin:${process.env['PATH'] ?? ''}` })).stdout
    .trim()
    .split('\n')[0];
  for (const [name, argv] of cases(pm, o)) {
    const r = await inNamespace(host.binds, argv, { ...process.env, PATH: `/usr/local/sbin:${process.env['PATH'] ?? ''}`, HOME: '/root' });
    if (only.length > 0 && !only.includes(name)) continue;
    writeFileSync(join(out, `${name}.json`), `${JSON.stringify({ tool: version, argv, exit: r.code, stdout: r.stdout, stderr: r.stderr }, null, 2)}\n`);
    console.log(`${pm} ${name}: exit ${String(r.code)}`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bulwark-pm-fixtures-'));
try {
  const repo = buildRepo(join(dir, 'repo'), PKGS, ADVISORIES);
  const args = process.argv.slice(2);
  const at = args.indexOf('--only');
  const only = at < 0 ? [] : (args[at + 1] ?? '').split(',').filter((x) => x !== '');
  const wanted = at < 0 ? args : [...args.slice(0, at), ...args.slice(at + 2)];
  for (const pm of ['tdnf', 'dnf5', 'dnf'] as const) if (wanted.length === 0 || wanted.includes(pm)) await record(dir, repo, pm, only);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
