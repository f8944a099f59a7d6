import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { agentReportText } from '../../test/real-fleet.js';
import type { Advisory } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import { listFindings, loadInventory, rawKysely, transaction, upsertAdvisories, type AgentRow } from '../storage/index.js';
import { forgetReport, reportDeltaCounts } from './agent-report-delta.js';
import { acceptAgentReport } from './agents.js';
import type { Db } from './store.js';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';
import { enrolledAgent } from '../../test/agent-fixture.js';

/**
 * Issue #14: a report of a host the server does not remember (a fleet larger than it remembers,
 * reporting in turn) is stored as its difference from what the store holds for the host
 * (agent-report-store.ts). Two hosts get the same reports: one forgotten before each (the
 * difference from the store), one whose stored digest is cleared before each (stored whole).
 * After every report both must hold the same rows, findings, claims and target fields.
 */
const R = 'azurelinux:3.0';
const T0 = Date.parse('2026-03-01T00:00:00Z');

const advisory = (id: string, pkg: string, kind: 'source' | 'binary', fixed: string): Advisory =>
  testAdvisory({ source: 'store-test', id, fixes: [fixedIn(R, pkg, fixed, { packageKind: kind })] });

const ADVISORIES = [
  advisory('ST-1', 'app-a', 'binary', '1.5-1.azl3'),
  advisory('ST-2', 'src-b', 'source', '2.0-1.azl3'),
  advisory('ST-3', 'src-new', 'source', '9.0-1.azl3'),
  advisory('ST-4', 'lib-e', 'binary', '1:0.1-1.azl3'),
  advisory('ST-5', 'tool-f', 'binary', '3.0-1.azl3'),
];

const pkg = (name: string, version: string, o: Partial<InstalledPackage> = {}): InstalledPackage => ({
  family: 'rpm',
  name,
  epoch: null,
  version,
  release: '1.azl3',
  arch: 'x86_64',
  sourceName: `src-${name.slice(-1)}`,
  sourceVersion: null,
  ...o,
});

/** A report with another kernel line (what the report says beside its packages changes too). */
const withKernel = (text: string, kernel: string): string => text.replace('6.6.57.1-2.azl3', kernel);

