import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FEED, importTestbed, installed, testbed } from '../../test/patch-testbed.js';
import { rootTransport } from '../../test/root-transport.js';
import { listSteps, upsertTarget } from '../storage/index.js';
import { addSource, syncSource } from './feeds.js';
import { applyPolicyFile, makePlan } from './policies.js';
import { runTransport } from './run-transport.js';
import { createRun, executeRun } from './runs.js';
import { openStore } from './store.js';
import { requires, tools } from '../../test/needs.js';

const needs = requires(tools('rpmbuild', 'createrepo_c', 'dnf', 'rpm'));

const policy = (rollback: 'never' | 'on-failure'): string => `apiVersion: bulwark/v1
kind: Policy
name: lab-${rollback}
cadence: { monthly: { weekday: tuesday, week: 2 } }
windows:
  - { name: always, days: [monday, tuesday, wednesday, thursday, friday, saturday, sunday], start: "00:00", durationHours: 24, timezone: UTC }
rollout:
  rings: [{ name: all, percent: 100 }]
reboot: never
rollback: ${rollback}
`;

// Issue #15: the pull agent runs only the install and query argv it checks word for word — no
// history undo, no downgrade — so a host reached through it cannot be rolled back. A policy that
// says `rollback: on-failure` must never start an update there.
needs.describe('rollback: on-failure and hosts that cannot be rolled back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-rollreach-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the plan leaves an agent host out and names it; under rollback: never it is planned; a run never updates it', async () => {
    const db = await openStore({ dbPath: join(dir, 'r.db') });
    try {
      const tb = testbed(join(dir, 'tb'), ['via-ssh', 'via-agent']);
      const { hosts, names, rescan } = await importTestbed(db, tb);
      const now = new Date().toISOString();
      await upsertTarget(db, { name: 'via-ssh', kind: 'host', address: 'ssh://root@127.0.0.1:2222' }, now);
      await upsertTarget(db, { name: 'via-agent', kind: 'host', address: 'agent://0123456789abcdef?pm=dnf' }, now);
      for (const r of ['never', 'on-failure'] as const) {
        const pf = join(dir, `${r}.yaml`);
        writeFileSync(pf, policy(r));
        await applyPolicyFile(db, pf);
      }
      const feedFile = join(dir, 'feed.json');
      writeFileSync(feedFile, JSON.stringify(FEED));
      await addSource(db, { id: 'test-azl3', format: 'native', location: feedFile });
      await syncSource(db, 'test-azl3');
      const transport = runTransport(db, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, identityDir: null });
      const reachable = transport.reaches?.bind(transport);

      const strict = await makePlan(db, 'lab-on-failure', { save: true, reachable });
      expect(strict.plan.entries.map((e) => e.target)).toEqual(['via-ssh']);
      const warning = strict.plan.warnings?.find((w) => w.kind === 'not-rollbackable');
      expect(warning?.targets).toEqual(['via-agent']);
      expect(warning?.message).toMatch(/rollback: on-failure.*agent.*cannot undo an update.*left out of the rings: via-agent/);

      const lax = await makePlan(db, 'lab-never', { reachable });
      expect(lax.plan.entries.map((e) => e.target)).toEqual(['via-agent', 'via-ssh']);
      expect(lax.plan.warnings?.some((w) => w.kind === 'not-rollbackable')).toBe(false);

      // A plan made while the host could still be rolled back (before it was re-enrolled through
      // an agent): its run checks again at the precheck and leaves the host untouched.
      const old = await makePlan(db, 'lab-on-failure', { save: true });
      expect(old.plan.entries.map((e) => e.target)).toEqual(['via-ssh']);
      const agentId = [...names].find(([, n]) => n === 'via-agent')?.[0] ?? '';
      const sshId = [...names].find(([, n]) => n === 'via-ssh')?.[0] ?? '';
      const before = installed(tb.roots.get('via-agent') ?? '');
      // The same plan with the agent host in it, as a plan made before the change would have it.
      const stale = { ...old.plan, entries: [...old.plan.entries, ...lax.plan.entries.filter((e) => e.target === 'via-agent')] };
      const roots = rootTransport(hosts, rescan);
      const t = { ...roots, rollsBack: (id: string) => Promise.resolve(id !== agentId) };
      const run = await executeRun(db, await createRun(db, 'lab-on-failure', stale, old.pk, { failureThreshold: 1, maxConcurrency: 1 }), t);
      const steps = await listSteps(db, run.run.pk);
      const agentSteps = steps.filter((s) => s.targetId === agentId);
      const precheck = agentSteps.find((s) => s.kind === 'precheck');
      expect(precheck?.state).toBe('failed');
      expect(precheck?.output).toMatch(/rollback: on-failure.*cannot undo an update: not updated/);
      expect(agentSteps.find((s) => s.kind === 'update')?.state).not.toBe('done');
      expect(installed(tb.roots.get('via-agent') ?? '')).toEqual(before);
      // The host that can be rolled back was patched as planned.
      expect(steps.find((s) => s.targetId === sshId && s.kind === 'update')?.state).toBe('done');
      expect(installed(tb.roots.get('via-ssh') ?? '')).toContain('bw-openssl-1:3.3.5-5.azl3');
    } finally {
      await db.close();
    }
  });
});
