import type { PlannedPackage, PlanTarget } from './plan-types.js';
import type { Policy } from './schema.js';

/**
 * A package whose update takes a reboot to be in effect: a kernel or its modules. Not the
 * kernel's development files, headers, tools or debug symbols (kernel-devel, kernel-headers,
 * kernel-tools, kernel-debuginfo…), which a running system uses as files.
 * @example isKernel('kernel-core') // true
 * @example isKernel('kernel-headers') // false
 */
export function isKernel(name: string): boolean {
  if (/^linux-(image|modules)-/.test(name)) return true;
  if (!/^kernel(-|$)/.test(name)) return false;
  return !/-(devel|devel-matched|headers|cross-headers|tools|tools-libs|tools-libs-devel|doc|docs|debuginfo|debuginfo-common-[A-Za-z0-9_]+|srpm-macros|rpm-macros|abi-stablelists|abi-whitelists|selftests-internal)$/.test(
    name,
  );
}

/**
 * Whether a host reboots after its entry: always, never, or when required — the host already
 * says so, or the entry updates a kernel.
 * @example rebootAfter('when-required', target, [{ name: 'kernel', … }]) // true
 */
export function rebootAfter(reboot: Policy['reboot'], t: Pick<PlanTarget, 'rebootRequired'>, packages: readonly Pick<PlannedPackage, 'name'>[]): boolean {
  return reboot === 'always' || (reboot === 'when-required' && (t.rebootRequired === true || packages.some((p) => isKernel(p.name))));
}
