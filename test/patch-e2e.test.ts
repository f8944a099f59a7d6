import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makePlan } from '../src/services/policies.js';
import { createRun } from '../src/services/runs.js';
import { openStore } from '../src/services/store.js';
import { listSteps, releaseLease } from '../src/storage/index.js';
import { runCli } from './cli.js';
import { HANG_GUARD_MS, killAtJournal } from './events.js';
import { rng } from './random.js';
import { type DummyRpm } from './rpm-tools.js';
import { buildRepo, publishRepo, serveDir, startDnfHost, type DnfHost, type RepoAdvisory } from './ssh-fleet.js';
import { requires, sshdHosts, tools } from './needs.js';

/**
 * Issue #5's end-to-end test on real parts: an rpm repository with updateinfo served over HTTP,
 * three sshd hosts (a canary and two more) with their own rpm databases at old versions, and
 * Bulwark driven through its CLI — feeds sync, scan over SSH, policy apply, scheduler — with
 * the hosts' own dnf doing the updates. The policy has a canary ring, a weekly window that is
 * closed now, an emergency out-of-band rule for critical advisories, an excluded package and a
 * held advisory. No kernel is involved and the policy never reboots: these hosts share this
 * machine's kernel.
 */
const needs = requires(sshdHosts(), tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm'));

const PKGS: DummyRpm[] = [
  { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
  { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
  { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
  { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
  { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
  { name: 'bw-agent', version: '1.0', release: '1.azl3' },
  { name: 'bw-agent', version: '1.1', release: '1.azl3' },
  { name: 'bw-zlib', version: '1.2.13', release: '1.azl3' },
  { name: 'bw-zlib', version: '1.3.1', release: '1.azl3' },
];
const INITIAL = ['bw-openssl-1:3.3.0-2.azl3', 'bw-curl-8.8.0-1.azl3', 'bw-agent-1.0-1.azl3', 'bw-zlib-1.2.13-1.azl3'];
const pkg = (name: string, version: string, release: string, epoch?: number): DummyRpm => ({
  name,
  version,
  release,
  ...(epoch !== undefined ? { epoch } : {}),
});

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** A window two days from now: closed for the whole test. */
function policyYaml(): string {
  const day = WEEKDAYS[(new Date().getUTCDay() + 2) % 7] ?? 'sunday';
  return `apiVersion: bulwark/v1
kind: Policy
name: fleet
scope: { releases: ["azurelinux:3.0"] }
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: critical-24h, match: { severity: [critical] }, deadlineHours: 24, emergency: true }
exclude: [bw-agent]
holds:
  - { advisory: ADV-ZLIB, reason: the app team validates zlib 1.3 first, until: "2099-01-01" }
windows:
  - { name: weekly, days: [${day}], start: "02:00", durationHours: 2, timezone: UTC }
rollout:
  rings: [{ name: canary, tags: [canary] }, { name: rest, percent: 100 }]
  maxConcurrency: 2
  failureThreshold: 0.3
reboot: never
`;
}

needs.describe('end to end: a critical advisory from feed sync to patched hosts over SSH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-'));
  const env = { BULWARK_DATABASE_URL: `sqlite:${join(dir, 'bulwark.db')}`, USER: 'alice', BULWARK_SSH_KEY_DIR: join(dir, 'hosts') };
  const knownHosts = join(dir, 'known_hosts');
  const hosts: DnfHost[] = [];
  let server: { url: string; close: () => Promise<void> } | undefined;
  const now = new Date();
  const advisories: RepoAdvisory[] = [
    { id: 'ADV-CURL', severity: 'Important', issued: now, cves: ['CVE-2026-1002'], packages: [pkg('bw-curl', '8.11.1', '3.azl3')] },
    { id: 'ADV-AGENT', severity: 'Critical', issued: now, cves: ['CVE-2026-1003'], packages: [pkg('bw-agent', '1.1', '1.azl3')] },
    { id: 'ADV-ZLIB', severity: 'Critical', issued: now, cves: ['CVE-2026-1004'], packages: [pkg('bw-zlib', '1.3.1', '1.azl3')] },
  ];
  const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args, env);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(...args);
    expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}`).toBe(0);
    return r.out;
  };

  beforeAll(async () => {
    const repoDir = join(dir, 'repo');
    const repo = buildRepo(repoDir, PKGS, advisories);
    server = await serveDir(repo);
    for (const [i, name] of ['canary-1', 'web-1', 'web-2'].entries())
      hosts.push(
        await startDnfHost(join(dir, 'hosts'), {
          name,
          address: `127.0.0.${String(50 + i)}`,
          port: 2250 + i,
          localRepo: repo,
          repoUrl: server.url,
          initial: INITIAL,
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    writeFileSync(join(dir, 'policy.yaml'), policyYaml());
  }, HANG_GUARD_MS);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = (name: string): DnfHost => {
    const h = hosts.find((x) => x.name === name);
    if (h === undefined) throw new Error(name);
    return h;
  };
  const republish = (): void => {
    publishRepo(join(dir, 'repo'), advisories);
  };

  it(
    'plans and patches the canary, then the rest, to exactly the planned versions; excluded and held packages stay; findings close',
    async () => {
      await ok(
        'feeds',
        'add',
        'fleet-updates',
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
          ...(h.name.startsWith('canary') ? ['--tag', 'canary'] : []),
        );
      expect(await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts)).toMatch(/canary-1: azurelinux:3\.0, 0 findings/);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      expect(await ok('feeds', 'sync', '--source', 'fleet-updates')).toMatch(/fleet-updates: .*3 added/);

      // The monthly curl update waits for the window; the critical agent and zlib advisories are
      // excluded and held: nothing is due now.
      const plan1 = JSON.parse(await ok('plan', '--policy', 'fleet', '--format', 'json')) as {
        entries: {
          target: string;
          window: string | null;
          emergency: boolean;
          packages: { name: string }[];
          held: { advisory: string }[];
          excluded: { package: string }[];
        }[];
      };
      expect(
        plan1.entries.map((e) => [
          e.target,
          e.window,
          e.emergency,
          e.packages.map((p) => p.name).join(' '),
          e.held.map((x) => x.advisory).join(' '),
          e.excluded.map((x) => x.package).join(' '),
        ]),
      ).toEqual([
        ['canary-1', 'weekly', false, 'bw-curl', 'ADV-ZLIB', 'bw-agent'],
        ['web-1', 'weekly', false, 'bw-curl', 'ADV-ZLIB', 'bw-agent'],
        ['web-2', 'weekly', false, 'bw-curl', 'ADV-ZLIB', 'bw-agent'],
      ]);
      expect((await ok('scheduler', '--once', '--known-hosts', knownHosts)).trim()).toBe('');

      // The vendor publishes a critical openssl fix: the next sync and scheduler pass patch it now.
      advisories.push({
        id: 'ADV-SSL',
        severity: 'Critical',
        issued: new Date(),
        cves: ['CVE-2026-1001'],
        packages: [pkg('bw-openssl', '3.3.5', '5.azl3', 1)],
      });
      republish();
      expect(await ok('feeds', 'sync', '--source', 'fleet-updates')).toMatch(/1 added/);
      const sched = await ok('scheduler', '--once', '--known-hosts', knownHosts);
      expect(sched).toMatch(/fleet: run 1 on canary-1, web-1, web-2: done/);

      const expected = ['bw-agent-0:1.0-1.azl3', 'bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3', 'bw-zlib-0:1.2.13-1.azl3'];
      for (const h of hosts) expect([h.name, h.installed()]).toEqual([h.name, expected]);
      // What the hosts themselves report over SSH: rpm -qa on each.
      for (const h of hosts) {
        const qa = execFileSync(
          'ssh',
          [
            '-i',
            h.clientKey,
            '-p',
            String(h.port),
            '-o',
            `UserKnownHostsFile=${knownHosts}`,
            '-o',
            'StrictHostKeyChecking=yes',
            '-o',
            'BatchMode=yes',
            `root@${h.address}`,
            'rpm -qa --qf "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n"',
          ],
          { encoding: 'utf8' },
        );
        expect(qa.trim().split('\n').sort()).toEqual(expected);
      }

      // The canary's update finished before any other host's precheck started.
      const run = JSON.parse(await ok('run', 'show', '1', '--json')) as {
        run: { status: string };
        steps: { targetName: string; kind: string; state: string; startedAt: string; finishedAt: string; attempts: number }[];
      };
      expect(run.run.status).toBe('done');
      const canaryDone = Math.max(...run.steps.filter((s) => s.targetName === 'canary-1').map((s) => Date.parse(s.finishedAt)));
      const restStart = Math.min(...run.steps.filter((s) => s.targetName !== 'canary-1').map((s) => Date.parse(s.startedAt)));
      expect(canaryDone).toBeLessThanOrEqual(restStart);
      expect(run.steps.map((s) => `${s.targetName}:${s.kind}:${s.state}:${String(s.attempts)}`)).toEqual(
        ['canary-1', 'web-1', 'web-2'].flatMap((h) => [`${h}:precheck:done:1`, `${h}:update:done:1`, `${h}:rescan:done:1`]),
      );
      for (const h of hosts) expect([h.name, h.transactions()]).toEqual([h.name, 1]);

      // The findings of the critical advisory are closed by the run's re-scan; the others stay open.
      const findings = (JSON.parse(await ok('findings', '--format', 'json')) as { findings: { targetName: string; advisoryId: string }[] }).findings;
      expect(findings.filter((f) => f.advisoryId === 'ADV-SSL')).toEqual([]);
      expect(findings.map((f) => `${f.targetName}:${f.advisoryId}`).sort()).toEqual(
        ['canary-1', 'web-1', 'web-2'].flatMap((h) => [`${h}:ADV-AGENT`, `${h}:ADV-CURL`, `${h}:ADV-ZLIB`]),
      );
      const fixed = (JSON.parse(await ok('findings', '--format', 'json', '--status', 'fixed')) as { findings: { targetName: string; advisoryId: string }[] })
        .findings;
      expect(fixed.map((f) => `${f.targetName}:${f.advisoryId}`).sort()).toEqual(['canary-1:ADV-SSL', 'web-1:ADV-SSL', 'web-2:ADV-SSL']);
      expect(await ok('audit', '--subject', 'fleet')).toMatch(/run\.start/);
    },
    HANG_GUARD_MS,
  );

  it(
    'a host whose repository is broken fails its precheck, halts its ring at the threshold, and is reported',
    async () => {
      host('web-2').setRepo(`${server?.url ?? ''}/no-such-repo`);
      advisories.push({
        id: 'ADV-SSL2',
        severity: 'Critical',
        issued: new Date(),
        cves: ['CVE-2026-1005'],
        packages: [pkg('bw-openssl', '3.4.0', '1.azl3', 1)],
      });
      republish();
      expect(await ok('feeds', 'sync', '--source', 'fleet-updates')).toMatch(/1 added/);
      const r = await cli('scheduler', '--once', '--known-hosts', knownHosts);
      expect(r.out).toMatch(/fleet: run 2 on canary-1, web-1, web-2: halted/);
      // `run show` exits 4 when a host failed.
      const shown = await cli('run', 'show', '2', '--json');
      expect(shown.code).toBe(4);
      const run = JSON.parse(shown.out) as {
        run: { status: string; note: string };
        failedHosts: string[];
        steps: { targetName: string; kind: string; state: string; output: string | null }[];
      };
      expect(run.failedHosts).toEqual(['web-2']);
      expect(run.run.status).toBe('halted');
      expect(run.run.note).toMatch(/ring 1: 1 of 2 hosts failed/);
      const web2 = run.steps.filter((s) => s.targetName === 'web-2');
      expect(web2.map((s) => `${s.kind}:${s.state}`)).toEqual(['precheck:failed', 'update:skipped', 'rescan:skipped']);
      expect(web2[0]?.output ?? '').toMatch(/no-such-repo|Failed to download metadata|Cannot download repomd/i);
      expect(host('canary-1').installed()).toContain('bw-openssl-1:3.4.0-1.azl3');
      expect(host('web-2').installed()).toContain('bw-openssl-1:3.3.5-5.azl3');
      // The text form names the failed host.
      expect((await cli('run', 'show', '2')).out).toMatch(/web-2 +1 +precheck +failed/);
    },
    HANG_GUARD_MS,
  );
});

needs.describe('end to end over SSH, with Bulwark killed (SIGKILL) at random moments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-kill-'));
  const dbPath = join(dir, 'bulwark.db');
  const env = { BULWARK_DATABASE_URL: `sqlite:${dbPath}`, USER: 'alice', BULWARK_SSH_KEY_DIR: join(dir, 'hosts') };
  const knownHosts = join(dir, 'known_hosts');
  const hosts: DnfHost[] = [];
  let server: { url: string; close: () => Promise<void> } | undefined;
  const advisories: RepoAdvisory[] = [
    {
      id: 'ADV-SSL',
      severity: 'Critical',
      issued: new Date(),
      cves: ['CVE-2026-1001'],
      packages: [pkg('bw-openssl', '3.3.5', '5.azl3', 1), pkg('bw-curl', '8.11.1', '3.azl3')],
    },
  ];

  beforeAll(async () => {
    const repo = buildRepo(join(dir, 'repo'), PKGS, advisories);
    server = await serveDir(repo);
    for (const [i, name] of ['k-canary', 'k-1', 'k-2', 'k-3'].entries())
      hosts.push(
        await startDnfHost(join(dir, 'hosts'), {
          name,
          address: `127.0.0.${String(60 + i)}`,
          port: 2260 + i,
          localRepo: repo,
          repoUrl: server.url,
          initial: INITIAL,
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    writeFileSync(join(dir, 'policy.yaml'), policyYaml().replace('failureThreshold: 0.3', 'failureThreshold: 0.5'));
  }, HANG_GUARD_MS);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'every host ends patched, no finished step runs again, each host ran its update transaction once, the journal is complete',
    async () => {
      const ok = async (...args: string[]): Promise<string> => {
        const r = await runCli(args, env);
        expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}`).toBe(0);
        return r.out;
      };
      await ok(
        'feeds',
        'add',
        'fleet-updates',
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
          ...(h.name === 'k-canary' ? ['--tag', 'canary'] : []),
        );
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      await ok('feeds', 'sync', '--source', 'fleet-updates');
      let runPk: number;
      const db = await openStore({ dbPath });
      try {
        const { plan, pk } = await makePlan(db, 'fleet', { save: true });
        expect(plan.entries.map((e) => `${e.ring}:${e.target}:${e.packages.map((p) => `${p.name}@${p.to}`).join(',')}`)).toEqual([
          'canary:k-canary:bw-curl@0:8.11.1-3.azl3,bw-openssl@1:3.3.5-5.azl3',
          ...['k-1', 'k-2', 'k-3'].map((h) => `rest:${h}:bw-curl@0:8.11.1-3.azl3,bw-openssl@1:3.3.5-5.azl3`),
        ]);
        runPk = await createRun(db, 'fleet', { ...plan, entries: plan.entries.map((e) => ({ ...e, approval: 'approved' })) }, pk, {
          holder: 'test',
          failureThreshold: 0.5,
          maxConcurrency: 2,
        });
        // The workers (other processes) take the run over.
        await releaseLease(db, `run:${String(runPk)}`, 'test');
      } finally {
        await db.close();
      }

      const worker = join(import.meta.dirname, 'run-worker.ts');
      const trace = join(dir, 'trace.log');
      writeFileSync(trace, '');
      // Kill points come from the journal (after 1-4 new journal writes of each life), never from a
      // timer: on a loaded machine a timer fired before a worker had connected to any host.
      const seed = Number(process.env['BULWARK_SEED'] ?? Date.now() % 1_000_000);
      const { kills, result } = await killAtJournal({
        argv: ['--import', 'tsx', worker, dbPath, String(runPk), `ssh:${knownHosts}`, trace],
        trace,
        maxKills: 6,
        random: rng(seed),
      });
      expect([seed, result]).toEqual([seed, { status: 'done', failed: [] }]);
      expect(kills).toBeGreaterThan(0);

      const check = await openStore({ dbPath });
      try {
        const steps = await listSteps(check, runPk);
        expect(
          steps
            .filter((s) => !(s.state === 'done' && s.startedAt !== null && s.finishedAt !== null && s.output !== null))
            .map((s) => `${s.targetName}:${s.kind}:${s.state}`),
        ).toEqual([]);
        const lines = readFileSync(trace, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]);
        const reran: string[] = [];
        for (const st of steps) {
          const mine = lines.filter(([p]) => p === String(st.pk)).map(([, phase]) => phase);
          const ended = mine.indexOf('ended');
          if (mine.filter((p) => p === 'ended').length !== 1 || mine.slice(ended + 1).includes('started')) reran.push(`${st.targetName}:${st.kind}`);
        }
        expect(reran).toEqual([]);
        // The canary ring finished before the rest began, across restarts.
        const canaryEnd = Math.max(...steps.filter((s) => s.targetName === 'k-canary').map((s) => Date.parse(s.finishedAt ?? '')));
        expect(steps.filter((s) => s.targetName !== 'k-canary').every((s) => Date.parse(s.startedAt ?? '') >= canaryEnd)).toBe(true);
        if (process.env['BULWARK_RUN_VERBOSE'] !== undefined)
          console.log(
            'kills',
            kills,
            'resumed steps',
            steps.filter((x) => x.attempts > 1).map((x) => `${x.targetName}:${x.kind}×${String(x.attempts)}`),
          );
      } finally {
        await check.close();
      }
      for (const h of hosts) {
        expect([h.name, h.installed()]).toEqual([
          h.name,
          ['bw-agent-0:1.0-1.azl3', 'bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.3.5-5.azl3', 'bw-zlib-0:1.2.13-1.azl3'],
        ]);
        // The host's own dnf history: one transaction, whatever the kills interrupted.
        expect([h.name, h.transactions()]).toEqual([h.name, 1]);
      }
      const findings = (
        JSON.parse(await ok('findings', '--format', 'json', '--status', 'fixed')) as { findings: { targetName: string; advisoryId: string; package: string }[] }
      ).findings;
      expect(findings.map((f) => `${f.targetName}:${f.advisoryId}:${f.package}`).sort()).toEqual(
        ['k-1', 'k-2', 'k-3', 'k-canary'].flatMap((h) => [`${h}:ADV-SSL:bw-curl`, `${h}:ADV-SSL:bw-openssl`]),
      );
    },
    HANG_GUARD_MS,
  );
});
