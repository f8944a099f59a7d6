import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer } from '../src/api/server.js';
import { createEnrollmentToken } from '../src/services/agents.js';
import { addSource, syncSource } from '../src/services/feeds.js';
import { findFindings } from '../src/services/report.js';
import { openStore, type Db } from '../src/services/store.js';
import { getTarget } from '../src/storage/index.js';
import { HANG_GUARD_MS } from './events.js';
import { requires, root, tool } from './needs.js';
import { refusingTransport } from './refusing-transport.js';
import { inNamespace } from './ssh-fleet.js';

/**
 * Issue #16 item 7 on agent hosts: the real bulwark-agent.sh, run with dash in a mount namespace
 * whose /etc/os-release, dpkg database and apt sources are an Ubuntu 20.04 host's (bound over
 * the machine's), reports to `bulwark serve` on loopback. Its report carries the ESM apt sources
 * and what the Pro client says (a `pro` on PATH answering as ubuntu-pro-client does), so that
 * Canonical's real USN-7786-1 (esm-infra, feeds/osv/__fixtures__) is an ordinary fix on a host
 * with esm-infra enabled and "fix needs Ubuntu Pro" on one without; enabling it later (with a
 * package change in the same report) makes the fix ordinary at once.
 */
const needs = requires(
  tool('unshare'),
  root('binding a host tree over /etc and /var/lib/dpkg'),
  tool('/bin/dash', { probe: ['-c', 'true'], name: 'dash' }),
  tool('curl'),
  tool('dpkg-query'),
);
const USN = join(import.meta.dirname, '..', 'src', 'feeds', 'osv', '__fixtures__', 'ubuntu-USN-7786-1.pro.trimmed.json');
const ESM_INFRA_LIST = '# Written by ubuntu-pro-client\ndeb https://esm.ubuntu.com/infra/ubuntu focal-infra-security main\n';
// `pro status --format json` of ubuntu-pro-client 30+, trimmed to what is read.
const PRO_STATUS = JSON.stringify({
  attached: true,
  services: [
    { name: 'esm-apps', entitled: 'yes', status: 'disabled' },
    { name: 'esm-infra', entitled: 'yes', status: 'enabled' },
    { name: 'livepatch', entitled: 'yes', status: 'enabled' },
  ],
});

