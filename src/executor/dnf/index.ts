import { readDnfDryRun, readNameEvrLines, tail, versionsOnly } from '../rpm-family.js';
import type { CommandOptions, HistoryEntry, PackageManagerModule, Target } from '../types.js';
import { excludeArgv, installrootArgv, nothingToUpdate, repoId, restoreSpecs, rpmFilesArgv, transactionId, rpmNames, rpmSpec } from '../words.js';

/**
 * dnf 4 (RHEL 8-10 family, Fedora up to 40; Debian 12 packages 4.14, which the tests run).
 * `name-[epoch:]version-release` means exactly that build; `--assumeno install` resolves the
 * transaction and stops (exit 1, "Operation aborted"); repoquery prints what Bulwark's format
 * asks (`%{epoch}` is 0 when there is none) and adds its own line break after each record. It
 * finds its release version itself (/etc/dnf/vars, the release package): `releasever` is not passed.
 */
const head = (o: CommandOptions): string[] => ['dnf', ...installrootArgv(o), ...(o.config === undefined ? [] : [`--config=${o.config}`]), ...(o.extra ?? [])];

/** The query format, ending in a backslash and an n, not a line break (an agent task word holds none). */
export const DNF_QUERY_FORMAT = '%{name} %{epoch}:%{version}-%{release}\\n';

function query(names: readonly string[], o: CommandOptions, installed: boolean): string[][] {
  if (names.length === 0) return [];
  return [[...head(o), '-q', 'repoquery', ...(installed ? ['--installed'] : []), '--qf', DNF_QUERY_FORMAT, '--', ...rpmNames('dnf', names)]];
}

/** `dnf history list`: `ID | Command line | Date and time | Action(s) | Altered`, newest first. */
export function readDnfHistory(stdout: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+) \| (.*?)\s*\|/.exec(line);
    if (m !== null) out.push({ id: Number(m[1]), command: m[2] ?? '' });
  }
  return out.sort((a, b) => a.id - b.id);
}

export const dnf: PackageManagerModule = {
  id: 'dnf',
  displayName: 'dnf 4',
  version: '4.14',
  urls: ['https://dnf.readthedocs.io/en/latest/command_ref.html'],
  scheme: 'rpm',
  capabilities: { exclude: 'option', advisoryUpdate: true, historyUndo: true, restartCandidates: true },
  spec: (t: Target) => rpmSpec('dnf', t),
  sourceArgv: (id) => (id === null || id === undefined ? [] : ['--disablerepo=*', `--enablerepo=${repoId(id)}`]),
  refreshArgv: () => null,
  precheckArgv(targets, o = {}) {
    nothingToUpdate(targets);
    return [...head(o), ...excludeArgv('dnf', o), '--assumeno', 'install', ...targets.map((t) => rpmSpec('dnf', t))];
  },
  readPrecheck: (r) => readDnfDryRun(r),
  updateArgv(targets, o = {}) {
    nothingToUpdate(targets);
    return [...head(o), ...excludeArgv('dnf', o), '-y', 'install', ...targets.map((t) => rpmSpec('dnf', t))];
  },
  readUpdate: (r) => ({ ok: r.code === 0, message: r.code === 0 ? 'updated' : tail(r) }),
  availableArgvs: (names, o = {}) => query(names, o, false),
  readAvailable: readNameEvrLines,
  installedArgvs: (names, o = {}) => query(names, o, true),
  readInstalled: (stdout) => versionsOnly(readNameEvrLines(stdout)),
  // `install` of an older exact build downgrades it (exit 0), as `downgrade` would.
  restoreArgv: (versions, o = {}) => [...head(o), '-y', 'install', ...restoreSpecs('dnf', versions)],
  packageFilesArgv: (names, o = {}) => rpmFilesArgv('dnf', names, o),
  history: {
    listArgv: (o = {}) => [...head(o), '-q', 'history', 'list'],
    readList: readDnfHistory,
    undoArgv: (id, o = {}) => [...head(o), '-y', 'history', 'undo', transactionId(id)],
  },
  // needs-restarting comes with dnf-plugins-core (RHEL and Fedora hosts have it; Debian's dnf does not).
  restarts: {
    argv: (o = {}) => [...head(o), 'needs-restarting', '-s'],
    read: (stdout) =>
      stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^[A-Za-z0-9@_.:-]+\.service$/.test(l)),
  },
};
