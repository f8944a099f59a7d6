import { z } from 'zod';
import { BulwarkError } from '../core/errors.js';
import type { LivePatch } from '../core/target.js';

/**
 * Live patches of the running kernel (issue #15), read with fixed argv and parsed strictly (an
 * answer in another shape is an error, never a guess):
 * - the kernel's livepatch sysfs (`/sys/kernel/livepatch/<module>/enabled`, "1" or "0"): every
 *   loaded patch module, whatever loaded it; a kernel without CONFIG_LIVEPATCH has no directory;
 * - `kpatch list` (dynup/kpatch's script: "Loaded patch modules:" then `<module> [<state>]`, a
 *   blank line, "Installed patch modules:" then `<module> (<kernel>)`), when kpatch is there;
 * - the package that ships a loaded module: Azure Linux's `livepatch-<kernel>` packages
 *   `Provides: livepatch = <kernel>`, name their module after their own name-version-release
 *   (every character but [A-Za-z0-9_] made `_`: a module names exactly one package, of its
 *   kernel) and list what it fixes in their description (`*CVE-…` fixed, `!CVE-…: why` not
 *   fixable live). They are asked for by the capability alone (`--whatprovides livepatch`):
 *   Debian's rpm 4.18 answers "no package provides" to the versioned `livepatch = <kernel>`;
 * - `canonical-livepatch status --format json`: the running kernel's entry of `Status`, its
 *   `Livepatch.State` (`applied` when the patches are in) and its `Fixes` (`Patched`).
 */
export const LIVEPATCH_SYSFS = '/sys/kernel/livepatch';
export const KPATCH_LIST_ARGV: readonly string[] = ['kpatch', 'list'];
export const CANONICAL_LIVEPATCH_ARGV: readonly string[] = ['canonical-livepatch', 'status', '--format', 'json'];
/** What each package providing a live patch says: a `@@package NVR` line, then its description. */
const LIVEPATCH_PACKAGE_QF = '@@package %{NAME}-%{VERSION}-%{RELEASE}\n%{DESCRIPTION}\n';

/** The argv asking rpm for the installed packages that provide a live patch (of any kernel). */
export const LIVEPATCH_PACKAGES_ARGV: readonly string[] = ['rpm', '-q', '--queryformat', LIVEPATCH_PACKAGE_QF, '--whatprovides', 'livepatch'];

const CVE = /^CVE-\d{4}-\d{4,}$/;
const bad = (what: string, line: string): BulwarkError => new BulwarkError('input.invalid', `${what}: cannot read ${JSON.stringify(line.slice(0, 120))}`);

/** A kpatch module name as the kernel and kpatch print it (kpatch's mod_name: `-` made `_`). */
const MODULE = /^[A-Za-z0-9_]+$/;

export interface KpatchList {
  loaded: { module: string; state: string }[];
  installed: { module: string; kernel: string }[];
}

/**
 * Parses `kpatch list`. Its "Stalled processes:" block (a patch in transition) is skipped.
 * @example parseKpatchList('Loaded patch modules:\nkp_1 [enabled]\n\nInstalled patch modules:\nkp_1 (6.6.57.1-6.azl3)\n')
 */
export function parseKpatchList(text: string): KpatchList {
  const out: KpatchList = { loaded: [], installed: [] };
  let part: 'start' | 'loaded' | 'stalled' | 'installed' = 'start';
  for (const line of text.split('\n')) {
    if (line === 'Loaded patch modules:' && part === 'start') part = 'loaded';
    else if (line === 'Installed patch modules:' && part !== 'start') part = 'installed';
    else if (line === 'Stalled processes:' && part === 'loaded') part = 'stalled';
    else if (line.trim() === '' || part === 'stalled') continue;
    else if (part === 'loaded') {
      const m = /^(\S+) \[(enabled|disabled|enabling\.\.\.|disabling\.\.\.)\]$/.exec(line);
      if (m?.[1] === undefined || m[2] === undefined || !MODULE.test(m[1])) throw bad('kpatch list', line);
      out.loaded.push({ module: m[1], state: m[2] });
    } else if (part === 'installed') {
      const m = /^(\S+) \((\S+)\)$/.exec(line);
      if (m?.[1] === undefined || m[2] === undefined || !MODULE.test(m[1])) throw bad('kpatch list', line);
      out.installed.push({ module: m[1], kernel: m[2] });
    } else throw bad('kpatch list', line);
  }
  if (part === 'start') throw new BulwarkError('input.invalid', 'kpatch list: no "Loaded patch modules:" line');
  return out;
}

