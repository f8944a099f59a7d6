import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Advisory } from '../../core/advisory.js';
import { sharedData } from '../../../test/shared-data.js';
import type { FeedWarning } from '../types.js';
import { identityMismatch, IdentityTally } from '../identity.js';
import { componentFromNevra, componentFromPurl, parseCsaf, streamRelease } from './parser.js';

const FIX = join(import.meta.dirname, '__fixtures__');

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield b;
}

async function parse(bytes: Buffer, name = 'doc.json'): Promise<{ advisories: Advisory[]; warnings: FeedWarning[] }> {
  const advisories: Advisory[] = [];
  const warnings: FeedWarning[] = [];
  for await (const a of parseCsaf(once(bytes), { source: 'rh', name, warn: (w) => warnings.push(w) })) advisories.push(a);
  return { advisories, warnings };
}

describe('CSAF VEX', () => {
  it('turns each product status into a fix for its RHEL stream, with remediations deciding will-not-fix', async () => {
    const { advisories, warnings } = await parse(readFileSync(join(FIX, 'mini-vex.json')));
    expect(advisories).toHaveLength(1);
    const a = advisories[0]!;
    expect(a).toMatchObject({
      id: 'CVE-2099-0001',
      severity: 'high',
      cvssScore: 5.3,
      cves: ['CVE-2099-0001'],
      publishedAt: '2099-01-01T00:00:00.000Z',
      updatedAt: '2099-02-01T12:00:00.000Z',
      parser: 'csaf-vex@2',
    });
    expect(a.description).toBe('A flaw was found in nodejs.');
    expect(a.fixes).toEqual([
      {
        release: 'rhel:9',
        package: 'nodejs',
        packageKind: 'binary',
        arch: 'x86_64',
        status: 'fixed',
        fixed: '1:20.14.0-1.module+el9.4.0+21880+ab6e72b4',
        lastAffected: null,
        introduced: null,
        module: 'nodejs:20',
      },
      {
        release: 'rhel:8',
        package: 'nodejs',
        packageKind: 'binary',
        arch: 'x86_64',
        status: 'fixed',
        fixed: '0:16.20.2-1.el8',
        lastAffected: null,
        introduced: null,
      },
      { release: 'rhel:7', package: 'nodejs', packageKind: 'binary', arch: null, status: 'will-not-fix', fixed: null, lastAffected: null, introduced: null },
      { release: 'rhel:6', package: 'nodejs', packageKind: 'source', arch: null, status: 'not-affected', fixed: null, lastAffected: null, introduced: null },
    ]);
    expect(a.references).toContainEqual({ type: 'advisory', id: 'RHSA-2099:0001', url: 'https://access.redhat.com/errata/RHSA-2099:0001' });
    expect(a.references).toContainEqual({ type: 'bugzilla', id: '9999999', url: null });
    // OpenShift and the unknown product are left out, counted once.
    expect(warnings).toEqual([
      {
        record: 'CVE-2099-0001',
        message: "doc.json: 2 product statuses are not for a known distribution's stream (or name no known product) and were left out",
      },
    ]);
  });

  it.each([
    ['{"document": {"category": "csaf_base", "csaf_version": "2.0", "tracking": {"id": "x"}}}', /CSAF category "csaf_base" is not read/],
    ['{"document": {"category": "csaf_vex", "csaf_version": "1.2", "tracking": {"id": "x"}}}', /CSAF version 1\.2 is not 2\.x/],
    ['{"nope": 1}', /not a CSAF document: document/],
    ['{', /not JSON/],
  ])('refuses %s', async (text, re) => {
    await expect(parse(Buffer.from(text))).rejects.toThrow(re);
  });

  it.each([
    ['AppStream-9.3.0.Z.MAIN', 'cpe:/a:redhat:enterprise_linux:9::appstream', 'rhel:9'],
    ['AppStream-9.2.0.Z.MAIN.EUS', 'cpe:/a:redhat:enterprise_linux:9::appstream', 'rhel:9.2'],
    ['BaseOS-9.0.0.Z.EUS', 'cpe:/o:redhat:rhel_eus:9.0::baseos', 'rhel:9.0'],
    ['7Server-7.6.AUS', 'cpe:/o:redhat:rhel_aus:7.6::server', 'rhel:7.6'],
    ['red_hat_enterprise_linux_8', 'cpe:/o:redhat:enterprise_linux:8', 'rhel:8'],
    ['8Base-satellite-6.14', 'cpe:/a:redhat:satellite:6.14::el8', null],
    ['openshift-4', null, null],
  ])('stream %s (%s) → %s', (pid, cpe, rel) => {
    expect(streamRelease(pid, cpe)).toBe(rel);
  });

  it('keeps cvss_v4 beside cvss_v3, scored from its vector; says what is wrong with a bad one', async () => {
    const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N';
    const higher = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L/E:U';
    const doc = JSON.parse(readFileSync(join(FIX, 'mini-vex.json'), 'utf8')) as {
      document: { category: string; tracking: { id: string } };
      vulnerabilities: { scores: unknown[] }[];
    };
    doc.vulnerabilities[0]!.scores.push(
      { cvss_v4: { version: '4.0', baseScore: 6.9, baseSeverity: 'MEDIUM', vectorString: v4 }, products: [] },
      { cvss_v4: { version: '4.0', baseScore: 8.7, baseSeverity: 'HIGH', vectorString: higher }, products: [] },
      { cvss_v4: { version: '4.0', baseScore: 9.9, baseSeverity: 'CRITICAL', vectorString: v4.replace('VA:L', 'VA:H') }, products: [] },
      {
        cvss_v4: { version: '4.0', baseScore: 1, baseSeverity: 'LOW', vectorString: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N/E:Q' },
        products: [],
      },
    );
    const vex = await parse(Buffer.from(JSON.stringify(doc)));
    // v3 stays what the document says; v4 is the highest of the v4 vectors, by the specification's method.
    expect(vex.advisories[0]).toMatchObject({
      cvssScore: 5.3,
      cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L',
      cvssV4: { vector: v4.replace('VA:L', 'VA:H'), score: 8.7 },
    });
    expect(vex.warnings.map((w) => w.message).filter((m) => m.includes('CVSS'))).toEqual([
      expect.stringMatching(/^doc\.json: CVSS v4\.0 score 9\.9 stated for .*VA:H.*, whose score is 8\.7; kept 8\.7$/),
      expect.stringMatching(/^doc\.json: CVSS v4\.0 vector ".*E:Q": metric E has value "Q", expected one of X, A, P, U; skipped$/),
    ]);
    // A security advisory takes the highest of its vulnerabilities' v4 scores the same way.
    doc.document.category = 'csaf_security_advisory';
    const advisory = await parse(Buffer.from(JSON.stringify(doc)));
    expect(advisory.advisories[0]?.cvssV4).toEqual({ vector: v4.replace('VA:L', 'VA:H'), score: 8.7 });
  });

  it('reads components from purls and from N-E:V-R.A product ids', () => {
    expect(componentFromPurl('pkg:rpm/redhat/curl@7.76.1-26.el9_3.2?arch=x86_64')).toEqual({
      name: 'curl',
      evr: '0:7.76.1-26.el9_3.2',
      arch: 'x86_64',
      module: null,
    });
    expect(componentFromPurl('pkg:rpm/redhat/snakeyaml')).toEqual({ name: 'snakeyaml', evr: null, arch: null, module: null });
    expect(componentFromNevra('telnet-1:0.17-65.el7_6.x86_64')).toEqual({ name: 'telnet', evr: '1:0.17-65.el7_6', arch: 'x86_64', module: null });
    expect(componentFromNevra('curl.src')).toEqual({ name: 'curl', evr: null, arch: 'src', module: null });
  });
});

// Red Hat's real documents (CC BY 4.0, ../shared/data/samples/csaf): every one parses, and the
// fixed RHEL entries agree with a count made from the product ids' text alone.
const dir = sharedData('samples', 'csaf');
describe.skipIf(dir === null)('CSAF: the real Red Hat samples', () => {
  const read = (f: string): Buffer => (f.endsWith('.xz') ? execFileSync('xz', ['-dc', join(dir!, f)], { maxBuffer: 1 << 28 }) : readFileSync(join(dir!, f)));
  it.each(dir === null ? [] : readdirSync(dir))('%s parses: one advisory per vulnerability (VEX) or per document', async (f) => {
    const raw = read(f);
    const doc = JSON.parse(raw.toString('utf8')) as { document: { category: string }; vulnerabilities: unknown[] };
    const { advisories } = await parse(raw, f);
    expect(advisories).toHaveLength(doc.document.category === 'csaf_vex' ? doc.vulnerabilities.length : 1);
  });

  it('the curl VEX: fixed entries per RHEL stream and component, counted from the product ids', async () => {
    const raw = read('redhat-vex-cve-2023-38545.curl.json.xz');
    const doc = JSON.parse(raw.toString('utf8')) as { vulnerabilities: { product_status: { fixed: string[]; known_not_affected: string[] } }[] };
    const status = doc.vulnerabilities[0]!.product_status;
    expect([status.fixed.length, status.known_not_affected.length]).toEqual([325, 247]); // as the data notes say
    const keys = new Set<string>();
    for (const pid of status.fixed) {
      const m = /^(?:AppStream|BaseOS)-(\d+)\.(\d+)\.\d+\.Z\.(MAIN\.EUS|MAIN|EUS):(.+)$/.exec(pid);
      if (m) keys.add(`${m[3] === 'MAIN' ? m[1]! : `${m[1]!}.${m[2]!}`}|${m[4]!}`);
    }
    const { advisories } = await parse(raw);
    const fixed = advisories[0]!.fixes.filter((x) => x.status === 'fixed');
    expect(fixed).toHaveLength(keys.size);
    expect(fixed).toContainEqual({
      release: 'rhel:9',
      package: 'curl',
      packageKind: 'binary',
      arch: 'x86_64',
      status: 'fixed',
      fixed: '0:7.76.1-26.el9_3.2',
      lastAffected: null,
      introduced: null,
    });
    expect(advisories[0]).toMatchObject({ severity: 'high', cvssScore: 8.1 });
  });

  it('the telnet advisory keeps epoch 1; the snakeyaml VEX says will not fix', async () => {
    const telnet = (await parse(read('redhat-csaf-advisory-RHSA-2022-0011.telnet.json'))).advisories[0]!;
    expect(telnet.id).toBe('RHSA-2022:0011');
    expect(telnet.fixes.find((x) => x.package === 'telnet' && x.arch === 'x86_64')).toMatchObject({ release: 'rhel:7.6', fixed: '1:0.17-65.el7_6' });
    const snake = (await parse(read('redhat-vex-cve-2022-38752.snakeyaml.json.xz'))).advisories[0]!;
    expect(snake.fixes.filter((x) => x.status === 'will-not-fix').map((x) => `${x.release} ${x.package}`)).toContain('rhel:7 snakeyaml');
  });

  // A CSAF document of another vendor has all its statuses left out; stored, it was a "change"
  // that emptied the Red Hat advisory of the same CVE of every fix, with exit 0. Its publisher
  // says whose it is, and the sync refuses it before anything is written.
  it('reports the publisher: Red Hat as rhel, any other as itself, which a rhel source refuses', async () => {
    const facts = async (publisher: Record<string, string> | undefined): Promise<IdentityTally> => {
      const doc = JSON.parse(readFileSync(join(FIX, 'mini-vex.json'), 'utf8')) as { document: Record<string, unknown> };
      if (publisher !== undefined) doc.document['publisher'] = publisher;
      const tally = new IdentityTally();
      for await (const a of parseCsaf(once(Buffer.from(JSON.stringify(doc))), {
        source: 'rh',
        name: 'doc.json',
        warn: () => undefined,
        identity: (f) => {
          tally.add(f);
        },
      }))
        expect(a.id).toBe('CVE-2099-0001');
      return tally;
    };
    const rhel = { distributions: ['rhel'], release: null, basis: 'test' };
    const redHat = await facts({ category: 'vendor', name: 'Red Hat Product Security', namespace: 'https://www.redhat.com' });
    expect(redHat.summary().distributions).toEqual(['rhel']);
    expect(identityMismatch(rhel, redHat)).toBeNull();
    const suse = await facts({ category: 'vendor', name: 'SUSE Product Security Team', namespace: 'https://www.suse.com/' });
    expect(identityMismatch(rhel, suse)).toMatch(
      /^expected rhel \(test\), found the CSAF publisher www\.suse\.com \(1 time, e\.g\. CVE-2099-0001: document\.publisher SUSE Product Security Team \(https:\/\/www\.suse\.com\/\)\)/,
    );
    // Without a publisher (CSAF requires one), the product streams alone speak, as before.
    expect((await facts(undefined)).summary().distributions).toEqual(['rhel']);
  });
});
