import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { HANG_GUARD_MS, waitFor } from './events.js';
import { file, requires, sshdHosts, tools } from './needs.js';
import type { DummyRpm } from './rpm-tools.js';
import {
  advisorySsl,
  hooksFile,
  INITIAL,
  INITIAL_QA,
  listenOn,
  overSsh,
  PATCHED_QA,
  PKGS,
  RPM_QA,
  safePolicy,
  standInSystemd,
  startLb,
  SYSTEMD_CGROUPS,
} from './safety-fleet.js';
import { buildAptRepo, buildRepo, serveDir, startAptHost, startDnfHost, type AptHost, type DnfHost } from './ssh-fleet.js';

/**
 * Issue #15's safe patching end to end on real parts: sshd test hosts with their own rpm
 * databases and dnf history, Bulwark driven through its CLI (feeds sync, scan, policy apply,
 * scheduler), the hosts' own dnf (and apt) updating and undoing. Addresses 127.0.11.1–9 and 127.0.11.20 are this file's.
 */
const needs = requires(sshdHosts(), tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm'));

type Shown = {
  run: { status: string; note: string | null };
  failedHosts: string[];
  steps: { targetName: string; kind: string; state: string; output: string | null; attempts: number }[];
};

function fleetEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { BULWARK_DATABASE_URL: `sqlite:${join(dir, 'bulwark.db')}`, USER: 'alice', BULWARK_SSH_KEY_DIR: join(dir, 'hosts'), ...extra };
}

