import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/cli.js';
import { freshPgSchema, pgAvailable } from '../../../test/databases.js';

// `bulwark findings accept | unaccept` through the CLI, on SQLite and on PostgreSQL: the finding
// changes, `findings` shows it only with --status accepted, --fail-on leaves it out, and each
// command is audited once as the OS user.

function advisory(id: string, cve: string, pkg: string, fixed: string): Record<string, unknown> {
  return {
    id,
    title: `${id} in ${pkg}`,
    description: '',
    severity: 'critical',
    cvssScore: null,
    cvssVector: null,
    cves: [cve],
    references: [],
    publishedAt: '2026-01-01T00:00:00Z',
    updatedAt: null,
    parser: 'native@1',
    fixes: [{ release: 'azurelinux:3.0', package: pkg, packageKind: 'source', arch: null, status: 'fixed', fixed, lastAffected: null, introduced: null }],
  };
}

const databases: { name: string; prepare: (dir: string) => Promise<{ args: string[]; env: NodeJS.ProcessEnv; drop: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    prepare: (dir) => Promise.resolve({ args: ['--db', join(dir, 'b.db')], env: { BULWARK_DATABASE_URL: '' }, drop: () => Promise.resolve() }),
  },
  ...(pgAvailable
    ? [
        {
          name: 'postgres',
          prepare: async () => {
            const s = await freshPgSchema();
            return { args: [], env: { BULWARK_DATABASE_URL: s.url }, drop: s.drop };
          },
        },
      ]
    : []),
];

