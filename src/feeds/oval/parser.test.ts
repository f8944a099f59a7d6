import { execFileSync } from 'node:child_process';
import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Advisory } from '../../core/advisory.js';
import { feedDocuments } from '../../lib/archive.js';
import { sharedData } from '../../../test/shared-data.js';
import type { FeedWarning } from '../types.js';
import { normaliseDate } from '../dates.js';
import { parseOval } from './parser.js';

const FIX = join(import.meta.dirname, '__fixtures__');

async function parse(path: string, release?: string): Promise<{ advisories: Advisory[]; warnings: FeedWarning[] }> {
  const advisories: Advisory[] = [];
  const warnings: FeedWarning[] = [];
  for await (const doc of feedDocuments(createReadStream(path), path, { maxDocumentBytes: 1 << 30, maxTotalBytes: 1 << 30 }))
    for await (const a of parseOval(doc.bytes, { source: 'test', name: doc.name, release, warn: (w) => warnings.push(w) })) advisories.push(a);
  return { advisories, warnings };
}

const byId = (as: Advisory[], id: string): Advisory => {
  const a = as.find((x) => x.id === id);
  if (!a) throw new Error(`no ${id}`);
  return a;
};

describe('OVAL: Microsoft Azure Linux / CBL-Mariner shape', () => {
  it('turns "less than" plus a "greater than" lower bound into one fixed source-package fix with the dist tag kept', async () => {
    const { advisories } = await parse(join(FIX, 'azurelinux-mini.xml'));
    const a = byId(advisories, 'oval:com.microsoft.azurelinux:def:1');
    expect(a).toMatchObject({
      source: 'test',
      kind: 'security',
      severity: 'medium',
      cves: ['CVE-2023-29409'],
      publishedAt: '2024-03-19T17:21:46.000Z',
      parser: 'oval@4',
    });
    expect(a.fixes).toEqual([
      {
        release: 'azurelinux:3.0',
        package: 'golang',
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed: '0:1.20.7-1.azl3',
        lastAffected: null,
        introduced: { version: '0:0.0.0.azl3', inclusive: false },
        epochUnreliable: true,
      },
    ]);
    expect(a.oval?.kind).toBe('criteria');
  });

  it('keeps the feed\'s "0:" epoch as written (the matcher corrects it and says so)', async () => {
    const { advisories } = await parse(join(FIX, 'azurelinux-mini.xml'));
    expect(byId(advisories, 'oval:com.microsoft.azurelinux:def:3').fixes[0]).toMatchObject({ package: 'perl', fixed: '0:5.38.2-510.azl3', status: 'fixed' });
  });

  it('skips a comma-list version with a warning naming the definition, and still yields the advisory', async () => {
    const { advisories, warnings } = await parse(join(FIX, 'azurelinux-mini.xml'));
    expect(byId(advisories, 'oval:com.microsoft.azurelinux:def:2').fixes).toEqual([]);
    expect(warnings).toContainEqual({ record: 'oval:com.microsoft.azurelinux:def:2', message: expect.stringMatching(/comma-separated list/) as string });
    expect(advisories).toHaveLength(3);
  });

  it('maps patchable=false to no-fix-yet (last affected = the "less than or equal" version) and Not Applicable to not-affected', async () => {
    const { advisories, warnings } = await parse(join(FIX, 'mariner-2.0-statuses.xml'));
    expect(byId(advisories, 'oval:com.microsoft.cbl-mariner:def:10').fixes).toEqual([
      {
        release: 'mariner:2.0',
        package: 'vim',
        packageKind: 'source',
        arch: null,
        status: 'no-fix-yet',
        fixed: null,
        lastAffected: '0:9.0.1-1.cm2',
        introduced: null,
        epochUnreliable: true,
      },
    ]);
    expect(byId(advisories, 'oval:com.microsoft.cbl-mariner:def:11').fixes).toEqual([
      {
        release: 'mariner:2.0',
        package: 'nghttp2',
        packageKind: 'source',
        arch: null,
        status: 'not-affected',
        fixed: null,
        lastAffected: null,
        introduced: null,
        epochUnreliable: true,
      },
    ]);
    expect(byId(advisories, 'oval:com.microsoft.cbl-mariner:def:12').fixes).toEqual([]);
    expect(byId(advisories, 'oval:com.microsoft.cbl-mariner:def:13').fixes).toEqual([]);
    expect(warnings.map((w) => w.record)).toEqual(['oval:com.microsoft.cbl-mariner:def:12', 'oval:com.microsoft.cbl-mariner:def:13']);
    expect(warnings[1]?.message).toMatch(/white space/);
  });

  it("uses the source's release over the dist tag when one is given", async () => {
    const { advisories } = await parse(join(FIX, 'azurelinux-mini.xml'), 'azurelinux:3.0');
    expect(byId(advisories, 'oval:com.microsoft.azurelinux:def:1').fixes[0]?.release).toBe('azurelinux:3.0');
  });
});