needs.describe('a pre hook (allow-listed in the configuration file), a health gate failing on one host, rollback on failure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-safety-'));
  const knownHosts = join(dir, 'known_hosts');
  const hosts: DnfHost[] = [];
  const listeners: Server[] = [];
  let server: { url: string; close: () => Promise<void> } | undefined;
  let lb: Awaited<ReturnType<typeof startLb>> | undefined;
  const GATE_PORT = 18_511;
  let env: NodeJS.ProcessEnv = {};
  const ok = async (...args: string[]): Promise<string> => {
    const r = await runCli(args, env);
    expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}`).toBe(0);
    return r.out;
  };

  beforeAll(async () => {
    const repo = buildRepo(join(dir, 'repo'), PKGS, [advisorySsl()]);
    server = await serveDir(repo);
    lb = await startLb();
    // The allow-list is the configuration file's `hooks:` section here (test/safety-kill.test.ts names a file with BULWARK_HOOKS_FILE).
    writeFileSync(join(dir, 'bulwark.yaml'), `hooks:\n${hooksFile(lb.url).replace(/^/gm, '  ')}`);
    env = fleetEnv(dir, { BULWARK_CONFIG: join(dir, 'bulwark.yaml') });
    for (const [i, name] of ['s-canary', 's-web-1', 's-web-2'].entries())
      hosts.push(
        await startDnfHost(join(dir, 'hosts'), {
          name,
          address: `127.0.11.${String(1 + i)}`,
          port: 23_101 + i,
          localRepo: repo,
          repoUrl: server.url,
          initial: INITIAL,
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    // The application answers on the canary and s-web-1, not on s-web-2: its gate fails.
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
    'drains, snapshots, patches; the host failing its gate is rolled back (rpm -qa and dnf history over SSH), the ring halts, every step is journaled',
    async () => {
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
          ...(h.name === 's-canary' ? ['--tag', 'canary'] : []),
        );
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      await ok('feeds', 'sync', '--source', 'fleet');
      // The plan carries the policy's safety settings to the run.
      const plan = JSON.parse(await ok('plan', '--policy', 'safe', '--format', 'json')) as { safety?: { gates: unknown[]; rollback: string } };
      expect(plan.safety).toMatchObject({ gates: [{ tcp: GATE_PORT, withinSeconds: 0 }], rollback: 'on-failure' });
      expect(await ok('plan', '--policy', 'safe')).toMatch(
        /each host: pre hooks http lb-drain, command disk-check; snapshot command snapshot; gates tcp 18511; post hooks http lb-return; rollback on-failure\n/,
      );

      const r = await runCli(['scheduler', '--once', '--known-hosts', knownHosts], env);
      expect(r.out).toMatch(/safe: run 1 on s-canary, s-web-1, s-web-2: halted/);
      const shown = await runCli(['run', 'show', '1', '--json'], env);
      const run = JSON.parse(shown.out) as Shown;
      expect(run.run.status).toBe('halted');
      expect(run.run.note).toMatch(/ring 1: 1 of 2 hosts failed/);
      expect(run.failedHosts).toEqual(['s-web-2']);
      const journal = (name: string): string[] => run.steps.filter((s) => s.targetName === name).map((s) => `${s.kind}:${s.state}`);
      const passed = ['precheck:done', 'hook:done', 'hook:done', 'hook:done', 'update:done', 'gate:done', 'hook:done', 'rescan:done', 'rollback:skipped'];
      expect(journal('s-canary')).toEqual(passed);
      expect(journal('s-web-1')).toEqual(passed);
      expect(journal('s-web-2')).toEqual([
        'precheck:done',
        'hook:done',
        'hook:done',
        'hook:done',
        'update:done',
        'gate:failed',
        'hook:skipped',
        'rescan:skipped',
        'rollback:done',
      ]);
      // Every step ran once and says what it did.
      for (const s of run.steps.filter((x) => x.state !== 'skipped'))
        expect([s.targetName, s.kind, s.attempts, s.output ?? '']).toEqual([s.targetName, s.kind, 1, expect.any(String)]);
      const web2 = run.steps.filter((s) => s.targetName === 's-web-2');
      expect(web2.find((s) => s.kind === 'gate')?.output).toMatch(/gate failed.*\n.*tcp 127\.0\.11\.3:18511: .*ECONNREFUSED/);
      expect(web2.find((s) => s.kind === 'rollback')?.output).toMatch(
        /dnf history undo \d+: exit 0[\s\S]*verified: bw-curl 0:8\.8\.0-1\.azl3; bw-openssl 1:3\.3\.0-2\.azl3/,
      );
      expect(web2.find((s) => s.kind === 'hook' && s.state === 'skipped')?.output).toBe('skipped: gate failed');

      // What the hosts say over SSH: the failed one is back on its old versions, with the update and its undo in its history.
      for (const h of hosts) {
        const qa = overSsh(h, knownHosts, RPM_QA).trim().split('\n').sort();
        expect([h.name, qa]).toEqual([h.name, h.name === 's-web-2' ? INITIAL_QA : PATCHED_QA]);
        expect([h.name, h.transactions()]).toEqual([h.name, h.name === 's-web-2' ? 2 : 1]);
      }
      const history = overSsh(hosts[2] as DnfHost, knownHosts, 'dnf -q history list');
      expect(history).toMatch(/^\s*2 \| -y history undo 1 .*\| Downgrade .*\| +2/m);
      expect(history).toMatch(/^\s*1 \| -y install bw-curl.*\| Upgrade .*\| +2/m);

      // The hooks: drained before, returned after only where every gate passed; the snapshot ran on each host.
      expect([...(lb?.calls ?? [])].sort()).toEqual(
        ['POST /drain/s-canary', 'POST /drain/s-web-1', 'POST /drain/s-web-2', 'POST /return/s-canary', 'POST /return/s-web-1'].sort(),
      );
      for (const h of hosts) expect([h.name, existsSync(join(h.dir, 'lib-dnf', `snapshot-${h.name}`))]).toEqual([h.name, true]);
      // The rollback's re-scan: the failed host's finding is open again, the others' fixed.
      const open = (JSON.parse(await ok('findings', '--format', 'json')) as { findings: { targetName: string; package: string }[] }).findings;
      expect([...new Set(open.map((f) => f.targetName))]).toEqual(['s-web-2']);
    },
    HANG_GUARD_MS,
  );
});

const restartNeeds = requires(
  sshdHosts(),
  tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm', 'setsid'),
  file(SYSTEMD_CGROUPS, 'the name=systemd cgroup hierarchy'),
  file('/lib/x86_64-linux-gnu/libz.so.1', "zlib's shared library (copied into the test package as its library)"),
);

restartNeeds.describe('restarting exactly the services that map a library the update replaced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-restart-'));
  const knownHosts = join(dir, 'known_hosts');
  let host: DnfHost | undefined;
  let server: { url: string; close: () => Promise<void> } | undefined;
  let units: ReturnType<typeof standInSystemd> | undefined;
  const env = fleetEnv(dir);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await runCli(args, env);
    expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}`).toBe(0);
    return r.out;
  };
  const LIB = '/opt/bwsvc/lib/libbwdemo.so.1';

  beforeAll(async () => {
    // Two builds of a package carrying a real shared library (zlib's, plus a byte telling them apart).
    const libs: DummyRpm[] = ['1.0', '1.1'].map((v) => {
      const copy = join(dir, `libbwdemo-${v}.so`);
      copyFileSync('/lib/x86_64-linux-gnu/libz.so.1', copy);
      writeFileSync(copy, `bw-demo-lib ${v}\n`, { flag: 'a' });
      return { name: 'bw-demo-lib', version: v, release: '1.azl3', files: { [LIB]: copy } };
    });
    const repo = buildRepo(join(dir, 'repo'), libs, [
      {
        id: 'ADV-DEMO',
        severity: 'Critical',
        issued: new Date(),
        cves: ['CVE-2026-2001'],
        packages: [{ name: 'bw-demo-lib', version: '1.1', release: '1.azl3' }],
      },
    ]);
    server = await serveDir(repo);
    units = standInSystemd(join(dir, 'systemd'), join(SYSTEMD_CGROUPS, `bulwark-test-${String(process.pid)}`), {
      // bw-demo maps the library; bw-other does not.
      'bw-demo.service': ['env', `LD_PRELOAD=${LIB}`, 'sleep', '1000000'],
      'bw-other.service': ['sleep', '1000000'],
    });
    host = await startDnfHost(join(dir, 'hosts'), {
      name: 'svc-1',
      address: '127.0.11.5',
      port: 23_105,
      localRepo: repo,
      repoUrl: server.url,
      initial: ['bw-demo-lib-1.0-1.azl3'],
      binds: [['root:/opt/bwsvc', '/opt/bwsvc'], ...units.binds],
    });
    writeFileSync(
      join(dir, 'policy.yaml'),
      `apiVersion: bulwark/v1
kind: Policy
name: svc
scope: { releases: ["azurelinux:3.0"] }
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: critical-now, match: { severity: [critical] }, deadlineHours: 24, emergency: true }
reboot: when-required
restart: services
gates: [{ systemd: bw-demo.service, withinSeconds: 30 }, { systemd: bw-other.service }]
`,
    );
  }, HANG_GUARD_MS);

  afterAll(async () => {
    units?.stop();
    await host?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'finds the process mapping the replaced library, restarts its service and no other, and does not reboot',
    async () => {
      const h = host as DnfHost;
      const u = units as NonNullable<typeof units>;
      await ok(
        'feeds',
        'add',
        'demo',
        '--format',
        'updateinfo',
        '--release',
        'azurelinux:3.0',
        '--location',
        `${server?.url ?? ''}/repodata/updateinfo.xml.gz`,
      );
      await ok('hosts', 'add', 'svc-1', '--address', `root@${h.address}:${String(h.port)}`, '--identity', h.clientKey, '--package-manager', 'dnf');
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      // The services start on the host (in its namespace), through its systemctl.
      overSsh(h, knownHosts, 'systemctl start bw-demo.service bw-other.service');
      const demoBefore = u.pid('bw-demo.service');
      const otherBefore = u.pid('bw-other.service');
      // The service has begun when its process maps the library (its exec is done).
      await waitFor(() => readFileSync(`/proc/${String(demoBefore)}/maps`, 'utf8').includes(LIB), { what: 'bw-demo to map its library' });
      expect(readFileSync(`/proc/${String(demoBefore)}/cgroup`, 'utf8')).toMatch(/name=systemd:\/bulwark-test-\d+\/system\.slice\/bw-demo\.service/);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      await ok('feeds', 'sync', '--source', 'demo');
      expect(await ok('scheduler', '--once', '--known-hosts', knownHosts)).toMatch(/svc: run 1 on svc-1: done/);

      const run = JSON.parse((await runCli(['run', 'show', '1', '--json'], env)).out) as Shown;
      expect(run.steps.map((s) => `${s.kind}:${s.state}`)).toEqual([
        'precheck:done',
        'update:done',
        'restart:done',
        'reboot:done',
        'gate:done',
        'gate:done',
        'rescan:done',
      ]);
      const restart = run.steps.find((s) => s.kind === 'restart')?.output ?? '';
      expect(restart).toMatch(new RegExp(`pid ${String(demoBefore)} \\(sleep, bw-demo\\.service\\) maps ${LIB.replace(/\./g, '\\.')}`));
      expect(restart).toMatch(/restarted: bw-demo\.service \(exit 0\)/);
      expect(restart).not.toMatch(/bw-other/);
      expect(run.steps.find((s) => s.kind === 'reboot')?.output).toMatch(/^no reboot: no kernel was updated and pid 1 maps no replaced file/);

      // Exactly bw-demo was restarted, once; its new process maps the new library; bw-other was left alone.
      expect([u.starts('bw-demo.service'), u.starts('bw-other.service')]).toEqual([2, 1]);
      expect(u.pid('bw-other.service')).toBe(otherBefore);
      const demoAfter = u.pid('bw-demo.service');
      expect(demoAfter).not.toBe(demoBefore);
      const maps = await waitFor(
        () => {
          const m = readFileSync(`/proc/${String(demoAfter)}/maps`, 'utf8');
          return m.includes(LIB) ? m : null;
        },
        { what: 'the restarted bw-demo to map its library' },
      );
      expect(maps).not.toContain(`${LIB} (deleted)`);
      expect(h.installed()).toEqual(['bw-demo-lib-0:1.1-1.azl3']);
    },
    HANG_GUARD_MS,
  );
});

