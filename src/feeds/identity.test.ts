import { describe, expect, it } from 'vitest';
import {
  elFamilyFact,
  identityMismatch,
  IdentityTally,
  ovalGeneratorDistribution,
  ovalNamespaceDistribution,
  releaseFact,
  type IdentityFact,
} from './identity.js';
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
    expect(identityMismatch(azl3, tally(releaseFact('azurelinux:3.0', 'a'), releaseFact('mariner:2.0', 'def 1')))).toBe(
      'expected azurelinux:3.0 (test), found mariner:2.0 (1 time, e.g. def 1)',
    );
    expect(identityMismatch({ distributions: ['mariner'], release: 'mariner:2.0', basis: 'test' }, tally(releaseFact('cbl-mariner:2.0', 'a')))).toBeNull();
    expect(
      identityMismatch({ distributions: ['almalinux'], release: null, basis: 'test' }, tally(releaseFact('almalinux:8', 'a'), releaseFact('almalinux:9', 'b'))),
    ).toBeNull();
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
      for await (const a of updateinfoParser.parse(input, {
        source: 's',
        name: 'u.xml',
        release: 'azurelinux:3.0',
        warn: () => undefined,
        identity: (f) => out.push(f.release ?? f.distribution),
      }))
        expect(a.id).toBe('U-1');
      return out;
    };
    expect(await facts(doc('<name>CBL-Mariner 2.0</name>', '1.el9'))).toEqual(['mariner:2.0']);
    expect(await facts(doc('', '2.cm2'))).toEqual(['mariner:2.0']);
    // `.el9` is no release of its own, only the RHEL family's 9 (see the next test).
    expect(await facts(doc('', '1.el9'))).toEqual(['el9']);
    expect(await facts(doc('', '1.fc41'))).toEqual([]);
  });

  // A Rocky 8 updateinfo without <release> and with a generic collection name was stored into
  // an Azure Linux 3.0 source with a warning only: its `.el8_9` builds say what it is not.
  it('reads .elN as the RHEL family at that major version: refused by Azure Linux and by another major, accepted by each member', () => {
    const el8 = tally(elFamilyFact('12.el8_9', 'RLSA-2024:0001: package openssl-1.1.1k-12.el8_9'));
    expect(identityMismatch(azl3, el8)).toBe('expected azurelinux:3.0 (test), found el8 (1 time, e.g. RLSA-2024:0001: package openssl-1.1.1k-12.el8_9)');
    expect(identityMismatch({ distributions: ['rocky'], release: 'rocky:8', basis: 'test' }, el8)).toBeNull();
    expect(identityMismatch({ distributions: ['rhel'], release: 'rhel:8.10', basis: 'test' }, el8)).toBeNull();
    expect(identityMismatch({ distributions: ['almalinux'], release: null, basis: 'test' }, el8)).toBeNull();
    expect(identityMismatch({ distributions: ['almalinux'], release: 'almalinux:9', basis: 'test' }, el8)).toMatch(/found el8/);
    expect(identityMismatch({ distributions: ['fedora'], release: 'fedora:41', basis: 'test' }, el8)).toMatch(/found el8/);
    expect(elFamilyFact('1.azl3', 'x')).toBeNull();
    expect(elFamilyFact('3.el9', 'x')?.family?.major).toBe('9');
  });
});
