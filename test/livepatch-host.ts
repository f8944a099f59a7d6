import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transport } from '../src/inventory/collector.js';
import { rootTransport } from '../src/inventory/root.js';
import { buildDummyRpms } from './rpm-tools.js';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '..', 'src', 'inventory', '__fixtures__', 'livepatch', name), 'utf8');

export const KERNEL = '6.6.57.1-6.azl3';
export const MODULE = 'livepatch_6_6_57_1_6_azl3_1_0_0_1_azl3';

/**
 * A stand-in Azure Linux 3.0 host: a tree with os-release, a livepatch sysfs (this machine's
 * kernel has none, and no kpatch module can be loaded here: a directory in its shape stands in)
 * and an rpm database holding the running kernel and its real livepatch package, built with
 * rpmbuild in the shape Azure Linux's livepatch spec gives it. The tree's answers come from the
 * root transport (real `rpm --root`); uname answers as the host's kernel would.
 */
export function standIn(dir: string, enabled: '0' | '1'): Transport {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'os-release'), 'ID=azurelinux\nVERSION_ID="3.0"\n');
  for (const [m, v] of [
    [MODULE, enabled],
    ['kpatch_other', '0'],
  ] as const) {
    mkdirSync(join(root, 'sys', 'kernel', 'livepatch', m), { recursive: true });
    writeFileSync(join(root, 'sys', 'kernel', 'livepatch', m, 'enabled'), `${v}\n`);
  }
  const description = fixture('azl-livepatch-description.txt').split('\n').slice(1).join('\n').trim();
  const rpms = buildDummyRpms(join(dir, 'build'), [
    { name: 'kernel', version: '6.6.57.1', release: '6.azl3', arch: 'x86_64' },
    { name: `livepatch-${KERNEL}`, version: '1.0.0', release: '1.azl3', arch: 'x86_64', provides: [`livepatch = ${KERNEL}`], description },
  ]);
  execFileSync('rpm', ['--root', root, '--initdb']);
  execFileSync('rpm', ['--root', root, '-i', '--justdb', '--nodeps', '--ignorearch', ...rpms], { stdio: 'pipe' });
  const tree = rootTransport(root);
  return {
    ...tree,
    live: true,
    exec: (argv, o) => {
      if (argv[0] === 'uname') return Promise.resolve({ code: 0, stdout: argv[1] === '-r' ? `${KERNEL}\n` : 'x86_64\n', stderr: '' });
      return tree.exec(argv, o);
    },
  };
}
