import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import type { InstalledPackage } from '../core/target.js';
import { DPKG_QUERY_FORMAT } from '../core/package/deb.js';
import { parseInventory } from './imports.js';
import { parseOsRelease, releaseFromOsRelease } from './os-release.js';
import { RPM_QA_QUERYFORMAT } from './rpm-qa.js';

const run = promisify(execFile);

/**
 * The machine Bulwark runs on (`bulwark scan --local`): the same facts the SSH collector
 * gathers, from the same fixed-format commands, run as argv arrays.
 */
export interface LocalInventory {
  release: string | null;
  arch: string | null;
  runningKernel: string | null;
  rebootRequired: boolean | null;
  packages: InstalledPackage[];
}

async function has(cmd: string): Promise<boolean> {
  try {
    await run(cmd, ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** @example await collectLocal() */
export async function collectLocal(): Promise<LocalInventory> {
  const osFile = existsSync('/etc/os-release') ? '/etc/os-release' : '/usr/lib/os-release';
  const release = releaseFromOsRelease(parseOsRelease(await readFile(osFile, 'utf8')));
  const kernel = (await run('uname', ['-r'])).stdout.trim();
  const arch = (await run('uname', ['-m'])).stdout.trim();
  const unesc = (f: string): string => f.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  // The package manager that owns this system: dpkg on Debian/Ubuntu (rpm may be installed there as a tool).
  const dpkg = existsSync('/var/lib/dpkg/status') && (await has('dpkg-query'));
  let packages: InstalledPackage[];
  if (dpkg) packages = parseInventory((await run('dpkg-query', ['-W', '-f', unesc(DPKG_QUERY_FORMAT)], { maxBuffer: 1 << 28 })).stdout, 'dpkg-query', 'dpkg-query').packages;
  else if (await has('rpm')) packages = parseInventory((await run('rpm', ['-qa', '--queryformat', unesc(RPM_QA_QUERYFORMAT)], { maxBuffer: 1 << 28 })).stdout, 'rpm -qa', 'rpm-qa').packages;
  else throw new BulwarkError('input.invalid', 'this machine has neither dpkg-query nor rpm');
  const rebootRequired = existsSync('/var/run/reboot-required') ? true : dpkg ? false : null;
  return { release, arch, runningKernel: kernel, rebootRequired, packages };
}
