import { globPattern } from '../../core/glob.js';
import { tail } from '../rpm-family.js';
import type { AvailableVersion, CommandOptions, CommandResult, HistoryEntry, PackageManagerModule, PrecheckResult, Target } from '../types.js';
import { excludeArgv, installrootArgv, nothingToUpdate, repoId, restoreSpecs, rpmFilesArgv, transactionId, rpmNames, rpmSpec } from '../words.js';

/**
 * tdnf (Azure Linux 2.0 and 3.0, Photon), as tdnf 3.5.9 behaves (../shared/testbed, built here):
 * - it needs its configuration (`-c CONF`, else /etc/tdnf/tdnf.conf, or ROOT/etc/tdnf/tdnf.conf
 *   under --installroot; missing: exit 66) and a release version (`--releasever`, else the
 *   version of its distroverpkg package; none installed: exit 254);
 * - its exit status is its error number modulo 256: 243 = Error(1011) no matching packages,
 *   8 = Error(1032) operation aborted (what `--assumeno` ends in), 140 = Error(908) unknown
 *   option, 10 = Error(1802) history database, 66 = Error(1602) no such file, 254 = Error(1022);
 * - `-j` (JSON) makes `--assumeno install` print the planned transaction as JSON and exit 0: the
 *   dry run; its `Evr` there leaves the epoch out;
 * - a build the policy's `--exclude` covers is dropped from install without a word ("Nothing to
 *   do", exit 0): the dry run's transaction is compared with the targets;
 * - `repoquery` has no query format and takes ONE package name (two: Error(902)); `-j repoquery`
 *   gives JSON records whose `Evr` carries the epoch when it is not 0 (`1:3.3.5-5.azl3`);
 * - no per-advisory update (`update --security` only): an advisory is applied by installing its
 *   exact builds, as every run does;
 * - `check-update` prints a literal `%s` and exits 0 (unless dnf_check_update_compat=1 is in the
 *   configuration; `--setopt` does not do it), and ignores `--exclude`: Bulwark does not use it;
 * - history in ROOT/usr/lib/sysimage/tdnf/history.db, whose first transaction "(set)" is the
 *   state tdnf found; `history undo --from ID` undoes one — never with `-j`, which makes tdnf
 *   3.5.9 run the undo even with `--assumeno`; `history rollback --to 1` (to the "(set)"
 *   baseline) crashed it (exit 139);
 * - the rpm database is librpm's %_dbpath: on a host, /var/lib/rpm; on the Debian test machine
 *   ~/.rpmdb, which a test host binds over /root/.rpmdb in its mount namespace, where tdnf (run
 *   without --installroot, as runs do) reads and writes it, history included. Under --installroot
 *   on Debian its history code opened ROOT/var/lib/rpm instead and logged the whole database as
 *   removed and added again ("(unknown)" transactions): runs never pass --installroot to tdnf;
 * - one tdnf at a time per machine: it waits for /var/run/.tdnf-instance-lockfile.
 */
const DEFAULT_CONFIG = '/etc/tdnf/tdnf.conf';

const head = (o: CommandOptions): string[] => [
  'tdnf',
  '-c',
  o.config ?? DEFAULT_CONFIG,
  ...installrootArgv(o),
  ...(o.releasever === undefined ? [] : [`--releasever=${o.releasever}`]),
  ...(o.extra ?? []),
];

/** What tdnf's exit statuses mean (its error numbers modulo 256). */
export const TDNF_EXIT: Readonly<Record<number, string>> = {
  8: 'Error(1032) operation aborted',
  10: 'Error(1802) history database error',
  66: 'Error(1602) no such file (its configuration?)',
  86: 'Error(1622) invalid argument',
  134: 'Error(902) invalid argument',
  140: 'Error(908) unknown option',
  243: 'Error(1011) no matching packages',
  254: 'Error(1022) release version unknown (distroverpkg not installed)',
};

function failure(r: CommandResult): string {
  const said = /Error\(\d+\)\s*:\s*[^\n]*/.exec(`${r.stderr}\n${r.stdout}`)?.[0];
  const json = /"ErrorMessage":"([^"]*)"/.exec(r.stdout)?.[1];
  const known = r.code === null ? undefined : TDNF_EXIT[r.code];
  return `tdnf exited ${String(r.code)}${known === undefined ? '' : ` (${known})`}: ${said ?? json ?? tail(r)}`;
}

interface JsonRecord {
  Name?: unknown;
  Evr?: unknown;
  Arch?: unknown;
}

/** Every JSON value of these lines (one per command: their outputs are joined with line breaks). */
function jsonValues(stdout: string): unknown[] {
  const out: unknown[] = [];
  for (const line of stdout.split('\n')) {
    const l = line.trim();
    if (!l.startsWith('[') && !l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l));
    } catch {
      // Not one of tdnf's JSON lines.
    }
  }
  return out;
}

const withEpoch = (evr: string): string => (/^\d+:/.test(evr) ? evr : `0:${evr}`);

/** `-j repoquery` records, by name, versions as `E:V-R`. */
export function readTdnfRecords(stdout: string): Map<string, AvailableVersion[]> {
  const out = new Map<string, AvailableVersion[]>();
  for (const v of jsonValues(stdout)) {
    if (!Array.isArray(v)) continue;
    for (const rec of v as JsonRecord[]) {
      if (typeof rec.Name !== 'string' || typeof rec.Evr !== 'string') continue;
      const version = withEpoch(rec.Evr);
      const list = out.get(rec.Name) ?? [];
      if (!list.some((x) => x.version === version)) list.push({ version, source: version });
      out.set(rec.Name, list);
    }
  }
  return out;
}

