import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makePlan } from '../src/services/policies.js';
import { createRun } from '../src/services/runs.js';
import { openStore } from '../src/services/store.js';
import { listSteps, releaseLease } from '../src/storage/index.js';
import { runCli } from './cli.js';
import { HANG_GUARD_MS, killAtJournal } from './events.js';
import { requires, sshdHosts, tools } from './needs.js';
import { rng } from './random.js';
import { advisorySsl, hooksFile, INITIAL, INITIAL_QA, listenOn, overSsh, PATCHED_QA, PKGS, RPM_QA, safePolicy, startLb } from './safety-fleet.js';
import { buildRepo, serveDir, startDnfHost, type DnfHost } from './ssh-fleet.js';

/**
 * Issue #15: Bulwark killed (SIGKILL) at random journal writes while it runs hooks, health gates
 * and a rollback over SSH, and started again each time (test/run-worker.ts, as the update kill
 * tests do): no finished step runs again, the failed host is rolled back exactly once, the others
 * are patched in one transaction. Addresses 127.0.11.10–19 are this file's.
 */
const needs = requires(sshdHosts(), tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm'));

needs.describe('safe patching with Bulwark killed at random moments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-safety-kill-'));
  const dbPath = join(dir, 'bulwark.db');
  const knownHosts = join(dir, 'known_hosts');
  const hosts: DnfHost[] = [];
  const listeners: Server[] = [];
  let server: { url: string; close: () => Promise<void> } | undefined;
  let lb: Awaited<ReturnType<typeof startLb>> | undefined;
  const GATE_PORT = 18_512;
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    const repo = buildRepo(join(dir, 'repo'), PKGS, [advisorySsl()]);
    server = await serveDir(repo);
    lb = await startLb();
    writeFileSync(join(dir, 'hooks.yaml'), hooksFile(lb.url));
    env = { BULWARK_DATABASE_URL: `sqlite:${dbPath}`, USER: 'alice', BULWARK_SSH_KEY_DIR: join(dir, 'hosts'), BULWARK_HOOKS_FILE: join(dir, 'hooks.yaml') };
    for (const [i, name] of ['k-canary', 'k-1', 'k-2'].entries())
      hosts.push(
        await startDnfHost(join(dir, 'hosts'), {
          name,
          address: `127.0.11.${String(10 + i)}`,
          port: 23_110 + i,
          localRepo: repo,
          repoUrl: server.url,
          initial: INITIAL,
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    // k-2's application never answers: its gate fails and it is rolled back.
    for (const h of hosts.slice(0, 2)) listeners.push(await listenOn(h.address, GATE_PORT));
    writeFileSync(join(dir, 'policy.yaml'), safePolicy('safe', 'safe', GATE_PORT));
  }, HANG_GUARD_MS);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    for (const l of listeners) await new Promise((r) => l.close(r));
    await server?.close();
    await lb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'resumes hooks, gates and the rollback without repeating a finished step; one update per host, one undo on the failed one',
    async () => {
      const ok = async (...args: string[]): Promise<string> => {
        const r = await runCli(args, env);
        expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}`).toBe(0);
        return r.out;
      };
      await ok(
        'feeds',
        'add',
        'fleet',
        '--format',
        'updateinfo',
        '--release',
        'azurelinux:3.0',
        '--location',
        `${server?.url ?? ''}/repodata/updateinfo.xml.gz`,
      );
      for (const h of hosts)
        await ok(
          'hosts',
          'add',
          h.name,
          '--address',
          `root@${h.address}:${String(h.port)}`,
          '--identity',
          h.clientKey,
          '--package-manager',
          'dnf',
          '--tag',
          'safe',
          ...(h.name === 'k-canary' ? ['--tag', 'canary'] : []),
        );
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      await ok('feeds', 'sync', '--source', 'fleet');
      let runPk: number;
      // Besides the random kills, one in the middle of each kind of new step: k-1's pre hook (an
      // HTTP call) and post hook, k-2's snapshot hook (a command), its failing gate and its rollback.
      const killAt = new Set<string>();
      const db = await openStore({ dbPath });
      try {
        const { plan, pk } = await makePlan(db, 'safe', { save: true });
        runPk = await createRun(db, 'safe', plan, pk, { holder: 'test', failureThreshold: 0.3, maxConcurrency: 2 });
        await releaseLease(db, `run:${String(runPk)}`, 'test');
        const created = await listSteps(db, runPk);
        const pick = (host: string, kind: string, n = 0): void => {
          const st = created.filter((s) => s.targetName === host && s.kind === kind)[n];
          if (st === undefined) throw new Error(`no ${kind} #${String(n)} on ${host}`);
          killAt.add(`${String(st.pk)} started`);
        };
        pick('k-1', 'hook', 0);
        pick('k-1', 'hook', 3);
        pick('k-2', 'hook', 2);
        pick('k-2', 'gate');
        pick('k-2', 'rollback');
      } finally {
        await db.close();
      }

      const trace = join(dir, 'trace.log');
      writeFileSync(trace, '');
      const seed = Number(process.env['BULWARK_SEED'] ?? Date.now() % 1_000_000);
      const { kills, result, targeted } = await killAtJournal({
        argv: ['--import', 'tsx', join(import.meta.dirname, 'run-worker.ts'), dbPath, String(runPk), `ssh:${knownHosts}`, trace],
        trace,
        maxKills: 10,
        random: rng(seed),
        env: { ...process.env, BULWARK_HOOKS_FILE: join(dir, 'hooks.yaml') },
        killAt,
      });
      expect([seed, result]).toEqual([seed, { status: 'halted', failed: ['k-2'] }]);
      if (process.env['BULWARK_RUN_VERBOSE'] !== undefined) console.log('trace', readFileSync(trace, 'utf8').replace(/\n/g, ' '), 'targeted', targeted);
      // Every chosen step was interrupted once (a killed pre hook, post hook, snapshot, gate and rollback) and resumed.
      expect([seed, [...targeted].sort()]).toEqual([seed, [...killAt].sort()]);
      expect(kills).toBeGreaterThan(0);

      const check = await openStore({ dbPath });
      try {
        const steps = await listSteps(check, runPk);
        const journal = (name: string): string[] => steps.filter((s) => s.targetName === name).map((s) => `${s.kind}:${s.state}`);
        const passed = ['precheck:done', 'hook:done', 'hook:done', 'hook:done', 'update:done', 'gate:done', 'hook:done', 'rescan:done', 'rollback:skipped'];
        expect([seed, journal('k-canary'), journal('k-1')]).toEqual([seed, passed, passed]);
        expect([seed, journal('k-2')]).toEqual([
          seed,
          ['precheck:done', 'hook:done', 'hook:done', 'hook:done', 'update:done', 'gate:failed', 'hook:skipped', 'rescan:skipped', 'rollback:done'],
        ]);
        // No step that ended (done or failed) was started again afterwards, across every life of the worker.
        const lines = readFileSync(trace, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]);
        const reran: string[] = [];
        for (const st of steps.filter((s) => s.state !== 'skipped')) {
          const mine = lines.filter(([p]) => p === String(st.pk)).map(([, phase]) => phase);
          const ended = mine.indexOf('ended');
          if (mine.filter((p) => p === 'ended').length !== 1 || mine.slice(ended + 1).includes('started')) reran.push(`${st.targetName}:${st.kind}`);
        }
        expect([seed, reran]).toEqual([seed, []]);
        // A hook's HTTP call is made once per attempt of its step at most: a finished one is never called again.
        for (const h of ['k-canary', 'k-1', 'k-2']) {
          const drain = steps.find((s) => s.targetName === h && s.kind === 'hook' && JSON.stringify(s.spec).includes('lb-drain'));
          const calls = (lb?.calls ?? []).filter((c) => c === `POST /drain/${h}`).length;
          expect([seed, h, calls >= 1 && calls <= (drain?.attempts ?? 0)]).toEqual([seed, h, true]);
        }
        expect((lb?.calls ?? []).filter((c) => c.startsWith('POST /return/')).sort()).toEqual(
          expect.arrayContaining(['POST /return/k-1', 'POST /return/k-canary']),
        );
        expect((lb?.calls ?? []).some((c) => c === 'POST /return/k-2')).toBe(false);
        if (process.env['BULWARK_RUN_VERBOSE'] !== undefined)
          console.log(
            'seed',
            seed,
            'kills',
            kills,
            'targeted',
            targeted,
            'resumed steps',
            steps.filter((x) => x.attempts > 1).map((x) => `${x.targetName}:${x.kind}×${String(x.attempts)}`),
          );
      } finally {
        await check.close();
      }
      for (const h of hosts) {
        expect([h.name, overSsh(h, knownHosts, RPM_QA).trim().split('\n').sort()]).toEqual([h.name, h.name === 'k-2' ? INITIAL_QA : PATCHED_QA]);
        // The hosts' own dnf history: one update each, whatever the kills interrupted; one undo on k-2.
        expect([h.name, h.transactions()]).toEqual([h.name, h.name === 'k-2' ? 2 : 1]);
        expect([h.name, existsSync(join(h.dir, 'lib-dnf', `snapshot-${h.name}`))]).toEqual([h.name, true]);
      }
    },
    HANG_GUARD_MS,
  );
});
