import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { HANG_GUARD_MS, killAtJournal } from '../../test/events.js';
import { rng } from '../../test/random.js';
import { rootTransport } from '../../test/root-transport.js';
import { FEED, installed, testbed } from '../../test/patch-testbed.js';
import { listSteps, releaseLease } from '../storage/index.js';
import { ingestFeedFile } from './ingest.js';
import { importRootInventory } from './inventory.js';
import { applyPolicyFile, makePlan } from './policies.js';
import { findFindings } from './report.js';
import { createRun, executeRun } from './runs.js';
import { scanTarget } from './scan.js';
import { openStore, type Db } from './store.js';
import { requires, tools } from '../../test/needs.js';

const needs = requires(tools('rpmbuild', 'createrepo_c', 'dnf', 'rpm'));

const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: lab
cadence: { monthly: { weekday: tuesday, week: 2 } }
holds:
  - { advisory: ADV-2, reason: waiting for the app team, until: 2099-01-01 }
rollout:
  rings: [{ name: canary, hosts: [h1] }, { name: rest, percent: 100 }]
  maxConcurrency: 2
  failureThreshold: 0.4
reboot: when-required
`;

async function prepare(dir: string, db: Db, hosts: string[]): Promise<{ roots: Map<string, string>; extra: (repo: string) => string[]; repo: string }> {
  const tb = testbed(dir, hosts);
  const feed = join(dir, 'feed.json');
  writeFileSync(feed, JSON.stringify(FEED));
  await ingestFeedFile(db, feed);
  for (const [h, root] of tb.roots) {
    await importRootInventory(db, { dir: root, name: h, release: 'azurelinux:3.0', kind: 'host' });
    await scanTarget(db, h);
  }
  const pf = join(dir, 'policy.yaml');
  writeFileSync(pf, POLICY);
  await applyPolicyFile(db, pf);
  return tb;
}

needs.describe('patch runs with the real dnf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-run-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'patches the canary, then the rest, to exactly the planned versions; a broken host halts its ring at the threshold; held advisories stay',
    { timeout: HANG_GUARD_MS },
    async () => {
      const db = await openStore({ dbPath: join(dir, 'a.db') });
      try {
        const tb = await prepare(join(dir, 'a'), db, ['h1', 'h2', 'h3']);
        const targetOf = async (name: string): Promise<string> => (await findFindings(db, { hosts: [name] }))[0]?.targetId ?? name;
        const ids = new Map<string, string>();
        for (const h of ['h1', 'h2', 'h3']) ids.set(await targetOf(h), h);
        const { plan, pk: planPk } = await makePlan(db, 'lab', { save: true });
        expect(plan.entries.map((e) => [e.target, e.ring, e.reboot, e.packages.map((p) => `${p.name}@${p.to}`).join(' ')])).toEqual([
          ['h1', 'canary', true, 'bw-openssl@1:3.3.5-5.azl3 kernel@0:6.6.2-1.azl3'],
          ['h2', 'rest', true, 'bw-openssl@1:3.3.5-5.azl3 kernel@0:6.6.2-1.azl3'],
          ['h3', 'rest', true, 'bw-openssl@1:3.3.5-5.azl3 kernel@0:6.6.2-1.azl3'],
        ]);
        const hosts = new Map<string, { root: string; extra: readonly string[] }>();
        for (const [id, name] of ids)
          hosts.set(id, { root: tb.roots.get(name) ?? '', extra: tb.extra(name === 'h3' ? join(dir, 'a', 'no-such-repo') : tb.repo) });
        const log: string[] = [];
        const t = rootTransport(
          hosts,
          async (id) => {
            await importRootInventory(db, { dir: hosts.get(id)?.root ?? '', name: ids.get(id) ?? id, release: 'azurelinux:3.0', kind: 'host' });
            await scanTarget(db, id);
          },
          log,
        );
        const runPk = await createRun(db, 'lab', plan, planPk, { failureThreshold: 0.4, maxConcurrency: 2 });
        const r = await executeRun(db, runPk, t);
        expect(r.run.status).toBe('halted');
        expect(r.run.note).toMatch(/ring 1: 1 of 2 hosts failed/);
        expect(r.failedHosts).toEqual(['h3']);
        for (const h of ['h1', 'h2'])
          expect(installed(tb.roots.get(h) ?? '')).toEqual([
            'bw-curl-0:8.8.0-1.azl3',
            'bw-openssl-1:3.3.5-5.azl3',
            'kernel-0:6.6.1-1.azl3',
            'kernel-0:6.6.2-1.azl3',
          ]);
        expect(installed(tb.roots.get('h3') ?? '')).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3', 'kernel-0:6.6.1-1.azl3']);
        // The canary went first, and was rebooted; the failed host's later steps were skipped.
        expect(log.findIndex((l) => l.startsWith(`${[...ids].find(([, n]) => n === 'h1')?.[0] ?? ''}: reboot`))).toBeLessThan(
          log.findIndex((l) => l.includes('h2') || l.startsWith([...ids].find(([, n]) => n === 'h2')?.[0] ?? '?')),
        );
        const steps = await listSteps(db, runPk);
        expect(steps.filter((s) => s.targetName === 'h3').map((s) => `${s.kind}:${s.state}`)).toEqual([
          'precheck:failed',
          'update:skipped',
          'reboot:skipped',
          'rescan:skipped',
        ]);
        expect(steps.every((s) => s.attempts <= 1)).toBe(true);
        // Findings: ADV-1 closed on the patched hosts (kernel: the running kernel is not known for a root, so both builds count); ADV-2 held, still open.
        const open = (await findFindings(db, { hosts: ['h1'] })).map((f) => f.advisoryId).sort();
        expect(open).not.toContain('ADV-1');
        expect(open).toContain('ADV-2');
        expect((await findFindings(db, { hosts: ['h1'], status: ['fixed'] })).map((f) => f.advisoryId)).toContain('ADV-1');
      } finally {
        await db.close();
      }
    },
  );

  it(
    'never downgrades: a package updated past the plan since the scan is left as it is, and the rest of the host is patched',
    async () => {
      const db = await openStore({ dbPath: join(dir, 'd.db') });
      try {
        const tb = await prepare(join(dir, 'd'), db, ['h1']);
        const { plan, pk: planPk } = await makePlan(db, 'lab', { save: true });
        expect(plan.entries.map((e) => e.packages.map((p) => `${p.name}@${p.to}`).join(' '))).toEqual(['bw-openssl@1:3.3.5-5.azl3 kernel@0:6.6.2-1.azl3']);
        const root = tb.roots.get('h1') ?? '';
        // Someone updates openssl past the plan before the run (unattended upgrades, an operator).
        execFileSync('dnf', ['-y', `--installroot=${root}`, ...tb.extra(tb.repo), 'install', 'bw-openssl-1:3.4.0-1.azl3'], { stdio: 'pipe' });
        const id = (await findFindings(db, { hosts: ['h1'] }))[0]?.targetId ?? 'h1';
        const t = rootTransport(new Map([[id, { root, extra: tb.extra(tb.repo) }]]), () => Promise.resolve());
        const r = await executeRun(db, await createRun(db, 'lab', plan, planPk, { failureThreshold: 0, maxConcurrency: 1 }), t);
        expect(r.run.status).toBe('done');
        // dnf install of the planned build would have downgraded it to 3.3.5-5.
        expect(installed(root)).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.4.0-1.azl3', 'kernel-0:6.6.1-1.azl3', 'kernel-0:6.6.2-1.azl3']);
        const steps = await listSteps(db, r.run.pk);
        expect(steps.find((s) => s.kind === 'precheck')?.output).toMatch(
          /^already: bw-openssl 1:3\.4\.0-1\.azl3 \(at or above the planned 1:3\.3\.5-5\.azl3\)$/m,
        );
        expect(steps.find((s) => s.kind === 'update')?.output).not.toMatch(/Downgrad/i);
      } finally {
        await db.close();
      }
    },
    HANG_GUARD_MS,
  );

  it(
    'survives SIGKILL at random moments: every host ends patched, no finished step runs again, the journal is complete',
    { timeout: HANG_GUARD_MS },
    async () => {
      const dbPath = join(dir, 'b.db');
      const db = await openStore({ dbPath });
      let runPk: number;
      let hostsJson: string;
      let roots: Map<string, string>;
      try {
        const tb = await prepare(join(dir, 'b'), db, ['h1', 'h2', 'h3', 'h4']);
        roots = tb.roots;
        const { plan, pk } = await makePlan(db, 'lab', { save: true });
        const hosts: Record<string, { root: string; extra: string[]; name: string }> = {};
        for (const e of plan.entries) hosts[e.targetId] = { root: tb.roots.get(e.target) ?? '', extra: tb.extra(tb.repo), name: e.target };
        hostsJson = JSON.stringify(hosts);
        runPk = await createRun(db, 'lab', plan, pk, { holder: 'test', failureThreshold: 0.4, maxConcurrency: 2 });
        // The workers (other processes) take the run over.
        await releaseLease(db, `run:${String(runPk)}`, 'test');
      } finally {
        await db.close();
      }
      const worker = join(import.meta.dirname, '..', '..', 'test', 'run-worker.ts');
      const trace = join(dir, 'trace.log');
      writeFileSync(trace, '');
      // Kill points come from the journal (after 1-4 new journal writes of each life), never from a
      // timer: a loaded machine makes every life slower, not shorter, so each makes progress.
      const seed = Number(process.env['BULWARK_SEED'] ?? Date.now() % 1_000_000);
      const { kills, result } = await killAtJournal({
        argv: ['--import', 'tsx', worker, dbPath, String(runPk), hostsJson, trace],
        trace,
        maxKills: 6,
        random: rng(seed),
      });
      expect([seed, result]).toEqual([seed, { status: 'done', failed: [] }]);
      expect(kills).toBeGreaterThan(0);
      if (process.env['BULWARK_RUN_VERBOSE'] !== undefined) console.log('kills', kills);
      const check = await openStore({ dbPath });
      try {
        const steps = await listSteps(check, runPk);
        expect(
          steps
            .filter((s) => !(s.state === 'done' && s.startedAt !== null && s.finishedAt !== null))
            .map((s) => `${s.targetName}:${s.kind}:${s.state}:${String(s.attempts)}:${s.output ?? ''}`),
        ).toEqual([]);
        // A step runs again only when a kill interrupted it before its end was journaled: per step,
        // at most one "ended", and no "started" after it (a finished step never runs again).
        const lines = readFileSync(trace, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]);
        const reran: string[] = [];
        for (const st of steps) {
          const mine = lines.filter(([pk]) => pk === String(st.pk)).map(([, phase]) => phase);
          const ended = mine.indexOf('ended');
          if (mine.filter((p) => p === 'ended').length > 1 || (ended >= 0 && mine.slice(ended + 1).includes('started')))
            reran.push(`${st.targetName}:${st.kind}`);
        }
        expect(reran).toEqual([]);
        if (process.env['BULWARK_RUN_VERBOSE'] !== undefined)
          console.log(
            'interrupted and resumed',
            steps.filter((x) => x.attempts > 1).map((x) => `${x.targetName}:${x.kind}×${String(x.attempts)}`),
          );
        for (const root of roots.values())
          expect(installed(root)).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3', 'kernel-0:6.6.1-1.azl3', 'kernel-0:6.6.2-1.azl3']);
      } finally {
        await check.close();
      }
    },
  );
});