describe('OVAL: Red Hat shape', () => {
  it('derives binary fixes from the OR of (version AND signature) branches, ignoring platform and signature conditions', async () => {
    const { advisories, warnings } = await parse(join(FIX, 'redhat-mini.xml'));
    expect(advisories.map((a) => a.id)).toEqual(['oval:com.redhat.rhsa:def:20237747']); // the inventory definition is not an advisory
    const a = advisories[0]!;
    expect(a).toMatchObject({
      severity: 'high',
      cves: ['CVE-2023-38545'],
      cvssScore: 9.8,
      publishedAt: '2023-12-12T00:00:00.000Z',
      updatedAt: '2023-12-13T00:00:00.000Z',
    });
    expect(a.cvssVector).toBe('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H');
    expect(a.references).toContainEqual({ type: 'bugzilla', id: '2241933', url: 'https://bugzilla.redhat.com/2241933' });
    expect(a.fixes).toEqual(
      ['curl', 'libcurl'].map((p) => ({
        release: 'rhel:9',
        package: p,
        packageKind: 'binary',
        arch: null,
        status: 'fixed',
        fixed: '0:7.76.1-26.el9_3.2',
        lastAffected: null,
        introduced: null,
      })),
    );
    expect(warnings).toEqual([]);
    // The platform check is inlined for literal evaluation.
    const json = JSON.stringify(a.oval);
    expect(json).toContain('"definition":"oval:com.redhat.rhba:def:20191992003"');
    expect(json).toContain('redhat-release is version 9');
  });
});

describe('OVAL: Canonical shape', () => {
  it('expands constant_variable name lists into one binary fix per package, release from the codename', async () => {
    const { advisories } = await parse(join(FIX, 'ubuntu-mini.xml'));
    const a = byId(advisories, 'oval:com.ubuntu.noble:def:77861000000');
    expect(a).toMatchObject({ severity: 'medium', cvssScore: 7.5, cves: ['CVE-2025-9230'] });
    expect(a.fixes.map((f) => [f.release, f.package, f.packageKind, f.status, f.fixed])).toEqual([
      ['ubuntu:24.04', 'libssl-dev', 'binary', 'fixed', '0:3.0.13-0ubuntu3.6'],
      ['ubuntu:24.04', 'libssl3t64', 'binary', 'fixed', '0:3.0.13-0ubuntu3.6'],
      ['ubuntu:24.04', 'openssl', 'binary', 'fixed', '0:3.0.13-0ubuntu3.6'],
    ]);
  });

  it('keeps a kernel USN (uname_test + variable_test) as logic only: no package fix is invented', async () => {
    const { advisories } = await parse(join(FIX, 'ubuntu-mini.xml'));
    const k = byId(advisories, 'oval:com.ubuntu.noble:def:70000000000');
    expect(k.fixes).toEqual([]);
    expect(JSON.stringify(k.oval)).toContain('uname_test');
  });
});

describe('OVAL: documents that are not OVAL', () => {
  it.each([
    ['<updates><update/></updates>', /not an OVAL definitions document/],
    ['<oval_definitions><definitions>', /1:\d+: /],
  ])('refuses %s', async (text, re) => {
    async function* one(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield new TextEncoder().encode(text);
    }
    const run = async (): Promise<void> => {
      for await (const a of parseOval(one(), { source: 's', name: 'x.xml', warn: () => undefined })) expect(a).toBeUndefined();
    };
    await expect(run()).rejects.toThrow(re);
  });
});

describe('normaliseDate', () => {
  it.each([
    ['2024-03-19T17:21:46Z', '2024-03-19T17:21:46.000Z'],
    ['2025-02-19T20:05:37.067Z', '2025-02-19T20:05:37.067Z'],
    ['2024-03-19', '2024-03-19T00:00:00.000Z'],
    ['2022-05-10 10:00:00', '2022-05-10T10:00:00.000Z'],
    ['2024-03-19T17:21:46+02:00', '2024-03-19T15:21:46.000Z'],
    ['yesterday', null],
    ['2024-13-40', null],
  ])('%s → %s', (input, out) => {
    expect(normaliseDate(input)).toBe(out);
  });
});

