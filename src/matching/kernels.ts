import type { InstalledPackage } from '../core/target.js';

/**
 * Installonly kernels (issue #4): several kernel builds are installed at once, but only the
 * running one (`uname -r`) is exposed until a reboot. When the running kernel is known and one
 * installed build of a kernel package is it, the other builds of that package are not judged;
 * when none is, all are (the host is about to boot one of them, or the inventory is partial).
 * Names: rpm `kernel`, `kernel-core`, `kernel-modules*`, `kernel-hwe`…; deb `linux-image-*`.
 */
export function isKernel(p: InstalledPackage): boolean {
  return p.family === 'rpm' ? /^kernel(-|$)/.test(p.name) && !/^kernel-(headers|tools|devel|doc)/.test(p.name) : /^linux-(image|modules)-/.test(p.name);
}

/** Whether `p` is the build `uname -r` names (the running kernel). */
export function runs(p: InstalledPackage, uname: string): boolean {
  if (p.family === 'rpm') return uname === `${p.version}-${p.release ?? ''}` || uname.startsWith(`${p.version}-${p.release ?? ''}.`);
  // Debian/Ubuntu put the ABI in the package name: linux-image-6.8.0-41-generic.
  return p.name.endsWith(uname) || p.name.includes(`-${uname}`);
}

/**
 * The packages to judge, given the running kernel.
 * @example packagesToJudge(pkgs, '6.6.64.2-1.azl3')
 */
export function packagesToJudge(packages: readonly InstalledPackage[], runningKernel: string | null): InstalledPackage[] {
  if (runningKernel === null) return [...packages];
  const byName = new Map<string, InstalledPackage[]>();
  for (const p of packages) {
    if (!isKernel(p) || p.family !== 'rpm') continue;
    const l = byName.get(p.name) ?? [];
    l.push(p);
    byName.set(p.name, l);
  }
  const drop = new Set<InstalledPackage>();
  for (const builds of byName.values()) {
    if (builds.length < 2) continue;
    if (!builds.some((b) => runs(b, runningKernel))) continue;
    for (const b of builds) if (!runs(b, runningKernel)) drop.add(b);
  }
  return packages.filter((p) => !drop.has(p));
}
