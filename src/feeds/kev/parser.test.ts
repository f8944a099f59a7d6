import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FeedWarning } from '../types.js';
import type { SignalRecord } from '../signal-types.js';
import { parseKev } from './parser.js';

const FIXTURE = join(import.meta.dirname, '__fixtures__', 'known_exploited_vulnerabilities.json');

async function parse(text: string | Buffer): Promise<{ records: SignalRecord[]; warnings: FeedWarning[] }> {
  const warnings: FeedWarning[] = [];
  const records: SignalRecord[] = [];
  const input = (async function* () {
    await Promise.resolve();
    yield typeof text === 'string' ? Buffer.from(text) : text;
  })();
  for await (const r of parseKev(input, { name: 'kev.json', warn: (w) => warnings.push(w) })) records.push(r);
  return { records, warnings };
}

const envelope = (vulns: unknown[], extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    title: 'CISA Catalog of Known Exploited Vulnerabilities',
    catalogVersion: '2026.12.01',
    dateReleased: '2026-12-01T14:02:11.3141Z',
    count: vulns.length,
    vulnerabilities: vulns,
    ...extra,
  });
const entry = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  cveID: 'CVE-2026-1001',
  vendorProject: 'OpenBSD',
  product: 'OpenSSH',
  vulnerabilityName: 'x',
  dateAdded: '2026-03-02',
  shortDescription: 's',
  requiredAction: 'r',
  dueDate: '2026-03-23',
  knownRansomwareCampaignUse: 'Known',
  notes: '',
  cwes: ['CWE-362'],
  ...over,
});

describe('CISA KEV parser', () => {
  it('reads the catalog header and every entry of the published shape, keeping dateAdded, dueDate and the ransomware flag', async () => {
    const { records, warnings } = await parse(readFileSync(FIXTURE));
    expect(warnings).toEqual([]);
    expect(records[0]).toEqual({
      kind: 'kev-catalog',
      catalog: { title: 'CISA Catalog of Known Exploited Vulnerabilities', catalogVersion: '2026.12.01', dateReleased: '2026-12-01T14:02:11.314Z', count: 3 },
    });
    const entries = records.flatMap((r) => (r.kind === 'kev' ? [r.entry] : []));
    expect(entries.map((e) => [e.cve, e.dateAdded, e.dueDate, e.ransomware])).toEqual([
      ['CVE-2026-1001', '2026-03-02', '2026-03-23', true],
      ['CVE-2026-1002', '2026-05-14', '2026-06-04', false],
      ['CVE-2025-9003', '2025-11-20', '2025-12-11', false],
    ]);
    expect(entries[0]?.cwes).toEqual(['CWE-362']);
    expect(entries[0]?.vendorProject).toBe('OpenBSD');
  });

  it.each([
    ['not JSON', '{"title": ', /kev\.json: not JSON/],
    ['another JSON document', JSON.stringify({ id: 'GHSA-1', affected: [] }), /kev\.json: not a KEV catalog: title/],
    [
      'vulnerabilities not an array',
      JSON.stringify({ title: 't', catalogVersion: '1', dateReleased: '2026-01-01T00:00:00Z', count: 0, vulnerabilities: {} }),
      /vulnerabilities/,
    ],
    ['a bad dateReleased', envelope([], { dateReleased: 'yesterday' }), /dateReleased "yesterday" is not a date/],
    ['a NUL character', envelope([entry({ notes: 'a\u0000b' })]), /NUL character; refused/],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /not valid UTF-8/],
  ])('refuses %s, naming the file', async (_what, text, message) => {
    await expect(parse(text)).rejects.toThrow(message);
  });

  it('skips a bad entry with a warning naming its index and CVE, and keeps the rest', async () => {
    const { records, warnings } = await parse(
      envelope([
        entry({ dueDate: 'soon' }),
        entry({ cveID: 'CVE-2026-1002', dateAdded: '2026-02-30' }),
        entry({ cveID: 'not-a-cve' }),
        entry({ cveID: 'CVE-2026-1003' }),
        entry({ cveID: 'CVE-2026-1003', product: 'again' }),
      ]),
    );
    expect(records.flatMap((r) => (r.kind === 'kev' ? [r.entry.cve] : []))).toEqual(['CVE-2026-1003']);
    expect(warnings.map((w) => [w.record, w.message])).toEqual([
      ['CVE-2026-1001', expect.stringMatching(/vulnerabilities\[0\]: dueDate: a date YYYY-MM-DD; skipped/)],
      ['CVE-2026-1002', expect.stringMatching(/vulnerabilities\[1\]: "2026-02-30" is not a calendar date/)],
      ['not-a-cve', expect.stringMatching(/vulnerabilities\[2\]: cveID: a CVE id/)],
      ['CVE-2026-1003', expect.stringMatching(/vulnerabilities\[4\]: CVE-2026-1003 is listed again/)],
    ]);
  });

  it('treats a missing ransomware field as not known (the schema makes it optional)', async () => {
    const e = entry();
    delete e['knownRansomwareCampaignUse'];
    const { records } = await parse(envelope([e]));
    expect(records[1]).toMatchObject({ kind: 'kev', entry: { ransomware: false } });
  });
});
