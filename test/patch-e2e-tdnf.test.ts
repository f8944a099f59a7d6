import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { makePlan } from '../src/services/policies.js';
import { createRun } from '../src/services/runs.js';
import { openStore } from '../src/services/store.js';
import { listSteps, releaseLease } from '../src/storage/index.js';
import { HANG_GUARD_MS, killAtJournal } from './events.js';
import { rng } from './random.js';
import { requires, sshdHosts, testbedTool, tools } from './needs.js';
import { startRpmHost, type RpmHost, type RpmManager } from './pm-hosts.js';
import type { DummyRpm } from './rpm-tools.js';
import { buildRepo, serveDir, updateinfoXml, type RepoAdvisory } from './ssh-fleet.js';

/**
 * Issue #15: Azure Linux patched with its own package managers, for real, end to end over SSH —
 * an Azure Linux 3.0-shaped fleet (a canary and two more) with the real tdnf 3.5.9 and an Azure
 * Linux 4.0-shaped host with the real dnf5 5.0.15 (../shared/testbed; scripts/setup-test.sh
 * installs them), each an sshd host whose rpm database, manager configuration, cache and history
 * are its own. Bulwark is driven through its CLI (feeds, scan, policy, scheduler) and picks each
 * host's manager from its release: nothing in the test names tdnf or dnf5 to Bulwark.
 * What the run must handle, as the tools really behave: tdnf has no per-advisory update (the
 * advisory's exact builds are installed), its repoquery takes one name and prints JSON, its
 * --exclude silently drops a target, its exit status is an error number; dnf5 prints progress on
 * stdout and its query format differs from dnf 4's. A fix the repository no longer offers is
 * resolved to the lowest later build; a host updated past the plan since the scan is left alone
 * (never downgraded).
 */
const needs = requires(sshdHosts(), testbedTool('tdnf'), testbedTool('dnf5'), tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm'));

const pkg = (name: string, version: string, release: string, epoch?: number): DummyRpm => ({
  name,
  version,
  release,
  ...(epoch !== undefined ? { epoch } : {}),
});
const PKGS: DummyRpm[] = [
  pkg('bw-openssl', '3.3.0', '2.azl3', 1),
  pkg('bw-openssl', '3.3.5', '5.azl3', 1),
  pkg('bw-openssl', '3.4.0', '1.azl3', 1),
  pkg('bw-curl', '8.8.0', '1.azl3'),
  // The advisory names 8.11.0-1; the repository only keeps the later 8.11.1-3 (superseded).
  pkg('bw-curl', '8.11.1', '3.azl3'),
  pkg('bw-curl', '8.12.0', '1.azl3'),
  pkg('bw-agent', '1.0', '1.azl3'),
  pkg('bw-agent', '1.1', '1.azl3'),
];
const INITIAL = ['bw-openssl-1:3.3.0-2.azl3', 'bw-curl-8.8.0-1.azl3', 'bw-agent-1.0-1.azl3'];

/**
 * The same builds published as Azure Linux 4.0's repository: its updateinfo's collection names
 * 4.0 (a feed source checks that its documents are of its release).
 */
function publishAzl4(dir: string, rpms: string, advisories: readonly RepoAdvisory[]): string {
  const repo = join(dir, 'rpms');
  rmSync(repo, { recursive: true, force: true });
  cpSync(rpms, repo, { recursive: true, filter: (src) => !src.includes('repodata') });
  execFileSync('createrepo_c', ['--quiet', '--simple-md-filenames', repo]);
  const ui = join(dir, 'updateinfo.xml');
  writeFileSync(
    ui,
    updateinfoXml(advisories).replaceAll('<collection short="azl3"><name>Azure Linux 3.0</name>', '<collection short="azl4"><name>Azure Linux 4.0</name>'),
  );
  execFileSync('modifyrepo_c', ['--simple-md-filenames', ui, join(repo, 'repodata')], { stdio: 'pipe' });
  return repo;
}

const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: azl
scope: { releases: ["azurelinux:3.0", "azurelinux:4.0"] }
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: critical-now, match: { severity: [critical] }, deadlineHours: 24, emergency: true }
exclude: [bw-agent]
rollout:
  rings: [{ name: canary, tags: [canary] }, { name: rest, percent: 100 }]
  maxConcurrency: 2
  failureThreshold: 0
