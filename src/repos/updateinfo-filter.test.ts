import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { xmlRecords } from '../lib/xml.js';
import { filterUpdateinfo, mergeUpdate, serializeElement, updateinfoDocument } from './updateinfo-filter.js';

const DOC = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@example.test" status="stable" type="security" version="2.0">
    <id>ADV-1</id>
    <title>openssl &amp; friends: fix &lt;CVE-2026-1&gt;</title>
    <issued date="2026-11-20 00:00:00"/>
    <references><reference href="https://example.test/?a=1&amp;b=&quot;2&quot;" id="CVE-2026-1" type="cve"/></references>
    <description>Line one
line two &amp; more</description>
    <pkglist>
      <collection short="azl3"><name>Azure Linux 3.0</name>
        <package name="openssl" epoch="1" version="3.3.5" release="5.azl3" arch="x86_64"><filename>openssl-3.3.5-5.azl3.x86_64.rpm</filename></package>
        <package name="openssl-devel" epoch="1" version="3.3.5" release="5.azl3" arch="x86_64"><filename>openssl-devel-3.3.5-5.azl3.x86_64.rpm</filename></package>
      </collection>
    </pkglist>
  </update>
  <update type="bugfix"><id>ADV-2</id><pkglist><collection><package name="telnet" epoch="0" version="1" release="1" arch="x86_64"/></collection></pkglist></update>
</updates>
`;

const stream = (s: string): AsyncIterable<Uint8Array> => Readable.from([Buffer.from(s)]);

describe("a content view's updateinfo", () => {
  it('keeps each advisory with only the published packages, drops the rest, and writes XML that reads back the same', async () => {
    const r = await filterUpdateinfo(stream(DOC), 'updateinfo.xml', (p) => p.name === 'openssl' && p.epoch === 1 && p.version === '3.3.5');
    expect([r.kept, r.dropped, r.updates.map((u) => u.id)]).toEqual([1, 1, ['ADV-1']]);
    const out = updateinfoDocument(r.updates.map((u) => serializeElement(u.element)));
    const [again] = await (async () => {
      const all = [];
      for await (const rec of xmlRecords(stream(out), { name: 'out', select: (p) => p.length === 2 && p[1] === 'update' })) all.push(rec.element);
      return all;
    })();
    const text = (name: string): string => again?.children.find((c) => c.name === name)?.text ?? '';
    expect(text('title')).toBe('openssl & friends: fix <CVE-2026-1>');
    expect(text('description')).toBe('Line one\nline two & more');
    expect(again?.children.find((c) => c.name === 'references')?.children[0]?.attrs['href']).toBe('https://example.test/?a=1&b="2"');
    expect(out).not.toContain('openssl-devel');
    expect(out).toContain('<filename>openssl-3.3.5-5.azl3.x86_64.rpm</filename>');
  });

  it('merges the same advisory from two sources (a repository per architecture): every package of both, none twice', async () => {
    const arm = DOC.replaceAll('x86_64', 'aarch64');
    const a = await filterUpdateinfo(stream(DOC), 'x86_64/updateinfo.xml', () => true);
    const b = await filterUpdateinfo(stream(arm), 'aarch64/updateinfo.xml', () => true);
    const [x] = a.updates;
    const [y] = b.updates;
    if (x === undefined || y === undefined) throw new Error('no update read');
    mergeUpdate(x.element, y.element);
    mergeUpdate(x.element, y.element); // twice: nothing more
    const xml = serializeElement(x.element);
    expect([...xml.matchAll(/<package name="([^"]+)"[^>]*arch="([^"]+)"/g)].map((m) => `${m[1] ?? ''}.${m[2] ?? ''}`)).toEqual([
      'openssl.x86_64',
      'openssl-devel.x86_64',
      'openssl.aarch64',
      'openssl-devel.aarch64',
    ]);
  });
});
