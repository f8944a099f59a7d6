import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { buildAptRepo, serveDir, startAptHost, type AptHost } from './ssh-fleet.js';
import { requires, sshdHosts, tools } from './needs.js';

/**
 * Issue #5's end-to-end test for Debian: a flat apt repository served over HTTP, two sshd hosts
 * with their own dpkg databases at old versions, a Debian OSV feed, and `bulwark run --policy`
 * patching the canary, then the other host, with the hosts' own apt-get (lists refreshed first,
 * exact `name=version`, an epoch included, a superseded fix resolved to the lowest later build the
 * archive offers); an excluded package stays.
 */
const needs = requires(sshdHosts(), tools('dpkg-deb', 'dpkg-scanpackages', 'apt-get', 'dpkg-query'));

const OLD = ['bw-libssl_3.0.11-1~deb12u1', 'bw-perl_5.36.0-7', 'bw-tzdata_2024a-0+deb12u1'];

const OSV = [
  {
    id: 'DSA-9001-1',
    summary: 'bw-libssl, bw-perl security update',
    published: new Date().toISOString(),
    modified: new Date().toISOString(),
    aliases: ['CVE-2026-2001'],
    affected: [
      { package: { ecosystem: 'Debian:12', name: 'bw-libssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.15-1~deb12u1' }] }] },
      { package: { ecosystem: 'Debian:12', name: 'bw-perl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:5.36.0-7+deb12u2' }] }] },
    ],
  },
  {
    id: 'DLA-9002-1',
    summary: 'bw-tzdata update',
    published: new Date().toISOString(),
    modified: new Date().toISOString(),
    affected: [
      { package: { ecosystem: 'Debian:12', name: 'bw-tzdata' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2025b-0+deb12u1' }] }] },
    ],
  },
];

const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: debian
scope: { releases: ["debian:12"] }
cadence: { monthly: { weekday: tuesday, week: 2 } }
exclude: [bw-tzdata]
rollout:
  rings: [{ name: canary, hosts: [deb-1] }, { name: rest, percent: 100 }]
  maxConcurrency: 2
  failureThreshold: 0
reboot: never
`;

needs.describe('end to end: Debian hosts patched with their own apt over SSH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-e2e-apt-'));
  const env = { BULWARK_DATABASE_URL: `sqlite:${join(dir, 'bulwark.db')}`, USER: 'alice' };
  const knownHosts = join(dir, 'known_hosts');
  const hosts: AptHost[] = [];
  let server: { url: string; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    const repo = buildAptRepo(join(dir, 'repo'), [
      { name: 'bw-libssl', version: '3.0.11-1~deb12u1' },
      { name: 'bw-libssl', version: '3.0.15-1~deb12u1' },
      { name: 'bw-libssl', version: '3.5.0-1' },
      { name: 'bw-perl', version: '5.36.0-7' },
      // The advisory's fix (1:5.36.0-7+deb12u2) is superseded, as Debian's archive does it: only
      // the later build is offered.
      { name: 'bw-perl', version: '1:5.36.0-7+deb12u3' },
      { name: 'bw-perl', version: '1:5.38.2-1' },
      { name: 'bw-tzdata', version: '2024a-0+deb12u1' },
      { name: 'bw-tzdata', version: '2025b-0+deb12u1' },
    ]);
    server = await serveDir(repo);
    for (const [i, name] of ['deb-1', 'deb-2'].entries())
      hosts.push(
        await startAptHost(join(dir, 'hosts'), {
          name,
          address: `127.0.0.${String(70 + i)}`,
          port: 2270 + i,
          repoUrl: server.url,
          initial: OLD.map((d) => join(repo, `${d}_all.deb`)),
          ...(hosts[0] !== undefined ? { clientKey: hosts[0].clientKey } : {}),
        }),
      );
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    writeFileSync(join(dir, 'osv.json'), JSON.stringify(OSV));
  }, 180_000);

  afterAll(async () => {
    for (const h of hosts) await h.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('updates exactly the planned packages to exactly the planned versions (not the newest), canary first; the excluded package stays; findings close', async () => {
    const ok = async (...args: string[]): Promise<string> => {
      const r = await runCli(args, env);
      expect(r.code === 0 ? 0 : `exit ${String(r.code)}: ${r.err}${r.out}`).toBe(0);
      return r.out;
    };
    await ok('feeds', 'add', 'debian-osv', '--format', 'osv', '--location', join(dir, 'osv.json'));
    for (const h of hosts) await ok('hosts', 'add', h.name, '--address', `root@${h.address}:${String(h.port)}`, '--identity', h.clientKey);
    await ok('feeds', 'sync', '--source', 'debian-osv');
    // Three advisory findings, and Debian 12's end of regular security support (2026-07-11, lifecycle catalog) as a fourth.
    expect(await ok('scan', '--all', '--accept-new-host-key', '--known-hosts', knownHosts)).toMatch(/deb-1: debian:12, 4 findings/);
    await ok('policy', 'apply', '-f', join(dir, 'policy.yaml'));
    const out = await ok('run', '--policy', 'debian', '--known-hosts', knownHosts, '--json');
    const report = JSON.parse(out) as {
      run: { status: string };
      steps: { targetName: string; kind: string; state: string; startedAt: string; finishedAt: string; output: string }[];
    };
    expect(report.run.status).toBe('done');
    expect(report.steps.map((s) => `${s.targetName}:${s.kind}:${s.state}`)).toEqual(
      ['deb-1', 'deb-2'].flatMap((h) => [`${h}:precheck:done`, `${h}:update:done`, `${h}:rescan:done`]),
    );
    const canaryEnd = Math.max(...report.steps.filter((s) => s.targetName === 'deb-1').map((s) => Date.parse(s.finishedAt)));
    expect(report.steps.filter((s) => s.targetName === 'deb-2').every((s) => Date.parse(s.startedAt) >= canaryEnd)).toBe(true);
    expect(report.steps[0]?.output).toMatch(/apt-get -q update/);
    // 3.5.0-1 is in the repository too: the update goes to the planned version, not the newest;
    // perl's planned build is no longer offered: the lowest later one (not 5.38) is taken, and said.
    for (const h of hosts)
      expect([h.name, h.installed()]).toEqual([h.name, ['bw-libssl=3.0.15-1~deb12u1', 'bw-perl=1:5.36.0-7+deb12u3', 'bw-tzdata=2024a-0+deb12u1']]);
    expect(report.steps[0]?.output).toMatch(/resolved: bw-perl 1:5\.36\.0-7\+deb12u3 \(the planned 1:5\.36\.0-7\+deb12u2 is no longer offered\)/);
    const fixed = (JSON.parse(await ok('findings', '--format', 'json', '--status', 'fixed')) as { findings: { targetName: string; package: string }[] })
      .findings;
    expect(fixed.map((f) => `${f.targetName}:${f.package}`).sort()).toEqual(['deb-1:bw-libssl', 'deb-1:bw-perl', 'deb-2:bw-libssl', 'deb-2:bw-perl']);
    const open = (JSON.parse(await ok('findings', '--format', 'json')) as { findings: { targetName: string; package: string }[] }).findings;
    expect(open.map((f) => `${f.targetName}:${f.package}`).sort()).toEqual(['deb-1:(release)', 'deb-1:bw-tzdata', 'deb-2:(release)', 'deb-2:bw-tzdata']);
  }, 300_000);
});