/** The module name a live patch package's kpatch module has: its name-version-release with every other character made `_`. */
export function moduleOfPackage(nvr: string): string {
  return nvr.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * Parses the answer to LIVEPATCH_PACKAGES_ARGV: per package, its NVR and the CVEs its description
 * says are fixed (`*CVE-…`); `!CVE-…` lines (a kernel update is needed) are not.
 * @example parseLivepatchPackages('@@package livepatch-6.6.57.1-6.azl3-1.0.0-1.azl3\nPatches list …:\n*CVE-2024-50264\n')
 */
export function parseLivepatchPackages(text: string): { nvr: string; cves: string[] }[] {
  const out: { nvr: string; cves: string[] }[] = [];
  let cur: { nvr: string; cves: string[] } | null = null;
  let inList = false;
  for (const line of text.split('\n')) {
    const head = /^@@package (\S+)$/.exec(line);
    if (head?.[1] !== undefined) {
      out.push((cur = { nvr: head[1], cves: [] }));
      inList = false;
      continue;
    }
    if (cur === null) {
      if (line.trim() === '') continue;
      throw bad('livepatch package', line);
    }
    if (line.startsWith('Patches list ')) inList = true;
    else if (inList && line.startsWith('*')) {
      const cve = line.slice(1).trim().toUpperCase();
      if (!CVE.test(cve)) throw bad('livepatch package', line);
      cur.cves.push(cve);
    } else if (inList && line.startsWith('!')) {
      // Not fixed live (its reason may run on over more lines): named, never counted.
      if (!CVE.test(line.slice(1).split(':')[0]?.trim().toUpperCase() ?? '')) throw bad('livepatch package', line);
    }
  }
  return out;
}

const CanonicalStatus = z.object({
  Status: z.array(
    z.object({
      Kernel: z.string(),
      Running: z.boolean(),
      Livepatch: z.object({
        State: z.string(),
        Version: z.union([z.string(), z.number()]).nullish(),
        Fixes: z.array(z.object({ Name: z.string(), Patched: z.boolean() })).nullish(),
      }),
    }),
  ),
});

/**
 * Parses `canonical-livepatch status --format json`: the running kernel's patch set, or null when
 * no entry is the running kernel's. `applied` is the one state in which its patches are in.
 * @example parseCanonicalLivepatch(text)?.cves // ['CVE-2023-6270', 'CVE-2024-1086']
 */
export function parseCanonicalLivepatch(text: string): LivePatch | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad('canonical-livepatch status', text);
  }
  const r = CanonicalStatus.safeParse(json);
  if (!r.success) throw new BulwarkError('input.invalid', `canonical-livepatch status: not its JSON status (${r.error.issues[0]?.message ?? ''})`);
  const running = r.data.Status.find((s) => s.Running);
  if (running === undefined) return null;
  const cves = (running.Livepatch.Fixes ?? []).filter((f) => f.Patched).map((f) => f.Name.trim().toUpperCase());
  const odd = cves.find((c) => !CVE.test(c));
  if (odd !== undefined) throw bad('canonical-livepatch status', odd);
  const version = running.Livepatch.Version;
  return {
    tool: 'canonical-livepatch',
    name: version === null || version === undefined || version === '' ? 'livepatch' : `livepatch ${String(version)}`,
    state: running.Livepatch.State,
    active: running.Livepatch.State === 'applied',
    package: null,
    cves: [...new Set(cves)].sort(),
  };
}

/** The part of a transport (collector.ts `Transport`) this module uses. */
interface Asks {
  exec: (argv: readonly string[], o?: { privileged?: boolean }) => Promise<{ code: number | null; stdout: string }>;
}

/**
 * The running kernel's live patches, as the host says: each loaded kpatch module (sysfs, and
 * `kpatch list` where kpatch is installed) with the CVEs its package lists, and Canonical
 * Livepatch's patch set. [] when the host has none.
 * @example await collectLivePatches(transport)
 */
export async function collectLivePatches(t: Asks): Promise<LivePatch[]> {
  const states = new Map<string, string>();
  const ls = await t.exec(['ls', '-1', LIVEPATCH_SYSFS]);
  if (ls.code === 0)
    for (const m of ls.stdout.split('\n').map((x) => x.trim())) {
      if (m === '') continue;
      if (!MODULE.test(m)) throw bad(LIVEPATCH_SYSFS, m);
      const e = await t.exec(['cat', `${LIVEPATCH_SYSFS}/${m}/enabled`]);
      const v = e.stdout.trim();
      if (e.code !== 0) continue;
      if (v !== '0' && v !== '1') throw bad(`${LIVEPATCH_SYSFS}/${m}/enabled`, v);
      states.set(m, v === '1' ? 'enabled' : 'disabled');
    }
  const kp = await t.exec(KPATCH_LIST_ARGV);
  // kpatch's own words win: they say "enabling..." while a patch is still in transition.
  if (kp.code === 0) for (const l of parseKpatchList(kp.stdout).loaded) states.set(l.module, l.state);
  const byModule = new Map<string, { nvr: string; cves: string[] }>();
  if (states.size > 0) {
    const q = await t.exec(LIVEPATCH_PACKAGES_ARGV);
    if (q.code === 0) for (const p of parseLivepatchPackages(q.stdout)) byModule.set(moduleOfPackage(p.nvr), p);
  }
  const out: LivePatch[] = [...states]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([module, state]) => ({
      tool: 'kpatch' as const,
      name: module,
      state,
      active: state === 'enabled',
      package: byModule.get(module)?.nvr ?? null,
      cves: [...new Set(byModule.get(module)?.cves ?? [])].sort(),
    }));
  const cl = await t.exec(CANONICAL_LIVEPATCH_ARGV, { privileged: true });
  if (cl.code === 0) {
    const p = parseCanonicalLivepatch(cl.stdout);
    if (p !== null) out.push(p);
  }
  return out;
}
