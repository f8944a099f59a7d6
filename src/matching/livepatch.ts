import type { InstalledPackage, LivePatch } from '../core/target.js';
import { isKernel, runs } from './kernels.js';
import type { FindingStatus } from '../core/finding.js';
import { installedVersion, type Match } from './match.js';

/** A match as the host's live patches leave it: `mitigated` when they fix all its CVEs. */
export type JudgedMatch = Omit<Match, 'status'> & { status: Extract<FindingStatus, 'open' | 'no-fix' | 'mitigated'> };

/**
 * Live-patched kernels (issue #15): a finding on the running kernel's own build whose every CVE
 * a loaded, enabled live patch fixes is `mitigated`, with a reason naming the patch; it is not
 * hidden (still active, listed, counted apart) and not planned, and the kernel update with its
 * reboot stays the fix. An advisory with a CVE the live patches do not name stays as it was: a
 * patch set fixes what it lists, nothing more. A kernel installed but not running is never
 * mitigated by a patch of the running one.
 * @example mitigateByLivePatches(matches, judged, '6.6.57.1-6.azl3', livePatches)
 */
export function mitigateByLivePatches(
  matches: readonly Match[],
  judged: readonly InstalledPackage[],
  runningKernel: string | null,
  livePatches: readonly LivePatch[] | null,
): JudgedMatch[] {
  const active = (livePatches ?? []).filter((p) => p.active && p.cves.length > 0);
  if (runningKernel === null || active.length === 0) return [...matches];
  const byCve = new Map<string, LivePatch>();
  for (const p of active) for (const c of p.cves) if (!byCve.has(c)) byCve.set(c, p);
  const running = new Set(judged.filter((p) => isKernel(p) && runs(p, runningKernel)).map((p) => `${p.name}\u0000${p.arch}\u0000${installedVersion(p)}`));
  return matches.map((m) => {
    if (!running.has(`${m.package}\u0000${m.arch}\u0000${m.installed}`)) return m;
    const cves = m.cves.length > 0 ? m.cves : /^CVE-\d{4}-\d+$/i.test(m.advisoryId) ? [m.advisoryId] : [];
    const by = cves.map((c) => byCve.get(c.toUpperCase()));
    if (cves.length === 0 || by.some((p) => p === undefined)) return m;
    const patches = [...new Set(by as LivePatch[])].map((p) => `${p.tool} ${p.name}${p.package === null ? '' : ` (${p.package})`}`);
    const fix = m.fixed === null ? 'a fixed kernel' : m.fixed;
    const reason = `live-patched: ${cves.join(', ')} fixed in the running kernel ${runningKernel} by ${patches.join(', ')}, loaded and enabled; ${fix} and a reboot remain the lasting fix`;
    return { ...m, status: 'mitigated', reason: m.reason === null ? reason : `${reason}; ${m.reason}` };
  });
}