describe.each(databases)('bulwark findings accept | unaccept on $name', ({ prepare }) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-accept-'));
  let db: { args: string[]; env: NodeJS.ProcessEnv; drop: () => Promise<void> };
  const run = (...args: string[]) => runCli([...db.args, ...args], { ...db.env, USER: 'someone-else' });
  const me = `cli:${userInfo().username}`;
  const audit = async (): Promise<{ action: string; actor: string; subject: string }[]> => {
    // Its exit and stderr first: a CI run once saw an empty stdout here, and nothing said why.
    const r = await run('audit', '--json', '--limit', '1000');
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    return (JSON.parse(r.out) as { action: string; actor: string; subject: string }[]).filter((e) => e.action.startsWith('finding.'));
  };

  beforeAll(async () => {
    db = await prepare(dir);
    const feed = join(dir, 'feed.json');
    writeFileSync(
      feed,
      JSON.stringify({
        source: 'acc',
        advisories: [advisory('ACC-1', 'CVE-2026-2001', 'openssl', '0:3.3.2-1.azl3'), advisory('ACC-2', 'CVE-2026-2002', 'curl', '0:8.11.0-1.azl3')],
      }),
    );
    const inv = join(dir, 'inv.tsv');
    writeFileSync(inv, 'openssl\t0\t3.3.0\t1.azl3\tx86_64\topenssl-3.3.0-1.azl3.src.rpm\ncurl\t0\t8.8.0\t1.azl3\tx86_64\tcurl-8.8.0-1.azl3.src.rpm\n');
    expect((await run('feeds', 'add', 'acc', '--format', 'native', '--location', feed)).code).toBe(0);
    expect((await run('feeds', 'sync', '--source', 'acc')).code).toBe(0);
    for (const h of ['web-01', 'web-02']) expect((await run('scan', '--inventory', inv, '--name', h, '--release', 'azurelinux:3.0')).code).toBe(0);
    expect((await run('hosts', 'tag', 'web-02', '--tag', 'dmz')).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts with a reason and an expiry, audited once as the OS user; findings and --fail-on leave it out unless asked', async () => {
    const r = await run('findings', 'accept', '--host', 'web-01', '--cve', 'CVE-2026-2001', '--reason', 'only on localhost', '--until', '2099-12-31');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/^web-01 +ACC-1 +openssl +x86_64 +open +accepted$/m);
    expect(r.out).toMatch(/1 finding accepted until 2099-12-31T23:59:59\.000Z/);
    expect((await audit()).map((e) => [e.action, e.actor, e.subject])).toEqual([['finding.accept', me, 'ACC-1']]);
    const open = JSON.parse((await run('findings', '--host', 'web-01', '--format', 'json')).out) as { findings: { advisoryId: string }[] };
    expect(open.findings.map((f) => f.advisoryId)).toEqual(['ACC-2']);
    const acc = JSON.parse((await run('findings', '--status', 'accepted', '--format', 'json')).out) as { findings: Record<string, unknown>[] };
    expect(acc.findings.map((f) => [f['targetName'], f['advisoryId'], f['status'], f['reason'], f['acceptedBy'], f['acceptedUntil']])).toEqual([
      ['web-01', 'ACC-1', 'accepted', 'only on localhost', me, '2099-12-31T23:59:59.000Z'],
    ]);
    // ACC-2 is still open and critical on web-01: --fail-on fails; once it is accepted too, it does not.
    expect((await run('findings', '--host', 'web-01', '--fail-on', 'critical')).code).toBe(1);
    expect((await run('findings', 'accept', '--host', 'web-01', '--advisory', 'ACC-2', '--reason', 'curl unused', '--format', 'json')).code).toBe(0);
    expect((await run('findings', '--host', 'web-01', '--fail-on', 'critical')).code).toBe(0);
    // The listing's own --host goes on working beside the subcommands'.
    const web02 = JSON.parse((await run('findings', '--host', 'web-02', '--format', 'json')).out) as { findings: { advisoryId: string }[] };
    expect(web02.findings.map((f) => f.advisoryId).sort()).toEqual(['ACC-1', 'ACC-2']);
  });

  it('refuses what it cannot do with a usage exit, and records nothing', async () => {
    const before = (await audit()).length;
    const cases: [string[], RegExp][] = [
      [['findings', 'accept', '--host', 'web-02', '--cve', 'CVE-2026-2001'], /needs --reason/],
      [['findings', 'accept', '--host', 'web-02', '--cve', 'CVE-2026-2001', '--reason', 'x', '--until', '2020-01-01'], /not in the future/],
      [['findings', 'accept', '--host', 'web-2', '--cve', 'CVE-2026-2001', '--reason', 'x'], /no host or image named "web-2"/],
      [['findings', 'accept', '--cve', 'CVE-2026-2001', '--reason', 'x'], /--host NAME or --tag TAG/],
      [['findings', 'unaccept', '--host', 'web-02', '--cve', 'CVE-2026-2001'], /no accepted finding matches/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(...args);
      expect([args.join(' '), r.code, msg.test(r.err)]).toEqual([args.join(' '), 2, true]);
    }
    expect((await audit()).length).toBe(before);
  });

  it('accepts by tag and unaccepts: the findings are open again, audited once', async () => {
    expect((await run('findings', 'accept', '--tag', 'dmz', '--cve', 'CVE-2026-2002', '--package', 'curl', '--reason', 'WAF in front')).code).toBe(0);
    const r = await run('findings', 'unaccept', '--host', 'web-01', '--host', 'web-02', '--cve', 'CVE-2026-2002', '--reason', 'WAF gone', '--format', 'json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { findings: { host: string; was: string }[] }).findings.map((f) => [f.host, f.was])).toEqual([
      ['web-01', 'accepted'],
      ['web-02', 'accepted'],
    ]);
    const open = JSON.parse((await run('findings', '--cve', 'CVE-2026-2002', '--format', 'json')).out) as {
      findings: { targetName: string; status: string }[];
    };
    expect(open.findings.map((f) => [f.targetName, f.status]).sort()).toEqual([
      ['web-01', 'open'],
      ['web-02', 'open'],
    ]);
    expect((await audit()).map((e) => e.action)).toEqual(['finding.unaccept', 'finding.accept', 'finding.accept', 'finding.accept']);
  });
});
