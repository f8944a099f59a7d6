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
    const recs = await collect(
      '<?xml version="1.0"?><a:root xmlns:a="urn:x"><a:item n="1"><id> x1 </id><t>é&amp;<![CDATA[<c>]]></t></a:item><item n="2"/></a:root>',
    );
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

  // The parser's own position is past the error (the chunk's end; 1:0 after close): the messages
  // named it first and the error's place second (`f.xml:5:0: 4:7: unexpected close tag.`).
  it.each([
    ['a wrong close tag', '<r>\n<i>\n</i><j>\n</x></j>\n</r>\n', 'f.xml:4:4: unexpected close tag.'],
    ['a repeated attribute', '<r>\n\n<i a="1" a="2"/>\n</r>\n', 'f.xml:3:16: duplicate attribute: a.'],
    ['a truncated document', '<r>\n<i>abc</i>\n<i>ab', 'f.xml:3:5: unclosed tag: i'],
  ])('names the line and column of %s once, where it is', async (_what, text, message) => {
    await expect(collect(text)).rejects.toThrow(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });

  it('refuses a document that is not XML at its first bytes, saying how it starts', async () => {
    await expect(collect('\n  {"id": "ALSA-2024:4312",\n "affected": []}\n')).rejects.toThrow(/^f\.xml:1:0: not XML: it starts with "\{/);
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

  // A record's text is gathered by saxes until the next tag: 500 MB of blanks inside one record
  // (a 2.8 MB gzip) were read whole before the record's limit was checked at that tag.
  it('refuses a record past its size limit while its text is still being read, not at the next tag', async () => {
    let pulled = 0;
    const blanks = ' '.repeat(64 * 1024);
    const hostile = async function* (): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield new TextEncoder().encode('<r><i><t>');
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield new TextEncoder().encode(blanks);
      }
      yield new TextEncoder().encode('</t></i></r>');
    };
    await expect(
      (async () => {
        for await (const r of xmlRecords(hostile(), { name: 'w.xml', select: (p) => p.length === 2, maxRecordChars: 1024 * 1024 })) expect(r).toBeUndefined();
      })(),
    ).rejects.toThrow(/w\.xml:1:\d+: a record is larger than 1048576 characters/);
    // 1 MiB is 16 chunks of 64 KiB: the 17th is the first past it.
    expect(pulled).toBe(17);
  });

  it('reads blanks between records without gathering them, and still yields every record', async () => {
    const blanks = ' '.repeat(64 * 1024);
    const doc = async function* (): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield new TextEncoder().encode('<r><i n="1"/>');
      for (let i = 0; i < 40; i++) yield new TextEncoder().encode(blanks);
      yield new TextEncoder().encode('<i n="2">x</i></r>');
    };
    const out: string[] = [];
    for await (const r of xmlRecords(doc(), { name: 'w.xml', select: (p) => p.length === 2, maxRecordChars: 1024 * 1024 }))
      out.push(`${r.element.attrs.n ?? ''}:${r.element.text}`);
    expect(out).toEqual(['1:', '2:x']);
  });
});
