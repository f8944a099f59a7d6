import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBulwarkError } from '../core/errors.js';
import { testDatabases } from '../../test/databases.js';
import { SHARED_DATA, sharedData } from '../../test/shared-data.js';
import { dumpStore } from '../../test/store-dump.js';
import { auditLog } from './audit.js';
import { addSource, syncSource } from './feeds.js';
import type { Db } from './store.js';

// Issue #13, "a wrong feed file replaces a source": every real feed in ../shared/data offered to
// a source of another distribution or release is refused before anything is written (a dump of
// every table is the same before and after), --force does not change that, and the refusal is
// in the audit log with what was expected and what was found.
const data = sharedData();
if (data === null && process.env['CI'] !== undefined) throw new Error(`${SHARED_DATA} is missing: CI needs ../shared/data for the feed identity tests`);
const f = (p: string): string => `${SHARED_DATA}/${p}`;

const SOURCES: { id: string; format: string; release?: string | null }[] = [
  { id: 'azurelinux-3.0-oval', format: 'oval' },
  { id: 'mariner-2.0-oval', format: 'oval' },
  { id: 'mariner-1.0-oval', format: 'oval' },
  { id: 'ubuntu-24.04-oval', format: 'oval' },
  { id: 'ubuntu-22.04-oval', format: 'oval' },
  { id: 'almalinux-osv', format: 'osv' },
  { id: 'rocky-osv', format: 'osv' },
  { id: 'ubuntu-osv', format: 'osv' },
  { id: 'redhat-csaf-vex', format: 'csaf-vex' },
  // Microsoft publishes CSAF VEX for Azure Linux too: a Red Hat document is not one of them.
  { id: 'azurelinux-3.0-csaf', format: 'csaf-vex', release: 'azurelinux:3.0' },
  { id: 'rocky-8-updates', format: 'updateinfo', release: 'rocky:8' },
  { id: 'fedora-41-updates', format: 'updateinfo', release: 'fedora:41' },
];

/** Each real feed, the source it belongs to (synced first, so there is something to lose), and sources of another distribution or release. */
const FEEDS: { file: string; home: string | null; wrong: string[] }[] = [
  {
    file: 'azurelinux/oval/azurelinux-3.0-oval.2025-02-24.xml.xz',
    home: 'azurelinux-3.0-oval',
    wrong: ['mariner-2.0-oval', 'mariner-1.0-oval', 'ubuntu-24.04-oval'],
  },
  { file: 'azurelinux/oval/cbl-mariner-2.0-oval.2024-01-22.xml.xz', home: 'mariner-2.0-oval', wrong: ['azurelinux-3.0-oval', 'mariner-1.0-oval'] },
  { file: 'azurelinux/oval/cbl-mariner-1.0-oval.2024-03-29.xml.xz', home: 'mariner-1.0-oval', wrong: ['azurelinux-3.0-oval', 'mariner-2.0-oval'] },
  { file: 'azurelinux/oval/history/azurelinux-3.0-oval.2024-08-01.xml.xz', home: null, wrong: ['mariner-2.0-oval', 'mariner-1.0-oval'] },
  { file: 'azurelinux/oval/history/azurelinux-3.0-oval.2024-11-01.xml.xz', home: null, wrong: ['mariner-2.0-oval'] },
  { file: 'azurelinux/oval/history/azurelinux-3.0-oval.2025-01-31.xml.xz', home: null, wrong: ['mariner-1.0-oval'] },
  {
    file: 'samples/ubuntu-oval/com.ubuntu.noble.usn.oval.USN-7786-1.excerpt.xml',
    home: 'ubuntu-24.04-oval',
    wrong: ['ubuntu-22.04-oval', 'azurelinux-3.0-oval'],
  },
  { file: 'bulk/almalinux-osv-database.948f47a.tar.xz', home: null, wrong: ['rocky-osv', 'ubuntu-osv'] },
  { file: 'samples/osv/almalinux9-ALSA-2024-4312.openssh.osv.json', home: 'almalinux-osv', wrong: ['rocky-osv', 'ubuntu-osv'] },
  { file: 'samples/osv/almalinux9-ALSA-2022-5099.epoch.osv.json', home: null, wrong: ['rocky-osv'] },
  { file: 'samples/osv/almalinux8-ALSA-2026-8339.module.osv.json', home: null, wrong: ['rocky-osv', 'ubuntu-osv'] },
  { file: 'samples/osv/rocky9-RLSA-2024-3671.module.osv.json', home: 'rocky-osv', wrong: ['almalinux-osv', 'ubuntu-osv'] },
  { file: 'samples/osv/ubuntu-USN-6859-1.osv.json', home: 'ubuntu-osv', wrong: ['almalinux-osv', 'rocky-osv'] },
  { file: 'samples/osv/ubuntu-UBUNTU-CVE-2024-6387.osv.json', home: null, wrong: ['almalinux-osv'] },
  { file: 'samples/csaf/redhat-vex-cve-2023-38545.curl.json.xz', home: 'redhat-csaf-vex', wrong: ['azurelinux-3.0-csaf'] },
  { file: 'samples/csaf/redhat-vex-cve-2022-38752.snakeyaml.json.xz', home: null, wrong: ['azurelinux-3.0-csaf'] },
  { file: 'samples/csaf/redhat-vex-cve-2021-0084.kernel-not-affected.json', home: null, wrong: ['azurelinux-3.0-csaf'] },
  { file: 'samples/csaf/redhat-csaf-advisory-RHSA-2022-0011.telnet.json', home: null, wrong: ['azurelinux-3.0-csaf'] },
  { file: 'samples/rpm-repo/rocky8-baseos/updateinfo.xml', home: 'rocky-8-updates', wrong: ['fedora-41-updates'] },
];

