import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';
import { auditLog } from '../services/audit.js';
import { openStore } from '../services/store.js';

/**
 * Issue #19 item 3 and #17: every CLI command that changes the store is audited exactly once, by
 * the service, as the OS user (`cli:<name>`, whatever $USER says); read-only commands record
 * nothing. The commands are enumerated from the program itself (`--help` of every group), so a
 * new command fails here until it is classified below.
 */
type Kind = { reads: true } | { action: string; args: string[]; input?: string } | { exempt: string };

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-audit-'));
const db = join(dir, 'b.db');
const policy = join(dir, 'p.yaml');
writeFileSync(
  policy,
  'apiVersion: bulwark/v1\nkind: Policy\nname: audited\ncadence: { monthly: { weekday: tuesday, week: 2 } }\nrollout: { rings: [{ name: all, percent: 100 }] }\nreboot: never\n',
);

const fleet = join(dir, 'fleet.jsonl');
writeFileSync(fleet, JSON.stringify({ name: 'imported-01', inventory: 'bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n' }) + '\n');

/** Every command, by its path; the changing ones in the order they are run (later ones use what earlier ones made). */
const COMMANDS: Record<string, Kind> = {
  vercmp: { reads: true },
  demo: { exempt: 'loads sample data: its feed syncs and scans are each audited by their services (several rows, by design)' },
  'feeds list': { reads: true },
  'feeds add': { action: 'feed.add', args: ['feeds', 'add', 'audited-feed', '--format', 'osv', '--location', join(dir, 'absent.json')] },
  'feeds sync': { action: 'feed.sync', args: ['feeds', 'sync', '--source', 'audited-feed'] },
  'feeds remove': { action: 'feed.remove', args: ['feeds', 'remove', 'audited-feed'] },
  'hosts add': { action: 'host.add', args: ['hosts', 'add', 'audited-host', '--address', 'root@127.0.0.1:1'] },
  'hosts list': { reads: true },
  'hosts import': { action: 'host.import', args: ['hosts', 'import', fleet, '--release', 'azurelinux:3.0'] },
  'hosts tag': { action: 'host.tag', args: ['hosts', 'tag', 'audited-host', '--tag', 'audited'] },
  'policy apply': { action: 'policy.apply', args: ['policy', 'apply', '-f', policy] },
  'policy list': { reads: true },
  'policy schema': { reads: true },
  plan: { action: 'plan.create', args: ['plan', '--policy', 'audited'] },
  approve: { action: 'advisory.approve', args: ['approve', 'AUDIT-1', '--policy', 'audited', '--reason', 'tested'] },
  unapprove: { action: 'advisory.unapprove', args: ['unapprove', 'AUDIT-1', '--policy', 'audited'] },
  hold: { action: 'advisory.hold', args: ['hold', 'AUDIT-1', '--policy', 'audited', '--reason', 'vendor'] },
  unhold: { action: 'advisory.unhold', args: ['unhold', 'AUDIT-1', '--policy', 'audited'] },
  'hosts remove': { action: 'host.remove', args: ['hosts', 'remove', 'audited-host'] },
  decisions: { reads: true },
  scan: {
    exempt:
      'over SSH (--host, --all) each host scanned is audited as host.scan by scanHosts (walked through the API route); --inventory/--root/--local store a scan of a file as before, not audited',
  },
  'findings list': { reads: true },
  'findings accept': {
    exempt:
      'audited once as finding.accept by acceptRisk; needs a finding: src/cli/commands/findings-accept.test.ts runs it through the CLI and checks the row',
  },
  'findings unaccept': {
    exempt:
      'audited once as finding.unaccept by unacceptRisk; needs an accepted finding: src/cli/commands/findings-accept.test.ts runs it through the CLI and checks the row',
  },
  report: { reads: true },
  run: {
    exempt:
      'run --policy (run.start, then run.end), pause, resume, cancel are audited by runPolicyNow, setRunState and resumeRun, walked through the API routes; run show reads',
  },
  scheduler: { exempt: 'runs until stopped; scheduler.start is audited by schedulerStarted, and each run it starts as the scheduler' },
  serve: { exempt: 'a server: its requests are audited as the API routes are; its first admin token by createToken' },
  'tokens create': { action: 'token.create', args: ['tokens', 'create', '--name', 'audited', '--role', 'viewer'] },
  'tokens list': { reads: true },
  'tokens revoke': { exempt: 'audited as token.revoke by revokeToken (walked through the API route); needs the id create printed' },
  'repo add': { action: 'repo.add', args: ['repo', 'add', 'audited-repo', '--url', join(dir, 'no-repo'), '--no-verify'] },
  'repo list': { reads: true },
  'repo sync': { exempt: 'audited as repo.sync by syncRepo, walked through the API route with a real createrepo_c repository' },
  'repo mirror': { exempt: 'stores package files of a snapshot in the object store, not a change of the database; not audited' },
  'repo snapshots': { reads: true },
  'repo remove': { exempt: 'audited as repo.remove by removeRepo; retention.test.ts runs it through the CLI and checks the row' },
  'repo prune': { exempt: 'audited as content.prune by applyPrune (never with --dry-run); retention.test.ts runs both through the CLI and checks the rows' },
  'view publish': { exempt: 'audited as view.publish by publishView (content-views tests build real repositories)' },
  'view add-advisory': { exempt: 'audited as view.add-advisory by addAdvisoriesToView (view-incremental tests build real repositories)' },
  'view promote': { exempt: 'audited as view.promote by promoteView, walked through the API route' },
  'view list': { reads: true },
  'view deviations': { reads: true },
  'view diff': { reads: true },
  'view repo-file': { reads: true },
  'view key': { exempt: 'shows the key (reads); --next and --rotate are audited by stageNextSigningKey and rotateSigningKey' },
  'image build': { exempt: 'audited as image.build by buildImage (needs dnf --installroot; images tests)' },
  'image import': { exempt: 'writes a definition file from a config; nothing in the store changes' },
  'image list': { reads: true },
  'image sbom': { reads: true },
  'image parity': { reads: true },
  'users set': { action: 'user.set', args: ['users', 'set', 'audited', '--role', 'viewer'], input: 'correct horse battery\n' },
  'users list': { reads: true },
  'users disable': { action: 'user.disable', args: ['users', 'disable', 'audited'] },
  'agents enroll-token': { action: 'agent.enrollment-token', args: ['agents', 'enroll-token', '--url', 'https://bulwark.example'] },
  'agents list': { reads: true },
  'agents revoke': { exempt: 'audited as agent.revoke by revokeAgent, walked through the API route (needs an enrolled agent)' },
  audit: { reads: true },
  advisories: { reads: true },
  'config check': { reads: true },
  doctor: { reads: true },
  'install-service': { exempt: 'writes system files (a user, the unit, the configuration), not the store; nothing to audit' },
  backup: { exempt: 'copies the database and the object store out; nothing in the store changes' },
  restore: { exempt: "makes a new store from a backup (refuses an existing one): its audit log is the backup's" },
  'compliance report': { reads: true },
  'compliance evidence': { reads: true },
  'compliance profiles': { reads: true },
  'compliance profile set': { action: 'compliance.profile-set', args: ['compliance', 'profile', 'set', 'audited', '--days', 'critical=7'] },
  'compliance profile reset': { action: 'compliance.profile-reset', args: ['compliance', 'profile', 'reset', 'audited'] },
  'notify check': { reads: true },
  'notify deliveries': { reads: true },
  'notify retry': { exempt: 'audited as notify.retry by retryDeadLetter (needs a dead letter; notify.test.ts retries one and checks the row)' },
};

