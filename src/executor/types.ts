/**
 * What every package-manager module (executor/<id>/) provides: argv builders, output parsers and
 * capabilities, behind one interface (DESIGN.md "executor/<manager>/"). Commands are argv arrays
 * only; package names and versions are validated first — they come from feeds, and although argv
 * needs no shell quoting, a name starting with "-" would still be read as an option.
 */

/** The package managers Bulwark drives (executor/registry.ts lists their modules). */
export type PackageManager = 'dnf' | 'dnf5' | 'tdnf' | 'apt';

export interface Target {
  name: string;
  /** rpm: `[E:]V-R`; deb: the Debian version. */
  version: string;
  arch?: string | null;
  /** A version glob (on `V-R`, or the Debian version without its epoch) any other build chosen must match. */
  pin?: string;
}

export interface CommandOptions {
  /** Run against another root (tests, images): --installroot. */
  installroot?: string;
  /** Extra leading arguments the host needs (e.g. `--setopt=…`, `--repofrompath=…`), validated by the caller. */
  extra?: readonly string[];
  /** Package globs the transaction must not touch (a policy's excludes). */
  exclude?: readonly string[];
  /** The release's version (`3.0` of azurelinux:3.0): tdnf cannot tell it without a release package. */
  releasever?: string;
  /** The manager's configuration file, where not the host's default (tdnf: `-c`). */
  config?: string;
}

/** A command's outcome, as a transport returns it. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AvailableVersion {
  version: string;
  /** The version of its source (`Source: name (version)`), else its own: Debian fixes name source versions. */
  source: string;
}

export interface PrecheckResult {
  ok: boolean;
  /** Packages the manager reports it cannot find at the requested version. */
  missing: string[];
  message: string;
}

/** One transaction of the manager's own history, oldest first. */
export interface HistoryEntry {
  id: number;
  /** The command line it records ('' when the manager does not say). */
  command: string;
  /**
   * false for an entry that is no transaction of a run's to undo (tdnf's "(set)" baseline and the
   * "(unknown)" rpm database syncs it records); absent otherwise.
   */
  undoable?: false;
}

/** A package at the exact version a rollback installs again. */
export interface PackageVersion {
  name: string;
  /** rpm: `[E:]V-R`; deb: the Debian version. */
  version: string;
}

/**
 * What a manager can do, as seen on its real binary (the README of ../shared/testbed and each
 * module's tests). Runs ask these instead of the manager's name.
 */
export interface Capabilities {
  /** `--exclude=GLOB` holds for install and upgrade ('option'), or the dry run is read for excluded packages ('read-dry-run'). */
  exclude: 'option' | 'read-dry-run';
  /** It updates by advisory id (dnf upgrade --advisory, dnf5 upgrade --advisories); tdnf installs the exact builds instead. */
  advisoryUpdate: boolean;
  /** It has a history whose transactions it can undo (dnf history undo, tdnf history undo --from). */
  historyUndo: boolean;
  /** It lists the services that use replaced files (dnf needs-restarting -s); else /proc is read. */
  restartCandidates: boolean;
}

/** Argv for the manager's history: listing, and undoing one transaction. */
export interface HistoryCommands {
  /**
   * What makes sure the history exists before it is first listed, where listing a history not yet
   * made fails (tdnf 3.5.9: `history list` on a host where tdnf never ran exits 10, Error(1802);
   * `history init` creates it, recording the installed packages as its "(set)" baseline).
   */
  initArgv?(o?: CommandOptions): string[];
  listArgv(o?: CommandOptions): string[];
  readList(stdout: string): HistoryEntry[];
  /** Undoes transaction `id`, without asking. */
  undoArgv(id: number, o?: CommandOptions): string[];
}

/** Argv that lists the systemd units still using replaced files, and its reader. */
export interface RestartCommands {
  argv(o?: CommandOptions): string[];
  read(stdout: string): string[];
}

export interface PackageManagerModule {
  id: PackageManager;
  displayName: string;
  /** The version line whose real behaviour the module follows (its fixtures were recorded with it). */
  version: string;
  /** Where its behaviour is documented. */
  urls: readonly string[];
  /** How versions compare: rpm (dnf, dnf5, tdnf) or deb (apt). */
  scheme: 'rpm' | 'deb';
  capabilities: Capabilities;
  /** The word `target` becomes on the command line (`name-E:V-R.arch`, `name:arch=version`), validated. */
  spec(t: Target): string;
  /** Arguments that make the manager use one repository only (a policy's content-view source); [] where it has none per command. */
  sourceArgv(repoId: string | null | undefined): string[];
  /** What refreshes the host's view of its repositories before a precheck, where the manager does not do it itself. */
  refreshArgv(o?: CommandOptions): string[] | null;
  /** The dry run that proves the update can be done, without doing it. */
  precheckArgv(targets: readonly Target[], o?: CommandOptions): string[];
  readPrecheck(r: CommandResult, o: { targets: readonly Target[]; exclude?: readonly string[] }): PrecheckResult;
  /** The update of exactly these packages to exactly these versions. */
  updateArgv(targets: readonly Target[], o?: CommandOptions): string[];
  /** Whether an update's exit status means success, and what it says otherwise. */
  readUpdate(r: CommandResult): { ok: boolean; message: string };
  /** The commands (one or more: tdnf asks one name at a time) that list the versions offered for `names`; their outputs are read together. */
  availableArgvs(names: readonly string[], o?: CommandOptions): string[][];
  readAvailable(stdout: string): Map<string, AvailableVersion[]>;
  /** The commands that list the versions installed. */
  installedArgvs(names: readonly string[], o?: CommandOptions): string[][];
  readInstalled(stdout: string): Map<string, string[]>;
  /**
   * Installs exactly these versions, downgrading where needed: the rollback of a manager without
   * a history to undo (apt, dnf5 5.0), and of one whose history has no transaction to undo.
   */
  restoreArgv(versions: readonly PackageVersion[], o?: CommandOptions): string[];
  /** The files these installed packages own (rpm -ql, dpkg-query -L), one absolute path a line (executor/host-processes.ts reads them). */
  packageFilesArgv(names: readonly string[], o?: CommandOptions): string[];
  /** Present where `capabilities.historyUndo`. */
  history?: HistoryCommands;
  /** Present where `capabilities.restartCandidates`. */
  restarts?: RestartCommands;
}