reboot: never
`;

needs.describe('end to end: Azure Linux 3.0 hosts patched with the real tdnf and a 4.0 host with the real dnf5, over SSH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-azl-'));
  const env = { BULWARK_DATABASE_URL: `sqlite:${join(dir, 'bulwark.db')}`, USER: 'alice', BULWARK_SSH_KEY_DIR: join(dir, 'hosts') };
  const knownHosts = join(dir, 'known_hosts');
  const hosts: RpmHost[] = [];
  let server: { url: string; close: () => Promise<void> } | undefined;
  let server4: { url: string; close: () => Promise<void> } | undefined;
  let repo = '';
  const advisories: RepoAdvisory[] = [
    {
      id: 'ADV-SSL',
      severity: 'Critical',
      issued: new Date(),
      cves: ['CVE-2026-1501'],
      packages: [pkg('bw-openssl', '3.3.5', '5.azl3', 1), pkg('bw-curl', '8.11.0', '1.azl3')],
    },
    { id: 'ADV-AGENT', severity: 'Critical', issued: new Date(), cves: ['CVE-2026-1502'], packages: [pkg('bw-agent', '1.1', '1.azl3')] },
  ];
  const ok = async (...args: string[]): Promise<string> => {
    const r = await runCli(args, env);
    expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}${r.out}`).toBe(0);
    return r.out;
  };
  const host = (name: string): RpmHost => {
    const h = hosts.find((x) => x.name === name);
    if (h === undefined) throw new Error(name);
    return h;
  };

  beforeAll(async () => {
    repo = buildRepo(join(dir, 'repo'), PKGS, advisories);
    server = await serveDir(repo);
    server4 = await serveDir(publishAzl4(join(dir, 'repo4'), repo, advisories));
    const fleet: [string, RpmManager][] = [
      ['canary-1', 'tdnf'],
      ['web-1', 'tdnf'],
      ['web-2', 'tdnf'],
      ['azl4-1', 'dnf5'],
    ];
    for (const [i, [name, manager]] of fleet.entries())
      hosts.push(
        await startRpmHost(join(dir, 'hosts'), {
          name,
          manager,
          address: `127.0.10.${String(1 + i)}`,
          port: 2201 + i,
          localRepo: repo,
          repoUrl: manager === 'dnf5' ? server4.url : server.url,
          initial: INITIAL,
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
  }, HANG_GUARD_MS);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    await server?.close();
    await server4?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'patches a critical advisory on the canary first, then the rest, to exactly the planned builds, one history transaction a host; excluded, superseded and already-newer packages handled',
    async () => {
      for (const release of ['3.0', '4.0'])
        await ok(
          'feeds',
          'add',
          `azl${release}`,
          '--format',
          'updateinfo',
          '--release',
          `azurelinux:${release}`,
          '--location',
          `${(release === '3.0' ? server : server4)?.url ?? ''}/repodata/updateinfo.xml.gz`,
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
          ...(h.name.startsWith('canary') ? ['--tag', 'canary'] : []),
        );
      const scanned = await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      expect(scanned).toMatch(/canary-1: azurelinux:3\.0/);
      expect(scanned).toMatch(/azl4-1: azurelinux:4\.0/);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));

      // web-2 is updated past the plan after the scan, by hand with rpm (the run reads what is installed now).
      execFileSync('rpm', ['--root', host('web-2').root, '-U', join(repo, 'noarch', 'bw-openssl-3.4.0-1.azl3.noarch.rpm')], { stdio: 'pipe' });

      await ok('feeds', 'sync', '--source', 'azl3.0');
      await ok('feeds', 'sync', '--source', 'azl4.0');
      const sched = await ok('scheduler', '--once', '--known-hosts', knownHosts);
      expect(sched).toMatch(/azl: run 1 on canary-1, web-1, web-2, azl4-1: done|azl: run 1 on .*: done/);

      const run = JSON.parse(await ok('run', 'show', '1', '--json')) as {
        run: { status: string };
        steps: { targetName: string; kind: string; state: string; startedAt: string; finishedAt: string; output: string | null }[];
      };
      expect(run.run.status).toBe('done');
      const names = [...new Set(run.steps.map((s) => s.targetName))];
      expect(names.sort()).toEqual(['azl4-1', 'canary-1', 'web-1', 'web-2']);
      expect(run.steps.map((s) => `${s.targetName}:${s.kind}:${s.state}`).filter((s) => !s.endsWith(':done'))).toEqual([]);
      // The canary's steps all ended before any other host's began.
      const canaryDone = Math.max(...run.steps.filter((s) => s.targetName === 'canary-1').map((s) => Date.parse(s.finishedAt)));
      const restStart = Math.min(...run.steps.filter((s) => s.targetName !== 'canary-1').map((s) => Date.parse(s.startedAt)));
      expect(canaryDone).toBeLessThanOrEqual(restStart);

      // Exactly the planned builds: openssl 3.3.5 (not 3.4.0), curl's superseded 8.11.0 as the
      // lowest later build 8.11.1 (not 8.12.0); bw-agent, excluded, stays; web-2 keeps its newer openssl.
      const patched = ['bw-agent-0:1.0-1.azl3', 'bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.3.5-5.azl3'];
      for (const h of hosts)
        expect([h.name, h.installed()]).toEqual([
          h.name,
          h.name === 'web-2' ? ['bw-agent-0:1.0-1.azl3', 'bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.4.0-1.azl3'] : patched,
        ]);
      const update = (name: string): string => run.steps.find((s) => s.targetName === name && s.kind === 'update')?.output ?? '';
      expect(update('canary-1')).toMatch(/resolved: bw-curl 0:8\.11\.1-3\.azl3 \(the planned 0:8\.11\.0-1\.azl3 is no longer offered\)/);
      expect(update('web-2')).toMatch(/already: bw-openssl 1:3\.4\.0-1\.azl3 \(at or above the planned 1:3\.3\.5-5\.azl3\)/);
      // tdnf's dry run is its JSON plan.
      expect(run.steps.find((s) => s.targetName === 'canary-1' && s.kind === 'precheck')?.output ?? '').toMatch(
        /the transaction resolves \(Upgrade\)[\s\S]*"Upgrade":/,
      );

      // What the hosts report over SSH, and each manager's own history: one transaction a host,
      // the exact install Bulwark sent (with the policy's exclude, and tdnf's release version).
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
        expect([h.name, qa.trim().split('\n').sort()]).toEqual([h.name, h.installed()]);
      }
      for (const h of hosts.filter((x) => x.manager === 'tdnf'))
        expect([h.name, h.transactions()]).toEqual([
          h.name,
          [
            h.name === 'web-2'
              ? '-c /etc/tdnf/tdnf.conf --releasever=3.0 --exclude=bw-agent -y install bw-curl-0:8.11.1-3.azl3'
              : '-c /etc/tdnf/tdnf.conf --releasever=3.0 --exclude=bw-agent -y install bw-curl-0:8.11.1-3.azl3 bw-openssl-1:3.3.5-5.azl3',
          ],
        ]);
      expect(host('azl4-1').transactions()).toHaveLength(1);

      const fixed = (
        JSON.parse(await ok('findings', '--format', 'json', '--status', 'fixed')) as { findings: { targetName: string; advisoryId: string; package: string }[] }
      ).findings;
      expect(fixed.map((f) => `${f.targetName}:${f.advisoryId}:${f.package}`).sort()).toEqual(
        // web-2's openssl too: found at the scan, fixed by the update past the plan, seen by the re-scan.
        ['azl4-1', 'canary-1', 'web-1', 'web-2'].flatMap((n) => [`${n}:ADV-SSL:bw-curl`, `${n}:ADV-SSL:bw-openssl`]),
      );
    },
    HANG_GUARD_MS,
  );

  it(
    'a tdnf host whose repository is broken fails its precheck with what tdnf said, and halts the ring',
    async () => {
      host('web-1').setRepo(`${server?.url ?? ''}/no-such-repo`);
      advisories.push({ id: 'ADV-CURL2', severity: 'Critical', issued: new Date(), cves: ['CVE-2026-1503'], packages: [pkg('bw-curl', '8.12.0', '1.azl3')] });
      buildRepo(join(dir, 'repo'), [], advisories);
      publishAzl4(join(dir, 'repo4'), repo, advisories);
      await ok('feeds', 'sync', '--source', 'azl3.0');
      await ok('feeds', 'sync', '--source', 'azl4.0');
      const r = await runCli(['scheduler', '--once', '--known-hosts', knownHosts], env);
      expect(r.out).toMatch(/azl: run 2 on .*: halted/);
      const shown = await runCli(['run', 'show', '2', '--json'], env);
      const run = JSON.parse(shown.out) as { failedHosts: string[]; steps: { targetName: string; kind: string; state: string; output: string | null }[] };
      expect(run.failedHosts).toEqual(['web-1']);
      const web1 = run.steps.filter((s) => s.targetName === 'web-1');
      expect(web1.map((s) => `${s.kind}:${s.state}`)).toEqual(['precheck:failed', 'update:skipped', 'rescan:skipped']);
      expect(web1[0]?.output ?? '').toMatch(/tdnf exited \d+/);
      expect(host('web-1').installed()).toContain('bw-curl-0:8.11.1-3.azl3');
      expect(host('canary-1').installed()).toContain('bw-curl-0:8.12.0-1.azl3');
    },
    HANG_GUARD_MS,
  );
});

