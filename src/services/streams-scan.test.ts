import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { requires, tool } from '../../test/needs.js';
import { buildRpmRoot } from '../../test/rpm-tools.js';
import { shared } from '../../test/shared-data.js';
import type { Advisory } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import { parseOsv } from '../feeds/osv/parser.js';
import { matchPackages } from '../matching/match.js';
import { getTarget } from '../storage/index.js';
import { addSource, syncSource } from './feeds.js';
import { importRootInventory } from './inventory.js';
import { findFindings } from './report.js';
import { scanTarget } from './scan.js';
import type { Db } from './store.js';

// Issue #16 items 7 and 8 through the product's own path: the collector reads a host's tree
// (dnf module states, apt sources), the real advisory records sync, the scan decides.
// Real records: Rocky's RLSA-2024:3671 (ruby:3.3 module builds, ../shared/data/samples) and
// Canonical's USN-7786-1 (Ubuntu Pro esm-infra for 20.04; feeds/osv/__fixtures__, trimmed).
const rocky = shared('samples', 'osv', 'rocky9-RLSA-2024-3671.module.osv.json');
const alma = shared('samples', 'osv', 'almalinux8-ALSA-2026-8339.module.osv.json');
const USN = join(import.meta.dirname, '..', 'feeds', 'osv', '__fixtures__', 'ubuntu-USN-7786-1.pro.trimmed.json');
const needs = requires(rocky, alma, tool('rpmbuild'), tool('rpm'), tool('dpkg-query'));
const clock = () => new Date('2026-11-01T00:00:00Z');

