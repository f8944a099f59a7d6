import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import type { Advisory } from '../core/advisory.js';
import { transaction, type Db } from './database.js';
import { countActiveFindings, loadAdvisoriesWithPks, markWithdrawn, recordFindings, upsertAdvisories, upsertTarget } from './index.js';
import { directStatement } from './sqlite-direct.js';

const NOW = '2026-11-01T00:00:00.000Z';
const R = 'azurelinux:3.0';

const advisory = (id: string, packages: string[]): Advisory => ({
  source: 'direct-test',
  id,
  title: id,
  description: '',
  severity: 'high',
  cvssScore: null,
  cvssVector: null,
  cves: [`CVE-2026-${id.slice(-1)}1`, `CVE-2026-${id.slice(-1)}0`],
  references: [
    { type: 'web', id: null, url: `https://example.test/${id}/b` },
    { type: 'advisory', id, url: `https://example.test/${id}/a` },
  ],
  publishedAt: null,
  updatedAt: null,
  parser: 'test@1',
  fixes: packages.flatMap((p, i) => [
    {
      release: R,
      package: p,
      packageKind: 'binary' as const,
      arch: null,
      status: 'fixed' as const,
      fixed: `1.${String(i)}-1`,
      lastAffected: null,
      introduced: null,
    },
    {
      release: 'debian:13',
      package: p,
      packageKind: 'source' as const,
      arch: null,
      status: 'fixed' as const,
      fixed: '2.0-1',
      lastAffected: null,
      introduced: null,
    },
  ]),
});

/**
 * Issue #14: the statements of an agent report's transaction run on SQLite as kept better-sqlite3
 * statements (sqlite-direct.ts), written beside the Kysely query each replaces. The same reads,
 * inside a transaction (the kept statements) and outside (Kysely), must answer the same.
 */
describe.each(testDatabases())('statements kept for SQLite transactions on $name', ({ name, open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('are used only inside a SQLite transaction', async () => {
    expect(directStatement(db, 'select 1')).toBeNull();
    const inside = await transaction(db, (tx) => Promise.resolve(directStatement(tx, 'select 1 as one')?.get() ?? null));
    expect(inside).toEqual(name === 'sqlite' ? { one: 1 } : null);
  });

  it('read the advisories, their fixes of a release and the active findings as Kysely does', async () => {
    await transaction(db, (tx) =>
      upsertAdvisories(tx, [advisory('DT-1', ['openssl', 'curl']), advisory('DT-2', ['curl']), advisory('DT-3', ['zlib']), advisory('DT-4', ['openssl'])], NOW),
    );
    // A withdrawn advisory is read by neither.
    expect(await transaction(db, (tx) => markWithdrawn(tx, 'direct-test', new Set(['DT-1', 'DT-2', 'DT-3']), NOW))).toBe(1);
    const filters = [
      { release: R, packages: ['openssl', 'curl'] },
      { release: R, packages: ['zlib', 'nothing'] },
      { release: 'debian:13', packages: ['curl'] },
      { packages: ['curl'] },
    ];
    for (const f of filters) {
      const outside = await loadAdvisoriesWithPks(db, f);
      expect(outside.length).toBeGreaterThan(0);
      expect(await transaction(db, (tx) => loadAdvisoriesWithPks(tx, f))).toEqual(outside);
    }
    const pks = (await loadAdvisoriesWithPks(db, { release: R, packages: ['openssl', 'curl', 'zlib'] })).map((a) => a.pk);
    const byPk = await loadAdvisoriesWithPks(db, { release: R, pks });
    expect(byPk.map((a) => a.advisory.fixes.length)).toEqual([2, 1, 1]);
    expect(await transaction(db, (tx) => loadAdvisoriesWithPks(tx, { release: R, pks }))).toEqual(byPk);
    const t = await upsertTarget(db, { name: 'direct-host', kind: 'host', address: 'agent://x', tags: [] }, NOW);
    const finding = (id: string, pkg: string) => ({
      advisorySource: 'direct-test',
      advisoryId: id,
      package: pkg,
      arch: 'x86_64',
      installed: '1.0-1',
      fixed: '1.1-1',
      severity: 'high' as const,
      status: 'open' as const,
    });
    await transaction(db, (tx) => recordFindings(tx, t.id, [finding('DT-1', 'openssl'), finding('DT-1', 'curl'), finding('DT-2', 'curl')], [], NOW));
    // One closed (absent from the next set): three stored, two active.
    await transaction(db, (tx) => recordFindings(tx, t.id, [finding('DT-1', 'openssl'), finding('DT-2', 'curl')], [], NOW));
    expect(await countActiveFindings(db, t.id)).toBe(2);
    expect(await transaction(db, (tx) => countActiveFindings(tx, t.id))).toBe(2);
  });
});
