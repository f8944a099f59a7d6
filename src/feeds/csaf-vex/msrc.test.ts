import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Advisory } from '../../core/advisory.js';
import { feedDocuments } from '../../lib/archive.js';
import type { FeedWarning } from '../types.js';
import type { IdentityFact } from '../identity.js';
import { parseOval } from '../oval/parser.js';
import { parseCsaf } from './parser.js';

// Microsoft's CSAF VEX for Azure Linux (issue #16 item 6). The documents are written by us in
// Microsoft's shape (no real one exists to copy: __fixtures__/README.md).
const DIR = join(import.meta.dirname, '__fixtures__', 'msrc');
const DOCS = readdirSync(DIR).filter((f) => f.endsWith('.json'));

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield b;
}

async function csaf(bytes: Buffer, name: string): Promise<{ advisories: Advisory[]; warnings: FeedWarning[]; identity: IdentityFact[] }> {
  const advisories: Advisory[] = [];
  const warnings: FeedWarning[] = [];
  const identity: IdentityFact[] = [];
  for await (const a of parseCsaf(once(bytes), { source: 'msrc', name, warn: (w) => warnings.push(w), identity: (f) => identity.push(f) })) advisories.push(a);
  return { advisories, warnings, identity };
}

describe('CSAF VEX from MSRC (Azure Linux)', () => {
  it('gives, CVE by CVE, exactly the fixes of the OVAL definitions written from the same facts', async () => {
    const fromCsaf = new Map<string, Advisory['fixes']>();
    for (const f of DOCS) for (const a of (await csaf(readFileSync(join(DIR, f)), f)).advisories) fromCsaf.set(a.cves.join(','), a.fixes);
    const fromOval = new Map<string, Advisory['fixes']>();
    const oval = join(DIR, 'azurelinux-3.0-oval.xml');
    for await (const d of feedDocuments(createReadStream(oval), oval, { maxDocumentBytes: 1 << 20, maxTotalBytes: 1 << 20 }))
      for await (const a of parseOval(d.bytes, { source: 'oval', name: d.name, warn: () => undefined })) fromOval.set(a.cves.join(','), a.fixes);
    expect(fromOval.size).toBe(5);
    // The Windows CVE is not stored; the CBL Mariner 2.0 product is not read from MSRC.
    expect([...fromCsaf.keys()].sort()).toEqual([...fromOval.keys()].sort());
    for (const [cve, fixes] of fromOval) expect(fromCsaf.get(cve), cve).toEqual(fixes);
    expect(fromCsaf.get('CVE-2025-26465')).toEqual([
      {
        release: 'azurelinux:3.0',
        package: 'openssh',
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed: '0:9.8p1-3.azl3',
        lastAffected: null,
        introduced: null,
        epochUnreliable: true,
      },
    ]);
    expect(fromCsaf.get('CVE-2023-52356')?.[0]).toMatchObject({ status: 'no-fix-yet', lastAffected: '0:4.6.0-5.azl3' });
    expect(fromCsaf.get('CVE-2024-2379')?.[0]).toMatchObject({ status: 'not-affected', package: 'curl' });
  });

  it('reads the rest of the advisory: CVSS rating as severity, references, dates, and Microsoft as the publisher of Azure Linux', async () => {
    const { advisories, warnings, identity } = await csaf(readFileSync(join(DIR, 'msrc_cve-2025-26465.json')), 'msrc_cve-2025-26465.json');
    expect(warnings).toEqual([]);
    expect(advisories[0]).toMatchObject({ id: 'CVE-2025-26465', severity: 'medium', cvssScore: 6.8, updatedAt: '2025-03-04T08:00:00.000Z' });
    expect(advisories[0]?.references.map((r) => r.url)).toContain('https://msrc.microsoft.com/update-guide/vulnerability/CVE-2025-26465');
    expect(identity.map((f) => f.distribution)).toContain('azurelinux');
    expect(identity.flatMap((f) => (f.release === null ? [] : [f.release]))).toEqual(['azurelinux:3.0']);
  });

  it('leaves out a Windows-only CVE without a warning', async () => {
    const r = await csaf(readFileSync(join(DIR, 'msrc_cve-2025-21298.json')), 'w.json');
    expect(r.advisories).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  const TEXT = readFileSync(join(DIR, 'msrc_cve-2025-26465.json'), 'utf8');
  it.each([
    [
      'a package product named as an rpm file',
      ['"azl3 openssh 9.8p1-3"', '"openssh-9.8p1-3.azl3.x86_64"'],
      /product 17084-2: product "openssh-9\.8p1-3\.azl3\.x86_64" is not named "<dist tag> <package> <version-release>"/,
    ],
    [
      'a release product named without its minor version',
      ['"Azure Linux 3.0"', '"Azure Linux 3"'],
      /product 17084 "Azure Linux 3" names azurelinux in a way Bulwark does not read/,
    ],
    [
      'a package of another dist tag under Azure Linux 3.0',
      ['"azl3 openssh 9.8p1-3"', '"azl4 openssh 9.8p1-3"'],
      /carries dist tag azl4, but is a component of Azure Linux 3\.0/,
    ],
  ])('fails loudly on %s, naming the file and product', async (_what, [from, to], re) => {
    expect(TEXT).toContain(from);
    await expect(csaf(Buffer.from(TEXT.replaceAll(from ?? '', to ?? '')), 'msrc_cve-2025-26465.json')).rejects.toThrow(re);
  });
});
