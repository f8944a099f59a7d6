import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockedAddress } from './address.js';
import { download, redirectTarget } from './http.js';

/**
 * Feed downloads reach public addresses only (issue #20, item 2), on real local servers: the
 * address a location names literally is the operator's choice and is let through; a redirect
 * from it to any other loopback address or port, a name that resolves to loopback, and the IPv6
 * forms that carry a loopback IPv4 address are refused, each before a connection is made; a
 * connection that fails says one neutral thing, whatever the reason.
 */
describe('which addresses a download may reach', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '0.1.2.3',
    '198.18.0.1',
    '198.19.255.255',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '240.0.0.1',
    '192.0.2.1',
    '203.0.113.9',
    '::',
    '::1',
    '::127.0.0.1',
    '::7f00:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::7f00:1',
    '64:ff9b::127.0.0.1',
    '64:ff9b:1::1',
    '::ffff:0:7f00:1',
    '::ffff:0:a00:1',
    '::ffff:0:127.0.0.1',
    '2002:7f00:1::',
    '2002:a00:1::1',
    'fec0::1',
    'fe80::1',
    'fe80::1%eth0',
    'fd00::1',
    'fc00::1',
    'ff02::1',
    '2001:db8::1',
    '2001::1',
    '[::1]',
    'localhost',
    '',
  ])('refuses %s', (ip) => {
    expect(blockedAddress(ip)).not.toBeNull();
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '151.101.1.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '::ffff:0:808:808',
    '2002:808:808::1',
    '198.20.0.1',
    '100.128.0.1',
    '172.32.0.1',
  ])('lets %s through', (ip) => {
    expect(blockedAddress(ip)).toBeNull();
  });

  it('follows redirects between http and https but never from https to http', () => {
    expect(String(redirectTarget(new URL('http://a.example/x'), 'https://b.example/y'))).toBe('https://b.example/y');
    expect(String(redirectTarget(new URL('https://a.example/x/y'), '../z?k=1'))).toBe('https://a.example/z?k=1');
    expect(redirectTarget(new URL('https://a.example/x'), 'http://b.example/y')).toBe('redirected from https to http, which is not followed');
    expect(redirectTarget(new URL('https://a.example/x'), 'HTTP://a.example/x')).toBe('redirected from https to http, which is not followed');
    expect(redirectTarget(new URL('https://a.example/x'), 'file:///etc/passwd')).toBe('redirected to a file: URL; only http and https are followed');
    expect(redirectTarget(new URL('https://a.example/x'), 'http://[::1')).toBe('redirected to a location that is not a URL');
  });
});

describe('downloads on real local servers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-http-'));
  const hits = { feed: 0, inner: 0 };
  let feed: Server;
  let inner: Server;
  let garbage: TcpServer;
  const sockets = new Set<Socket>();
  let hangup: TcpServer;
  let feedPort = 0;
  let innerPort = 0;
  let redirectTo = '';
  const listen = async (s: Server | TcpServer): Promise<number> => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  };
  beforeAll(async () => {
    feed = createHttpServer((req, res) => {
      hits.feed++;
      if (req.url === '/redirect') res.writeHead(302, { location: redirectTo }).end();
      else res.writeHead(200).end('feed bytes');
    });
    // What a redirect must not reach: a service on another port of the same host.
    inner = createHttpServer((_req, res) => {
      hits.inner++;
      res.writeHead(200).end('inner secrets');
    });
    garbage = createTcpServer((s) => {
      sockets.add(s);
      s.end('SSH-2.0-OpenSSH_9.2\r\n');
    });
    hangup = createTcpServer((s) => s.destroy());
    feedPort = await listen(feed);
    innerPort = await listen(inner);
    await listen(garbage);
    await listen(hangup);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const s of [feed, inner, garbage, hangup]) {
      if ('closeAllConnections' in s) s.closeAllConnections();
      await new Promise<void>((r) =>
        s.close(() => {
          r();
        }),
      );
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (url: string) => download(url, join(dir, 'f'), { maxBytes: 1 << 20, timeoutMs: 10_000 });
  const failure = (url: string) =>
    get(url).then(
      (r) => `downloaded: ${r.status}`,
      (e: unknown) => (e as Error).message.replace(url, 'URL'),
    );
  const NEUTRAL = 'URL: cannot connect (the host is not reachable, refused the connection, or is not at a public address)';

  it('reads the address the location names (the operator chose it with the CLI)', async () => {
    const r = await get(`http://127.0.0.1:${String(feedPort)}/feed`);
    expect(r.status === 'ok' ? readFileSync(r.file, 'utf8') : r.status).toBe('feed bytes');
  });

  it('reaches any address when told to (repository mirrors, configured with the CLI only, often by name on the own network)', async () => {
    const r = await download(`http://localhost:${String(feedPort)}/feed`, join(dir, 'f'), { maxBytes: 1 << 20, reach: 'any' });
    expect(r.status === 'ok' ? readFileSync(r.file, 'utf8') : r.status).toBe('feed bytes');
  });

  it('refuses a redirect to another loopback address or port, and to names and IPv6 forms of loopback, before connecting', async () => {
    const targets = [
      `http://127.0.0.1:${String(innerPort)}/x`,
      `http://localhost:${String(innerPort)}/x`,
      `http://localhost:${String(feedPort)}/x`.replace('localhost', '127.0.0.2'),
      `http://[::ffff:127.0.0.1]:${String(innerPort)}/x`,
      `http://[::127.0.0.1]:${String(innerPort)}/x`,
      `http://[64:ff9b::7f00:1]:${String(innerPort)}/x`,
      `http://[2002:7f00:1::]:${String(innerPort)}/x`,
      `http://[fec0::1]:${String(innerPort)}/x`,
      `http://[::1]:${String(innerPort)}/x`,
      `http://169.254.169.254/latest/meta-data/`,
      `http://198.18.0.1/x`,
      `http://255.255.255.255/x`,
      `http://0.0.0.0:${String(innerPort)}/x`,
      `http://2130706433:${String(innerPort)}/x`,
    ];
    const got: string[] = [];
    for (const t of targets) {
      redirectTo = t;
      got.push(`${t} ${await failure(`http://127.0.0.1:${String(feedPort)}/redirect`)}`);
    }
    expect(got).toEqual(targets.map((t) => `${t} ${NEUTRAL}`));
    expect(hits.inner).toBe(0);
  });

  it('refuses names that resolve to loopback (localhost, and what /etc/hosts says), and says one thing for every failed connection', async () => {
    const names = [
      'localhost',
      ...readFileSync('/etc/hosts', 'utf8')
        .split('\n')
        .flatMap((l) => (/^127\.\S+\s/.test(l) ? l.replace(/#.*/, '').trim().split(/\s+/).slice(1) : [])),
    ];
    const before = hits.feed;
    for (const name of [...new Set(names)]) expect([name, await failure(`http://${name}:${String(feedPort)}/feed`)]).toEqual([name, NEUTRAL]);
    expect(hits.feed).toBe(before);
    // A closed port, a port that speaks SSH, a port that hangs up: the same words.
    const closed = createTcpServer();
    const closedPort = await listen(closed);
    await new Promise<void>((r) =>
      closed.close(() => {
        r();
      }),
    );
    const ports = [closedPort, (garbage.address() as AddressInfo).port, (hangup.address() as AddressInfo).port];
    expect(await Promise.all(ports.map((p) => failure(`http://127.0.0.1:${String(p)}/x`)))).toEqual([NEUTRAL, NEUTRAL, NEUTRAL]);
  });
});
