import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { MAX_LINE_BYTES } from './vercmp.js';

async function run(args: string[], input: string | Buffer | string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const chunks = Array.isArray(input) ? input.map((s) => Buffer.from(s, 'latin1')) : [typeof input === 'string' ? Buffer.from(input, 'latin1') : input];
  const code = await main(args, { stdin: Readable.from(chunks), stdout, stderr, env: {} });
  return { code, out, err };
}

describe('bulwark vercmp', () => {
  it('prints one answer per line, in order', async () => {
    const r = await run(['vercmp', '--scheme', 'rpm'], '1:2.4.62-1.azl3\t0:2.4.62-1.azl3\n1.0~rc1\t1.0\n1.0\t1.0\n');
    expect(r).toEqual({ code: 0, out: '1\n-1\n0\n', err: '' });
  });

  it('reads a last line without newline, CRLF line ends, and lines split across chunks', async () => {
    const r = await run(['vercmp', '--scheme', 'deb'], ['1.0\t1.', '1\r\n2.0', '\t1.0']);
    expect(r).toEqual({ code: 0, out: '-1\n1\n', err: '' });
  });

  it('empty input prints nothing and succeeds', async () => {
    expect(await run(['vercmp', '--scheme', 'rpm'], '')).toEqual({ code: 0, out: '', err: '' });
  });

  it.each([
    ['rpm', '1.0\n', 'line 1: expected two versions separated by one TAB, found 1 field'],
    ['rpm', 'a\tb\tc\n', 'line 1: expected two versions separated by one TAB, found 3 fields'],
    ['rpm', '\t1.0\n', 'line 1: A "": empty EVR'],
    ['rpm', '1.0\t\n', 'line 1: B "": empty EVR'],
    ['rpm', '1\u00002\t1\n', 'line 1: contains a NUL byte'],
    ['deb', '1:\t1.0\n', 'line 1: A "1:" is not a valid Debian version: nothing after colon in version number'],
    ['deb', '1.0\t1 0\n', 'line 1: B "1 0" is not a valid Debian version: version string has embedded spaces'],
    ['deb', '2147483648:1\t1\n', 'epoch in version is too big'],
  ])('%s: a bad line is named, its output line left empty, exit 2: %j', async (scheme, input, message) => {
    const r = await run(['vercmp', '--scheme', scheme], `1\t2\n${input}3\t3\n`);
    expect(r.code).toBe(2);
    expect(r.out).toBe('-1\n\n0\n');
    expect(r.err).toContain(message.replace('line 1', 'line 2'));
  });

  it('deb: a version dpkg only warns about is compared, with the warning', async () => {
    // dpkg: letters sort after the empty digit run of "1" (dpkg --compare-versions abc gt 1).
    const r = await run(['vercmp', '--scheme', 'deb'], 'abc\t1\n');
    expect(r.code).toBe(0);
    expect(r.out).toBe('1\n');
    expect(r.err).toContain('line 1: warning: A "abc": version number does not start with digit');
  });

  it('deb: blank versions as dpkg --compare-versions has them', async () => {
    const r = await run(['vercmp', '--scheme', 'deb'], '\t0\n<unknown>\t\n0\t<unknown>\n');
    expect(r).toEqual({ code: 0, out: '-1\n0\n1\n', err: '' });
  });

  it('compares very long versions exactly (numbers of 100,000 digits)', async () => {
    const big = '9'.repeat(100_000);
    const r = await run(['vercmp', '--scheme', 'rpm'], `${big}\t1${'0'.repeat(100_000)}\n0${big}-1\t${big}-1\n`);
    expect(r).toEqual({ code: 0, out: '-1\n0\n', err: '' });
  });

  it('refuses a line over the limit without buffering it whole, and goes on', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const chunks = ['1\t2\n', ...Array.from({ length: Math.ceil(MAX_LINE_BYTES / chunk.length) + 2 }, () => chunk), '\n2\t1\n'];
    const r = await run(['vercmp', '--scheme', 'rpm'], chunks);
    expect(r.code).toBe(2);
    expect(r.out).toBe('-1\n\n1\n');
    expect(r.err).toContain(`line 2: longer than ${MAX_LINE_BYTES} bytes`);
  });

  it('non-ASCII bytes compare as librpm compares them (separators)', async () => {
    const r = await run(['vercmp', '--scheme', 'rpm'], Buffer.from('1.0\xe9\t1.0\n1\xff2\t1.2\n', 'latin1'));
    expect(r).toEqual({ code: 0, out: '0\n0\n', err: '' });
  });

  it('usage errors exit 2 and say why', async () => {
    const missing = await run(['vercmp'], '');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--scheme/);
    const bad = await run(['vercmp', '--scheme', 'apk'], '');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Allowed choices are rpm, deb/);
  });

  it('--help exits 0', async () => {
    const r = await run(['vercmp', '--help'], '');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--scheme/);
  });
});
