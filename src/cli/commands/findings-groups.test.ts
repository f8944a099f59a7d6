import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../../../test/cli.js';

/** Issue #17: `findings --group` folds a fix's binaries into one line; the ungrouped output is unchanged. */
const dir = mkdtempSync(join(tmpdir(), 'bulwark-findings-groups-'));
const db = join(dir, 'g.db');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('lists one line per advisory or source package, worst first, with binaries and hosts counted', async () => {
  expect((await runCli(['--db', db, 'demo'])).code).toBe(0);
  const byAdvisory = await runCli(['--db', db, 'findings', '--group', 'advisory']);
  expect(byAdvisory.code).toBe(0);
  const lines = byAdvisory.out.trim().split('\n');
  expect(lines[0]).toMatch(/^SEVERITY\s+ADVISORY\s+CVES\s+HOSTS\s+FINDINGS\s+BINARIES\s+TITLE$/);
  expect(lines.slice(1, -1).map((l) => l.split(/\s{2,}/).slice(0, 2))).toEqual([
    ['critical', 'DEMO-2024-0002'],
    ['high', 'DEMO-2024-0001'],
    ['high', 'DEMO-2024-0005'],
    ['low', 'DEMO-2024-0007'],
  ]);
  expect(lines[2]).toContain('openssl openssl-libs');
  expect(lines.at(-1)).toBe('4 advisories, 6 findings');
  const bySource = await runCli(['--db', db, 'findings', '--group', 'source', '--severity', 'high', '--format', 'json']);
  const json = JSON.parse(bySource.out) as { by: string; groups: { key: string; findings: number }[] };
  expect(json.groups.map((g) => [g.key, g.findings])).toEqual([
    ['golang', 1],
    ['kernel', 2],
    ['openssl', 2],
  ]);
  // Unchanged without --group: one line per finding.
  expect((await runCli(['--db', db, 'findings'])).out.trim().split('\n').at(-1)).toBe('6 findings');
  const refused = await runCli(['--db', db, 'findings', '--group', 'source', '--format', 'csv']);
  expect([refused.code, refused.err]).toEqual([2, expect.stringContaining('writes a table or json')]);
});