// The real feeds (../shared/data): every file parses, and the counts agree with counts taken
// from the raw XML by a different route (a plain text scan of the decompressed file).
const ovalDir = sharedData('azurelinux', 'oval');
describe.skipIf(ovalDir === null)('OVAL: the real Azure Linux / CBL-Mariner feeds', () => {
  const files =
    ovalDir === null ? [] : [...readdirSync(ovalDir).filter((f) => f.endsWith('.xz')), ...readdirSync(join(ovalDir, 'history')).map((f) => join('history', f))];
  it.each(files)('%s: one advisory per definition, one fix per patchable state unless its version is garbage', async (file) => {
    const path = join(ovalDir!, file);
    const raw = execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 28 }).toString('utf8');
    const definitions = raw.match(/<definition /g)?.length ?? 0;
    const count = (re: RegExp): number => raw.match(re)?.length ?? 0;
    const { advisories, warnings } = await parse(path);
    expect(advisories).toHaveLength(definitions);
    expect(new Set(advisories.map((a) => a.id)).size).toBe(definitions);
    const fixes = advisories.flatMap((a) => a.fixes);
    const status = (s: string): number => fixes.filter((f) => f.status === s).length;
    const skipped = new Set(warnings.map((w) => w.record));
    // Each Microsoft definition names one package: exactly one fix unless its state was skipped.
    expect(fixes).toHaveLength(definitions - skipped.size);
    // Statuses follow <patchable>, less the definitions skipped for a garbage version.
    const skippedWith = (p: string): number =>
      advisories.filter((a) => skipped.has(a.id) && raw.includes(`id="${a.id}"`) && patchableOf(raw, a.id) === p).length;
    expect(status('fixed')).toBe(count(/<patchable>true</g) - skippedWith('true'));
    expect(status('no-fix-yet')).toBe(count(/<patchable>false</g) - skippedWith('false'));
    expect(status('not-affected')).toBe(count(/<patchable>Not Applicable</g) - skippedWith('Not Applicable'));
    // Lower bounds: one per "greater than" state, less those of skipped definitions.
    const skippedLower = [...skipped].filter((id) => id !== null && definitionBlock(raw, id).includes('is greater than')).length;
    expect(fixes.filter((f) => f.introduced !== null)).toHaveLength(count(/operation="greater than"/g) - skippedLower);
    for (const w of warnings) expect(w.message).toMatch(/comma-separated|white space|"null"|does not start with a digit/);
  });
});

function definitionBlock(raw: string, id: string): string {
  const at = raw.indexOf(`id="${id}"`);
  return raw.slice(at, raw.indexOf('</definition>', at));
}

function patchableOf(raw: string, id: string): string | null {
  return /<patchable>([^<]*)<\/patchable>/.exec(definitionBlock(raw, id))?.[1] ?? null;
}

describe('OVAL: object names by operation (MITRE\'s test content: <name operation="pattern match">^r.m$</name>)', () => {
  it("keeps the name's operation for --oval-strict and derives no fix for a pattern", async () => {
    const xml = `<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
<definitions><definition class="vulnerability" id="oval:t:def:1" version="1"><metadata><title>t</title></metadata><criteria operator="AND"><criterion test_ref="oval:t:tst:1"/><criterion test_ref="oval:t:tst:2"/></criteria></definition></definitions>
<tests><linux-def:rpminfo_test id="oval:t:tst:1" version="1" check="all"><linux-def:object object_ref="oval:t:obj:1"/><linux-def:state state_ref="oval:t:ste:1"/></linux-def:rpminfo_test>
<linux-def:rpminfo_test id="oval:t:tst:2" version="1" check="all"><linux-def:object object_ref="oval:t:obj:2"/><linux-def:state state_ref="oval:t:ste:1"/></linux-def:rpminfo_test></tests>
<objects><linux-def:rpminfo_object id="oval:t:obj:1" version="1"><linux-def:name operation="pattern match">^r.m$</linux-def:name></linux-def:rpminfo_object>
<linux-def:rpminfo_object id="oval:t:obj:2" version="1"><linux-def:name operation="equals">rpm</linux-def:name></linux-def:rpminfo_object></objects>
<states><linux-def:rpminfo_state id="oval:t:ste:1" version="1"><linux-def:evr datatype="evr_string" operation="less than">0:4.18.0-1.el9</linux-def:evr></linux-def:rpminfo_state></states>
</oval_definitions>`;
    const advisories: Advisory[] = [];
    const warnings: FeedWarning[] = [];
    async function* once(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield Buffer.from(xml);
    }
    for await (const a of parseOval(once(), { source: 't', name: 'mitre.xml', release: 'rhel:9', warn: (w) => warnings.push(w) })) advisories.push(a);
    const oval = advisories[0]?.oval;
    expect(oval?.kind === 'criteria' ? oval.children.map((c) => (c.kind === 'criterion' ? [c.test.names, c.test.nameOperation] : null)) : null).toEqual([
      [['^r.m$'], 'pattern match'],
      [['rpm'], undefined],
    ]);
    // Before, "^r.m$" became a fix for a package of that literal name.
    expect(advisories[0]?.fixes).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([
      'test oval:t:tst:1: an object name with operation "pattern match" names no package a fix can be given for (kept for --oval-strict)',
    ]);
  });
});
