import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedAllowForApi, feedAllowFromEnv, parseFeedAllow } from './feed-allow.js';
import { download } from './http.js';

/**
 * The operator's allow-list for feed mirrors on the own network (BULWARK_FEED_ALLOW): before
 * it, a mirror named by DNS inside the network could not be synced at all.
 */
describe('parsing BULWARK_FEED_ALLOW', () => {
  it('reads names, wildcard domains, addresses and blocks, comma- or space-separated', () => {
    const a = parseFeedAllow(' mirror.corp.example, *.feeds.corp.example 10.20.0.0/16,fd00:1::/64  192.168.7.7 ');
    expect(a.entries).toEqual(['mirror.corp.example', '*.feeds.corp.example', '10.20.0.0/16', 'fd00:1::/64', '192.168.7.7']);
    expect(
      ['mirror.corp.example', 'MIRROR.Corp.Example.', 'a.feeds.corp.example', 'x.y.feeds.corp.example', '10.20.3.4', '[fd00:1::5]', '192.168.7.7'].map((h) =>
        a.names(h),
      ),
    ).toEqual([true, true, true, true, true, true, true]);
    expect(
      ['corp.example', 'feeds.corp.example', 'evilmirror.corp.example', 'mirror.corp.example.evil', '10.21.0.1', '192.168.7.8', 'localhost', '[::1]'].map((h) =>
        a.names(h),
      ),
    ).toEqual([false, false, false, false, false, false, false, false]);
  });

  it('lets an allowed name reach its own network, never metadata, unspecified or multicast addresses; a block lets any name in', () => {
    const a = parseFeedAllow('mirror.corp.example,10.20.0.0/16');
    expect(
      ['10.1.2.3', '192.168.1.1', '172.16.0.1', '127.0.0.1', 'fd00::1', '100.64.0.1', '8.8.8.8'].map((ip) => a.permits('mirror.corp.example', ip)),
    ).toEqual([true, true, true, true, true, true, true]);
    expect(
      ['169.254.169.254', 'fe80::1', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255', '::ffff:169.254.169.254'].map((ip) =>
        a.permits('mirror.corp.example', ip),
      ),
    ).toEqual([false, false, false, false, false, false, false]);
    expect([
      a.permits('other.example', '10.20.9.9'),
      a.permits('other.example', '::ffff:10.20.9.9'),
      a.permits('other.example', '::ffff:a14:909'),
      a.permits('other.example', '10.21.0.1'),
      a.permits('other.example', '127.0.0.1'),
    ]).toEqual([true, true, true, false, false]);
  });

  it.each([
    ['10.0.0.0/33', 'has a prefix longer than an IPv4 address'],
    ['fd00::/129', 'has a prefix longer than an IPv6 address'],
    ['mirror/8', 'is not an address block (address/prefix)'],
    ['http://mirror.corp.example', 'is not a host name, an address or an address block'],
    ['2130706433', 'is not a host name, an address or an address block'],
    ['0x7f.1', 'is not a host name, an address or an address block'],
    ['-bad.example', 'is not a host name, an address or an address block'],
    ['*', 'is not a host name, an address or an address block'],
    ['a_b.example', 'is not a host name, an address or an address block'],
    ['fe80::1%eth0', 'has a zone (%…); name an address or a block'],
  ])('refuses %s as a configuration error naming the variable and the entry', (entry, why) => {
    expect(() => parseFeedAllow(`ok.example,${entry}`)).toThrow(
      expect.objectContaining({ code: 'config.invalid', message: `BULWARK_FEED_ALLOW: "${entry}" ${why}` }) as Error,
    );
  });

  it('takes an internationalised name as a URL writes it (punycode)', () => {
    const a = parseFeedAllow('spiegel-bücher.example');
    expect([a.names(new URL('https://spiegel-bücher.example/').hostname), a.names('xn--spiegel-bcher-4ob.example')]).toEqual([true, true]);
  });

  it('serves sources configured through the API only when BULWARK_FEED_ALLOW_API says yes', () => {
    const env = { BULWARK_FEED_ALLOW: 'mirror.corp.example' };
    expect(
      ['', 'no', 'false', '0', 'yes', 'YES', 'true', '1'].map((v) => feedAllowForApi({ ...env, BULWARK_FEED_ALLOW_API: v }).names('mirror.corp.example')),
    ).toEqual([false, false, false, false, true, true, true, true]);
    expect(feedAllowForApi(env).names('mirror.corp.example')).toBe(false);
    expect(() => feedAllowForApi({ ...env, BULWARK_FEED_ALLOW_API: 'maybe' })).toThrow(
      expect.objectContaining({ code: 'config.invalid', message: 'BULWARK_FEED_ALLOW_API: "maybe" is not yes or no' }) as Error,
    );
  });

  it('is empty when unset, and read from the environment given', () => {
    expect(feedAllowFromEnv({}).names('mirror.corp.example')).toBe(false);
    expect(feedAllowFromEnv({ BULWARK_FEED_ALLOW: 'mirror.corp.example' }).names('mirror.corp.example')).toBe(true);
  });
});

