import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import type { Advisory, Fix } from '../core/advisory.js';
import { upsertAdvisories } from '../storage/index.js';
import { importInventoryFile } from './inventory.js';
import { findFindings, renderReport } from './report.js';
import { scanTarget } from './scan.js';
import type { Db } from './store.js';

function advisory(id: string, cve: string, fix: Omit<Fix, 'release' | 'lastAffected' | 'introduced' | 'arch'>): Advisory {
  return {
    source: 'vendor-vex',
    id,
    kind: 'security',
    title: id,
    description: '',
    severity: 'high',
    cvssScore: null,
    cvssVector: null,
    cves: [cve],
    references: [],
    publishedAt: null,
    updatedAt: null,
    parser: 'test@1',
    fixes: [{ release: 'azurelinux:3.0', arch: null, lastAffected: null, introduced: null, ...fix }],
  };
}

interface Vex {
  components: { 'bom-ref': string; purl?: string }[];
  vulnerabilities: { id: string; analysis: { state: string; response?: string[] }; affects: { ref: string; versions: { status: string }[] }[] }[];
}

describe.each(testDatabases())('the CycloneDX VEX report on $name (issue #13)', ({ open }) => {
  let db: Db;
  let dir: string;
  beforeEach(async () => {
    db = await open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-vex-'));
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says in_triage for a version match, not_affected only where the vendor says so, with purls that carry arch and source', async () => {
    await upsertAdvisories(
      db,
      [
        advisory('V-1', 'CVE-2099-0001', { package: 'curl', packageKind: 'source', status: 'fixed', fixed: '0:8.8.0-2.azl3' }),
        advisory('V-2', 'CVE-2099-0002', { package: 'curl-libs', packageKind: 'binary', status: 'not-affected', fixed: null }),
        // A statement about a source Bulwark only assumed is not carried over to the binary.
        advisory('V-3', 'CVE-2099-0003', { package: 'bw-unknown', packageKind: 'source', status: 'not-affected', fixed: null }),
      ],
      '2026-12-06T00:00:00.000Z',
    );
    const m = join(dir, 'm.txt');
    writeFileSync(m, 'curl-libs-8.8.0-1.azl3.x86_64.rpm\nbw-unknown-1.0-1.azl3.x86_64.rpm\n');
    await importInventoryFile(db, { file: m, name: 'web-01' });
    await scanTarget(db, 'web-01');
    const vex = JSON.parse(await renderReport(db, await findFindings(db), 'cyclonedx-vex')) as Vex;
    expect(
      vex.vulnerabilities.map((v) => [v.id, v.analysis.state, v.analysis.response ?? [], v.affects.map((a) => `${a.ref} ${a.versions[0]?.status ?? ''}`)]),
    ).toEqual([
      ['CVE-2099-0001', 'in_triage', ['update'], ['web-01/curl-libs@8.8.0-1.azl3 affected']],
      ['CVE-2099-0002', 'not_affected', [], ['web-01/curl-libs@8.8.0-1.azl3 unaffected']],
    ]);
    expect(vex.components.map((c) => c.purl)).toEqual(['pkg:rpm/azurelinux/curl-libs@8.8.0-1.azl3?arch=x86_64&distro=azurelinux-3.0&upstream=curl']);
  });
});
