import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { agentReportText } from '../../test/real-fleet.js';
import type { Advisory } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import {
  digestOf,
  heldDigestText,
  listFindings,
  loadInventory,
  packageKey,
  rawKysely,
  transaction,
  upsertAdvisories,
  type AgentRow,
} from '../storage/index.js';
import { reportDeltaCounts } from './agent-report-delta.js';
import { acceptAgentReport } from './agents.js';
import { saveInventoryWithSources } from './source-names.js';
import { scanAll } from './scan.js';
import type { Db } from './store.js';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';
import { enrolledAgent } from '../../test/agent-fixture.js';

/**
 * Issue #14: an agent report that changes packages is stored and matched incrementally (only
 * the changed names re-matched; only the held builds of the changed buckets of names read back,
 * through the held digest), in one transaction. After a random sequence of such reports the
 * findings must be exactly what a full re-scan of the same hosts finds (`scan --all`), and every
 * host must hold exactly what it last reported.
 */
const R = 'azurelinux:3.0';
const NAMES = [...Array.from({ length: 40 }, (_, i) => `pkg-${String(i)}`), 'a', 'kernel', 'openssl-libs', 'python3'];
// A name that is not plain ASCII has no bucket: the host holding it is read whole (no digest).
const ODD = 'pkg-é';
const sourceOf = (name: string): string => (name.startsWith('pkg-') ? `src-${String(name.length % 7)}` : name);

function advisories(): Advisory[] {
  const out: Advisory[] = [];
  for (let k = 0; k < 7; k++)
    out.push(
      testAdvisory({
        source: 'inc-test',
        id: `INC-SRC-${String(k)}`,
        title: 'by source',
        fixes: [fixedIn(R, `src-${String(k)}`, `1.${String(k % 5)}-2.azl3`)],
      }),
    );
  for (const [i, name] of [...NAMES, ODD].entries())
    if (i % 3 === 0)
      out.push(
        testAdvisory({
          source: 'inc-test',
          id: `INC-BIN-${String(i)}`,
          title: 'by binary',
          severity: i % 2 === 0 ? 'critical' : 'low',
          fixes: [fixedIn(R, name, i % 9 === 0 ? null : '1.3-1.azl3', { packageKind: 'binary', status: i % 9 === 0 ? 'no-fix-yet' : 'fixed' })],
        }),
      );
  return out;
}

