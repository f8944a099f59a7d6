/**
 * Issue #5: from ingesting an out-of-band advisory to the first host's run starting, measured
 * on real parts: two rpm roots managed by the real dnf (../shared/testbed recipes 1-3), a feed
 * sync that brings a critical advisory, and one scheduler pass (the run detached, as the
 * scheduler runs it). Then the time until both hosts are patched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addSource, syncSource } from '../src/services/feeds.js';
import { applyPolicyFile } from '../src/services/policies.js';
import { schedulerTick } from '../src/services/scheduler.js';
import { openStore } from '../src/services/store.js';
import { getRun } from '../src/storage/index.js';
import { FEED, importTestbed, testbed } from '../test/patch-testbed.js';
import { rootTransport } from '../test/root-transport.js';
import { hasTool } from '../test/rpm-tools.js';
import type { BenchRow } from './harness.js';

export async function run(): Promise<BenchRow[]> {
  if (!['rpmbuild', 'createrepo_c', 'dnf', 'rpm'].every(hasTool))
    return [
      {
        issue: '#5',
        name: 'out-of-band advisory to started run',
        value: null,
        unit: 'ms',
        target: 'seconds',
        ok: null,
        note: 'rpmbuild, createrepo_c or dnf missing',
      },
    ];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-sched-'));
  const db = await openStore({ dbPath: join(dir, 'b.db') });
  try {
    const tb = testbed(join(dir, 'tb'), ['h1', 'h2']);
    const { hosts, rescan } = await importTestbed(db, tb);
    writeFileSync(
      join(dir, 'p.yaml'),
      'apiVersion: bulwark/v1\nkind: Policy\nname: oob\ncadence: { monthly: { weekday: tuesday, week: 2 } }\noutOfBand:\n  - { name: critical-now, match: { severity: [critical] }, deadlineHours: 24, emergency: true }\nwindows:\n  - { name: never-now, days: [saturday], start: "02:00", durationHours: 1 }\n',
    );
    await applyPolicyFile(db, join(dir, 'p.yaml'));
    const transport = rootTransport(hosts, rescan);
    const feedFile = join(dir, 'feed.json');
    writeFileSync(
      feedFile,
      JSON.stringify({ ...FEED, advisories: FEED.advisories.filter((a) => a.id === 'ADV-1').map((a) => ({ ...a, publishedAt: new Date().toISOString() })) }),
    );
    await addSource(db, { id: 'bench', format: 'native', location: feedFile });
    const t0 = performance.now();
    await syncSource(db, 'bench');
    const [tick] = await schedulerTick(db, transport, { detach: true });
    const startedMs = performance.now() - t0;
    const runPk = tick?.started?.run;
    let doneMs: number | null = null;
    while (runPk !== undefined && performance.now() - t0 < 120_000) {
      const r = await getRun(db, runPk);
      if (r !== null && r.status !== 'running') {
        doneMs = performance.now() - t0;
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    return [
      {
        issue: '#5',
        name: 'out-of-band advisory: feed sync to started run',
        value: startedMs,
        unit: 'ms',
        target: 'seconds',
        ok: runPk !== undefined && startedMs < 10_000,
        note: `${String(tick?.started?.hosts.length ?? 0)} hosts, SQLite, real dnf roots`,
      },
      {
        issue: '#5',
        name: 'out-of-band advisory: feed sync to hosts patched',
        value: doneMs === null ? null : doneMs / 1000,
        unit: 's',
        target: '',
        ok: null,
        note: 'precheck, exact update and re-scan on 2 hosts with the real dnf',
      },
    ];
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
