import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { rng } from '../../../test/random.js';
import type { InstalledPackage } from '../../core/target.js';
import type { Db } from '../database.js';
import { transaction } from '../database.js';
import { learnedSourceNames, learnSourceNames, learnSourceNamesOfMany } from './source-names.js';
import { removeTarget, upsertTarget } from './targets.js';

const R = 'azurelinux:3.0';
const now = '2026-12-06T00:00:00.000Z';

const pkg = (name: string, sourceName: string | null, o: Partial<InstalledPackage> = {}): InstalledPackage => ({
  family: 'rpm',
  name,
  epoch: null,
  version: '1.0',
  release: '1.azl3',
  arch: 'x86_64',
  sourceName,
  sourceVersion: null,
  ...o,
});

/**
 * The claims model of issue #13, kept the plain way: per target, per release, binary → source,
 * a later report replacing only that target's pairs, a removed target's claims gone. The
 * stored counts (issue #14: per fact, not per host x binary) must answer exactly as it does.
 */
class Model {
  readonly claims = new Map<string, Map<string, Map<string, string>>>();
  learn(release: string, target: string, packages: readonly InstalledPackage[]): void {
    const byRelease = this.claims.get(target) ?? new Map<string, Map<string, string>>();
    this.claims.set(target, byRelease);
    const pairs = byRelease.get(release) ?? new Map<string, string>();
    for (const p of packages)
      if (p.family === 'rpm' && p.sourceName !== null && (p.sourceOrigin === undefined || p.sourceOrigin === 'given')) pairs.set(p.name, p.sourceName);
    if (pairs.size > 0) byRelease.set(release, pairs);
  }
  remove(target: string): void {
    this.claims.delete(target);
  }
  answer(release: string, names: readonly string[]): Map<string, Map<string, number>> {
    const out = new Map<string, Map<string, number>>();
    for (const byRelease of this.claims.values())
      for (const [name, source] of byRelease.get(release) ?? [])
        if (names.includes(name)) {
          const m = out.get(name) ?? new Map<string, number>();
          m.set(source, (m.get(source) ?? 0) + 1);
          out.set(name, m);
        }
    return out;
  }
}

describe.each(testDatabases())('learned source claims on $name (issues #13, #14)', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('answers as the per-target claims did through bulk learning, single reports, changed sources, other releases and removed targets', async () => {
    const model = new Model();
    const rand = rng(7);
    const names = Array.from({ length: 40 }, (_, i) => `bin-${String(i)}`);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await upsertTarget(db, { name: `h-${String(i)}`, kind: 'host', release: R }, now)).id);
    // A host's inventory: most binaries, each from its usual source, some from another, some
    // with no source given, some resolved (which teach nothing).
    const inventory = (): InstalledPackage[] =>
      names.flatMap((n, j) => {
        const r = rand();
        if (r < 0.1) return [];
        if (r < 0.15) return [pkg(n, `other-${String(j % 3)}`)];
        if (r < 0.2) return [pkg(n, null)];
        if (r < 0.25) return [pkg(n, `src-${String(j % 7)}`, { sourceOrigin: 'shipped' })];
        return [pkg(n, `src-${String(j % 7)}`)];
      });
    // Bulk, in two batches, one target listed twice in a batch.
    const first = ids.slice(0, 20).map((targetId) => ({ targetId, packages: inventory() }));
    first.push({ targetId: ids[3] as string, packages: inventory() });
    await transaction(db, (tx) => learnSourceNamesOfMany(tx, R, first, now));
    for (const f of first) model.learn(R, f.targetId, f.packages);
    const second = ids.slice(15).map((targetId) => ({ targetId, packages: inventory() }));
    await transaction(db, (tx) => learnSourceNamesOfMany(tx, R, second, now));
    for (const f of second) model.learn(R, f.targetId, f.packages);
    // Reports one by one, some the same again, one in another release.
    for (let k = 0; k < 40; k++) {
      const t = ids[Math.floor(rand() * ids.length)] as string;
      const release = k % 13 === 0 ? 'azurelinux:2.0' : R;
      const packages = k % 5 === 0 ? [pkg('bin-1', 'src-1')] : inventory();
      await transaction(db, (tx) => learnSourceNames(tx, release, t, packages, now));
      model.learn(release, t, packages);
    }
    expect(await learnedSourceNames(db, R, names)).toEqual(model.answer(R, names));
    expect(await learnedSourceNames(db, 'azurelinux:2.0', names)).toEqual(model.answer('azurelinux:2.0', names));
    for (const t of ids.slice(0, 10)) {
      await transaction(db, (tx) => removeTarget(tx, t));
      model.remove(t);
    }
    expect(await learnedSourceNames(db, R, names)).toEqual(model.answer(R, names));
    expect(await learnedSourceNames(db, 'azurelinux:2.0', names)).toEqual(model.answer('azurelinux:2.0', names));
    for (const t of ids.slice(10)) await transaction(db, (tx) => removeTarget(tx, t));
    expect(await learnedSourceNames(db, R, names)).toEqual(new Map());
  });
});
