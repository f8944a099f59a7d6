import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/cli.js';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

const V3 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H';
const V4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';

const advisory = (id: string, pkg: string, v3: boolean, v4: boolean) => ({
  id,
  title: `${id} in ${pkg}`,
  description: '',
  severity: 'high',
  cvssScore: v3 ? 7.5 : null,
  cvssVector: v3 ? V3 : null,
  ...(v4 ? { cvssV4: { vector: V4, score: 9.3 } } : {}),
  cves: [],
  references: [],
  publishedAt: '2026-01-10T00:00:00Z',
  updatedAt: null,
  parser: 'native@1',
  fixes: [
    { release: 'azurelinux:3.0', package: pkg, packageKind: 'binary', arch: null, status: 'fixed', fixed: '99:1-1', lastAffected: null, introduced: null },
  ],
});

/** Issue #16 item 2: CVSS v3 and v4.0 side by side in findings and advisories, never mixed. */
describe('CVSS v4.0 beside v3 in the outputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-cvss4-'));
  const db = join(dir, 'b.db');
  beforeAll(async () => {
    const feed = join(dir, 'adv.json');
    writeFileSync(
      feed,
      JSON.stringify({
        source: 'mine',
        advisories: [advisory('V3-ONLY', 'curl', true, false), advisory('V4-ONLY', 'openssl', false, true), advisory('BOTH', 'bash', true, true)],
      }),
    );
    const inv = join(dir, 'inv.tsv');
    writeFileSync(
      inv,
      'curl\t0\t8.0\t1.azl3\tx86_64\tcurl-8.0-1.azl3.src.rpm\nopenssl\t0\t3.0\t1.azl3\tx86_64\topenssl-3.0-1.azl3.src.rpm\nbash\t0\t5.0\t1.azl3\tx86_64\tbash-5.0-1.azl3.src.rpm\n',
    );
    expect((await run('--db', db, 'feeds', 'add', 'mine', '--format', 'native', '--location', feed)).code).toBe(0);
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'mine')).code).toBe(0);
    expect((await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-1', '--release', 'azurelinux:3.0')).code).toBe(0);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('findings JSON: cvssScore (v3) and cvssV4Score side by side; the risk order takes v3, else v4 and says so', async () => {
    const r = await run('--db', db, 'findings', '--format', 'json', '--sort', 'risk');
    expect(r.code).toBe(0);
    const { findings: rows } = JSON.parse(r.out) as {
      findings: { advisoryId: string; cvssScore: number | null; cvssV4Score: number | null; risk: { reason: string } }[];
    };
    // V4-ONLY ranks by its v4 score (9.3); BOTH by its v3 score (7.5), tied with V3-ONLY.
    expect(rows[0]?.advisoryId).toBe('V4-ONLY');
    expect(rows.map((f) => [f.advisoryId, f.cvssScore, f.cvssV4Score, f.risk.reason]).sort()).toEqual([
      ['BOTH', 7.5, 9.3, 'no EPSS score, CVSS 7.5, high'],
      ['V3-ONLY', 7.5, null, 'no EPSS score, CVSS 7.5, high'],
      ['V4-ONLY', null, 9.3, 'no EPSS score, CVSS 4.0 9.3, high'],
    ]);
  });

  it('advisories JSON: cvssV4 beside cvssScore/cvssVector, absent when the feed gave none', async () => {
    const r = await run('--db', db, 'advisories', '--source', 'mine', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { id: string; cvssScore: number | null; cvssVector: string | null; cvssV4?: { vector: string; score: number } }[];
    const byId = new Map(list.map((a) => [a.id, a]));
    expect(byId.get('BOTH')).toMatchObject({ cvssScore: 7.5, cvssVector: V3, cvssV4: { vector: V4, score: 9.3 } });
    expect(byId.get('V4-ONLY')).toMatchObject({ cvssScore: null, cvssVector: null, cvssV4: { vector: V4, score: 9.3 } });
    expect(byId.get('V3-ONLY')).not.toHaveProperty('cvssV4');
  });
});
