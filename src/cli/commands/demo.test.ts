import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/cli.js';

describe('bulwark demo', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-demo-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingests, scans and reports exactly the affected packages; a rerun changes nothing', async () => {
    const db = join(dir, 'b.db');
    const first = await runCli(['--db', db, 'demo']);
    expect(first.code).toBe(0);
    const text = first.out;
    expect(text).toContain('6 added, 0 changed, 0 unchanged, 0 withdrawn, 0 bad records skipped');
    expect(text).toContain('10 packages');
    expect(text).toContain('scan: 6 new, 0 still present, 0 reopened, 0 closed');
    expect(text).toContain('6 findings (5 with a fix, 1 without one)');
    const rows = text.split('\n').filter((l) => /^(critical|high|medium|low)\s/.test(l));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 3).join(' ')).sort()).toEqual(
      [
        'critical DEMO-2024-0002 golang',
        'high DEMO-2024-0001 openssl',
        'high DEMO-2024-0001 openssl-libs',
        'high DEMO-2024-0005 kernel',
        'high DEMO-2024-0005 kernel-tools',
        'low DEMO-2024-0007 vim',
      ].sort(),
    );
    // perl 4:5.38.2 is newer than the fix 0:5.38.2-510 (the epoch decides); curl is at the fix.
    expect(text).not.toMatch(/perl|curl/);

    const second = await runCli(['--db', db, 'demo']);
    expect(second.code).toBe(0);
    expect(second.out).toContain('0 added, 0 changed, 6 unchanged');
    expect(second.out).toContain('scan: 0 new, 6 still present, 0 reopened, 0 closed');
  });

  it('uses the default SQLite file under XDG_DATA_HOME', async () => {
    const r = await runCli(['demo'], { XDG_DATA_HOME: dir });
    expect(r.code).toBe(0);
    expect(r.out).toContain(join(dir, 'bulwark', 'bulwark.db'));
  });

  it('says clearly when the database cannot be opened', async () => {
    writeFileSync(join(dir, 'file'), '');
    const bad = join(dir, 'file', 'b.db');
    const r = await runCli(['--db', bad, 'demo']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^bulwark: cannot open SQLite database .*file\/b\.db: E(NOTDIR|EXIST)\n$/);
  });
});
