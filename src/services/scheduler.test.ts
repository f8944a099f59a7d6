import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FEED, importTestbed, installed, testbed } from '../../test/patch-testbed.js';
import { rootTransport } from '../../test/root-transport.js';
import { auditLog } from './audit.js';
import { addSource, syncSource } from './feeds.js';
import { applyPolicyFile, makePlan } from './policies.js';
import { runTransport } from './run-transport.js';
import { runPolicyNow, schedulerTick } from './scheduler.js';
import { listRuns, setRunState } from './runs.js';
import { busyTargets } from '../storage/index.js';
import { openStore } from './store.js';
import { requires, tools } from '../../test/needs.js';

const needs = requires(tools('rpmbuild', 'createrepo_c', 'dnf', 'rpm'));

// Weekend windows only; critical advisories within 24 h, even outside them.
const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: oob
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: critical-24h, match: { severity: [critical] }, deadlineHours: 24, emergency: true }
windows:
  - { name: weekend, days: [saturday], start: "02:00", durationHours: 4, timezone: UTC }
rollout:
  rings: [{ name: all, percent: 100 }]
reboot: when-required
`;

needs.describe('the scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sched-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('never starts a run for targets no transport reaches (imported, no address): the plan leaves them out and says so', async () => {
    const db = await openStore({ dbPath: join(dir, 'unreachable.db') });
    try {
      const tb = testbed(join(dir, 'tb-unreachable'), ['imp-1', 'imp-2']);
      await importTestbed(db, tb);
      const pf = join(dir, 'unreachable.yaml');
      writeFileSync(pf, POLICY);
      await applyPolicyFile(db, pf);
      const tuesday = () => new Date('2026-11-24T12:00:00Z');
      const feedFile = join(dir, 'unreachable-feed.json');
      writeFileSync(
        feedFile,
        JSON.stringify({ ...FEED, advisories: FEED.advisories.filter((a) => a.id === 'ADV-1').map((a) => ({ ...a, publishedAt: '2026-11-24T11:00:00Z' })) }),
      );
      await addSource(db, { id: 'test-azl3', format: 'native', location: feedFile });
      await syncSource(db, 'test-azl3', { clock: tuesday });
      // The transport `bulwark serve` and `bulwark scheduler` use: hosts by their address.
      const transport = runTransport(db, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, identityDir: null });
      const { plan } = await makePlan(db, 'oob', { at: tuesday(), reachable: transport.reaches?.bind(transport) });
      expect(plan.entries).toEqual([]);
      expect(plan.warnings).toContainEqual(expect.objectContaining({ kind: 'unreachable-target', targets: ['imp-1', 'imp-2'] }));
      // The emergency is due, yet no run starts, so none halts and holds the targets.
      expect(await schedulerTick(db, transport, { clock: tuesday })).toEqual([{ policy: 'oob', started: null, unreachable: ['imp-1', 'imp-2'] }]);
      expect(await listRuns(db)).toEqual([]);
      expect(await busyTargets(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('leaves monthly work for the window, and patches a newly synced critical advisory at once, only its packages', async () => {
    const db = await openStore({ dbPath: join(dir, 's.db') });
    try {
      const tb = testbed(join(dir, 'tb'), ['h1', 'h2']);
      const { hosts, rescan } = await importTestbed(db, tb);
      const pf = join(dir, 'policy.yaml');
      writeFileSync(pf, POLICY);
      await applyPolicyFile(db, pf);
      const transport = rootTransport(hosts, rescan);
      // A Tuesday noon: the weekend window is closed.
      const tuesday = () => new Date('2026-11-24T12:00:00Z');
      const feedFile = join(dir, 'feed.json');
      const feed = (ids: string[]) => ({
        ...FEED,
        advisories: FEED.advisories.filter((a) => ids.includes(a.id ?? '')).map((a) => ({ ...a, publishedAt: '2026-11-24T11:00:00Z' })),
      });
      writeFileSync(feedFile, JSON.stringify(feed(['ADV-2'])));
      await addSource(db, { id: 'test-azl3', format: 'native', location: feedFile });
      const first = await syncSource(db, 'test-azl3', { clock: tuesday });
      expect(first.rescanned).toBe(2);
      expect(await schedulerTick(db, transport, { clock: tuesday })).toEqual([{ policy: 'oob', started: null }]);

      // A critical advisory arrives: the next tick starts an emergency run with only its package.
      writeFileSync(feedFile, JSON.stringify(feed(['ADV-1', 'ADV-2'])));
      const t0 = performance.now();
      await syncSource(db, 'test-azl3', { clock: tuesday });
      const [tick] = await schedulerTick(db, transport, { clock: tuesday });
      expect(performance.now() - t0).toBeLessThan(60_000);
      expect(tick?.started?.hosts.sort()).toEqual(['h1', 'h2']);
      expect(tick?.report?.run.status).toBe('done');
      for (const root of tb.roots.values()) expect(installed(root)).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3', 'kernel-0:6.6.1-1.azl3']);
      const audit = await auditLog(db, { subject: 'oob' });
      // The policy's version is audited by applyPolicyFile, then the run it started and its end.
      expect(audit.map((a) => a.action)).toEqual(['run.end', 'run.start', 'policy.apply']);
      expect(audit[1]?.detail['reasons']).toEqual(expect.arrayContaining(['critical-24h']));
      // Nothing more is due until the window: the monthly curl update waits.
      expect(await schedulerTick(db, transport, { clock: tuesday })).toEqual([{ policy: 'oob', started: null }]);
      const saturday = () => new Date('2026-11-28T03:00:00Z');
      // In the window, as `bulwark serve` does it: detached. Its end is audited all the same.
      const [inWindow] = await schedulerTick(db, transport, { clock: saturday, detach: true });
      const runPk = inWindow?.started?.run;
      expect(runPk).toBeGreaterThan(0);
      let end: { detail: Record<string, unknown> } | undefined;
      for (let i = 0; i < 600 && end === undefined; i++) {
        end = (await auditLog(db, { subject: 'oob' })).find((a) => a.action === 'run.end' && a.detail['run'] === runPk);
        if (end === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(end?.detail['status']).toBe('done');
      for (const root of tb.roots.values()) expect(installed(root)).toContain('bw-curl-0:8.11.1-3.azl3');
    } finally {
      await db.close();
    }
  });

  it('keeps a host in one run at a time: a halted run holds its hosts until it is cancelled, and two runs started at once never share a host', async () => {
    const db = await openStore({ dbPath: join(dir, 'one.db') });
    try {
      const tb = testbed(join(dir, 'one'), ['h1', 'h2']);
      // h2's repository is gone: its precheck fails, every time.
      const { hosts } = await importTestbed(db, tb, { repoOf: (name) => (name === 'h2' ? join(dir, 'one', 'no-such-repo') : tb.repo) });
      const pf = join(dir, 'one.yaml');
      writeFileSync(
        pf,
        'apiVersion: bulwark/v1\nkind: Policy\nname: one\ncadence: { monthly: { weekday: tuesday, week: 2 } }\nrollout:\n  rings: [{ name: all, percent: 100 }]\n  failureThreshold: 0\nreboot: never\n',
      );
      await applyPolicyFile(db, pf);
      const transport = rootTransport(hosts, () => Promise.resolve());
      const feedFile = join(dir, 'one-feed.json');
      writeFileSync(feedFile, JSON.stringify({ ...FEED, advisories: FEED.advisories.filter((a) => a.id === 'ADV-1') }));
      await addSource(db, { id: 'test-azl3', format: 'native', location: feedFile });
      const now = () => new Date('2026-11-24T12:00:00Z');
      await syncSource(db, 'test-azl3', { clock: now });
      const [first] = await schedulerTick(db, transport, { clock: now });
      expect(first?.report?.run.status).toBe('halted');
      // Both hosts stay in the halted run (this test's rescan reads nothing back): no new run each pass.
      expect(await schedulerTick(db, transport, { clock: now })).toEqual([{ policy: 'one', started: null }]);
      await expect(runPolicyNow(db, 'one', transport, { actor: { kind: 'cli', name: 'test' }, clock: now })).rejects.toThrow(
        /every approved host of one is in a run that is not over: h1 \(run \d+, halted\), h2 \(run \d+, halted\)/,
      );
      // Cancelled, the run lets its hosts go: two starts at once, one run.
      await setRunState(db, first?.started?.run ?? 0, 'cancel');
      const both = await Promise.allSettled([
        runPolicyNow(db, 'one', transport, { actor: { kind: 'cli', name: 'a' }, clock: now, detach: true }),
        runPolicyNow(db, 'one', transport, { actor: { kind: 'cli', name: 'b' }, clock: now, detach: true }),
      ]);
      expect(both.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(String((both.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(
        /h1 \(in run \d+, running\), h2 \(in run \d+, running\): already in a run that is not over|every approved host of one is in a run that is not over/,
      );
      // Let the detached run finish before the store closes.
      for (let i = 0; i < 300 && (await busyTargets(db)).length > 0 && (await listRuns(db, { status: 'running' })).length > 0; i++)
        await new Promise((r) => setTimeout(r, 100));
    } finally {
      await db.close();
    }
  }, 120_000);

  it('holds the soak between rings across passes: the rest waits soakHours after the canary ended, even once the canary has nothing left to do', async () => {
    const db = await openStore({ dbPath: join(dir, 'soak.db') });
    try {
      const tb = testbed(join(dir, 'soak'), ['h1', 'h2']);
      let now = Date.parse('2026-11-24T12:00:00Z');
      const clock = () => new Date(now);
      const { hosts, rescan } = await importTestbed(db, tb, { clock });
      const pf = join(dir, 'soak.yaml');
      writeFileSync(
        pf,
        'apiVersion: bulwark/v1\nkind: Policy\nname: soak\ncadence: { monthly: { weekday: tuesday, week: 2 } }\nrollout:\n  rings: [{ name: canary, hosts: [h1] }, { name: rest, percent: 100 }]\n  soakHours: 48\nreboot: never\n',
      );
      await applyPolicyFile(db, pf);
      const real = rootTransport(hosts, rescan);
      // Every command on a host, and its re-scan, takes an hour of the test's clock: the canary ends
      // hours after it starts, and an hour after its last step started.
      const slow = <T>(f: () => Promise<T>): Promise<T> => {
        now += 3_600_000;
        return f();
      };
      const transport = {
        ...real,
        exec: (id: string, argv: readonly string[]) => slow(() => real.exec(id, argv)),
        rescan: (id: string) => slow(() => real.rescan(id)),
      };
      const feedFile = join(dir, 'soak-feed.json');
      writeFileSync(feedFile, JSON.stringify({ ...FEED, advisories: FEED.advisories.filter((a) => a.id === 'ADV-1') }));
      await addSource(db, { id: 'test-azl3', format: 'native', location: feedFile });
      await syncSource(db, 'test-azl3', { clock });
      const started = now;
      const [first] = await schedulerTick(db, transport, { clock });
      expect(first?.started?.hosts).toEqual(['h1']);
      const ended = Math.max(...(first?.report?.steps ?? []).map((s) => Date.parse(s.finishedAt ?? '')));
      expect(ended).toBeGreaterThan(started + 3_600_000);
      // The next pass, at once: the canary is patched (nothing left in its ring), the rest still soaks.
      expect(await schedulerTick(db, transport, { clock })).toEqual([{ policy: 'soak', started: null }]);
      // 47 h after the canary ended (more than 48 h after it started), the rest still soaks.
      now = ended + 47 * 3_600_000;
      expect(await schedulerTick(db, transport, { clock })).toEqual([{ policy: 'soak', started: null }]);
      now += 3_600_000;
      const [later] = await schedulerTick(db, transport, { clock });
      expect(later?.started?.hosts).toEqual(['h2']);
      expect(installed(tb.roots.get('h2') ?? '')).toContain('bw-openssl-1:3.3.5-5.azl3');
    } finally {
      await db.close();
    }
  }, 120_000);
});