/** A small deterministic generator (mulberry32): the sequence is the same on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pkg = (name: string, v: number, arch = 'x86_64'): InstalledPackage => ({
  family: 'rpm',
  name,
  epoch: null,
  version: `1.${String(v)}`,
  release: `${String(1 + (v % 3))}.azl3`,
  arch,
  sourceName: sourceOf(name),
  sourceVersion: null,
});

describe.each(testDatabases())('agent reports that change packages on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('leave the findings a full re-scan finds, and each host holding what it reported', async () => {
    await transaction(db, (tx) => upsertAdvisories(tx, advisories(), new Date().toISOString()));
    const key = randomBytes(32);
    const agents: AgentRow[] = [];
    for (let i = 0; i < 4; i++) {
      agents.push(await enrolledAgent(db, key, `inc-${String(i)}`));
    }
    const next = rng(14);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    // Each host: name → its build (a few names twice, for two arches).
    const held = agents.map(() => new Map<string, InstalledPackage>());
    for (const h of held) for (const n of NAMES) if (next() < 0.6) h.set(`${n}/x86_64`, pkg(n, Math.floor(next() * 6)));
    const texts = (h: Map<string, InstalledPackage>): string => agentReportText([...h.values()]);
    for (const [i, a] of agents.entries()) expect(await acceptAgentReport(db, a, texts(held[i] as Map<string, InstalledPackage>))).toMatch(/^ok \d+ packages/);
    let digestsUsed = 0;
    const deltasBefore = reportDeltaCounts.delta;
    for (let round = 0; round < 40; round++) {
      const i = Math.floor(next() * agents.length);
      const h = held[i] as Map<string, InstalledPackage>;
      // One to three changes: a build up or down, a package removed, one added, another arch beside.
      for (let c = 0, n = 1 + Math.floor(next() * 3); c < n; c++) {
        const what = next();
        const name = round % 13 === 5 && c === 0 ? ODD : pick(NAMES);
        const k = `${name}/x86_64`;
        if (what < 0.5 || name === ODD) h.set(k, pkg(name, Math.floor(next() * 6)));
        else if (what < 0.7) h.delete(k);
        else if (what < 0.85) h.set(`${name}/aarch64`, pkg(name, Math.floor(next() * 6), 'aarch64'));
        else h.delete(pick([...h.keys()]));
      }
      const agent = agents[i] as AgentRow;
      // Now and then the host's inventory is stored another way (an import, an SSH collection) in
      // between: the report after it must not be taken as a difference from the one before.
      if (round % 11 === 7) {
        const other = pkg(NAMES[round % NAMES.length] as string, 9);
        h.set(`${other.name}/x86_64`, other);
        await transaction(db, (tx) =>
          saveInventoryWithSources(
            tx,
            {
              targetId: agent.targetId,
              collectedAt: new Date().toISOString(),
              release: R,
              arch: 'x86_64',
              runningKernel: null,
              rebootRequired: null,
              packages: [...h.values()],
            },
            new Date().toISOString(),
          ),
        );
      }
      const row = await rawKysely(db).selectFrom('targets').select('held_digest').where('id', '=', agent.targetId).executeTakeFirstOrThrow();
      if (row.held_digest !== null) digestsUsed++;
      const line = await acceptAgentReport(db, agent, texts(h));
      expect(line).toMatch(/^ok \d+ packages, \d+ findings/);
    }
    // The digest was there for most reports (not for those after a report holding the odd name),
    // and most were stored as the difference from the one before (agent-report-delta.ts).
    expect(digestsUsed).toBeGreaterThan(20);
    expect(reportDeltaCounts.delta - deltasBefore).toBeGreaterThan(15);
    const view = async (): Promise<string[]> =>
      (await listFindings(db))
        .map((f) => [f.targetId, f.advisoryId, f.package, f.installed, f.fixed, f.severity, f.status, f.reason, f.firstSeen, f.closedAt].join(' '))
        .sort();
    const incremental = await view();
    expect(incremental.length).toBeGreaterThan(20);
    // A full re-scan of every host changes nothing.
    const full = await scanAll(db);
    expect(full.failures).toEqual([]);
    for (const s of full.scanned) expect([s.target, s.counts.opened, s.counts.reopened, s.counts.closed]).toEqual([s.target, 0, 0, 0]);
    expect(await view()).toEqual(incremental);
    // Every host holds what it last reported, build for build.
    const shown = (p: InstalledPackage): string => `${p.name} ${p.version}-${p.release ?? ''} ${p.arch} ${p.sourceName ?? ''}`;
    for (const [i, a] of agents.entries())
      expect((await loadInventory(db, a.targetId)).map(shown).sort()).toEqual([...(held[i] as Map<string, InstalledPackage>).values()].map(shown).sort());
    // Each host's held digest (which a report stored whole trusts to skip reading buckets) is
    // the digest of what it holds, whichever way its last report was stored.
    for (const a of agents) {
      const row = await rawKysely(db).selectFrom('targets').select(['held_digest', 'inventory_sha256']).where('id', '=', a.targetId).executeTakeFirstOrThrow();
      const inv = await loadInventory(db, a.targetId);
      const d = digestOf(
        inv.map((p) => packageKey(p)),
        inv.map((p) => p.name),
      );
      expect(row.held_digest).toBe(d === null || row.inventory_sha256 === null ? null : heldDigestText(row.inventory_sha256, d.digest));
    }
  }, 120_000);

  it('match a changed package against its advisory as stored now, after the advisory changed (advisories are kept by fingerprint)', async () => {
    const advisory = (fixed: string): Advisory =>
      testAdvisory({ source: 'inc-fp', id: 'INC-FP-1', title: 'kept by fingerprint', fixes: [fixedIn(R, 'pkg-1', fixed, { packageKind: 'binary' })] });
    await transaction(db, (tx) => upsertAdvisories(tx, [advisory('1.3-1.azl3')], new Date().toISOString()));
    const agent = await enrolledAgent(db, randomBytes(32), 'inc-fp');
    const at = (release: string): InstalledPackage[] => [pkg('pkg-0', 1), { ...pkg('pkg-1', 2), release }, pkg('pkg-2', 3)];
    expect(await acceptAgentReport(db, agent, agentReportText(at('1.azl3')))).toBe('ok 3 packages, 1 findings (1 new, 0 closed)\n');
    // A changed build, read against the advisory as it is (and kept by its fingerprint).
    expect(await acceptAgentReport(db, agent, agentReportText(at('2.azl3')))).toBe('ok 3 packages, 1 findings (0 new, 0 closed)\n');
    // The feed moves the fix below the installed build: the next report of a changed build reads
    // the advisory anew (its fingerprint changed) and the finding closes.
    await transaction(db, (tx) => upsertAdvisories(tx, [advisory('1.1-1.azl3')], new Date().toISOString()));
    expect(await acceptAgentReport(db, agent, agentReportText(at('3.azl3')))).toBe('ok 3 packages, 0 findings (0 new, 1 closed)\n');
  });

  it('read a report stored whole line by line only when its host reports again (a fleet reporting in turn forgets it first)', async () => {
    await transaction(db, (tx) => upsertAdvisories(tx, advisories(), new Date().toISOString()));
    const key = randomBytes(32);
    const agent = await enrolledAgent(db, key, 'inc-read');
    const held = NAMES.slice(0, 20).map((n, i) => pkg(n, i % 6));
    const before = { ...reportDeltaCounts };
    expect(await acceptAgentReport(db, agent, agentReportText(held))).toMatch(/^ok 20 packages/);
    expect([reportDeltaCounts.whole - before.whole, reportDeltaCounts.read - before.read]).toEqual([1, 0]);
    // The next report differs in one build: the last one is read now, and this one is its difference.
    held[3] = pkg(held[3]!.name, 5);
    expect(await acceptAgentReport(db, agent, agentReportText(held))).toMatch(/^ok 20 packages/);
    expect([reportDeltaCounts.whole - before.whole, reportDeltaCounts.read - before.read, reportDeltaCounts.delta - before.delta]).toEqual([1, 1, 1]);
    // Remembered as read: the one after is a difference again, with nothing read anew.
    held[4] = pkg(held[4]!.name, 5);
    expect(await acceptAgentReport(db, agent, agentReportText(held))).toMatch(/^ok 20 packages/);
    expect([reportDeltaCounts.whole - before.whole, reportDeltaCounts.read - before.read, reportDeltaCounts.delta - before.delta]).toEqual([1, 1, 2]);
    expect((await loadInventory(db, agent.targetId)).map((p) => `${p.name} ${p.version}`).sort()).toEqual(held.map((p) => `${p.name} ${p.version}`).sort());
  });
});
