import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer } from '../src/api/server.js';
import { agentScript, listAgents, runAgentTask, stringToSign } from '../src/services/agents.js';
import { packageManager } from '../src/executor/registry.js';
import type { CommandOptions, Target } from '../src/executor/types.js';
import { runCli } from './cli.js';
import { rawKysely } from '../src/storage/index.js';
import { addSource, syncSource } from '../src/services/feeds.js';
import { applyPolicyText } from '../src/services/policies.js';
import { findFindings } from '../src/services/report.js';
import { runTransport } from '../src/services/run-transport.js';
import { showRun } from '../src/services/runs.js';
import { runPolicyNow } from '../src/services/scheduler.js';
import { openStore, type Db } from '../src/services/store.js';
import { FEED } from './patch-testbed.js';
import { HANG_GUARD_MS, waitFor } from './events.js';
import { buildRepo, inNamespace, prepareDnfHost, type DnfHostFiles } from './ssh-fleet.js';
import { requires, sshdHosts, testbedTool, tool, tools } from './needs.js';
import { prepareRpmHost, type RpmHostFiles, type RpmManager } from './pm-hosts.js';

/**
 * Issue #6's agent on real parts: the real bulwark-agent.sh, run with dash in a mount namespace
 * where a host root made by the real dnf is the host (its rpm database, dnf configuration and
 * history bound over the machine's), against `bulwark serve`'s HTTP server on loopback. It
 * enrolls with a one-time token, reports its inventory, and carries out a patch run's tasks with
 * that host's own dnf; forged, replayed and stale requests are refused.
 */
// apt-cache among them: the agent runs it for Debian hosts, and its assertions are never left out.
const needs = requires(
  sshdHosts(),
  tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm', 'curl', 'apt-cache'),
  tool('/bin/dash', { probe: ['-c', 'true'], name: 'dash' }),
);

// How long the server waits for an agent's answer here: past the test's hang guard, so never. A
// loaded machine answers late, and a task given up on would fail a test of something else.
const NEVER_MS = 2 * HANG_GUARD_MS;