needs.describe('end to end over SSH with the real tdnf, with Bulwark killed (SIGKILL) at random moments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-tdnf-kill-'));
  const dbPath = join(dir, 'bulwark.db');
  const env = { BULWARK_DATABASE_URL: `sqlite:${dbPath}`, USER: 'alice', BULWARK_SSH_KEY_DIR: join(dir, 'hosts') };
  const knownHosts = join(dir, 'known_hosts');
  const hosts: RpmHost[] = [];
  let server: { url: string; close: () => Promise<void> } | undefined;
  const advisories: RepoAdvisory[] = [
    {
      id: 'ADV-SSL',
      severity: 'Critical',
      issued: new Date(),
      cves: ['CVE-2026-1501'],
      packages: [pkg('bw-openssl', '3.3.5', '5.azl3', 1), pkg('bw-curl', '8.11.1', '3.azl3')],
    },
  ];

  beforeAll(async () => {
    const repo = buildRepo(join(dir, 'repo'), PKGS, advisories);
    server = await serveDir(repo);
    for (const [i, name] of ['k-canary', 'k-1', 'k-2'].entries())
      hosts.push(
        await startRpmHost(join(dir, 'hosts'), {
          name,
          manager: 'tdnf',
          address: `127.0.10.${String(11 + i)}`,
          port: 2211 + i,
          localRepo: repo,
          repoUrl: server.url,
          initial: INITIAL,
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    writeFileSync(join(dir, 'policy.yaml'), POLICY.replace('failureThreshold: 0', 'failureThreshold: 0.5'));
  }, HANG_GUARD_MS);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'every host ends on exactly the planned builds, with one tdnf transaction, and no finished step runs again',
    async () => {
      const ok = async (...args: string[]): Promise<string> => {
        const r = await runCli(args, env);
        expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}`).toBe(0);
        return r.out;
      };
      await ok(
        'feeds',
        'add',
        'azl3',
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
          ...(h.name === 'k-canary' ? ['--tag', 'canary'] : []),
        );
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      await ok('feeds', 'sync', '--source', 'azl3');
      let runPk: number;
      const db = await openStore({ dbPath });
      try {
        const { plan, pk } = await makePlan(db, 'azl', { save: true });
        expect(plan.entries.map((e) => `${e.ring}:${e.target}`)).toEqual(['canary:k-canary', 'rest:k-1', 'rest:k-2']);
        runPk = await createRun(db, 'azl', { ...plan, entries: plan.entries.map((e) => ({ ...e, approval: 'approved' })) }, pk, {
          holder: 'test',
          failureThreshold: 0.5,
          maxConcurrency: 2,
        });
        await releaseLease(db, `run:${String(runPk)}`, 'test');
      } finally {
        await db.close();
      }
      const trace = join(dir, 'trace.log');
      writeFileSync(trace, '');
      const seed = Number(process.env['BULWARK_SEED'] ?? Date.now() % 1_000_000);
      const { kills, result } = await killAtJournal({
        argv: ['--import', 'tsx', join(import.meta.dirname, 'run-worker.ts'), dbPath, String(runPk), `ssh:${knownHosts}`, trace],
        trace,
        maxKills: 5,
        random: rng(seed),
      });
      expect([seed, result]).toEqual([seed, { status: 'done', failed: [] }]);
      expect(kills).toBeGreaterThan(0);
      const check = await openStore({ dbPath });
      try {
        const steps = await listSteps(check, runPk);
        expect(steps.filter((st) => st.state !== 'done').map((st) => `${st.targetName}:${st.kind}:${st.state}`)).toEqual([]);
        const lines = readFileSync(trace, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '));
        const reran = steps.filter((st) => {
          const mine = lines.filter(([p]) => p === String(st.pk)).map(([, phase]) => phase);
          return mine.filter((p) => p === 'ended').length !== 1 || mine.slice(mine.indexOf('ended') + 1).includes('started');
        });
        expect(reran.map((st) => `${st.targetName}:${st.kind}`)).toEqual([]);
      } finally {
        await check.close();
      }
      for (const h of hosts) {
        expect([h.name, h.installed()]).toEqual([h.name, ['bw-agent-0:1.0-1.azl3', 'bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.3.5-5.azl3']]);
        // tdnf's own history: one transaction, whatever the kills interrupted.
        expect([h.name, h.transactions().length]).toEqual([h.name, 1]);
      }
    },
    HANG_GUARD_MS,
  );
});
