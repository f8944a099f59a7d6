import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { agentReportText } from '../../test/real-fleet.js';
import type { InstalledPackage } from '../core/target.js';
import { loadInventory, type AgentRow } from '../storage/index.js';
import { reportDeltaCounts, splitReport } from './agent-report-delta.js';
import { agentMemoryFromEnv, DEFAULT_MEMORY_BYTES, rememberAgentReports, rememberedHosts, rememberedUsage } from './agent-report-memory.js';
import { acceptAgentReport } from './agents.js';
import type { Db } from './store.js';
import { enrolledAgent } from '../../test/agent-fixture.js';

/**
 * Issue #14: the server remembers agents' last reports within a budget of bytes (not a count of
 * hosts), the least recently reporting forgotten first; a forgotten host's next report is stored
 * from what the store holds, with the same result.
 */
const pkgs = (host: number, round: number): InstalledPackage[] =>
  Array.from({ length: 40 }, (_, i) => ({
    family: 'rpm' as const,
    name: `pkg-${String(i)}`,
    epoch: null,
    version: `1.${String(i === 7 ? round : 0)}`,
    release: `${String(host)}.azl3`,
    arch: 'x86_64',
    sourceName: `src-${String(i)}`,
    sourceVersion: null,
  }));

describe.each(testDatabases())('the memory of agents’ reports, on $name', ({ open }) => {
  let db: Db;
  const key = randomBytes(32);
  const enroll = (hostname: string): Promise<AgentRow> => enrolledAgent(db, key, hostname);
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('keeps hosts within its budget of bytes, the least recently reporting forgotten first, and stores the same either way', async () => {
    const agents = await Promise.all([0, 1, 2, 3].map((i) => enroll(`host-${String(i)}`)));
    // Round 0: each host's whole report (kept as it came); round 1: read line by line, remembered as read.
    for (const round of [0, 1]) for (const [i, a] of agents.entries()) await acceptAgentReport(db, a, agentReportText(pkgs(i, round)));
    const all = rememberedUsage(db);
    expect(all.hosts).toBe(4);
    // Room for two read reports: the two that reported last are kept.
    rememberAgentReports(db, Math.floor((all.bytes / 4) * 2.5));
    expect(rememberedHosts(db)).toEqual(agents.slice(2).map((a) => a.targetId));
    expect(rememberedUsage(db).bytes).toBeLessThanOrEqual(Math.floor((all.bytes / 4) * 2.5));
    // The first host reports again: taken from the store, remembered as the latest; host 2 goes.
    const before = { ...reportDeltaCounts };
    await acceptAgentReport(db, agents[0] as AgentRow, agentReportText(pkgs(0, 2)));
    expect(reportDeltaCounts.stored - before.stored).toBe(1);
    expect(rememberedHosts(db)).toEqual([agents[3], agents[0]].map((a) => (a as AgentRow).targetId));
    // Nothing remembered: every report from the store, stored as it says.
    rememberAgentReports(db, 0);
    expect(rememberedUsage(db)).toEqual({ hosts: 0, bytes: 0, budget: 0 });
    await acceptAgentReport(db, agents[3] as AgentRow, agentReportText(pkgs(3, 2)));
    expect(reportDeltaCounts.stored - before.stored).toBe(2);
    expect(rememberedUsage(db).hosts).toBe(0);
    const held = (await loadInventory(db, (agents[3] as AgentRow).targetId)).find((p) => p.name === 'pkg-7');
    expect(held?.version).toBe('1.2');
  });

  it('counts a host at about what it takes: a reference a line, and the text of a report not yet read', async () => {
    const a = await enroll('counted');
    const text = agentReportText(pkgs(0, 0));
    await acceptAgentReport(db, a, text);
    // Stored whole: the text as it came.
    expect(rememberedUsage(db).bytes).toBe(text.length + 2048);
    const next = agentReportText(pkgs(0, 1));
    await acceptAgentReport(db, a, next);
    // Read: a reference a line (40 packages and the blank line the report ends with), the blank's text, the rest.
    const lines = (splitReport(next) as { lines: string[] }).lines;
    expect([lines.length, lines.filter((l) => l === '').length]).toEqual([41, 1]);
    expect(rememberedUsage(db).bytes).toBe(8 * 41 + 64 * 1 + 5632);
  });
});

describe('BULWARK_AGENT_MEMORY_MB', () => {
  it('is megabytes, 128 unset, 0 for none, and anything else a configuration error naming it', () => {
    expect(agentMemoryFromEnv({})).toBe(DEFAULT_MEMORY_BYTES);
    expect(DEFAULT_MEMORY_BYTES).toBe(128 * 1024 * 1024);
    expect(agentMemoryFromEnv({ BULWARK_AGENT_MEMORY_MB: '0' })).toBe(0);
    expect(agentMemoryFromEnv({ BULWARK_AGENT_MEMORY_MB: '256' })).toBe(256 * 1024 * 1024);
    for (const bad of ['-1', '1.5', '64MB', '65537', ' 8'])
      expect(() => agentMemoryFromEnv({ BULWARK_AGENT_MEMORY_MB: bad })).toThrow(/BULWARK_AGENT_MEMORY_MB must be a whole number of megabytes/);
  });
});