const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: agents
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: critical-now, match: { severity: [critical] }, deadlineHours: 24, emergency: true }
rollout: { rings: [{ name: all, percent: 100 }] }
reboot: never
`;

needs.describe('the agent: enroll, report, patch tasks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-agent-'));
  const agentDir = join(dir, 'agent-etc');
  const script = join(dir, 'bulwark-agent');
  let db: Db;
  let server: { url: string; close: () => Promise<void> };
  let host: DnfHostFiles;
  const serverKey = randomBytes(32);
  let hostName = '';
  let repoDir = '';
  const INITIAL = ['bw-openssl-1:3.3.0-2.azl3', 'bw-curl-8.8.0-1.azl3'];

  // `binds`: the host the agent runs on (another host's files: the real tdnf and dnf5 hosts below).
  const agentIn = (shell: 'dash' | 'bash', env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    agentOn(host.binds, shell, env, ...args);
  const agentOn = (
    binds: readonly (readonly [string, string])[],
    shell: 'dash' | 'bash',
    env: NodeJS.ProcessEnv,
    ...args: string[]
  ): Promise<{ code: number; stdout: string; stderr: string }> =>
    inNamespace(binds, [shell, script, ...args], { ...process.env, BULWARK_AGENT_DIR: agentDir, BULWARK_AGENT_PACKAGES: 'rpm', ...env });
  const agentWith = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => agentIn('dash', env, ...args);
  const agent = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => agentWith({}, ...args);
  // Tasks queued for the agent and not answered yet (the server's own table: what a pass would get).
  const openTasks = async (): Promise<number> =>
    Number(
      (
        await rawKysely(db)
          .selectFrom('agent_tasks')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('state', '!=', 'done')
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    db = await openStore({ dbPath: join(dir, 'b.db') });
    const repo = buildRepo(
      join(dir, 'repo'),
      [
        { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
        { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
        { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
      ],
      [],
    );
    repoDir = repo;
    host = prepareDnfHost(join(dir, 'hosts'), {
      name: 'agent-host',
      localRepo: repo,
      repoUrl: `file://${repo}`,
      initial: ['bw-openssl-1:3.3.0-2.azl3', 'bw-curl-8.8.0-1.azl3'],
    });
    server = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'known_hosts'),
      transport: (d) => runTransport(d, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, agentTaskTimeoutMs: NEVER_MS }),
      version: 'test',
      agentServerKey: serverKey,
    });
    // The script as the server serves it.
    writeFileSync(script, await (await fetch(`${server.url}/agent/v1/bulwark-agent.sh`)).text());
    const feed = join(dir, 'feed.json');
    writeFileSync(feed, JSON.stringify({ ...FEED, advisories: FEED.advisories.filter((a) => a.id === 'ADV-1') }));
    await addSource(db, { id: 'test-azl3', format: 'native', location: feed });
    await syncSource(db, 'test-azl3');
    await applyPolicyText(db, POLICY, 'test');
  }, HANG_GUARD_MS);

  afterAll(async () => {
    await server.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves exactly the script in the repository', () => {
    expect(readFileSync(script, 'utf8')).toBe(agentScript());
  });

  it('enrolls once with a one-time token; reports; is refused when forged, replayed or stale', async () => {
    // The token and install command as an admin gets them from the CLI.
    const cli = await runCli(['--db', join(dir, 'b.db'), 'agents', 'enroll-token', '--url', server.url, '--tag', 'edge', '--expires-hours', '1'], {
      USER: 'alice',
    });
    expect(cli.code).toBe(0);
    expect(cli.out).toContain(`curl -fsS ${server.url}/agent/v1/bulwark-agent.sh -o /usr/local/sbin/bulwark-agent`);
    const token = /^ {2}(bwe_\S+)$/m.exec(cli.out)?.[1] ?? '';
    const enrolled = await agent('enroll', server.url, token);
    expect(enrolled.stderr).toBe('');
    expect(enrolled.stdout).toMatch(/^enrolled as agent [0-9a-f]{16}, host \S+$/m);
    hostName = /host (\S+)$/m.exec(enrolled.stdout)?.[1] ?? '';
    const conf = readFileSync(join(agentDir, 'config'), 'utf8');
    expect(statSync(join(agentDir, 'config')).mode & 0o077).toBe(0);
    const agentId = /^agent=(\S+)$/m.exec(conf)?.[1] ?? '';
    const key = /^key=(\S+)$/m.exec(conf)?.[1] ?? '';
    // The token is used up.
    const again = await agent('enroll', server.url, token);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/enrollment refused \(401\)/);

    const report = await agent('report');
    expect(report.stderr).toBe('');
    expect(report.stdout).toMatch(/^ok 2 packages, 1 findings \(1 new, 0 closed\)$/m);
    // The same report again: recognised by its fingerprint, not stored or matched again.
    expect((await agent('report')).stdout).toBe('ok unchanged\n');
    const f = await findFindings(db, { hosts: [hostName] });
    expect(f.map((x) => `${x.advisoryId} ${x.package} ${x.installed}`)).toEqual(['ADV-1 bw-openssl 1:3.3.0-2.azl3']);
    const listed = JSON.parse((await runCli(['--db', join(dir, 'b.db'), 'agents', 'list', '--json'])).out) as {
      id: string;
      host: string;
      lastSeenAt: string | null;
    }[];
    expect(listed.map((a) => [a.id, a.host, a.lastSeenAt !== null])).toEqual([[agentId, hostName, true]]);

    // Requests signed here with the agent's key, as the script signs them.
    const signed = (o: { nonce?: string; ts?: number; sigKey?: string; body?: string } = {}) => {
      const ts = String(o.ts ?? Math.floor(Date.now() / 1000));
      const nonce = o.nonce ?? randomBytes(16).toString('hex');
      const body = o.body ?? '';
      const sig = createHmac('sha256', Buffer.from(o.sigKey ?? key, 'hex'))
        .update(stringToSign(agentId, ts, nonce, 'GET', '/agent/v1/tasks', body))
        .digest('hex');
      return fetch(`${server.url}/agent/v1/tasks`, {
        headers: { 'x-bulwark-agent': agentId, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig },
      });
    };
    const nonce = randomBytes(16).toString('hex');
    const first = await signed({ nonce });
    expect([first.status, await first.text()]).toEqual([200, 'none\n']);
    const replay = await signed({ nonce });
    expect(replay.status).toBe(401);
    expect(await replay.text()).toMatch(/replay/);
    const forged = await signed({ sigKey: randomBytes(32).toString('hex') });
    expect(forged.status).toBe(401);
    expect(await forged.text()).toMatch(/does not verify/);
    const stale = await signed({ ts: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).toBe(401);
    expect(await stale.text()).toMatch(/too old/);
    expect((await fetch(`${server.url}/agent/v1/tasks`)).status).toBe(401);
  });

  it(
    "reboots its host for a run's reboot step: it acknowledges with the boot it leaves; the step ends with a report from a new boot",
    async () => {
      // A real reboot cannot happen in a test: a stand-in systemctl records the call and starts a
      // "new boot" by changing the boot id the agent reads (BULWARK_AGENT_BOOT_ID).
      const bootFile = join(dir, 'boot_id');
      writeFileSync(bootFile, '11111111-2222-4333-8444-555555555555\n');
      const bin = join(dir, 'fake-bin');
      mkdirSync(bin, { recursive: true });
      const calls = join(dir, 'systemctl.log');
      writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> ${calls}\necho 99999999-2222-4333-8444-555555555555 > ${bootFile}\n`, { mode: 0o755 });
      const env = { BULWARK_AGENT_BOOT_ID: bootFile, PATH: `${bin}:${process.env['PATH'] ?? ''}` };
      expect((await agentWith(env, 'report')).code).toBe(0);
      const targetId = (await findFindings(db, { hosts: [hostName] }))[0]?.targetId ?? '';
      const t = runTransport(db, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, agentTaskTimeoutMs: NEVER_MS, rebootWaitMs: NEVER_MS });
      let settled = false;
      const rebooting = t.reboot(targetId).finally(() => {
        settled = true;
      });
      await waitFor(async () => (await openTasks()) > 0, { what: 'the reboot task to be queued' });
      const pass = await agentWith(env, 'tasks');
      expect([pass.code, pass.stderr]).toEqual([0, '']);
      expect(readFileSync(calls, 'utf8')).toBe('reboot\n');
      // Acknowledged, but no report from the new boot yet: still waiting.
      await new Promise((r) => setTimeout(r, 1500));
      expect(settled).toBe(false);
      expect((await agentWith(env, 'report')).code).toBe(0);
      const r = await rebooting;
      expect([r.code, r.stdout]).toEqual([0, 'rebooted: boot 11111111-2222-4333-8444-555555555555 → 99999999-2222-4333-8444-555555555555\n']);
    },
    HANG_GUARD_MS,
  );

  it('does not reboot again a host that booted after a reboot step began, when a server that died is resumed (issue #20, 13a)', async () => {
    // The boot time comes from /proc/stat (BULWARK_AGENT_PROC_STAT: a stand-in with a btime line).
    const bootFile = join(dir, 'boot_id');
    const stat = join(dir, 'proc-stat');
    const bin = join(dir, 'fake-bin');
    const calls = join(dir, 'systemctl.log');
    const env = { BULWARK_AGENT_BOOT_ID: bootFile, BULWARK_AGENT_PROC_STAT: stat, PATH: `${bin}:${process.env['PATH'] ?? ''}` };
    const before = readFileSync(calls, 'utf8');
    // Whole seconds, as /proc/stat says them.
    const begun = new Date(Math.floor(Date.now() / 1000 - 3600) * 1000);
    const epoch = (d: Date): string => String(Math.floor(d.getTime() / 1000));
    const targetId = (await findFindings(db, { hosts: [hostName] }))[0]?.targetId ?? '';
    const t = runTransport(db, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, agentTaskTimeoutMs: 30_000, rebootWaitMs: 30_000 });
    // The host reported a boot after the step began: done, nothing is sent to it.
    writeFileSync(bootFile, 'aaaaaaaa-2222-4333-8444-555555555555\n');
    writeFileSync(stat, `cpu  1 2 3\nbtime ${epoch(new Date(begun.getTime() + 60_000))}\nprocesses 9\n`);
    expect((await agentWith(env, 'report')).code).toBe(0);
    const reported = await t.reboot(targetId, { since: begun.toISOString() });
    expect([reported.code, reported.stdout]).toEqual([
      0,
      `already rebooted: the host booted at ${new Date(begun.getTime() + 60_000).toISOString()}, after this step began at ${begun.toISOString()}\n`,
    ]);
    expect((await agentWith(env, 'tasks')).stdout).toBe('');
    // Its last report is from before the step, but it booted since and has not reported yet:
    // the agent declines the reboot itself.
    writeFileSync(stat, `btime ${epoch(new Date(begun.getTime() - 60_000))}\n`);
    expect((await agentWith(env, 'report')).code).toBe(0);
    writeFileSync(stat, `btime ${epoch(new Date(begun.getTime() + 120_000))}\n`);
    const resumed = t.reboot(targetId, { since: begun.toISOString() });
    await new Promise((r) => setTimeout(r, 200));
    const pass = await agentWith(env, 'tasks');
    expect([pass.code, pass.stderr]).toEqual([0, '']);
    const r = await resumed;
    expect([r.code, r.stdout]).toEqual([
      0,
      `already rebooted: boot_id=aaaaaaaa-2222-4333-8444-555555555555\nbooted_at=${epoch(new Date(begun.getTime() + 120_000))}\nalready-booted-since\n`,
    ]);
    // systemctl reboot was never called for it.
    expect(readFileSync(calls, 'utf8')).toBe(before);
  }, 60_000);

  it('signs the bytes of a report that is not UTF-8 (a Latin-1 os-release), and the server verifies them (issue #20, 7)', async () => {
    const latin1 = join(dir, 'os-release-latin1');
    writeFileSync(
      latin1,
      Buffer.concat([
        Buffer.from(readFileSync(host.binds.find(([, to]) => to === '/etc/os-release')?.[0] ?? '/etc/os-release')),
        Buffer.from('VARIANT="Caf'),
        Buffer.from([0xe9]),
        Buffer.from('"\n'),
      ]),
    );
    const binds = host.binds.map(([from, to]) => (to === '/etc/os-release' ? ([latin1, to] as [string, string]) : ([from, to] as [string, string])));
    const r = await inNamespace(binds, ['dash', script, 'report'], { ...process.env, BULWARK_AGENT_DIR: agentDir, BULWARK_AGENT_PACKAGES: 'rpm' });
    expect([r.code, r.stderr, r.stdout]).toEqual([0, '', expect.stringMatching(/^ok 2 packages, 1 findings/)]);
  }, 60_000);

  it("reports a pending reboot by the server's one rule: needs-restarting -r says 1 yes, 0 no, anything else nothing (issue #19)", async () => {
    const targetId = (await listAgents(db))[0]?.targetId ?? '';
    // A /run of its own (no reboot marker) and a stand-in needs-restarting exiting as told: the
    // real one is a dnf-utils binary that Debian does not ship.
    const run = join(dir, 'reboot-run');
    const bin = join(dir, 'reboot-bin');
    mkdirSync(run, { recursive: true });
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'needs-restarting'), '#!/bin/sh\n[ "$1" = -r ] || exit 9\nexit "$NEEDS_RESTARTING_EXIT"\n', { mode: 0o755 });
    const flag = async (): Promise<number | null> =>
      (await rawKysely(db).selectFrom('targets').select('reboot_required').where('id', '=', targetId).executeTakeFirstOrThrow()).reboot_required;
    // Before, any failure of needs-restarting was reported as "yes".
    for (const [exit, want] of [
      ['1', 1],
      ['3', null],
      ['0', 0],
    ] as const) {
      const r = await inNamespace([...host.binds, [run, '/run']], ['dash', script, 'report'], {
        ...process.env,
        BULWARK_AGENT_DIR: agentDir,
        BULWARK_AGENT_PACKAGES: 'rpm',
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
        NEEDS_RESTARTING_EXIT: exit,
      });
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect([exit, await flag()]).toEqual([exit, want]);
    }
  }, 60_000);

  it(
    'runs exactly the commands the server sends, every word checked; refuses any other, and nothing of it runs',
    async () => {
      const targetId = (await listAgents(db))[0]?.targetId ?? '';
      const t = runTransport(db, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, agentTaskTimeoutMs: NEVER_MS });
      // Gives the agent these tasks and runs its passes until every result is in: a pass is run
      // when a task is queued (a journal row, not a sleep that hopes it is), until all have answers.
      const viaAgent = async (
        env: NodeJS.ProcessEnv,
        tasks: readonly (readonly string[])[],
        send: (argv: readonly string[]) => ReturnType<typeof t.exec> = (argv) => runAgentTask(db, targetId, 'exec', argv, { timeoutMs: NEVER_MS, pollMs: 50 }),
        shell: 'dash' | 'bash' = 'dash',
        binds: readonly (readonly [string, string])[] = host.binds,
      ) => {
        const all = Promise.all(tasks.map(send));
        let settled = false;
        all.then(
          () => (settled = true),
          () => (settled = true),
        );
        for (;;) {
          const next = await waitFor(async () => (settled ? 'settled' : (await openTasks()) > 0 ? 'queued' : null), {
            what: 'a task to be queued or every answer to be in',
          });
          if (next === 'settled') break;
          const pass = await agentOn(binds, shell, env, 'tasks');
          expect([pass.code, pass.stderr]).toEqual([0, '']);
        }
        return all;
      };
      const qf = '%{name} %{epoch}:%{version}-%{release}\\n';

      // The host's own dnf and apt-cache, as a run queries them.
      const [available, installed] = await viaAgent({}, [
        ['dnf', '--disablerepo=*', '--enablerepo=fleet', '-q', 'repoquery', '--qf', qf, '--', 'bw-openssl'],
        ['dnf', '-q', 'repoquery', '--installed', '--qf', qf, '--', 'bw-openssl'],
      ]);
      expect([available?.code, available?.stdout.split('\n').filter((l) => l !== '')]).toEqual([0, ['bw-openssl 1:3.3.0-2.azl3', 'bw-openssl 1:3.3.5-5.azl3']]);
      expect([installed?.code, installed?.stdout.split('\n').filter((l) => l !== '')]).toEqual([0, ['bw-openssl 1:3.3.0-2.azl3']]);
      const [show, policy] = await viaAgent({}, [
        ['apt-cache', 'show', 'bash'],
        ['apt-cache', 'policy', 'bash'],
      ]);
      expect([show?.code, /^Package: bash$/m.test(show?.stdout ?? '')]).toEqual([0, true]);
      expect([policy?.code, /^bash:\n {2}Installed: /m.test(policy?.stdout ?? '')]).toEqual([0, true]);

      // apt-get's commands go to a stand-in that records its argv: a real apt-get update or
      // install would change this machine's own package database (test/patch-e2e-apt.test.ts
      // runs the real apt on apt hosts).
      const bin = join(dir, 'pm-bin');
      const log = join(dir, 'pm.log');
      const marker = join(dir, 'must-not-exist');
      mkdirSync(bin, { recursive: true });
      for (const pm of ['apt-get', 'dnf', 'tdnf', 'dnf5']) writeFileSync(join(bin, pm), `#!/bin/sh\nprintf '%s\\n' "${pm} $*" >> ${log}\n`, { mode: 0o755 });
      writeFileSync(log, '');
      const env = { PATH: `${bin}:${process.env['PATH'] ?? ''}` };
      const deb: Target[] = [
        { name: 'libssl3', version: '3.0.15-1~deb12u1', arch: 'amd64' },
        { name: 'g++', version: '4:12.2.0-3' },
      ];
      const apt = packageManager('apt');
      const sent = [apt.refreshArgv() ?? [], apt.precheckArgv(deb), apt.updateArgv(deb)];
      // Through the run transport: apt-get is sent under env DEBIAN_FRONTEND=noninteractive.
      const ran = await viaAgent(env, sent, (argv) => t.exec(targetId, argv));
      expect(ran.map((r) => [r.code, r.stdout])).toEqual(sent.map(() => [0, '']));
      expect(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      ).toEqual(sent.map((a) => a.join(' ')));

      writeFileSync(log, '');
      const install = [
        'env',
        'DEBIAN_FRONTEND=noninteractive',
        'apt-get',
        '-y',
        '-q',
        '-o',
        'Dpkg::Options::=--force-confold',
        'install',
        '--only-upgrade',
        '--no-install-recommends',
      ];
      const refused: [string[], string][] = [
        [['env', 'DEBIAN_FRONTEND=noninteractive', 'sh', '-c', `touch ${marker}`], '"sh"'],
        [['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-o', `APT::Update::Pre-Invoke::=touch ${marker}`, '-q', 'update'], '"-o"'],
        [['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-q', 'update', '-o', `APT::Update::Pre-Invoke::=touch ${marker}`], '"-o"'],
        [['env', 'PATH=/tmp', 'apt-get', '-q', 'update'], '"PATH=/tmp"'],
        [['apt-get', '-o', `APT::Update::Pre-Invoke::=touch ${marker}`, 'update'], '"apt-get"'],
        [[...install, `-oDPkg::Post-Invoke::=touch ${marker}`, 'bash=5.2.15-2'], `"-oDPkg::Post-Invoke::=touch ${marker}"`],
        [[...install, './evil.deb'], '"./evil.deb"'],
        [[...install, 'bash-=5.2.15-2'], '"bash-=5.2.15-2"'],
        [[...install], 'the command ends'],
        [['apt-cache', 'show', '-o', `Dir::Cache=${dir}`, 'bash'], '"-o"'],
        [['apt-cache', 'dump'], '"dump"'],
        [['dnf', '--setopt=tsflags=noscripts', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--setopt=tsflags=noscripts"'],
        [['dnf', '-c', `${dir}/evil.conf`, '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"-c"'],
        [['dnf', `--repofrompath=evil,${dir}`, '-y', 'install', 'bw-curl-8.8.0-1.azl3'], `"--repofrompath=evil,${dir}"`],
        [['tdnf', '--nogpgcheck', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--nogpgcheck"'],
        [['dnf', '-y', 'install', '--nogpgcheck', 'bw-curl-8.8.0-1.azl3'], '"--nogpgcheck"'],
        [['dnf', '--disablerepo=*', '--enablerepo=fleet', '--setopt=fleet.gpgcheck=0', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--setopt=fleet.gpgcheck=0"'],
        [['dnf', '--disablerepo=*', '--enablerepo=--nogpgcheck', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--enablerepo=--nogpgcheck"'],
        [['dnf', '-y', 'install', `${dir}/evil-1-1.x86_64.rpm`], `"${dir}/evil-1-1.x86_64.rpm"`],
        [['dnf', '-y', 'install', 'evil-1-1.x86_64.rpm'], '"evil-1-1.x86_64.rpm"'],
        [['dnf', '-y', 'install', '@core'], '"@core"'],
        [['dnf', '-y', 'remove', 'bw-curl'], '"remove"'],
        [['dnf', '--exclude=--nogpgcheck', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--exclude=--nogpgcheck"'],
        [['dnf', '--exclude=a;touch', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--exclude=a;touch"'],
        [['dnf', '--exclude=kernel*', '-q', 'repoquery', '--qf', qf, '--', 'bw-curl'], '"--exclude"'],
        [['dnf', '-q', 'repoquery', '--qf', '%{name}', '--', 'bw-curl'], '"%{name}"'],
        [['dnf', '-q', 'repoquery', '--qf', qf, '--', '--exec'], '"--exec"'],
        [['tdnf', '-q', 'repoquery', '--qf', qf, '--', 'bw-curl'], '"-q"'],
        [['tdnf', '-c', `${dir}/evil.conf`, '-y', 'install', 'bw-curl-8.8.0-1.azl3'], `"${dir}/evil.conf"`],
        [['tdnf', '-c', '/etc/tdnf/tdnf.conf', '--releasever=3.0;x', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--releasever=3.0;x"'],
        [['tdnf', '-c', '/etc/tdnf/tdnf.conf', '-j', 'repoquery', '--installed', 'bw-curl', 'bw-openssl'], '"bw-openssl"'],
        [['tdnf', '-c', '/etc/tdnf/tdnf.conf', '-j', 'history', 'undo', '--from', '1'], '"history"'],
        [['tdnf', '-c', '/etc/tdnf/tdnf.conf', '--assumeno', 'install', 'bw-curl-8.8.0-1.azl3'], '"--assumeno"'],
        [['dnf5', '--setopt=gpgcheck=0', '-q', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--setopt=gpgcheck=0"'],
        [['dnf5', '-q', '--repo=-x', '-y', 'install', 'bw-curl-8.8.0-1.azl3'], '"--repo=-x"'],
        [['dnf5', '-q', 'repoquery', '--installed', '--queryformat', '%{name}', 'bw-curl'], '"%{name}"'],
        [['dnf5', '-q', 'remove', 'bw-curl'], '"remove"'],
        [['sh', '-c', `touch ${marker}`], 'sh is not a package manager'],
        [['@reboot', 'now'], '@reboot is not a package manager'],
      ];
      // The script runs under dash and bash alike (bash is /bin/sh on some hosts).
      for (const shell of ['dash', 'bash'] as const) {
        const results = await viaAgent(
          env,
          refused.map(([argv]) => argv),
          undefined,
          shell,
        );
        expect(
          results.map((r, i) => [refused[i]?.[0].join(' '), r.code, r.stdout.startsWith('refused: ') && r.stdout.includes(refused[i]?.[1] ?? '?')]),
        ).toEqual(refused.map(([argv]) => [argv.join(' '), 126, true]));
        expect(readFileSync(log, 'utf8')).toBe('');
        expect(existsSync(marker)).toBe(false);
      }
      writeFileSync(log, '');
      const bashRan = await viaAgent(env, sent, (argv) => t.exec(targetId, argv), 'bash');
      expect(bashRan.map((r) => r.code)).toEqual(sent.map(() => 0));
      expect(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      ).toEqual(sent.map((a) => a.join(' ')));
    },
    HANG_GUARD_MS,
  );

  // The real tdnf and dnf5 (../shared/testbed, installed by scripts/setup-test.sh) and dnf, each
  // on a host of its own (its database, configuration, cache and history bound over the
  // machine's), run by the agent exactly as the server sends them.
  requires(testbedTool('tdnf'), testbedTool('dnf5')).it(
    'runs the real dnf, tdnf and dnf5 commands a run sends: queries, precheck, and the exact update in one transaction',
    async () => {
      const targetId = (await listAgents(db))[0]?.targetId ?? '';
      const plan: Target[] = [{ name: 'bw-openssl', version: '1:3.3.5-5.azl3' }];
      const env = { PATH: `/usr/local/sbin:${process.env['PATH'] ?? ''}` };
      const send = (argv: readonly string[]) => runAgentTask(db, targetId, 'exec', argv, { timeoutMs: NEVER_MS, pollMs: 50 });
      // Tasks one at a time, each answered by a pass of the agent on `h`.
      const onHost = async (h: RpmHostFiles, argv: readonly string[]) => {
        const answer = send(argv);
        await waitFor(async () => (await openTasks()) > 0, { what: 'the task to be queued' });
        const pass = await agentOn(h.binds, 'dash', env, 'tasks');
        expect([pass.code, pass.stderr]).toEqual([0, '']);
        return answer;
      };
      for (const m of ['dnf', 'tdnf', 'dnf5'] as RpmManager[]) {
        const h = prepareRpmHost(join(dir, 'pm-hosts'), { name: `agent-${m}`, manager: m, localRepo: repoDir, repoUrl: `file://${repoDir}`, initial: INITIAL });
        const pm = packageManager(m);
        // What runs through the agent transport carry: the view's repository, tdnf's release version.
        const o: CommandOptions = { extra: pm.sourceArgv('fleet'), ...(m === 'tdnf' ? { releasever: '3.0' } : {}) };
        const offered = pm.readAvailable((await onHost(h, pm.availableArgvs(['bw-openssl'], o)[0] ?? [])).stdout);
        expect([m, offered.get('bw-openssl')?.map((x) => x.version)]).toEqual([m, ['1:3.3.0-2.azl3', '1:3.3.5-5.azl3']]);
        const installed = pm.readInstalled((await onHost(h, pm.installedArgvs(['bw-openssl'], o)[0] ?? [])).stdout);
        expect([m, installed.get('bw-openssl')]).toEqual([m, ['1:3.3.0-2.azl3']]);
        const pre = await onHost(h, pm.precheckArgv(plan, { ...o, exclude: ['kernel*'] }));
        expect([m, pm.readPrecheck(pre, { targets: plan, exclude: ['kernel*'] }).ok]).toEqual([m, true]);
        expect(h.installed()).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3']);
        const up = await onHost(h, pm.updateArgv(plan, o));
        expect([m, pm.readUpdate(up)]).toEqual([m, { ok: true, message: 'updated' }]);
        expect([m, h.installed()]).toEqual([m, ['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3']]);
        expect([m, h.transactions().length]).toEqual([m, 1]);
      }
    },
    HANG_GUARD_MS,
  );

  it(
    "carries out a patch run: precheck, exact update and re-scan with the host's own dnf; refuses a command that is not a package manager",
    async () => {
      const t = runTransport(db, { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: false, agentTaskTimeoutMs: NEVER_MS });
      const started = await runPolicyNow(db, 'agents', t, { actor: { kind: 'cli', name: 'test' }, detach: true });
      expect(started.hosts).toEqual([hostName]);
      // The agent's timer, sped up: each pass does the tasks waiting.
      // A pass is run whenever the run has queued a task for the agent, until the run ends.
      for (;;) {
        const next = await waitFor(
          async () => ((await showRun(db, started.run)).run.status !== 'running' ? 'ended' : (await openTasks()) > 0 ? 'queued' : null),
          { what: 'a task for the agent or the end of the run' },
        );
        if (next === 'ended') break;
        const pass = await agent('tasks');
        expect(pass.stderr).toBe('');
      }
      const { run, steps } = await showRun(db, started.run);
      expect([run.status, steps.map((s) => `${s.kind}:${s.state}:${(s.output ?? '').slice(0, 400)}`)]).toEqual(['done', expect.anything()]);
      expect(run.status).toBe('done');
      expect(steps.map((s) => `${s.kind}:${s.state}`)).toEqual(['precheck:done', 'update:done', 'rescan:done']);
      expect(steps[1]?.output ?? '').toMatch(/bw-openssl/);
      expect(host.installed()).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3']);
      expect(host.transactions()).toBe(1);
      expect((await findFindings(db, { hosts: [hostName], status: ['fixed'] })).map((x) => x.advisoryId)).toEqual(['ADV-1']);

      const targetId = (await findFindings(db, { hosts: [hostName], status: ['fixed'] }))[0]?.targetId ?? '';
      const refused = runAgentTask(db, targetId, 'exec', ['sh', '-c', 'touch /tmp/bulwark-agent-must-not-run'], { timeoutMs: NEVER_MS, pollMs: 50 });
      await waitFor(async () => (await openTasks()) > 0, { what: 'the task to be queued' });
      await agent('tasks');
      const r = await refused;
      expect(r.code).toBe(126);
      expect(r.stdout).toMatch(/refused: sh is not a package manager/);
      // apt-cache (read-only: the versions a Debian host is offered, for superseded fixes) is run.
      const shown = runAgentTask(db, targetId, 'exec', ['apt-cache', 'show', 'bash'], { timeoutMs: NEVER_MS, pollMs: 50 });
      await waitFor(async () => (await openTasks()) > 0, { what: 'the task to be queued' });
      await agent('tasks');
      const a = await shown;
      expect([a.code, /^Package: bash$/m.test(a.stdout)]).toEqual([0, true]);

      // A revoked agent is refused from then on.
      const agentId = /^agent=(\S+)$/m.exec(readFileSync(join(agentDir, 'config'), 'utf8'))?.[1] ?? '';
      expect((await runCli(['--db', join(dir, 'b.db'), 'agents', 'revoke', agentId])).code).toBe(0);
      const after = await agent('report');
      expect(after.code).toBe(1);
      expect(after.stderr).toMatch(/report refused \(401\): .*unknown or revoked agent/);
    },
    HANG_GUARD_MS,
  );
});
