import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, resolveLocation, type Db } from '../src/storage/database.js';
import { leaseHolder, listRunRows, listSteps } from '../src/storage/index.js';
import { runCli } from './cli.js';
import { alive, exited, HANG_GUARD_MS, waitFor } from './events.js';
import { startServe } from './serve-process.js';
import { freshPgSchema, pgAvailable, TEST_PG_URL } from './databases.js';
import { type DummyRpm } from './rpm-tools.js';
import { buildRepo, serveDir, startDnfHost, type DnfHost } from './ssh-fleet.js';
import { need, requires, sshdHosts, tools } from './needs.js';

/**
 * Issue #6's scale-out on real parts: two `bulwark serve` processes on one real PostgreSQL, four
 * sshd hosts with their own dnf. A critical advisory is due; one server's scheduler starts the
 * run, and that server is killed (SIGKILL) in the middle of it. The other takes the run over when
 * its lease runs out and finishes it: one run, every step done, one dnf transaction per host.
 */
const needs = requires(
  need('PostgreSQL', pgAvailable ? null : `${TEST_PG_URL} does not answer: run scripts/setup-test.sh as root`),
  sshdHosts(),
  tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm'),
);

const PKGS: DummyRpm[] = [
  { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
  { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
];

const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: scale
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: critical-now, match: { severity: [critical] }, deadlineHours: 24, emergency: true }
rollout:
  rings: [{ name: canary, hosts: [s-0] }, { name: rest, percent: 100 }]
  maxConcurrency: 1
  failureThreshold: 0.5
reboot: never
`;

needs.describe('scale-out: two servers on one PostgreSQL, one killed mid-run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-scale-'));
  const knownHosts = join(dir, 'known_hosts');
  const hosts: DnfHost[] = [];
  let repoServer: { url: string; close: () => Promise<void> } | undefined;
  let pgSchema: { url: string; drop: () => Promise<void> } | undefined;
  const servers: ChildProcess[] = [];
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    pgSchema = await freshPgSchema();
    env = { BULWARK_DATABASE_URL: pgSchema.url, USER: 'alice', BULWARK_AGENT_KEY: 'ab'.repeat(32), BULWARK_SSH_KEY_DIR: join(dir, 'hosts') };
    const repo = buildRepo(join(dir, 'repo'), PKGS, [
      {
        id: 'ADV-SCALE',
        severity: 'Critical',
        issued: new Date(),
        cves: ['CVE-2026-3001'],
        packages: [{ name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' }],
      },
    ]);
    repoServer = await serveDir(repo);
    for (let i = 0; i < 4; i++)
      hosts.push(
        await startDnfHost(join(dir, 'hosts'), {
          name: `s-${String(i)}`,
          address: `127.0.0.${String(80 + i)}`,
          port: 2280 + i,
          localRepo: repo,
          repoUrl: repoServer.url,
          initial: ['bw-openssl-1:3.3.0-2.azl3'],
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
  }, HANG_GUARD_MS);

  afterAll(async () => {
    for (const s of servers) if (alive(s)) s.kill('SIGKILL');
    for (const h of hosts) await h.stop();
    await repoServer?.close();
    await pgSchema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Leases of 10 s (renewed every third of it): a server stalled for seconds on a loaded machine
  // keeps its run, so the only takeover is the one the kill causes, and at most one step runs twice.
  const serve = async (): Promise<{ child: ChildProcess; url: string }> => {
    const s = await startServe(['serve', '--listen', '127.0.0.1:0', '--known-hosts', knownHosts, '--interval', '1', '--lease-seconds', '10'], env);
    servers.push(s.child);
    return s;
  };

  it(
    'the survivor finishes the run the killed server started: one run, each step done, one transaction per host',
    async () => {
      const ok = async (...args: string[]): Promise<string> => {
        const r = await runCli(args, env);
        expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}`).toBe(0);
        return r.out;
      };
      await ok(
        'feeds',
        'add',
        'scale-updates',
        '--format',
        'updateinfo',
        '--release',
        'azurelinux:3.0',
        '--location',
        `${repoServer?.url ?? ''}/repodata/updateinfo.xml.gz`,
      );
      await ok('feeds', 'sync', '--source', 'scale-updates');
      for (const h of hosts)
        await ok('hosts', 'add', h.name, '--address', `root@${h.address}:${String(h.port)}`, '--identity', h.clientKey, '--package-manager', 'dnf');
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      const token = (await ok('tokens', 'create', '--name', 'test', '--role', 'viewer')).trim();

      const db: Db = await openDatabase(resolveLocation({ env }));
      try {
        const a = await serve();
        const b = await serve();
        // Due at once, the policy goes in only now: whichever scheduler holds the lease starts it.
        await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
        // The kill point comes from the journal: the canary's last step is done, the rest are not.
        // Waited for as long as it takes, unless both servers are gone (then it cannot happen).
        const holder = await waitFor(
          async () => {
            const runs = await listRunRows(db, { limit: 10, offset: 0 });
            const pk = runs[0]?.pk;
            if (pk === undefined) return null;
            const steps = await listSteps(db, pk);
            if (!steps.some((s) => s.targetName === 's-0' && s.kind === 'rescan' && s.state === 'done')) return null;
            return leaseHolder(db, `run:${String(pk)}`);
          },
          { what: "the canary's rescan to be journaled done", gone: () => (alive(a.child) || alive(b.child) ? null : 'both servers exited') },
        );
        const pid = Number(holder.split(':')[1]);
        const [victim, survivor] = a.child.pid === pid ? [a, b] : [b, a];
        expect(victim.child.pid).toBe(pid);
        victim.child.kill('SIGKILL');
        await exited(victim.child);
        const runPk = (await listRunRows(db, { limit: 10, offset: 0 }))[0]?.pk ?? 0;
        const leftAtKill = (await listSteps(db, runPk)).filter((s) => s.state !== 'done').length;
        expect(leftAtKill).toBeGreaterThan(0);

        // The survivor takes the run over when the victim's lease runs out, and finishes it.
        const status = await waitFor(
          async () => {
            const st = (await listRunRows(db, { limit: 10, offset: 0 }))[0]?.status ?? '?';
            return st === 'running' ? null : st;
          },
          { what: 'the survivor to finish the run', gone: () => (alive(survivor.child) ? null : 'the survivor exited') },
        );
        expect(status).toBe('done');
        // The survivor took the lease over, did what was left, and gives the lease up: just after
        // it journals the run done (on a loaded machine, seconds after), so that change is awaited.
        expect(
          await waitFor(async () => (await leaseHolder(db, `run:${String(runPk)}`)) === null, {
            what: "the run's lease to be released",
            gone: () => (alive(survivor.child) ? null : 'the survivor exited'),
          }),
        ).toBe(true);
        if (process.env['BULWARK_RUN_VERBOSE'] !== undefined) console.log('steps left at the kill', leftAtKill);
        const runs = await listRunRows(db, { limit: 10, offset: 0 });
        expect(runs).toHaveLength(1);
        const steps = await listSteps(db, runs[0]?.pk ?? 0);
        expect(steps.map((s) => `${s.targetName}:${s.kind}:${s.state}`)).toEqual(
          ['s-0', 's-1', 's-2', 's-3'].flatMap((h) => [`${h}:precheck:done`, `${h}:update:done`, `${h}:rescan:done`]),
        );
        // At most the step the kill interrupted ran twice (it is idempotent); every host updated once.
        expect(steps.filter((s) => s.attempts > 1).length).toBeLessThanOrEqual(1);
        for (const h of hosts) {
          expect([h.name, h.installed()]).toEqual([h.name, ['bw-openssl-1:3.3.5-5.azl3']]);
          expect([h.name, h.transactions()]).toEqual([h.name, 1]);
        }
        // The survivor answers the API about it.
        const shown = (await (
          await fetch(`${survivor.url}/api/v1/runs/${String(runs[0]?.pk ?? 0)}`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { run: { status: string } };
        expect(shown.run.status).toBe('done');
        const audit = JSON.parse(await ok('audit', '--subject', 'scale', '--json')) as { action: string }[];
        expect(audit.filter((x) => x.action === 'run.start')).toHaveLength(1);
        survivor.child.kill('SIGTERM');
      } finally {
        await db.close();
      }
    },
    HANG_GUARD_MS,
  );
});
