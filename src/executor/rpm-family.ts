import { RPM_EVR } from './words.js';
import type { AvailableVersion, CommandResult, PrecheckResult } from './types.js';

/**
 * Readers dnf 4 and dnf5 share: the `name E:V-R` lines their repoquery prints with Bulwark's
 * query format, and the text of a dry run (`--assumeno install`).
 */

/** The `name E:V-R` lines of a repoquery, by package; any other line (dnf5's progress bars, on stdout even with -q) is skipped. */
export function readNameEvrLines(stdout: string): Map<string, AvailableVersion[]> {
  const out = new Map<string, AvailableVersion[]>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (\d+:\S+)$/.exec(line.trim());
    if (m === null || !RPM_EVR.test(m[2] ?? '')) continue;
    const name = m[1] ?? '';
    const version = m[2] ?? '';
    const list = out.get(name) ?? [];
    if (!list.some((x) => x.version === version)) list.push({ version, source: version });
    out.set(name, list);
  }
  return out;
}

export function versionsOnly(m: ReadonlyMap<string, readonly AvailableVersion[]>): Map<string, string[]> {
  return new Map([...m].map(([name, list]) => [name, list.map((x) => x.version)]));
}

/** The last few lines of a command's output, for a message. */
export function tail(r: CommandResult, lines = 3): string {
  return `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-lines).join(' ');
}

/**
 * Reads a dnf 4 or dnf5 dry run. Both exit 1 after printing the transaction ("Operation aborted"
 * / "Operation aborted by the user."), and also 1 when a package is missing ("No match for
 * argument"): the text tells them apart. A package a policy excludes: dnf 4 says "filtered out by
 * exclude filtering" when a dependency is, dnf5 "matches only excluded packages".
 */
export function readDnfDryRun(r: CommandResult): PrecheckResult {
  const text = `${r.stdout}\n${r.stderr}`;
  if (/filtered out by exclude filtering|excluded by|matches only excluded packages/i.test(text) && r.code !== 0)
    return {
      ok: false,
      missing: [],
      message: `the update needs a package the policy excludes: ${text
        .trim()
        .split('\n')
        .filter((l) => /exclude/i.test(l))
        .slice(0, 3)
        .join(' ')}`,
    };
  const missing = [...text.matchAll(/No match for argument:\s*(\S+)/g), ...text.matchAll(/No package (\S+) available/g)].map((m) => m[1] ?? '');
  if (missing.length > 0) return { ok: false, missing, message: `not available: ${missing.join(', ')}` };
  // A run never downgrades (a package updated past the plan is left out before this; here is the last guard).
  if (/^\s*Downgrading:/m.test(text)) return { ok: false, missing, message: 'the transaction would downgrade a package: refused' };
  if (
    /Operation aborted|Exiting on user command|Transaction Summary|Nothing to do/i.test(text) &&
    !/Error:/i.test(text.replace(/Error: Operation aborted\.?/i, ''))
  )
    return { ok: true, missing, message: /Nothing to do/i.test(text) ? 'already at the planned versions' : 'the transaction resolves' };
  return { ok: r.code === 0, missing, message: tail(r) };
}