const aptNeeds = requires(sshdHosts(), tools('dpkg-deb', 'dpkg-scanpackages', 'apt-get', 'dpkg-query'));

aptNeeds.describe('rollback on an apt host, which keeps no history to undo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-safety-apt-'));
  const env = { BULWARK_DATABASE_URL: `sqlite:${join(dir, 'bulwark.db')}`, USER: 'alice' };
  const knownHosts = join(dir, 'known_hosts');
  let host: AptHost | undefined;
  let server: { url: string; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    const repo = buildAptRepo(join(dir, 'repo'), [
      { name: 'bw-libssl', version: '3.0.11-1~deb12u1' },
      { name: 'bw-libssl', version: '3.0.15-1~deb12u1' },
      { name: 'bw-perl', version: '5.36.0-7' },
      { name: 'bw-perl', version: '1:5.36.0-7+deb12u2' },
    ]);
    server = await serveDir(repo);
    host = await startAptHost(join(dir, 'hosts'), {
      name: 'deb-safe',
      address: '127.0.11.20',
      port: 23_120,
      repoUrl: server.url,
      initial: ['bw-libssl_3.0.11-1~deb12u1', 'bw-perl_5.36.0-7'].map((d) => join(repo, `${d}_all.deb`)),
    });
    const now = new Date().toISOString();
    writeFileSync(
      join(dir, 'osv.json'),
      JSON.stringify([
        {
          id: 'DSA-9101-1',
          summary: 'bw-libssl, bw-perl security update',
          published: now,
          modified: now,
          aliases: ['CVE-2026-3001'],
          affected: [
            {
              package: { ecosystem: 'Debian:12', name: 'bw-libssl' },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.15-1~deb12u1' }] }],
            },
            {
              package: { ecosystem: 'Debian:12', name: 'bw-perl' },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:5.36.0-7+deb12u2' }] }],
            },
          ],
        },
      ]),
    );
    // Nothing listens on the gate's port: the gate fails after the update.
    writeFileSync(
      join(dir, 'policy.yaml'),
      `apiVersion: bulwark/v1
kind: Policy
name: debian-safe
scope: { releases: ["debian:12"] }
cadence: { monthly: { weekday: tuesday, week: 2 } }
rollout: { rings: [{ name: all, percent: 100 }], failureThreshold: 0 }
reboot: never
gates: [{ tcp: 18513 }]
rollback: on-failure
`,
    );
  }, HANG_GUARD_MS);

  afterAll(async () => {
    await host?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'installs the previous versions exactly (a downgrade across an epoch), verifies them, and re-scans',
    async () => {
      const h = host as AptHost;
      const ok = async (...args: string[]): Promise<string> => {
        const r = await runCli(args, env);
        expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}${r.out}`).toBe(0);
        return r.out;
      };
      await ok('feeds', 'add', 'debian-osv', '--format', 'osv', '--location', join(dir, 'osv.json'));
      await ok('hosts', 'add', h.name, '--address', `root@${h.address}:${String(h.port)}`, '--identity', h.clientKey);
      await ok('feeds', 'sync', '--source', 'debian-osv');
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      const r = await runCli(['run', '--policy', 'debian-safe', '--known-hosts', knownHosts, '--json'], env);
      const report = JSON.parse(r.out) as Shown;
      expect(report.run.status).toBe('halted');
      expect(report.steps.map((s) => `${s.kind}:${s.state}`)).toEqual(['precheck:done', 'update:done', 'gate:failed', 'rescan:skipped', 'rollback:done']);
      const rollback = report.steps.find((s) => s.kind === 'rollback')?.output ?? '';
      expect(rollback).toMatch(/installing the previous versions exactly: exit 0/);
      expect(rollback).toMatch(/verified: bw-libssl 3\.0\.11-1~deb12u1; bw-perl 5\.36\.0-7/);
      expect(h.installed()).toEqual(['bw-libssl=3.0.11-1~deb12u1', 'bw-perl=5.36.0-7']);
    },
    HANG_GUARD_MS,
  );
});
