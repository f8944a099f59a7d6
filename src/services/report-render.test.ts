import { describe, expect, it } from 'vitest';
import type { FindingRow } from '../storage/index.js';
import { findingJsonRows, jsonString, renderCsv, renderCycloneDxVex, renderHtml } from './report-render.js';

const row = (over: Partial<FindingRow>): FindingRow => ({
  targetId: 't',
  targetName: 'web-01',
  release: 'azurelinux:3.0',
  advisorySource: 's',
  advisoryId: 'A-1',
  title: 't',
  cves: [],
  cvssScore: null,
  cvssV4Score: null,
  publishedAt: null,
  package: 'p',
  arch: 'x86_64',
  installed: '0:1-1',
  fixed: null,
  severity: 'high',
  status: 'open',
  reason: null,
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-01T00:00:00.000Z',
  closedAt: null,
  acceptedBy: null,
  acceptedAt: null,
  acceptedUntil: null,
  ...over,
});

describe('report renderers', () => {
  it('quotes CSV cells (RFC 4180) and defuses spreadsheet formulas', () => {
    const csv = renderCsv([row({ title: '=HYPERLINK("http://x","y")', targetName: 'a,b', package: '+p', reason: 'two\nlines' })]);
    const line = csv.split('\r\n')[1] ?? '';
    expect(line.startsWith('"a,b",')).toBe(true);
    expect(line).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(line).toContain(",'+p,");
    expect(line).toContain('"two\nlines"');
  });

  it('shows CVSS v3 and v4.0 side by side in CSV, HTML and CycloneDX, each under its own name', () => {
    const rows = [
      row({ advisoryId: 'A-both', cves: ['CVE-9'], cvssScore: 7.5, cvssV4Score: 8.7 }),
      row({ advisoryId: 'A-v4', cves: ['CVE-8'], cvssV4Score: 9.3 }),
    ];
    const csv = renderCsv(rows).split('\r\n');
    expect(csv[0]?.endsWith(',cvss_v3,cvss_v4')).toBe(true);
    expect(csv[1]?.endsWith(',7.5,8.7')).toBe(true);
    // Only a v4.0 score: the v3 column stays empty, never filled with the v4.0 one.
    expect(csv[2]?.endsWith(',,9.3')).toBe(true);
    const html = renderHtml(rows, new Date('2026-11-24T00:00:00Z'));
    expect(html).toContain('<th>CVSS v3</th><th>CVSS v4.0</th>');
    expect(html).toContain('<td>7.5</td><td>8.7</td>');
    expect(html).toContain('<td>—</td><td>9.3</td>');
    const vex = JSON.parse(renderCycloneDxVex(rows, new Date('2026-12-06T00:00:00Z'), '00000000-0000-4000-8000-000000000000')) as {
      vulnerabilities: { id: string; ratings: { method: string; score?: number }[] }[];
    };
    const ratings = (id: string) => vex.vulnerabilities.find((v) => v.id === id)?.ratings.filter((r) => r.method.startsWith('CVSS'));
    expect(ratings('CVE-9')).toEqual([expect.objectContaining({ method: 'CVSSv3', score: 7.5 }), expect.objectContaining({ method: 'CVSSv4', score: 8.7 })]);
    expect(ratings('CVE-8')).toEqual([expect.objectContaining({ method: 'CVSSv4', score: 9.3 })]);
  });

  it('escapes HTML and carries no script or external resource', () => {
    const html = renderHtml([row({ title: '"><img src=x onerror=alert(1)>', package: '<b>p</b>' })], new Date('2026-11-24T00:00:00Z'));
    expect(html).not.toMatch(/<img|<b>|<script|https?:\/\//);
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('states in its VEX only what a version match knows (issue #13): in_triage, resolved when fixed, never exploitable', () => {
    const vex = JSON.parse(
      renderCycloneDxVex(
        [
          row({ advisoryId: 'A-open', cves: ['CVE-1'], fixed: '0:1-2', package: 'curl-libs', installed: '8.8.0-1.azl3' }),
          row({ advisoryId: 'A-nofix', cves: ['CVE-2'], status: 'no-fix' }),
          row({ advisoryId: 'A-acc', cves: ['CVE-3'], status: 'accepted' }),
          row({ advisoryId: 'A-fixed', cves: ['CVE-4'], status: 'fixed', fixed: '0:1-2' }),
          row({ advisoryId: 'A-epoch', cves: ['CVE-5'], package: 'perl-Carp', installed: '4:1.54-509.azl3', arch: 'noarch' }),
        ],
        new Date('2026-12-06T00:00:00Z'),
        '00000000-0000-4000-8000-000000000000',
        new Map([
          ['t\u0000curl-libs\u0000x86_64', 'curl'],
          ['t\u0000perl-Carp\u0000noarch', 'perl'],
        ]),
      ),
    ) as {
      components: { name: string; purl?: string }[];
      vulnerabilities: {
        id: string;
        analysis: { state: string; response?: string[] };
        affects: { ref: string; versions: { version: string; status: string }[] }[];
      }[];
    };
    expect(vex.vulnerabilities.map((v) => [v.id, v.analysis.state, v.analysis.response ?? []])).toEqual([
      ['CVE-1', 'in_triage', ['update']],
      ['CVE-2', 'in_triage', []],
      ['CVE-3', 'in_triage', ['will_not_fix']],
      ['CVE-4', 'resolved', []],
      ['CVE-5', 'in_triage', []],
    ]);
    // The build a fixed finding was found on was affected; the fixed version is not.
    expect(vex.vulnerabilities.find((v) => v.id === 'CVE-4')?.affects).toEqual([
      {
        ref: 'web-01/p@0:1-1',
        versions: [
          { version: '0:1-1', status: 'affected' },
          { version: '0:1-2', status: 'unaffected' },
        ],
      },
    ]);
    expect(vex.vulnerabilities.find((v) => v.id === 'CVE-1')?.affects[0]?.versions).toEqual([{ version: '8.8.0-1.azl3', status: 'affected' }]);
    // purl-spec rpm: version V-R, epoch and arch as qualifiers, distro; upstream the source.
    expect(vex.components.map((c) => c.purl)).toEqual([
      'pkg:rpm/azurelinux/curl-libs@8.8.0-1.azl3?arch=x86_64&distro=azurelinux-3.0&upstream=curl',
      'pkg:rpm/azurelinux/p@1-1?arch=x86_64&distro=azurelinux-3.0',
      'pkg:rpm/azurelinux/perl-Carp@1.54-509.azl3?arch=noarch&distro=azurelinux-3.0&epoch=4&upstream=perl',
    ]);
  });

  it('writes a string as JSON.stringify does, quotes, controls and surrogates too', () => {
    const tricky = [
      '',
      'plain-1.2_3~rc',
      'a"b',
      'back\\slash',
      'tab\tnew\nline',
      '\u0000\u001f\u007f',
      'é 中 😀',
      'lone \ud800 high',
      'lone \udc00 low',
      '\u2028\u2029',
    ];
    for (const s of tricky) expect(jsonString(s)).toBe(JSON.stringify(s));
  });

  it('writes a finding as JSON.stringify(row, null, 2) does, with untrusted text and absent fields', () => {
    const rows = [
      row({ package: 'p"q', installed: '1\\2', reason: 'two\nlines', acceptedBy: 'ana \ud800', fixed: '3' }),
      // A field absent from a row given by hand: left out, as JSON.stringify leaves it out.
      { ...row({}), acceptedUntil: undefined } as unknown as FindingRow,
    ];
    // The keys in a streamed row's order (report-stream.ts toRow), which JSON.stringify follows.
    const order =
      'targetId advisorySource advisoryId package installed fixed severity status reason firstSeen lastSeen closedAt acceptedBy acceptedAt acceptedUntil arch targetName release title cves cvssScore cvssV4Score publishedAt risk';
    const json = findingJsonRows('    ');
    for (const r of rows) {
      const streamed = Object.fromEntries(order.split(' ').map((k) => [k, (r as unknown as Record<string, unknown>)[k]]));
      expect(json(r)).toBe('    ' + JSON.stringify(streamed, null, 2).replaceAll('\n', '\n    '));
    }
  });
});
