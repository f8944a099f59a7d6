import { readDnfDryRun, readNameEvrLines, tail, versionsOnly } from '../rpm-family.js';
import type { CommandOptions, HistoryEntry, PackageManagerModule, Target } from '../types.js';
import { excludeArgv, installrootArgv, nothingToUpdate, repoId, restoreSpecs, rpmFilesArgv, rpmNames, rpmSpec } from '../words.js';

/**
 * dnf5 (Fedora 41+, Azure Linux 4.0), as dnf5 5.0.15 behaves (../shared/testbed, built here):
 * - progress text goes to stdout: every command runs with `-q` (metadata download bars are still
 *   printed there by repoquery; the readers skip them);
 * - `--assumeno install` prints the transaction and exits 1 ("Operation aborted by the user."),
 *   a missing build "No match for argument" (1), an excluded one "matches only excluded
 *   packages" (1; dnf 4 says it differently, tdnf says nothing): readDnfDryRun tells them apart;
 * - `repoquery` always prints the epoch; in `--queryformat` a backslash-n is read as a line
 *   break and no other is added (a backslash-t stays as it is); it refuses `--`;
 * - `--repo=ID` selects one repository (`--disablerepo`/`--enablerepo` exist only as aliases in
 *   share/dnf5/aliases.d, whose path is compiled into the binary);
 * - `advisory list|info` and `upgrade --advisories=ID` instead of dnf 4's `updateinfo` and
 *   `--advisory`; `check-upgrade` exits 100 when there are updates;
 * - history: `history list|info` only — no `history undo` before 5.2, and no needs-restarting
 *   without its plugins: a rollback installs the previous builds exactly, restarts read /proc.
 */
const head = (o: CommandOptions): string[] => ['dnf5', ...installrootArgv(o), ...(o.config === undefined ? [] : [`--config=${o.config}`]), ...(o.extra ?? [])];

/** The query format: a backslash and an n at its end, which dnf5 reads as the record's line break. */
export const DNF5_QUERY_FORMAT = '%{name} %{epoch}:%{version}-%{release}\\n';

function query(names: readonly string[], o: CommandOptions, what: '--available' | '--installed'): string[][] {
  if (names.length === 0) return [];
  return [[...head(o), '-q', 'repoquery', what, '--queryformat', DNF5_QUERY_FORMAT, ...rpmNames('dnf5', names)]];
}

/** `dnf5 history list`: `ID Command line Date and time Action(s) Altered`, a transaction a line. */
export function readDnf5History(stdout: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+) (.*?)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b/.exec(line);
    if (m !== null) out.push({ id: Number(m[1]), command: (m[2] ?? '').trim() });
  }
  return out.sort((a, b) => a.id - b.id);
}

export const dnf5: PackageManagerModule = {
  id: 'dnf5',
  displayName: 'dnf5',
  version: '5.0.15',
  urls: ['https://dnf5.readthedocs.io/en/latest/commands/index.html', 'https://dnf5.readthedocs.io/en/latest/changes_from_dnf4.html'],
  scheme: 'rpm',
  capabilities: { exclude: 'option', advisoryUpdate: true, historyUndo: false, restartCandidates: false },
  spec: (t: Target) => rpmSpec('dnf5', t),
  sourceArgv: (id) => (id === null || id === undefined ? [] : [`--repo=${repoId(id)}`]),
  refreshArgv: () => null,
  precheckArgv(targets, o = {}) {
    nothingToUpdate(targets);
    return [...head(o), '-q', ...excludeArgv('dnf5', o), '--assumeno', 'install', ...targets.map((t) => rpmSpec('dnf5', t))];
  },
  readPrecheck: (r) => readDnfDryRun(r),
  updateArgv(targets, o = {}) {
    nothingToUpdate(targets);
    return [...head(o), '-q', ...excludeArgv('dnf5', o), '-y', 'install', ...targets.map((t) => rpmSpec('dnf5', t))];
  },
  readUpdate: (r) => ({ ok: r.code === 0, message: r.code === 0 ? 'updated' : tail(r) }),
  availableArgvs: (names, o = {}) => query(names, o, '--available'),
  readAvailable: readNameEvrLines,
  installedArgvs: (names, o = {}) => query(names, o, '--installed'),
  readInstalled: (stdout) => versionsOnly(readNameEvrLines(stdout)),
  // No history undo in 5.0: a rollback installs the previous builds, which `install` downgrades to (exit 0, recorded).
  restoreArgv: (versions, o = {}) => [...head(o), '-q', '-y', 'install', ...restoreSpecs('dnf5', versions)],
  packageFilesArgv: (names, o = {}) => rpmFilesArgv('dnf5', names, o),
};
