import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { BulwarkError } from '../core/errors.js';
import { blockedAddress } from './address.js';

/**
 * The operator's explicit allow-list for feed downloads that are not public
 * (`BULWARK_FEED_ALLOW="mirror.corp.example,*.feeds.corp.example,10.0.0.0/8"`): a mirror named by
 * DNS on the own network could not be synced at all, since every address a name resolves to had
 * to be public. Entries are comma- or space-separated:
 * - a host name (`mirror.corp.example`) or every name under a domain (`*.corp.example`): that
 *   name may resolve to an address of the own network (private, shared, unique-local, site-local
 *   or loopback), still checked on the addresses it resolves to as the socket opens, so it never
 *   reaches link-local (cloud metadata at 169.254.169.254), unspecified (0.0.0.0 reaches the
 *   server itself on every port), multicast or reserved addresses;
 * - an address or a CIDR block (`10.0.0.5`, `10.20.0.0/16`, `fd00:1::/64`): any name or literal
 *   whose address falls in it, exactly as written (a block is the operator's own statement).
 * Each hop of a redirect is judged the same way, by its own name and addresses. It is read from
 * the environment of the process that downloads (`bulwark serve`, `bulwark feeds sync`), never
 * from the API: through the API a feed may name an allowed host, nothing else inside the network.
 *
 * @example parseFeedAllow('mirror.corp.example,10.0.0.0/8').permits('mirror.corp.example', '192.168.1.4') // true
 */
export interface FeedAllow {
  /** True when `host` (as in a URL, any case, maybe with a trailing dot) connecting to `address` is allowed. */
  permits(host: string, address: string): boolean;
  /** True when a location may name `host` (a name, or an address literal) through the API. */
  names(host: string): boolean;
  /** The entries as given (for logs and errors). */
  readonly entries: readonly string[];
}

/** What an allowed name may never resolve to: nothing a mirror lives at, and what SSRF is aimed at. */
const NEVER = ['this network', 'unspecified', 'link-local', 'multicast', 'reserved or broadcast', 'not an IP address'];

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The environment variable the allow-list is read from. */
export const FEED_ALLOW_VARIABLE = 'BULWARK_FEED_ALLOW';

/**
 * Parses an allow-list; a bad entry is a configuration error naming the variable and the entry.
 * @example parseFeedAllow('*.corp.example 10.1.0.0/16').entries // ['*.corp.example', '10.1.0.0/16']
 */
export function parseFeedAllow(text: string | undefined, source = FEED_ALLOW_VARIABLE): FeedAllow {
  const entries = (text ?? '').split(/[\s,]+/).filter((e) => e !== '');
  const blocks = new BlockList();
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    const bad = (why: string): BulwarkError => new BulwarkError('config.invalid', `${source}: "${entry}" ${why}`, { entry });
    // A zone (fe80::1%eth0) names an interface of this machine; a URL cannot carry one.
    if (entry.includes('%')) throw bad('has a zone (%…); name an address or a block');
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    const ip = unbracket(cidr?.[1] ?? entry);
    const family = isIP(ip);
    if (family !== 0) {
      const bits = cidr === null ? (family === 4 ? 32 : 128) : Number(cidr[2]);
      if (bits > (family === 4 ? 32 : 128)) throw bad(`has a prefix longer than an IPv${String(family)} address`);
      blocks.addSubnet(ip, bits, family === 4 ? 'ipv4' : 'ipv6');
      continue;
    }
    if (cidr !== null) throw bad('is not an address block (address/prefix)');
    const name = normaliseName(entry.startsWith('*.') ? entry.slice(2) : entry);
    // A name whose last label is a number is read by URL parsers as an IPv4 address (2130706433,
    // 0x7f.1: WHATWG URL's "ends in a number"), so it can never be a name here.
    if (name === null || /^(\d+|0x[0-9a-f]*)$/i.test(name.split('.').at(-1) ?? '')) throw bad('is not a host name, an address or an address block');
    if (entry.startsWith('*.')) suffixes.push(`.${name}`);
    else exact.add(name);
  }
  const nameAllowed = (host: string): boolean => {
    const n = normaliseName(host);
    return n !== null && (exact.has(n) || suffixes.some((s) => n.endsWith(s)));
  };
  const inBlock = (address: string): boolean => {
    const a = unmapped(unbracket(address).replace(/%.*$/, ''));
    const family = isIP(a);
    return family !== 0 && blocks.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
  return {
    entries,
    permits(host, address) {
      if (inBlock(address)) return true;
      if (!nameAllowed(host)) return false;
      const why = blockedAddress(address);
      return why === null || !NEVER.some((n) => why.startsWith(n));
    },
    names(host) {
      const h = unbracket(host);
      return isIP(h) !== 0 ? inBlock(h) : nameAllowed(h);
    },
  };
}

/** The environment variable that lets feeds configured through the API use the allow-list too. */
export const FEED_ALLOW_API_VARIABLE = 'BULWARK_FEED_ALLOW_API';

/**
 * The allow-list a feed configured through the API may use: BULWARK_FEED_ALLOW when the operator
 * also sets BULWARK_FEED_ALLOW_API=yes, else none (public addresses only). An admin token is not
 * the operator's shell: by default it cannot point the server at the own network, allowed or not.
 * @example feedAllowForApi({ BULWARK_FEED_ALLOW: 'mirror.corp.example' }).names('mirror.corp.example') // false
 */
export function feedAllowForApi(env: NodeJS.ProcessEnv = process.env): FeedAllow {
  const v = (env[FEED_ALLOW_API_VARIABLE] ?? '').trim().toLowerCase();
  if (['yes', 'true', '1'].includes(v)) return feedAllowFromEnv(env);
  if (!['', 'no', 'false', '0'].includes(v))
    throw new BulwarkError('config.invalid', `${FEED_ALLOW_API_VARIABLE}: "${v.slice(0, 40)}" is not yes or no`, { variable: FEED_ALLOW_API_VARIABLE });
  return NONE;
}

const NONE = parseFeedAllow('');

let cached: { text: string | undefined; allow: FeedAllow } | undefined;

/**
 * The allow-list of this process's environment (parsed again only when the variable changes).
 * @example feedAllowFromEnv({ BULWARK_FEED_ALLOW: 'mirror.corp.example' }).names('MIRROR.corp.example.') // true
 */
export function feedAllowFromEnv(env: NodeJS.ProcessEnv = process.env): FeedAllow {
  const text = env[FEED_ALLOW_VARIABLE];
  if (cached?.text !== text || cached === undefined) cached = { text, allow: parseFeedAllow(text) };
  return cached.allow;
}

function unbracket(s: string): string {
  return s.replace(/^\[(.*)\]$/, '$1');
}

/** `::ffff:10.0.0.1` is 10.0.0.1 (a dual-stack socket reports IPv4 peers this way). */
function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m?.[1] !== undefined) return m[1];
  const h = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (h?.[1] !== undefined && h[2] !== undefined) {
    const a = parseInt(h[1], 16);
    const b = parseInt(h[2], 16);
    return `${String(a >> 8)}.${String(a & 0xff)}.${String(b >> 8)}.${String(b & 0xff)}`;
  }
  return ip;
}

/** A DNS name in lower case without its trailing dot, or null when it is not one. */
function normaliseName(host: string): string | null {
  // As a URL writes it: an internationalised name in its ASCII (punycode) form.
  const n = domainToASCII(host).toLowerCase().replace(/\.$/, '');
  if (n === '' || n.length > 253) return null;
  return n.split('.').every((l) => LABEL.test(l)) ? n : null;
}
