import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isBulwarkError } from '../core/errors.js';
import { shared, SHARED_DATA } from '../../test/shared-data.js';
import { testDatabases } from '../../test/databases.js';
import { addSource, syncSource } from './feeds.js';
import type { Db } from './store.js';
import { requires } from '../../test/needs.js';

// Issue #3: every file under ../shared/data/azurelinux/oval/, ../shared/data/samples/ and the
// AlmaLinux bulk archive ingests into the store with zero crashes, with advisory counts taken
// from the raw files by a route that does not use the parsers. Repository metadata files
// (repomd.xml, primary.xml) are not feeds: they must be refused with a clear error, not crash.
// All three are needed: one missing is a failure in CI and a skip elsewhere, never a smaller run.
const data = [shared('samples'), shared('azurelinux', 'oval'), shared('bulk')];
const needs = requires(data);
const roots = needs.ok ? data.map((d) => d.path) : [];

function filesUnder(d: string): string[] {
  return readdirSync(d).flatMap((e) => {
    const p = join(d, e);
    return statSync(p).isDirectory() ? filesUnder(p) : e === 'README.md' ? [] : [p];
  });
}

function text(p: string): string {
  return (p.endsWith('.xz') ? execFileSync('xz', ['-dc', p], { maxBuffer: 1 << 28 }) : readFileSync(p)).toString('utf8');
}

/** Advisories a file should give, counted without Bulwark's parsers; a string: why it is not a feed. */
function expected(p: string): number | string {
  if (p.endsWith('.tar.xz'))
    return execFileSync('tar', ['-tJf', p], { encoding: 'utf8', maxBuffer: 1 << 26 })
      .split('\n')
      .filter((l) => l.endsWith('.json')).length;
  const t = text(p);
  if (t.includes('<repomd')) return 'repository metadata';
  if (/<metadata [^>]*packages=/.test(t)) return 'a package list';
  if (t.includes('<oval_definitions')) return (t.match(/<definition /g) ?? []).length;
  if (t.includes('<updates')) return (t.match(/<update /g) ?? []).length;
  const doc = JSON.parse(t) as { document?: { category: string }; vulnerabilities?: unknown[] };
  if (doc.document !== undefined) return doc.document.category === 'csaf_vex' ? (doc.vulnerabilities?.length ?? 0) : 1;
  return 1;
}

needs.describe('every real feed file ingests (../shared/data)', () => {
  let db: Db;
  beforeAll(async () => {
    db = await testDatabases()[0]!.open();
  });
  afterAll(async () => {
    await db.close();
  });
  const files = roots.flatMap(filesUnder).sort();
  it.each(files.map((f) => [relative(SHARED_DATA, f), f]))('%s', async (_name, file) => {
    const want = expected(file);
    const id = `s${String(files.indexOf(file))}`;
    if (typeof want === 'string') {
      const err: unknown = await addSource(db, { id, location: file }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isBulwarkError(err, 'input.invalid')).toBe(true);
      expect((err as Error).message).toContain(want);
      return;
    }
    await addSource(db, { id, location: file });
    const r = await syncSource(db, id);
    expect(r.status).toBe('synced');
    // Repeated ids (AlmaLinux files some advisories under two releases) count once.
    expect(r.advisories + r.duplicates).toBe(want);
    expect(r.added).toBe(r.advisories);
  });
});
