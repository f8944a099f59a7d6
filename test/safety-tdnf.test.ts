import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { HANG_GUARD_MS } from './events.js';
import { requires, sshdHosts, testbedTool, tools } from './needs.js';
import { startRpmHost, type RpmHost } from './pm-hosts.js';
import { advisorySsl, INITIAL, INITIAL_QA, overSsh, PKGS, RPM_QA } from './safety-fleet.js';
import { buildRepo, serveDir } from './ssh-fleet.js';

/**
 * Issue #15's rollback on an Azure Linux 3.0-shaped host whose package manager is the real tdnf
 * 3.5.9 (../shared/testbed), over SSH: a gate fails after the update, and the rollback undoes the
 * update's transaction with tdnf's own history (`tdnf history undo --from N`, given tdnf's
 * configuration and release version as every tdnf command of a run is). Nothing names tdnf to
 * Bulwark: it follows from the host's release. Addresses 127.0.12.1–2 are this file's.
 */
const needs = requires(sshdHosts(), testbedTool('tdnf'), tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm'));

type Shown = { run: { status: string }; steps: { kind: string; state: string; output: string | null }[] };

needs.describe('rollback on a tdnf host, with its own history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-safety-tdnf-'));
  const env = { BULWARK_DATABASE_URL: `sqlite:${join(dir, 'bulwark.db')}`, USER: 'alice', BULWARK_SSH_KEY_DIR: join(dir, 'hosts') };
  const knownHosts = join(dir, 'known_hosts');
  let host: RpmHost | undefined;
  let server: { url: string; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    const repo = buildRepo(join(dir, 'repo'), PKGS, [advisorySsl()]);
    server = await serveDir(repo);
    host = await startRpmHost(join(dir, 'hosts'), {
      name: 'azl-safe',
      manager: 'tdnf',
      address: '127.0.12.1',
      port: 23_201,
      localRepo: repo,
      repoUrl: server.url,
      initial: INITIAL,
    });
    // Nothing listens on the gate's port: the gate fails after the update.
    writeFileSync(
      join(dir, 'policy.yaml'),
      `apiVersion: bulwark/v1
kind: Policy
name: azl-safe
scope: { releases: ["azurelinux:3.0"] }
cadence: { monthly: { weekday: tuesday, week: 2 } }
rollout: { rings: [{ name: all, percent: 100 }], failureThreshold: 0 }
reboot: never
gates: [{ tcp: 18514 }]
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
    'undoes the update transaction with tdnf history undo: the old builds back (rpm -qa over SSH), the update and its undo in tdnf history, the ring halted, every step journaled',
    async () => {
      const h = host as RpmHost;
      const ok = async (...args: string[]): Promise<string> => {
        const r = await runCli(args, env);
        expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}${r.out}`).toBe(0);
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
      await ok('hosts', 'add', h.name, '--address', `root@${h.address}:${String(h.port)}`, '--identity', h.clientKey);
      await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts);
      await ok('feeds', 'sync', '--source', 'fleet');
      await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
      const r = await runCli(['run', '--policy', 'azl-safe', '--known-hosts', knownHosts, '--json'], env);
      const report = JSON.parse(r.out) as Shown;
      expect(report.run.status).toBe('halted');
      expect(
        report.steps.map((s) => `${s.kind}:${s.state}`),
        report.steps[0]?.output ?? '',
      ).toEqual(['precheck:done', 'update:done', 'gate:failed', 'rescan:skipped', 'rollback:done']);
      const rollback = report.steps.find((s) => s.kind === 'rollback')?.output ?? '';
      expect(rollback).toMatch(/^tdnf history undo 2: exit 0\n/);
      expect(rollback).toMatch(/verified: bw-curl 0:8\.8\.0-1\.azl3; bw-openssl 1:3\.3\.0-2\.azl3/);
      // What the host says: its old builds, and tdnf's history with the update and its undo (after its "(set)" baseline).
      expect(overSsh(h, knownHosts, RPM_QA).trim().split('\n').sort()).toEqual(INITIAL_QA);
      expect(h.installed()).toEqual(INITIAL_QA);
      const history = JSON.parse(overSsh(h, knownHosts, 'tdnf -c /etc/tdnf/tdnf.conf --releasever=3.0 -j history list')) as { Id: number; CmdLine: string }[];
      expect(history.map((e) => [e.Id, e.CmdLine])).toEqual([
        [1, '(set)'],
        [2, expect.stringMatching(/-y install bw-curl-0:8\.11\.1-3\.azl3 bw-openssl-1:3\.3\.5-5\.azl3$/)],
        // tdnf records its options before the command words.
        [3, '-c /etc/tdnf/tdnf.conf --releasever=3.0 -y --from 2 history undo'],
      ]);
    },
    HANG_GUARD_MS,
  );
});
