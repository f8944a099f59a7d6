import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FEED, importTestbed, installed, testbed } from '../../test/patch-testbed.js';
import { rootTransport } from '../../test/root-transport.js';
import { requires, tools } from '../../test/needs.js';
import { addSource, syncSource } from './feeds.js';
import { applyPolicyFile, makePlan } from './policies.js';
import { schedulerTick } from './scheduler.js';
import { openStore } from './store.js';

const needs = requires(tools('rpmbuild', 'createrepo_c', 'dnf', 'rpm'));
const KEV_FIXTURE = join(import.meta.dirname, '..', 'feeds', 'kev', '__fixtures__', 'known_exploited_vulnerabilities.json');

// Weekend windows only; a KEV-listed CVE is patched at once, by CISA's due date.
const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: kev
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: kev-now, match: { knownExploited: true }, deadlineHours: 720, deadlineFrom: kevDueDate, emergency: true }
windows:
  - { name: weekend, days: [saturday], start: "02:00", durationHours: 4, timezone: UTC }
rollout:
  rings: [{ name: all, percent: 100 }]
reboot: when-required
`;

needs.describe('a knownExploited policy fed by the KEV feed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-kev-sched-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused until KEV was synced; then the plan has an emergency entry for exactly the KEV-listed findings, and the scheduler starts it in the pass after the KEV sync', async () => {
    const db = await openStore({ dbPath: join(dir, 's.db') });
    try {
      const tb = testbed(join(dir, 'tb'), ['h1', 'h2']);
      const { hosts, rescan } = await importTestbed(db, tb);
      const transport = rootTransport(hosts, rescan);
      const tuesday = () => new Date('2026-11-24T12:00:00Z');
      // bw-openssl's advisory names a CVE that KEV lists (CVE-2026-1002); bw-curl's one it does not.
      const cves: Record<string, string[]> = { 'ADV-1': ['CVE-2026-1002'], 'ADV-2': ['CVE-2026-2001'] };
      const feedFile = join(dir, 'feed.json');
      writeFileSync(
        feedFile,
        JSON.stringify({
          ...FEED,
          advisories: FEED.advisories.filter((a) => (a.id ?? '') in cves).map((a) => ({ ...a, severity: 'high', cves: cves[a.id ?? ''] ?? [] })),
        }),
      );
      await addSource(db, { id: 'test-azl3', format: 'native', location: feedFile });
      await syncSource(db, 'test-azl3', { clock: tuesday });

      const pf = join(dir, 'policy.yaml');
      writeFileSync(pf, POLICY);
      await expect(applyPolicyFile(db, pf)).rejects.toThrow(
        /policy\.yaml:6:\d+: outOfBand\[0\] \(kev-now\): match\.knownExploited needs the CISA KEV feed, which was never synced[\s\S]*bulwark feeds sync --source cisa-kev/,
      );

      // An older catalog that does not list CVE-2026-1002 yet: the policy applies, nothing is urgent.
      const doc = JSON.parse(readFileSync(KEV_FIXTURE, 'utf8')) as { vulnerabilities: { cveID: string }[] };
      const older = join(dir, 'kev-old.json');
      writeFileSync(
        older,
        JSON.stringify({ ...doc, catalogVersion: '2026.05.01', count: 2, vulnerabilities: doc.vulnerabilities.filter((v) => v.cveID !== 'CVE-2026-1002') }),
      );
      await syncSource(db, 'cisa-kev', { file: older, clock: tuesday });
      await applyPolicyFile(db, pf);
      expect((await makePlan(db, 'kev', { at: tuesday() })).plan.entries.flatMap((e) => e.packages.filter((p) => p.emergency))).toEqual([]);
      expect(await schedulerTick(db, transport, { clock: tuesday })).toEqual([{ policy: 'kev', started: null }]);

      // CISA adds CVE-2026-1002: the plan's emergency entries are exactly bw-openssl on each host, due by CISA's date.
      await syncSource(db, 'cisa-kev', { file: KEV_FIXTURE, clock: tuesday });
      const { plan } = await makePlan(db, 'kev', { at: tuesday() });
      expect(plan.warnings?.filter((w) => w.kind === 'signal-never-synced')).toEqual([]);
      expect(
        plan.entries.map((e) => [
          e.target,
          e.emergency,
          e.packages.filter((p) => p.emergency).map((p) => p.name),
          e.packages.filter((p) => !p.emergency).map((p) => p.name),
        ]),
      ).toEqual([
        ['h1', true, ['bw-openssl'], ['bw-curl']],
        ['h2', true, ['bw-openssl'], ['bw-curl']],
      ]);
      expect(plan.breaches.map((b) => [b.target, b.advisory, b.deadline])).toEqual([
        ['h1', 'ADV-1', '2026-06-05T00:00:00.000Z'],
        ['h2', 'ADV-1', '2026-06-05T00:00:00.000Z'],
      ]);
      // The next scheduler pass starts it, outside the window, with only the KEV-listed package.
      const [tick] = await schedulerTick(db, transport, { clock: tuesday });
      expect(tick?.started?.hosts.sort()).toEqual(['h1', 'h2']);
      expect(tick?.report?.run.status).toBe('done');
      for (const root of tb.roots.values()) expect(installed(root)).toContain('bw-openssl-1:3.3.5-5.azl3');
      for (const root of tb.roots.values()) expect(installed(root).some((p) => p.startsWith('bw-curl-0:8.11.1'))).toBe(false);
    } finally {
      await db.close();
    }
  });
});