describe.each(testDatabases())('agent reports of a host the server does not remember, on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('store the difference from what the store holds: the same rows, findings and claims as storing whole', async () => {
    await transaction(db, (tx) => upsertAdvisories(tx, ADVISORIES, new Date(T0).toISOString()));
    const key = randomBytes(32);
    const enroll = (hostname: string): Promise<AgentRow> => enrolledAgent(db, key, hostname);
    const fromStore = await enroll('from-store');
    const whole = await enroll('whole');
    let held = [
      pkg('app-a', '1.2'),
      pkg('app-b', '1.0'),
      pkg('lib-c', '0.9'),
      pkg('lib-d', '2.1'),
      pkg('lib-e', '0.3'),
      pkg('tool-f', '3.0'),
      pkg('tool-g', '0.1', { sourceName: 'src-b' }),
    ];
    const text = (): string => agentReportText(held);
    const view = async (a: AgentRow): Promise<unknown> => {
      const row = await rawKysely(db)
        .selectFrom('targets')
        .select([
          'release_id',
          'running_kernel',
          'inventory_at',
          'inventory_sha256',
          'held_digest',
          'module_streams',
          'channels',
          'live_patches',
          'reboot_required',
          'arch',
          'image',
          'kind',
        ])
        .where('id', '=', a.targetId)
        .executeTakeFirstOrThrow();
      const claims = await rawKysely(db).selectFrom('source_claim_sets').select(['release_id', 'claims']).where('target_id', '=', a.targetId).execute();
      const findings = (await listFindings(db))
        .filter((f) => f.targetId === a.targetId)
        .map((f) => [f.advisoryId, f.package, f.installed, f.fixed, f.severity, f.status, f.reason, f.firstSeen, f.closedAt].join(' '))
        .sort();
      const inventory = (await loadInventory(db, a.targetId)).map((p) => JSON.stringify(p)).sort();
      return { row, claims, findings, inventory };
    };
    let round = 0;
    const report = async (t: string): Promise<{ store: string; whole: string; stored: number }> => {
      round++;
      const clock = (): Date => new Date(T0 + round * 60_000);
      forgetReport(db, fromStore.targetId);
      forgetReport(db, whole.targetId);
      await rawKysely(db).updateTable('targets').set({ held_digest: null }).where('id', '=', whole.targetId).execute();
      const before = reportDeltaCounts.stored;
      const s = await acceptAgentReport(db, fromStore, t, null, clock);
      const stored = reportDeltaCounts.stored - before;
      const w = await acceptAgentReport(db, whole, t, null, clock);
      expect(reportDeltaCounts.stored - before).toBe(stored);
      expect(await view(fromStore)).toEqual(await view(whole));
      return { store: s, whole: w, stored };
    };
    const first = await report(text());
    expect(first).toEqual({ store: first.whole, whole: first.whole, stored: 0 });
    const steps: [string, () => string, number][] = [
      // app-a up to its fixed build (closes ST-1); tool-f down below its fix (opens ST-5).
      [
        'a finding closed, one opened',
        () => ((held = held.map((p) => (p.name === 'app-a' ? pkg('app-a', '1.5') : p.name === 'tool-f' ? pkg('tool-f', '2.9') : p))), text()),
        1,
      ],
      ['a package removed, one added', () => ((held = [...held.filter((p) => p.name !== 'lib-c'), pkg('lib-h', '1.0', { sourceName: 'src-new' })]), text()), 1],
      ['an epoch change', () => ((held = held.map((p) => (p.name === 'lib-e' ? pkg('lib-e', '0.3', { epoch: 1 }) : p))), text()), 1],
      ['a source name change', () => ((held = held.map((p) => (p.name === 'app-b' ? pkg('app-b', '1.0', { sourceName: 'src-new' }) : p))), text()), 1],
      [
        'another kernel beside a package change',
        () => ((held = held.map((p) => (p.name === 'lib-d' ? pkg('lib-d', '2.2') : p))), withKernel(text(), '6.6.60.1-1.azl3')),
        1,
      ],
      // A line repeated: merged by the whole report (onceEach); this path leaves it to the whole way.
      ['a repeated line', () => ((held = held.map((p) => (p.name === 'app-a' ? pkg('app-a', '1.1') : p))), text().replace(/^(app-b\t.*)$/m, '$1\n$1')), 0],
      ['the report after it', () => ((held = held.map((p) => (p.name === 'app-b' ? pkg('app-b', '1.1', { sourceName: 'src-b' }) : p))), text()), 1],
      // Two builds of one name from two sources (which one a whole report claims depends on their order): the whole way.
      ['two sources for a name', () => ((held = [...held, pkg('tool-g', '0.1', { arch: 'aarch64', sourceName: 'src-g' })]), text()), 0],
      ['nothing but the order of two lines', () => ((held = [held[1] as InstalledPackage, held[0] as InstalledPackage, ...held.slice(2)]), text()), 0],
    ];
    const seen: string[] = [];
    let opened = 0;
    let closed = 0;
    for (const [what, next] of steps) {
      const r = await report(next());
      seen.push(`${what}: ${String(r.stored)} ${String(r.store === r.whole)}`);
      const m = /^ok \d+ packages, \d+ findings \((\d+) new, (\d+) closed\)\n$/.exec(r.store);
      expect(m).not.toBeNull();
      if (r.stored === 1) [opened, closed] = [opened + Number(m?.[1]), closed + Number(m?.[2])];
    }
    expect(seen).toEqual(steps.map(([what, , stored]) => `${what}: ${String(stored)} true`));
    // Reports taken as the difference opened findings and closed others (by binary, by source, by epoch).
    expect([opened > 0, closed > 0]).toEqual([true, true]);
  });
  // The packages rows a report's difference looks up are kept by key (inventory-delta.ts); a row
  // inserted by a transaction that then failed must not be: SQLite hands its pk out again.
  it('a build added by a report whose transaction failed is not taken for the build that got its pk next', async () => {
    const key = randomBytes(32);
    const a = await enrolledAgent(db, key, 'failing');
    const b = await enrolledAgent(db, key, 'next');
    const base = [pkg('app-a', '1.0'), pkg('lib-c', '0.9')];
    let round = 0;
    const clock = (): Date => new Date(T0 + ++round * 60_000);
    await acceptAgentReport(db, a, agentReportText(base), null, clock);
    await acceptAgentReport(db, a, agentReportText([...base, pkg('tool-g', '0.5')]), null, clock);
    expect(reportDeltaCounts.delta + reportDeltaCounts.stored).toBeGreaterThan(0);
    const k = rawKysely(db);
    const added = pkg('tool-new', '7.0');
    if (db.dialect === 'sqlite')
      await sql`create trigger zz_fail before update of inventory_sha256 on targets begin select raise(abort, 'injected failure'); end`.execute(k);
    else {
      await sql`create function zz_fail() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(k);
      await sql`create trigger zz_fail before update of inventory_sha256 on targets for each row execute function zz_fail()`.execute(k);
    }
    const deltasBefore = reportDeltaCounts.delta + reportDeltaCounts.stored;
    await expect(acceptAgentReport(db, a, agentReportText([...base, pkg('tool-g', '0.5'), added]), null, clock)).rejects.toThrow(/injected failure/);
    await sql.raw(db.dialect === 'sqlite' ? 'drop trigger zz_fail' : 'drop trigger zz_fail on targets').execute(k);
    const freed = await k
      .selectFrom('packages')
      .select((eb) => eb.fn.max('pk').as('pk'))
      .executeTakeFirstOrThrow();
    // Another host's new build takes the pk the failed report's build had.
    await acceptAgentReport(db, b, agentReportText([pkg('other-z', '5.0')]), null, clock);
    const other = await k.selectFrom('packages').select('pk').where('name', '=', 'other-z').executeTakeFirstOrThrow();
    // SQLite hands the pk out again; a PostgreSQL sequence does not (the case cannot arise there).
    expect(other.pk).toBe(freed.pk + (db.dialect === 'sqlite' ? 1 : 2));
    await acceptAgentReport(db, a, agentReportText([...base, pkg('tool-g', '0.5'), added]), null, clock);
    expect(reportDeltaCounts.delta + reportDeltaCounts.stored).toBeGreaterThan(deltasBefore);
    const names = (await loadInventory(db, a.targetId)).map((p) => `${p.name}-${p.version}`).sort();
    expect(names).toEqual(['app-a-1.0', 'lib-c-0.9', 'tool-g-0.5', 'tool-new-7.0']);
  });
});