needs.describe('module streams and Ubuntu Pro channels through collect, sync and scan', () => {
  it("AlmaLinux's nodejs:20 record (ALSA-2026:8339) applies to the nodejs:20 host, not to the one on nodejs:18", async () => {
    const advisories: Advisory[] = [];
    for await (const a of parseOsv(
      (async function* () {
        await Promise.resolve();
        yield readFileSync(alma.path);
      })(),
      { source: 'alma', name: alma.path, warn: () => undefined },
    ))
      advisories.push(a);
    const node = (version: string, release: string): InstalledPackage => ({
      family: 'rpm',
      name: 'nodejs',
      epoch: 1,
      version,
      release,
      arch: 'x86_64',
      sourceName: 'nodejs',
      sourceVersion: null,
    });
    const at = (p: InstalledPackage, modules: string[]) =>
      matchPackages({ family: 'rpm', release: 'almalinux:8', packages: [p], advisories, streams: { modules, channels: null } }).map(
        (m) => `${m.status} ${m.fixed ?? '-'}`,
      );
    expect(at(node('20.19.0', '1.module_el8.10.0+4100+aaaaaaaa'), ['nodejs:20'])).toEqual(['open 1:20.20.2-1.module_el8.10.0+4165+3f200bda']);
    // 18.20.8 < 20.20.2 by rpm's rules; the stream says it is not this host's fix.
    expect(at(node('18.20.8', '1.module_el8.10.0+4000+bbbbbbbb'), ['nodejs:18'])).toEqual([]);
  });

  describe.each(testDatabases())('on $name', ({ open }) => {
    let db: Db;
    let dir: string;
    beforeEach(async () => {
      db = await open();
      dir = mkdtempSync(join(tmpdir(), 'bulwark-streams-'));
    });
    afterEach(async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const put = (root: string, path: string, text: string): void => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    };

    it('a module fix applies only to hosts with its stream enabled; a host whose streams are unknown keeps the match', async () => {
      const host = (name: string, stream: string | null, release: string): string => {
        const root = buildRpmRoot(join(dir, `${name}-build`), join(dir, name), [
          { name: 'ruby', version: stream === '3.3' ? '3.3.0' : '3.1.4', release, arch: 'x86_64', source: 'ruby' },
        ]);
        put(root, 'etc/os-release', 'ID="rocky"\nVERSION_ID="9.4"\n');
        if (stream !== null) put(root, 'etc/dnf/modules.d/ruby.module', `[ruby]\nname=ruby\nstream=${stream}\nprofiles=\nstate=enabled\n`);
        return root;
      };
      await addSource(db, { id: 'rocky-osv', format: 'osv', location: rocky.path });
      expect(await syncSource(db, 'rocky-osv', { clock })).toMatchObject({ status: 'synced', advisories: 1 });
      const on31 = host('ruby31', '3.1', '143.module+el9.3.0+19540+ddec34a8');
      const on33 = host('ruby33', '3.3', '1.module+el9.4.0+20000+0a1b2c3d');
      const unknown = host('nomodules', null, '143.module+el9.3.0+19540+ddec34a8');
      for (const [root, name] of [
        [on31, 'ruby31'],
        [on33, 'ruby33'],
        [unknown, 'nomodules'],
      ] as const) {
        await importRootInventory(db, { dir: root, name, kind: 'host' }, clock);
        await scanTarget(db, name, clock);
      }
      expect((await getTarget(db, 'ruby31'))?.streams).toEqual({ modules: ['ruby:3.1'], channels: null });
      expect((await getTarget(db, 'nomodules'))?.streams).toEqual({ modules: null, channels: null });
      const of = async (h: string): Promise<string[]> =>
        (await findFindings(db, { hosts: [h] })).filter((f) => f.advisorySource === 'rocky-osv').map((f) => `${f.package} ${f.status} ${f.fixed ?? '-'}`);
      // ruby 3.1.4 compares below the ruby:3.3 build's 3.3.1: only the stream says it is not this host's fix.
      expect(await of('ruby31')).toEqual([]);
      expect(await of('ruby33')).toEqual(['ruby open 0:3.3.1-2.module+el9.4.0+20787+4c237fd3']);
      expect(await of('nomodules')).toEqual(['ruby open 0:3.3.1-2.module+el9.4.0+20787+4c237fd3']);
    });

    it('an Ubuntu Pro fix is fixable on a host with esm-infra enabled, and "fix needs Ubuntu Pro" on one without', async () => {
      const host = (name: string, version: string, esm: boolean, ver = '20.04'): string => {
        const root = join(dir, name);
        put(root, 'etc/os-release', `ID=ubuntu\nVERSION_ID="${ver}"\n`);
        const pkg = (p: string): string =>
          `Package: ${p}\nStatus: install ok installed\nPriority: optional\nSection: utils\nInstalled-Size: 1\nMaintainer: Ubuntu Developers\nArchitecture: amd64\nSource: openssl\nVersion: ${version}\nDescription: ${p}\n`;
        put(root, 'var/lib/dpkg/status', `${pkg('openssl')}\n${pkg(ver === '20.04' ? 'libssl1.1' : 'libssl3')}\n`);
        if (esm)
          put(
            root,
            'etc/apt/sources.list.d/ubuntu-esm-infra.list',
            '# Written by ubuntu-pro-client\ndeb https://esm.ubuntu.com/infra/ubuntu focal-infra-security main\n',
          );
        return root;
      };
      await addSource(db, { id: 'usn', format: 'osv', location: USN });
      expect(await syncSource(db, 'usn', { clock })).toMatchObject({ status: 'synced', advisories: 1, warnings: 0 });
      for (const [root, name] of [
        [host('pro', '1.1.1f-1ubuntu2.24', true), 'pro'],
        [host('plain', '1.1.1f-1ubuntu2.24', false), 'plain'],
        [host('jammy', '3.0.2-0ubuntu1.19', false, '22.04'), 'jammy'],
      ] as const) {
        await importRootInventory(db, { dir: root, name, kind: 'host' }, clock);
        await scanTarget(db, name, clock);
      }
      expect((await getTarget(db, 'pro'))?.streams.channels).toEqual(['Ubuntu Pro (esm)', 'Ubuntu Pro (esm-infra)']);
      expect((await getTarget(db, 'plain'))?.streams.channels).toEqual([]);
      const of = async (h: string): Promise<string[]> =>
        (await findFindings(db, { hosts: [h], status: ['open', 'no-fix'] }))
          .filter((f) => f.advisorySource === 'usn')
          .map((f) => `${f.package} ${f.status} ${f.fixed ?? '-'} ${f.reason ?? ''}`.trim())
          .sort();
      expect(await of('pro')).toEqual(['libssl1.1 open 1.1.1f-1ubuntu2.24+esm1', 'openssl open 1.1.1f-1ubuntu2.24+esm1']);
      expect(await of('plain')).toEqual([
        'libssl1.1 no-fix - fix needs Ubuntu Pro (esm-infra), not enabled on this host (1.1.1f-1ubuntu2.24+esm1)',
        'openssl no-fix - fix needs Ubuntu Pro (esm-infra), not enabled on this host (1.1.1f-1ubuntu2.24+esm1)',
      ]);
      // An ordinary fix needs nothing.
      expect(await of('jammy')).toEqual(['libssl3 open 3.0.2-0ubuntu1.20', 'openssl open 3.0.2-0ubuntu1.20']);
    });
  });
});
