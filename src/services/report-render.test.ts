import { describe, expect, it } from 'vitest';
import type { FindingRow } from '../storage/index.js';
import { renderCsv, renderHtml } from './report-render.js';

const row = (over: Partial<FindingRow>): FindingRow => ({
  targetId: 't',
  targetName: 'web-01',
  release: 'azurelinux:3.0',
  advisorySource: 's',
  advisoryId: 'A-1',
  title: 't',
  cves: [],
  cvssScore: null,
  publishedAt: null,
  package: 'p',
  installed: '0:1-1',
  fixed: null,
  severity: 'high',
  status: 'open',
  reason: null,
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-01T00:00:00.000Z',
  closedAt: null,
  deadline: null,
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

  it('escapes HTML and carries no script or external resource', () => {
    const html = renderHtml([row({ title: '"><img src=x onerror=alert(1)>', package: '<b>p</b>' })], new Date('2026-11-24T00:00:00Z'));
    expect(html).not.toMatch(/<img|<b>|<script|https?:\/\//);
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });
});
