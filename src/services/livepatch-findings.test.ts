import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { KERNEL, MODULE, standIn } from '../../test/livepatch-host.js';
import { requires, tools } from '../../test/needs.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createApp } from '../api/app.js';
import { collect } from '../inventory/collector.js';
import { getTarget, upsertTarget } from '../storage/index.js';
import { addSource, syncSource } from './feeds.js';
import { findFindings } from './report.js';
import { scanTarget } from './scan.js';
import { saveInventoryWithSources } from './source-names.js';
import type { Db } from './store.js';
import { createToken } from './tokens.js';

const needs = requires(tools('rpmbuild', 'rpm'));

const advisory = (id: string, cves: string[]): Record<string, unknown> => ({
  id,
  title: id,
  description: '',
  severity: 'high',
  cvssScore: null,
  cvssVector: null,
  cves,
  references: [],
  publishedAt: '2026-11-20T00:00:00Z',
  updatedAt: null,
  parser: 'native@1',
  fixes: [
    {
      release: 'azurelinux:3.0',
      package: 'kernel',
      packageKind: 'binary',
      arch: null,
      status: 'fixed',
      fixed: '0:6.6.60.1-1.azl3',
      lastAffected: null,
      introduced: null,
    },
  ],
});

/** The stand-in host collected (its live patch loaded or not) and stored as a host scan stores it, then matched. */
async function scanStandIn(db: Db, dir: string, enabled: '0' | '1'): Promise<string> {
  const snap = await collect(standIn(dir, enabled));
  const now = new Date().toISOString();
  const t = await upsertTarget(db, { name: 'lp-host', kind: 'host', release: snap.release, arch: snap.arch }, now);
  await saveInventoryWithSources(
    db,
    {
      targetId: t.id,
      collectedAt: now,
      release: snap.release,
      arch: snap.arch,
      runningKernel: snap.runningKernel,
      rebootRequired: snap.rebootRequired,
      packages: snap.packages,
      livePatches: snap.livePatches,
    },
    now,
  );
  await scanTarget(db, t.id);
  return t.id;
}

// Issue #15: a running kernel's finding whose every CVE a loaded live patch fixes is shown as
// mitigated — a status and a reason, not hidden — in the store, the reports and the API.
needs.describe('kernel findings covered by a loaded live patch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-lpfind-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(testDatabases())('on $name', ({ name, open }) => {
    it('are mitigated with the patch named; partly covered ones stay open; unloading the patch reopens them', async () => {
      const db = await open();
      try {
        const feed = join(dir, `${name}-feed.json`);
        writeFileSync(
          feed,
          JSON.stringify({
            source: 'lp-test',
            advisories: [
              advisory('LP-1', ['CVE-2024-50264']),
              // One of its CVEs is not in the live patch: not mitigated.
              advisory('LP-2', ['CVE-2024-53057', 'CVE-2024-99999']),
              // The package lists it with `!`: a kernel update is needed.
              advisory('LP-3', ['CVE-2024-49996']),
            ],
          }),
        );
        await addSource(db, { id: 'lp-test', format: 'native', location: feed });
        await syncSource(db, 'lp-test');
        const id = await scanStandIn(db, join(dir, `${name}-on`), '1');
        expect((await getTarget(db, id))?.livePatches?.find((p) => p.name === MODULE)).toMatchObject({
          active: true,
          cves: ['CVE-2024-50264', 'CVE-2024-53057'],
        });
        // The default report lists a mitigated finding beside the open ones.
        const rows = await findFindings(db, { hosts: [id] });
        const by = new Map(rows.map((r) => [r.advisoryId, r]));
        expect([...by.keys()].sort()).toEqual(['LP-1', 'LP-2', 'LP-3']);
        expect(by.get('LP-1')?.status).toBe('mitigated');
        expect(by.get('LP-1')?.reason).toBe(
          `live-patched: CVE-2024-50264 fixed in the running kernel ${KERNEL} by kpatch ${MODULE} (livepatch-${KERNEL}-1.0.0-1.azl3), loaded and enabled; 0:6.6.60.1-1.azl3 and a reboot remain the lasting fix`,
        );
        expect(by.get('LP-2')?.status).toBe('open');
        expect(by.get('LP-3')?.status).toBe('open');

        // Through the API: the mitigated one by its status.
        const token = (await createToken(db, { name: 'v', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
        const app = createApp(db, { knownHostsFile: join(dir, 'kh'), transport: () => refusingTransport, version: 'test', agentServerKey: randomBytes(32) });
        const res = await app.request('/api/v1/findings?status=mitigated', { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        const page = (await res.json()) as { items: { advisoryId: string; status: string; reason: string | null }[] };
        expect(page.items.map((f) => [f.advisoryId, f.status, f.reason?.startsWith('live-patched: CVE-2024-50264')])).toEqual([['LP-1', 'mitigated', true]]);

        // The patch disabled (kpatch unload): the finding is open again.
        await scanStandIn(db, join(dir, `${name}-off`), '0');
        const again = new Map((await findFindings(db, { hosts: [id] })).map((r) => [r.advisoryId, r]));
        expect(again.get('LP-1')?.status).toBe('open');
        expect(again.get('LP-1')?.reason).toBeNull();
      } finally {
        await db.close();
      }
    });
  });
});
