import { describe, expect, it } from 'vitest';
import { identityMismatch, IdentityTally, ovalGeneratorDistribution, ovalNamespaceDistribution, releaseFact, type IdentityFact } from './identity.js';
import { updateinfoParser } from './updateinfo/parser.js';

const azl3 = { distributions: ['azurelinux'], release: 'azurelinux:3.0', basis: 'test' };

function tally(...facts: (IdentityFact | null)[]): IdentityTally {
  const t = new IdentityTally();
  for (const f of facts) if (f !== null) t.add(f);
  return t;
}

describe('feed identity', () => {
  it('reads the distribution from OVAL namespaces and generators', () => {
    expect(ovalNamespaceDistribution('oval:com.microsoft.cbl-mariner:def:33517')).toBe('mariner');
    expect(ovalNamespaceDistribution('oval:com.microsoft.azurelinux:def:56898')).toBe('azurelinux');
    expect(ovalNamespaceDistribution('oval:com.ubuntu.noble:def:77861000000')).toBe('ubuntu');
    expect(ovalNamespaceDistribution('oval:com.redhat.rhsa:def:20240001')).toBe('rhel');
    expect(ovalNamespaceDistribution('oval:org.example:def:1')).toBeNull();
    expect(ovalGeneratorDistribution('CBL-Mariner OVAL Definition Generator')).toBe('mariner');
    expect(ovalGeneratorDistribution('Azure Linux OVAL Definition Generator')).toBe('azurelinux');
  });

  it('accepts facts of the expected release or distribution only, whatever the spelling of CBL-Mariner', () => {
    expect(identityMismatch(azl3, tally(releaseFact('azurelinux:3.0', 'a'), { distribution: 'azurelinux', release: null, evidence: 'b' }))).toBeNull();
    expect(identityMismatch(azl3, tally(releaseFact('azurelinux:3.0', 'a'), releaseFact('mariner:2.0', 'def 1')))).toBe('expected azurelinux:3.0 (test), found mariner:2.0 (1 time, e.g. def 1)');
    expect(identityMismatch({ distributions: ['mariner'], release: 'mariner:2.0', basis: 'test' }, tally(releaseFact('cbl-mariner:2.0', 'a')))).toBeNull();
    expect(identityMismatch({ distributions: ['almalinux'], release: null, basis: 'test' }, tally(releaseFact('almalinux:8', 'a'), releaseFact('almalinux:9', 'b')))).toBeNull();
    expect(identityMismatch({ distributions: ['almalinux'], release: null, basis: 'test' }, tally(releaseFact('rocky:9', 'r')))).toMatch(/found rocky:9/);
    // A document that says nothing about itself cannot be checked; the sync warns instead.
    expect(identityMismatch(azl3, tally())).toBeNull();
  });

  it('reads an updateinfo without <release> by its collection name or an unambiguous dist tag, not by .el9', async () => {
    const doc = (collection: string, rel: string) =>
      `<updates><update type="security"><id>U-1</id><title>t</title><pkglist><collection short="x">${collection}<package name="curl" epoch="0" version="8.8.0" release="${rel}" arch="x86_64"><filename>f.rpm</filename></package></collection></pkglist></update></updates>`;
    const facts = async (xml: string): Promise<(string | null)[]> => {
      const out: (string | null)[] = [];
      const input = (async function* () {
        await Promise.resolve();
        yield new TextEncoder().encode(xml);
      })();
      for await (const a of updateinfoParser.parse(input, { source: 's', name: 'u.xml', release: 'azurelinux:3.0', warn: () => undefined, identity: (f) => out.push(f.release) })) expect(a.id).toBe('U-1');
      return out;
    };
    expect(await facts(doc('<name>CBL-Mariner 2.0</name>', '1.el9'))).toEqual(['mariner:2.0']);
    expect(await facts(doc('', '2.cm2'))).toEqual(['mariner:2.0']);
    expect(await facts(doc('', '1.el9'))).toEqual([]);
  });
});
