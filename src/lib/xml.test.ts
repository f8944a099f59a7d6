import { describe, expect, it } from 'vitest';
import { childText, xmlRecords, type XmlRecord } from './xml.js';

async function* chunks(text: string, size = 7): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(text: string, select = (p: readonly string[]) => p.length === 2): Promise<XmlRecord[]> {
  const out: XmlRecord[] = [];
  for await (const r of xmlRecords(chunks(text), { name: 'f.xml', select })) out.push(r);
  return out;
}

describe('xmlRecords', () => {
  it('yields each selected element as a small tree, across chunk boundaries and multi-byte characters', async () => {
    const recs = await collect('<?xml version="1.0"?><a:root xmlns:a="urn:x"><a:item n="1"><id> x1 </id><t>é&amp;<![CDATA[<c>]]></t></a:item><item n="2"/></a:root>');
    expect(recs.map((r) => r.element.attrs.n)).toEqual(['1', '2']);
    expect(recs[0]?.path).toEqual(['root', 'item']);
    expect(childText(recs[0]!.element, 'id')).toBe('x1');
    expect(childText(recs[0]!.element, 't')).toBe('é&<c>');
  });

  it.each([
    ['an external entity', '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><i>&x;</i></r>', /DOCTYPE/],
    ['a billion laughs', '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><r><i>&b;</i></r>', /DOCTYPE/],
    ['an undeclared entity', '<r><i>&nbsp;</i></r>', /f\.xml:1:\d+: .*entity/i],
    ['a truncated document', '<r><i>abc</i>', /f\.xml:1:\d+: /],
    ['an empty document', '', /f\.xml/],
    ['a NUL character', '<r><i>a\u0000b</i></r>', /f\.xml:1:\d+: /],
    ['deep nesting', `<r>${'<x>'.repeat(100)}${'</x>'.repeat(100)}</r>`, /deeper than 64/],
  ])('refuses %s with an error naming the input and position', async (_what, text, re) => {
    await expect(collect(text)).rejects.toThrow(re);
  });

  it('refuses invalid UTF-8', async () => {
    async function* bad(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield new Uint8Array([0x3c, 0x72, 0x3e, 0xff, 0x3c, 0x2f, 0x72, 0x3e]);
    }
    await expect(
      (async () => {
        for await (const r of xmlRecords(bad(), { name: 'b.xml', select: () => true })) expect(r).toBeUndefined();
      })(),
    ).rejects.toThrow(/b\.xml.*UTF-8/);
  });
});