/** The program's commands, read from its own help: `bulwark --help`, then each group's. */
async function commandsOf(path: string[] = []): Promise<string[]> {
  const help = (await runCli([...path, '--help'])).out;
  // The Commands section ends at the first blank line (the examples that follow are not commands).
  const section = (help.split(/^Commands:$/m)[1] ?? '').split(/\n\s*\n/)[0] ?? '';
  const names = [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1] ?? '').filter((n) => n !== 'help');
  const out: string[] = [];
  for (const n of names) {
    const sub = await commandsOf([...path, n]);
    out.push(...(sub.length > 0 ? sub : [[...path, n].join(' ')]));
  }
  return out;
}

describe('audit of CLI commands', () => {
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('classifies every command of the program, and names none that does not exist', async () => {
    const all = await commandsOf();
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((c) => COMMANDS[c] === undefined)).toEqual([]);
    expect(Object.keys(COMMANDS).filter((c) => !all.includes(c))).toEqual([]);
  });

  it('records exactly one row for each changing command, as the OS user, not $USER', async () => {
    const env = { USER: 'someone-else', BULWARK_DATABASE_URL: '' };
    const me = `cli:${userInfo().username}`;
    const rows = async (): Promise<{ action: string; actor: string }[]> => {
      const s = await openStore({ dbPath: db, env: {} });
      try {
        return await auditLog(s, { limit: 1000 });
      } finally {
        await s.close();
      }
    };
    expect((await runCli(['--db', db, 'policy', 'list'], env)).code).toBe(0);
    for (const [name, k] of Object.entries(COMMANDS)) {
      if (!('action' in k)) continue;
      const before = (await rows()).length;
      const r = await runCli(['--db', db, ...k.args], env, k.input ?? '');
      // A sync of a file that is not there fails (exit 4), and is audited all the same.
      expect([name, r.code === 0 || (name === 'feeds sync' && r.code === 4) ? 'ran' : `${String(r.code)} ${r.err}`]).toEqual([name, 'ran']);
      const added = (await rows()).slice(0, (await rows()).length - before);
      expect([name, added.map((e) => `${e.action} by ${e.actor}`)]).toEqual([name, [`${k.action} by ${me}`]]);
    }
  }, 120_000);

  it('records nothing for read-only commands', async () => {
    const s = await openStore({ dbPath: db, env: {} });
    const count = async (): Promise<number> => (await auditLog(s, { limit: 1000 })).length;
    try {
      const before = await count();
      const args: Record<string, string[]> = {
        'view deviations': ['view', 'deviations', 'none'],
        'view diff': ['view', 'diff', 'none', '1', '2'],
        'view repo-file': ['view', 'repo-file', 'none', '--env', 'prod', '--url', 'https://b.example'],
        'image sbom': ['image', 'sbom', 'none'],
        'image parity': ['image', 'parity', 'none'],
      };
      for (const [name, k] of Object.entries(COMMANDS)) {
        if (!('reads' in k) || name === 'vercmp') continue;
        await runCli(['--db', db, ...(args[name] ?? name.split(' '))], { BULWARK_DATABASE_URL: '' });
      }
      expect(await count()).toBe(before);
    } finally {
      await s.close();
    }
  });
});
