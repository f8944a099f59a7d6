import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompress } from '../../lib/decompress.js';
import type { FeedWarning } from '../types.js';
import type { SignalRecord } from '../signal-types.js';
import { parseEpss, parseEpssComment } from './parser.js';

const FIXTURE = join(import.meta.dirname, '__fixtures__', 'epss_scores-2026-12-01.csv.gz');
const HEAD = '#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000\ncve,epss,percentile\n';

async function parse(chunks: (string | Buffer)[]): Promise<{ records: SignalRecord[]; warnings: FeedWarning[] }> {
  const warnings: FeedWarning[] = [];
  const records: SignalRecord[] = [];
  const input = (async function* () {
    await Promise.resolve();
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  })();
  for await (const r of parseEpss(input, { name: 'epss.csv', warn: (w) => warnings.push(w) })) records.push(r);
  return { records, warnings };
}

describe('FIRST EPSS parser', () => {
  it('reads the gzip fixture: model version, score date, then score and percentile per CVE', async () => {
    const records: SignalRecord[] = [];
    for await (const r of parseEpss(decompress(createReadStream(FIXTURE), FIXTURE, 1 << 20), { name: FIXTURE, warn: () => undefined })) records.push(r);
    expect(records[0]).toEqual({ kind: 'epss-header', header: { modelVersion: 'v2025.03.14', scoreDate: '2026-12-01' } });
    expect(records.slice(1).flatMap((r) => (r.kind === 'epss' ? r.scores : []))).toEqual([
      { cve: 'CVE-2025-9003', epss: 0.4123, percentile: 0.9731 },
      { cve: 'CVE-2026-1001', epss: 0.94372, percentile: 0.99912 },
      { cve: 'CVE-2026-1002', epss: 0.0812, percentile: 0.92044 },
      { cve: 'CVE-2026-2001', epss: 0.02011, percentile: 0.45233 },
      { cve: 'CVE-2026-2002', epss: 0.00043, percentile: 0.12001 },
    ]);
  });

  it('streams: rows split across chunks anywhere, CRLF line ends, no final newline', async () => {
    const text = HEAD.replace(/\n/g, '\r\n') + 'CVE-2026-0001,0.5,0.9\r\nCVE-2026-0002,1e-05,0.01';
    const chunks = Array.from({ length: text.length }, (_, i) => text.slice(i, i + 1)); // one character per chunk
    const { records } = await parse(chunks);
    expect(records.slice(1).flatMap((r) => (r.kind === 'epss' ? r.scores : []))).toEqual([
      { cve: 'CVE-2026-0001', epss: 0.5, percentile: 0.9 },
      { cve: 'CVE-2026-0002', epss: 0.00001, percentile: 0.01 },
    ]);
  });

  it.each([
    ['no comment line', 'cve,epss,percentile\nCVE-2026-0001,0.5,0.9\n', /epss\.csv: line 1: not an EPSS file/],
    ['a comment without a score date', '#model_version:v2025.03.14\ncve,epss,percentile\n', /line 1: not an EPSS file/],
    ['an impossible score date', '#model_version:v1,score_date:2026-02-30T00:00:00+0000\ncve,epss,percentile\n', /line 1/],
    ['another header', '#model_version:v1,score_date:2026-12-01\ncve,score\n', /line 2: expected the header "cve,epss,percentile"/],
    ['an empty file', '', /epss\.csv: empty/],
    ['a NUL character', HEAD + 'CVE-2026-0001,0.5,0.9\nCVE-2026-00\u000002,0.5,0.9\n', /line 4: contains a NUL character; refused/],
    ['an overlong line', HEAD + 'CVE-2026-0001,' + '1'.repeat(5000), /line 3: longer than 4096/],
  ])('refuses %s, naming the line', async (_what, text, message) => {
    await expect(parse([text])).rejects.toThrow(message);
  });

  it('refuses bytes that are not UTF-8, naming the line', async () => {
    await expect(parse([HEAD, Buffer.from([0x43, 0xff, 0x0a])])).rejects.toThrow(/line 3: not valid UTF-8/);
  });

  it('skips bad rows with a warning naming the line, and keeps the rest', async () => {
    const { records, warnings } = await parse([
      HEAD +
        'CVE-2026-0001,0.5,0.9\nnot-a-cve,0.1,0.1\nCVE-2026-0002,1.5,0.9\nCVE-2026-0003,0.1\nCVE-2026-0004,-0.1,0.5\nCVE-2026-0005,0x1,0.5\nCVE-2026-0001,0.2,0.2\n\nCVE-2026-0006,0.25,0.75\n',
    ]);
    expect(records.slice(1).flatMap((r) => (r.kind === 'epss' ? r.scores.map((x) => x.cve) : []))).toEqual(['CVE-2026-0001', 'CVE-2026-0006']);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/line 4: "not-a-cve" is not a CVE id/),
      expect.stringMatching(/line 5: epss "1.5" .* from 0 to 1/),
      expect.stringMatching(/line 6: 2 fields, not 3/),
      expect.stringMatching(/line 7: epss "-0.1"/),
      expect.stringMatching(/line 8: epss "0x1"/),
      expect.stringMatching(/line 9: CVE-2026-0001 is scored again/),
    ]);
  });

  it('reads the comment line of every published model', () => {
    expect(parseEpssComment('#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000')).toEqual({
      modelVersion: 'v2023.03.01',
      scoreDate: '2023-03-07',
    });
    expect(parseEpssComment('#model_version:v2025.03.14,score_date:2026-12-01T00:00:00Z')).toEqual({ modelVersion: 'v2025.03.14', scoreDate: '2026-12-01' });
    expect(parseEpssComment('#score_date:2026-12-01')).toBeNull();
  });
});
