import { BulwarkError } from '../core/errors.js';
import type { InstalledPackage } from '../core/target.js';
import { parseInventory } from './imports.js';
import { parseImageStamp } from './image-stamp.js';
import { parseOsRelease, releaseFromOsRelease } from './os-release.js';

/**
 * Reads a report the agent (src/agent/bulwark-agent.sh) sends: a `bulwark-report 1` line, then
 * sections `@@os-release`, `@@uname` (kernel release, machine), `@@managers` (package managers
 * found), `@@reboot` (yes/no/unknown), `@@boot` (the boot id, which a reboot changes, then the
 * boot time in seconds since the epoch, /proc/stat's btime), `@@image`
 * (/etc/bulwark-image, the image build the host was made from) and
 * `@@packages rpm|dpkg` in the fixed formats of `rpm -qa --queryformat` and `dpkg-query -W -f`
 * that SSH collection uses too.
 */
export interface AgentReport {
  release: string | null;
  runningKernel: string | null;
  arch: string | null;
  rebootRequired: boolean | null;
  /** Package managers found on the host (tdnf, dnf5, dnf, apt-get). */
  managers: string[];
  /** /proc/sys/kernel/random/boot_id: a new one after every boot (older agents do not send it). */
  bootId: string | null;
  /** When the host booted (/proc/stat btime, ISO 8601): the line after the boot id (older agents do not send it). */
  bootedAt: string | null;
  /** `<image>@<build>` from /etc/bulwark-image (`@@image`), if the host has one. */
  image: string | null;
  packages: InstalledPackage[];
}

export function parseAgentReport(text: string, where: string): AgentReport {
  const lines = text.split('\n');
  if (lines[0] !== 'bulwark-report 1') throw new BulwarkError('input.invalid', `${where}: not a bulwark-report 1`);
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of lines.slice(1)) {
    const m = /^@@([a-z-]+(?: (?:rpm|dpkg))?)$/.exec(line);
    if (m?.[1] !== undefined) {
      if (sections.has(m[1])) throw new BulwarkError('input.invalid', `${where}: section @@${m[1]} twice`);
      current = [];
      sections.set(m[1], current);
    } else if (current !== null) current.push(line);
  }
  const os = sections.get('os-release');
  const uname = sections.get('uname');
  const pkgKey = [...sections.keys()].find((k) => k.startsWith('packages '));
  if (os === undefined || uname === undefined || pkgKey === undefined) throw new BulwarkError('input.invalid', `${where}: a report needs @@os-release, @@uname and @@packages`);
  const reboot = sections.get('reboot')?.[0]?.trim();
  const format = pkgKey === 'packages rpm' ? 'rpm-qa' : 'dpkg-query';
  const body = (sections.get(pkgKey) ?? []).join('\n');
  const packages = body.trim() === '' ? [] : parseInventory(body, `${where}: ${format}`, format).packages;
  return {
    release: releaseFromOsRelease(parseOsRelease(os.join('\n'))),
    runningKernel: uname[0]?.trim() || null,
    arch: uname[1]?.trim() || null,
    rebootRequired: reboot === 'yes' ? true : reboot === 'no' ? false : null,
    managers: (sections.get('managers') ?? []).map((l) => l.trim()).filter((l) => /^(tdnf|dnf5|dnf|apt-get)$/.test(l)),
    bootId: bootIdOf(sections.get('boot')?.[0]),
    bootedAt: bootTimeOf(sections.get('boot')?.[1]),
    image: parseImageStamp(sections.get('image')?.join('\n')),
    packages,
  };
}

/** A boot id as the kernel prints it (a UUID); anything else is not one. */
export function bootIdOf(line: string | undefined): string | null {
  const t = line?.trim().toLowerCase() ?? '';
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(t) ? t : null;
}

/** A boot time as /proc/stat's btime gives it (seconds since the epoch), as ISO 8601; anything else is not one. */
export function bootTimeOf(line: string | undefined): string | null {
  const t = line?.trim() ?? '';
  if (!/^\d{1,11}$/.test(t)) return null;
  const ms = Number(t) * 1000;
  return ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : null;
}
