import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses a server-side fetch may reach: public unicast only. Everything IANA's
 * special-purpose registries (RFC 6890, its IPv4 and IPv6 tables) mark as not globally
 * reachable is refused, and IPv6 forms that carry an IPv4 address (mapped, translated, NAT64,
 * 6to4) are judged by that address — `[::ffff:127.0.0.1]`, `[64:ff9b::7f00:1]` and `[2002:7f00:1::]` all
 * reach loopback (issue #20, item 2).
 */
const V4: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  // 240.0.0.0/4 holds the limited broadcast address 255.255.255.255.
  ['240.0.0.0', 4, 'reserved or broadcast'],
];
const V6: readonly [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  // IPv4-compatible addresses (deprecated, RFC 4291 §2.5.5.1): ::127.0.0.1.
  ['::', 96, 'IPv4-compatible'],
  ['64:ff9b:1::', 48, 'local-use NAT64'],
  ['100::', 64, 'discard-only'],
  ['2001::', 23, 'IETF protocol assignments (Teredo, ORCHID, …)'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['5f00::', 16, 'segment routing'],
  ['fc00::', 7, 'unique local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const v4List = new Map<string, BlockList>();
const v6List = new Map<string, BlockList>();
for (const [net, prefix, why] of V4) {
  const l = v4List.get(why) ?? new BlockList();
  l.addSubnet(net, prefix, 'ipv4');
  v4List.set(why, l);
}
for (const [net, prefix, why] of V6) {
  const l = v6List.get(why) ?? new BlockList();
  l.addSubnet(net, prefix, 'ipv6');
  v6List.set(why, l);
}

/**
 * Why an address may not be fetched from (`loopback`, `private`, …), or null for a public one.
 * A string that is no IP address is refused too.
 * @example blockedAddress('::ffff:7f00:1') // 'loopback (in an IPv4-mapped address)'
 */
export function blockedAddress(address: string): string | null {
  const ip = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(ip);
  if (family === 4) {
    for (const [why, l] of v4List) if (l.check(ip, 'ipv4')) return why;
    return null;
  }
  if (family !== 6) return 'not an IP address';
  const b = ipv6Bytes(ip);
  if (b === null) return 'not an IP address';
  const v4 = (o: number): string => `${String(b[o])}.${String(b[o + 1])}.${String(b[o + 2])}.${String(b[o + 3])}`;
  const zero = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (IPv4-translated, SIIT, RFC 2765 §2.1: a stateless
  // translator delivers it to a.b.c.d), 64:ff9b::a.b.c.d (NAT64, RFC 6052), 2002:aabb:ccdd::/48
  // (6to4, RFC 3056).
  let embedded: string | null = null;
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) embedded = v4(12);
  else if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) embedded = v4(12);
  else if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) embedded = v4(12);
  else if (b[0] === 0x20 && b[1] === 0x02) embedded = v4(2);
  if (embedded !== null) {
    const why = blockedAddress(embedded);
    return why === null ? null : `${why} (in an IPv6 address that carries ${embedded})`;
  }
  for (const [why, l] of v6List) if (l.check(ip, 'ipv6')) return why;
  return null;
}

/** The 16 bytes of an IPv6 address (already checked by isIP), with a dotted-quad tail. */
function ipv6Bytes(ip: string): number[] | null {
  let s = ip.toLowerCase();
  const quad = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (quad !== null) {
    const [, head = '', a = '0', b = '0', c = '0', d = '0'] = quad;
    s = `${head}${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string | undefined): string[] => (h === undefined || h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return null;
  const all = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (all.length !== 8) return null;
  return all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}