async function setUp(db: Db): Promise<void> {
  for (const s of SOURCES) {
    const file = FEEDS.find((x) => x.home === s.id)?.file;
    await addSource(db, {
      id: s.id,
      format: s.format,
      location: file === undefined ? '/nonexistent' : f(file),
      ...(s.release === undefined ? {} : { release: s.release }),
    });
  }
  for (const x of FEEDS) if (x.home !== null) expect((await syncSource(db, x.home, { actor: { kind: 'cli', name: 'test' } })).status).toBe('synced');
}

describe.skipIf(data === null)('a feed of another distribution or release is refused before anything is written', () => {
  let db: Db;
  beforeAll(async () => {
    const [sqlite] = testDatabases();
    if (sqlite === undefined) throw new Error('no SQLite test database');
    db = await sqlite.open();
    await setUp(db);
  }, 120_000);
  afterAll(async () => {
    await db.close();
  });

  it.each(FEEDS.flatMap((x) => x.wrong.map((source) => ({ file: x.file, source }))))(
    '$file into $source',
    async ({ file, source }) => {
      const before = await dumpStore(db);
      const auditBefore = (await auditLog(db, { limit: 1000 })).length;
      const err = await syncSource(db, source, { file: f(file), force: true, allowWithdraw: true, actor: { kind: 'cli', name: 'tester' } }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isBulwarkError(err, 'input.invalid')).toBe(true);
      if (!isBulwarkError(err)) return;
      expect(err.details?.['refused']).toBe('identity');
      expect(err.message).toMatch(/is not a feed of source .*: expected .*, found /);
      expect(await dumpStore(db)).toEqual(before);
      const audit = await auditLog(db, { limit: 1000 });
      expect(audit).toHaveLength(auditBefore + 1);
      expect(audit[0]).toMatchObject({
        actor: 'cli:tester',
        action: 'feed.sync',
        subject: source,
        detail: { status: 'refused', refused: 'identity', force: true },
      });
      expect(audit[0]?.detail['sha256']).toMatch(/^[0-9a-f]{64}$/);
    },
    60_000,
  );

  it('names what was expected and what was found: the CBL-Mariner 2.0 file offered to Azure Linux 3.0', async () => {
    const err = await syncSource(db, 'azurelinux-3.0-oval', {
      file: f('azurelinux/oval/cbl-mariner-2.0-oval.2024-01-22.xml.xz'),
      actor: { kind: 'cli', name: 'test' },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('expected azurelinux:3.0');
    expect((err as Error).message).toMatch(/found mariner:2\.0 \(2436 times, e\.g\. oval:com\.microsoft\.cbl-mariner:def:\d+: version 0:[^)]*\.cm2\)/);
  }, 60_000);
});

describe.skipIf(data === null).each(testDatabases())('identity refusal on $name', (tdb) => {
  let db: Db;
  beforeAll(async () => {
    db = await tdb.open();
  });
  afterAll(async () => {
    await db.close();
  });
  it('keeps a synced Azure Linux 3.0 source whole when the CBL-Mariner 1.0 file is offered to it', async () => {
    await addSource(db, { id: 'azurelinux-3.0-oval', location: f('azurelinux/oval/azurelinux-3.0-oval.2025-02-24.xml.xz') });
    await syncSource(db, 'azurelinux-3.0-oval', { actor: { kind: 'cli', name: 'test' } });
    const before = await dumpStore(db);
    await expect(
      syncSource(db, 'azurelinux-3.0-oval', {
        file: f('azurelinux/oval/cbl-mariner-1.0-oval.2024-03-29.xml.xz'),
        force: true,
        actor: { kind: 'cli', name: 'test' },
      }),
    ).rejects.toThrow(/expected azurelinux:3\.0 .*found mariner:1\.0/);
    expect(await dumpStore(db)).toEqual(before);
  }, 120_000);
});