function query(names: readonly string[], o: CommandOptions, what: '--available' | '--installed'): string[][] {
  return rpmNames('tdnf', names).map((n) => [...head(o), '-j', 'repoquery', what, n]);
}

const noEpoch = (v: string): string => v.replace(/^\d+:/, '');

/** Reads `-j --assumeno install`: the planned transaction, compared with the targets. */
export function readTdnfDryRun(r: CommandResult, o: { targets: readonly Target[]; exclude?: readonly string[] }): PrecheckResult {
  if (r.code !== 0) {
    const missing = [...`${r.stderr}\n${r.stdout}`.matchAll(/^(\S+) package not found or not installed/gm)].map((m) => m[1] ?? '');
    if (r.code === 243 || missing.length > 0) return { ok: false, missing, message: `not available: ${missing.join(', ') || failure(r)}` };
    return { ok: false, missing: [], message: failure(r) };
  }
  const plan = jsonValues(r.stdout).find((v): v is Record<string, JsonRecord[]> => typeof v === 'object' && v !== null && !Array.isArray(v)) ?? {};
  if (typeof (plan as { Error?: unknown }).Error === 'number') return { ok: false, missing: [], message: failure(r) };
  const entries = Object.entries(plan).flatMap(([kind, list]) => (Array.isArray(list) ? list.map((e) => ({ kind, ...e })) : []));
  if (entries.some((e) => e.kind === 'Downgrade')) return { ok: false, missing: [], message: 'the transaction would downgrade a package: refused' };
  const excluded = (o.exclude ?? []).map(globPattern);
  const touched = entries.filter((e) => typeof e.Name === 'string' && excluded.some((re) => re.test(e.Name as string))).map((e) => String(e.Name));
  if (touched.length > 0) return { ok: false, missing: [], message: `the update would also change excluded package(s): ${touched.join(', ')}` };
  // tdnf drops an excluded target without a word, and leaves the epoch out of the plan's Evr.
  const left = o.targets.filter(
    (t) =>
      !entries.some((e) => e.Name === t.name && typeof e.Evr === 'string' && noEpoch(e.Evr) === noEpoch(t.version) && (t.arch == null || e.Arch === t.arch)),
  );
  if (left.length > 0)
    return {
      ok: false,
      missing: [],
      message: `tdnf's transaction leaves out ${left.map((t) => `${t.name}-${t.version}`).join(', ')} (excluded by the policy, or already installed)`,
    };
  const kinds = [...new Set(entries.map((e) => e.kind))].join(', ');
  return { ok: true, missing: [], message: `the transaction resolves (${kinds})` };
}

/**
 * `-j history list`: [{Id, CmdLine, …}], oldest first. Its "(set)" creation and the "(unknown)"
 * entries it records for rpm database changes made by other tools since it last ran are no
 * transactions of a run's to undo (undoable: false).
 */
export function readTdnfHistory(stdout: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const v of jsonValues(stdout))
    if (Array.isArray(v))
      for (const e of v as { Id?: unknown; CmdLine?: unknown }[])
        if (typeof e.Id === 'number') {
          const command = typeof e.CmdLine === 'string' ? e.CmdLine : '';
          out.push({ id: e.Id, command, ...(command === '(set)' || command === '(unknown)' ? { undoable: false as const } : {}) });
        }
  return out.sort((a, b) => a.id - b.id);
}

export const tdnf: PackageManagerModule = {
  id: 'tdnf',
  displayName: 'tdnf',
  version: '3.5.9',
  urls: ['https://github.com/vmware/tdnf/wiki', 'https://learn.microsoft.com/en-us/azure/azure-linux/'],
  scheme: 'rpm',
  capabilities: { exclude: 'option', advisoryUpdate: false, historyUndo: true, restartCandidates: false },
  spec: (t: Target) => rpmSpec('tdnf', t),
  sourceArgv: (id) => (id === null || id === undefined ? [] : ['--disablerepo=*', `--enablerepo=${repoId(id)}`]),
  refreshArgv: () => null,
  precheckArgv(targets, o = {}) {
    nothingToUpdate(targets);
    return [...head(o), ...excludeArgv('tdnf', o), '-j', '--assumeno', 'install', ...targets.map((t) => rpmSpec('tdnf', t))];
  },
  readPrecheck: readTdnfDryRun,
  updateArgv(targets, o = {}) {
    nothingToUpdate(targets);
    return [...head(o), ...excludeArgv('tdnf', o), '-y', 'install', ...targets.map((t) => rpmSpec('tdnf', t))];
  },
  readUpdate: (r) => ({ ok: r.code === 0, message: r.code === 0 ? 'updated' : failure(r) }),
  availableArgvs: (names, o = {}) => query(names, o, '--available'),
  readAvailable: readTdnfRecords,
  installedArgvs: (names, o = {}) => query(names, o, '--installed'),
  readInstalled: (stdout) => new Map([...readTdnfRecords(stdout)].map(([n, l]) => [n, l.map((x) => x.version)])),
  // `install` of an older exact build downgrades it (exit 0).
  restoreArgv: (versions, o = {}) => [...head(o), '-y', 'install', ...restoreSpecs('tdnf', versions)],
  packageFilesArgv: (names, o = {}) => rpmFilesArgv('tdnf', names, o),
  history: {
    initArgv: (o = {}) => [...head(o), 'history', 'init'],
    listArgv: (o = {}) => [...head(o), '-j', 'history', 'list'],
    readList: readTdnfHistory,
    undoArgv: (id, o = {}) => [...head(o), '-y', 'history', 'undo', '--from', transactionId(id)],
  },
};