needs.describe('agent reports carry Ubuntu Pro channels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-agent-streams-'));
  const script = join(dir, 'bulwark-agent');
  let db: Db;
  let server: { url: string; close: () => Promise<void> };

  const pkg = (name: string, version: string, source = 'openssl'): string =>
    `Package: ${name}\nStatus: install ok installed\nPriority: optional\nSection: utils\nInstalled-Size: 1\nMaintainer: Ubuntu Developers\nArchitecture: amd64\nSource: ${source}\nVersion: ${version}\nDescription: ${name}\n`;

  /** An Ubuntu 20.04 host's files, the agent's configuration directory, and how to run the agent there. */
  const host = (name: string, o: { esmSources: boolean; proClient: boolean }) => {
    const h = join(dir, name);
    const dpkg = join(h, 'var-lib-dpkg');
    const sources = join(h, 'sources.list.d');
    const bin = join(h, 'bin');
    for (const d of [join(dpkg, 'info'), join(dpkg, 'updates'), sources, bin]) mkdirSync(d, { recursive: true });
    writeFileSync(join(h, 'os-release'), 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="20.04"\nVERSION_CODENAME=focal\n');
    const packages = (extra: string[]): void => {
      writeFileSync(join(dpkg, 'status'), [pkg('openssl', '1.1.1f-1ubuntu2.24'), pkg('libssl1.1', '1.1.1f-1ubuntu2.24'), ...extra].join('\n'));
    };
    packages([]);
    if (o.esmSources) writeFileSync(join(sources, 'ubuntu-esm-infra.list'), ESM_INFRA_LIST);
    writeFileSync(join(sources, 'ubuntu.sources'), 'Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: focal\nComponents: main\n');
    if (o.proClient) {
      writeFileSync(join(bin, 'pro'), `#!/bin/sh\n[ "$*" = 'status --format json' ] || exit 2\ncat <<'EOF'\n${PRO_STATUS}\nEOF\n`);
      chmodSync(join(bin, 'pro'), 0o755);
    }
    const binds = [
      [join(h, 'os-release'), '/etc/os-release'],
      [dpkg, '/var/lib/dpkg'],
      [sources, '/etc/apt/sources.list.d'],
    ] as const;
    const env = { ...process.env, BULWARK_AGENT_DIR: join(h, 'agent-etc'), PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
    const agent = (...args: string[]) => inNamespace(binds, ['dash', script, ...args], env);
    return { agent, packages, sources };
  };

  const enroll = async (h: ReturnType<typeof host>): Promise<string> => {
    const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'user', name: 'test' } });
    const r = await h.agent('enroll', server.url, token);
    expect(r.code, r.stderr).toBe(0);
    const name = /host (\S+)/.exec(r.stdout)?.[1];
    expect(name, r.stdout).toBeDefined();
    return name ?? '';
  };

  const report = async (h: ReturnType<typeof host>): Promise<void> => {
    const r = await h.agent('report');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok \d+ packages/);
  };

  const fixes = async (name: string): Promise<string[]> =>
    (await findFindings(db, { hosts: [name], status: ['open', 'no-fix'] }))
      .filter((f) => f.advisorySource === 'usn')
      .map((f) => `${f.package} ${f.status} ${f.fixed ?? '-'} ${f.reason ?? ''}`.trim())
      .sort();

  beforeAll(async () => {
    db = await openStore({ dbPath: join(dir, 'b.db') });
    server = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'known_hosts'),
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: randomBytes(32),
    });
    // The script as the server serves it.
    writeFileSync(script, await (await fetch(`${server.url}/agent/v1/bulwark-agent.sh`)).text());
    await addSource(db, { id: 'usn', format: 'osv', location: USN });
    expect(await syncSource(db, 'usn')).toMatchObject({ status: 'synced', advisories: 1 });
  }, HANG_GUARD_MS);

  afterAll(async () => {
    await server.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'a Pro fix is an ordinary finding on agent hosts with esm-infra enabled (by the Pro client or by its apt source), "needs Ubuntu Pro" elsewhere',
    async () => {
      const client = host('client', { esmSources: false, proClient: true });
      const sources = host('sources', { esmSources: true, proClient: false });
      const plain = host('plain', { esmSources: false, proClient: false });
      const names = { client: await enroll(client), sources: await enroll(sources), plain: await enroll(plain) };
      for (const h of [client, sources, plain]) await report(h);
      const pro = ['Ubuntu Pro (esm)', 'Ubuntu Pro (esm-infra)'];
      expect((await getTarget(db, names.client))?.streams).toEqual({ modules: null, channels: pro });
      expect((await getTarget(db, names.sources))?.streams).toEqual({ modules: null, channels: pro });
      expect((await getTarget(db, names.plain))?.streams).toEqual({ modules: null, channels: [] });
      const ordinary = ['libssl1.1 open 1.1.1f-1ubuntu2.24+esm1', 'openssl open 1.1.1f-1ubuntu2.24+esm1'];
      expect(await fixes(names.client)).toEqual(ordinary);
      expect(await fixes(names.sources)).toEqual(ordinary);
      expect(await fixes(names.plain)).toEqual([
        'libssl1.1 no-fix - fix needs Ubuntu Pro (esm-infra), not enabled on this host (1.1.1f-1ubuntu2.24+esm1)',
        'openssl no-fix - fix needs Ubuntu Pro (esm-infra), not enabled on this host (1.1.1f-1ubuntu2.24+esm1)',
      ]);
      // Pro attached later, in a report that also changed a package: every fix is judged again.
      writeFileSync(join(plain.sources, 'ubuntu-esm-infra.list'), ESM_INFRA_LIST);
      plain.packages([pkg('zlib1g', '1:1.2.11.dfsg-2ubuntu1.5', 'zlib')]);
      await report(plain);
      expect((await getTarget(db, names.plain))?.streams.channels).toEqual(pro);
      expect(await fixes(names.plain)).toEqual(ordinary);
    },
    HANG_GUARD_MS,
  );
});