describe('downloads from an allowed mirror on a real local server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-allow-'));
  let mirror: Server;
  let inner: Server;
  let port = 0;
  let innerPort = 0;
  const hits = { mirror: 0, inner: 0 };
  let redirectTo = '';
  // Names of our own, as a corporate DNS would answer: the mirror and a name for the metadata service.
  const names: Record<string, LookupAddress[]> = {
    'mirror.corp.example': [{ address: '127.0.0.1', family: 4 }],
    'metadata.corp.example': [{ address: '169.254.169.254', family: 4 }],
    'other.corp.example': [{ address: '127.0.0.1', family: 4 }],
  };
  const lookup = ((host: string, options: object, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
    const a = names[host.toLowerCase().replace(/\.$/, '')];
    if (a === undefined) {
      dnsLookup(host, { all: true }, cb);
      return;
    }
    cb(null, a);
  }) as unknown as typeof dnsLookup;

  beforeAll(async () => {
    mirror = createServer((req, res) => {
      hits.mirror++;
      if (req.url === '/redirect') res.writeHead(302, { location: redirectTo }).end();
      else res.writeHead(200).end('mirror bytes');
    });
    inner = createServer((_req, res) => {
      hits.inner++;
      res.writeHead(200).end('inner secrets');
    });
    for (const s of [mirror, inner]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    port = (mirror.address() as AddressInfo).port;
    innerPort = (inner.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of [mirror, inner]) {
      s.closeAllConnections();
      await new Promise<void>((r) =>
        s.close(() => {
          r();
        }),
      );
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (url: string, allow: string) => download(url, join(dir, 'f'), { maxBytes: 1 << 20, timeoutMs: 10_000, allow: parseFeedAllow(allow), lookup });
  const failure = (url: string, allow: string) =>
    get(url, allow).then(
      (r) => `downloaded: ${r.status}`,
      (e: unknown) => (e as Error).message.replace(url, 'URL'),
    );
  const NEUTRAL = 'URL: cannot connect (the host is not reachable, refused the connection, or is not at a public address)';

  it('fails without the allow-list (the defect: a mirror named by DNS inside the network cannot be synced)', async () => {
    expect(await failure(`http://mirror.corp.example:${String(port)}/feed`, '')).toBe(NEUTRAL);
  });

  it('reads a mirror the operator allows by name, in any case and with a trailing dot', async () => {
    for (const host of ['mirror.corp.example', 'MIRROR.corp.example', 'mirror.corp.example.']) {
      const r = await get(`http://${host}:${String(port)}/feed`, 'mirror.corp.example');
      expect(r.status === 'ok' ? readFileSync(r.file, 'utf8') : r.status).toBe('mirror bytes');
    }
    const r = await get(`http://mirror.corp.example:${String(port)}/feed`, '*.corp.example');
    expect(r.status === 'ok' ? readFileSync(r.file, 'utf8') : r.status).toBe('mirror bytes');
  });

  it('reads any name or address in an allowed block', async () => {
    const r = await get(`http://other.corp.example:${String(port)}/feed`, '127.0.0.0/8');
    expect(r.status === 'ok' ? readFileSync(r.file, 'utf8') : r.status).toBe('mirror bytes');
  });

  it('still judges an allowed name by what it resolves to: metadata and link-local addresses are refused before connecting', async () => {
    expect(await failure(`http://metadata.corp.example/latest/meta-data/`, 'metadata.corp.example')).toBe(NEUTRAL);
    expect(await failure(`http://metadata.corp.example/latest/meta-data/`, '*.corp.example')).toBe(NEUTRAL);
  });

  it('connects to the very addresses it checked: a name whose answers alternate (DNS rebinding) or mix allowed and refused addresses never reaches the refused one', async () => {
    // 127.0.0.2 is allowed (nothing listens there); the mirror listens on 127.0.0.1, which is not.
    let calls = 0;
    const answers: LookupAddress[][] = [
      [{ address: '127.0.0.2', family: 4 }],
      [{ address: '127.0.0.1', family: 4 }],
      [
        { address: '127.0.0.2', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    ];
    const rebinding = ((_host: string, _o: object, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
      cb(null, answers[calls++ % answers.length] ?? []);
    }) as unknown as typeof dnsLookup;
    const before = hits.mirror;
    for (let i = 0; i < 6; i++) {
      const url = `http://rebind.example:${String(port)}/feed`;
      const got = await download(url, join(dir, 'f'), { maxBytes: 1 << 20, timeoutMs: 10_000, allow: parseFeedAllow('127.0.0.2'), lookup: rebinding }).then(
        (r) => r.status,
        (e: unknown) => (e as Error).message.replace(url, 'URL'),
      );
      expect(got).toBe(NEUTRAL);
    }
    expect([calls >= 6, hits.mirror - before]).toEqual([true, 0]);
  });

  it('judges every redirect hop by its own name: the allowed mirror cannot send a download elsewhere inside the network', async () => {
    const before = hits.mirror;
    const targets = [
      `http://127.0.0.1:${String(innerPort)}/x`,
      `http://localhost:${String(innerPort)}/x`,
      `http://other.corp.example:${String(innerPort)}/x`,
      `http://[::ffff:127.0.0.1]:${String(innerPort)}/x`,
      `http://2130706433:${String(innerPort)}/x`,
      `http://metadata.corp.example/x`,
    ];
    const got: string[] = [];
    for (const t of targets) {
      redirectTo = t;
      got.push(`${t} ${await failure(`http://mirror.corp.example:${String(port)}/redirect`, 'mirror.corp.example')}`);
    }
    expect(got).toEqual(targets.map((t) => `${t} ${NEUTRAL}`));
    expect(hits.inner).toBe(0);
    expect(hits.mirror - before).toBe(targets.length);
    // A redirect to another allowed name is followed.
    redirectTo = `http://mirror.corp.example:${String(port)}/feed`;
    const r = await get(`http://mirror.corp.example:${String(port)}/redirect`, 'mirror.corp.example');
    expect(r.status === 'ok' ? readFileSync(r.file, 'utf8') : r.status).toBe('mirror bytes');
  });
});
