/**
 * Debian version parsing and comparison, ported step by step from dpkg (1.21/1.22):
 *
 * - `parseversion()`         — lib/dpkg/parsehelp.c  (what a valid version is)
 * - `order()`, `verrevcmp()` — lib/dpkg/version.c    (comparison of upstream or revision)
 * - `dpkg_version_compare()` — lib/dpkg/version.c    (epoch, then upstream, then revision)
 *
 * Numbered comments ([1], [2] …) follow the C in order.
 *
 * dpkg works on C strings of bytes with a signed `char`. Versions are ASCII in practice; for
 * anything else we compare the UTF-8 bytes with the same signed-char arithmetic, so even an
 * invalid version (which dpkg compares after a warning) orders exactly as dpkg orders it.
 * Callers that hold raw bytes (the CLI reads standard input as latin1) use the `*Bytes`
 * variants, whose strings carry one byte per code unit.
 */

import { BulwarkError } from '../errors.js';

const CH_0 = 48;
const CH_9 = 57;
const CH_TILDE = 126;

/** dpkg's c_isdigit (C locale). */
function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

/** dpkg's c_isalpha (C locale). */
function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** dpkg's c_isblank: space and tab. */
function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** C isspace() in the C locale, as strtol() skips it. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * [O1] static int order(int c):
 *   digit → 0; letter → c; '~' → -1; other non-NUL → c + 256; NUL → 0.
 * `c` is a byte (0..255) here. dpkg's `char` is signed on the platforms it ships for, so a
 * byte >= 0x80 arrives as c - 256, and c - 256 + 256 = c: such bytes sort between letters
 * and ASCII punctuation. -1 stands for "end of string" (the C's NUL).
 */
function order(c: number): number {
  if (c < 0) return 0;
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === CH_TILDE) return -1;
  if (c >= 128) return c;
  return c + 256;
}

/** The byte at i of a byte-string range, or -1 (the C's NUL) past its end. */
function at(s: string, i: number, end: number): number {
  return i < end ? s.charCodeAt(i) : -1;
}

/** [V1] static int verrevcmp(const char *a, const char *b), on byte-string ranges. */
function verrevcmpRange(a: string, ai: number, aEnd: number, b: string, bi: number, bEnd: number): number {
  // [V2] while (*a || *b) {
  while (ai < aEnd || bi < bEnd) {
    // [V3] int first_diff = 0;
    let firstDiff = 0;
    // [V4] while ((*a && !c_isdigit(*a)) || (*b && !c_isdigit(*b))) {
    //        int ac = order(*a); int bc = order(*b);
    //        if (ac != bc) return ac - bc;
    //        a++; b++; }
    while ((ai < aEnd && !isDigit(a.charCodeAt(ai))) || (bi < bEnd && !isDigit(b.charCodeAt(bi)))) {
      const ac = order(at(a, ai, aEnd));
      const bc = order(at(b, bi, bEnd));
      if (ac !== bc) return ac - bc < 0 ? -1 : 1;
      ai++;
      bi++;
    }
    // [V5] while (*a == '0') a++; while (*b == '0') b++;
    while (ai < aEnd && a.charCodeAt(ai) === CH_0) ai++;
    while (bi < bEnd && b.charCodeAt(bi) === CH_0) bi++;
    // [V6] while (c_isdigit(*a) && c_isdigit(*b)) { if (!first_diff) first_diff = *a - *b; a++; b++; }
    while (ai < aEnd && bi < bEnd && isDigit(a.charCodeAt(ai)) && isDigit(b.charCodeAt(bi))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(ai) - b.charCodeAt(bi);
      ai++;
      bi++;
    }
    // [V7] if (c_isdigit(*a)) return 1; if (c_isdigit(*b)) return -1; if (first_diff) return first_diff;
    if (ai < aEnd && isDigit(a.charCodeAt(ai))) return 1;
    if (bi < bEnd && isDigit(b.charCodeAt(bi))) return -1;
    if (firstDiff !== 0) return firstDiff < 0 ? -1 : 1;
  }
  // [V8] return 0;
  return 0;
}

/** A parsed Debian version: `[epoch:]upstream[-revision]`. */
export interface DebVersion {
  epoch: number;
  upstream: string;
  /** '' when there is no revision (dpkg stores "" too). */
  revision: string;
}

export type DebParseResult = { ok: true; version: DebVersion; warning: string | null } | { ok: false; error: string };

/**
 * dpkg's parseversion() on a byte-string (one byte per code unit). Hard errors (`ok: false`)
 * are those dpkg refuses; a `warning` is one dpkg prints and then compares anyway (a version
 * not starting with a digit, or with characters outside the allowed sets).
 */
export function parseDebVersionBytes(input: string): DebParseResult {
  let start = 0;
  const len = input.length;
  // [P1] "Trim leading and trailing space.": while (*string && c_isblank(*string)) string++;
  while (start < len && isBlank(input.charCodeAt(start))) start++;
  // [P2] if (*string == '\0') return error("version string is empty");
  if (start >= len) return { ok: false, error: 'version string is empty' };
  // [P3] end = first blank after the start; anything but blanks after it is an error.
  let end = start;
  while (end < len && !isBlank(input.charCodeAt(end))) end++;
  let p = end;
  while (p < len && isBlank(input.charCodeAt(p))) p++;
  if (p < len) return { ok: false, error: 'version string has embedded spaces' };

  // [P4] colon = strchr(string, ':'); — searched in the whole rest of the string (not only up
  //      to `end`, though after [P3] nothing but blanks lies beyond it).
  let epoch = 0;
  let versionStart = start;
  const colon = input.indexOf(':', start);
  if (colon >= 0 && colon < end) {
    // [P5] epoch = strtol(string, &eepochcolon, 10): skips isspace(), takes one sign, digits.
    let q = start;
    while (q < len && isSpace(input.charCodeAt(q))) q++;
    let negative = false;
    const sign = input.charCodeAt(q);
    if (sign === 43 /* + */ || sign === 45 /* - */) {
      negative = sign === 45;
      q++;
    }
    const digitsStart = q;
    let value = 0;
    let overflow = false;
    while (q < len && isDigit(input.charCodeAt(q))) {
      value = value * 10 + (input.charCodeAt(q) - CH_0);
      if (value > 2147483647) overflow = true;
      q++;
    }
    // strtol sets endptr back to the start of the string when no digits were read.
    const eepochcolon = q === digitsStart ? start : q;
    // [P6] if (string == eepochcolon) return error("epoch in version is empty");
    if (eepochcolon === start) return { ok: false, error: 'epoch in version is empty' };
    // [P7] if (colon != eepochcolon) return error("epoch in version is not number");
    if (colon !== eepochcolon) return { ok: false, error: 'epoch in version is not number' };
    // [P8] if (epoch < 0) return error("epoch in version is negative");
    if (negative && value !== 0) return { ok: false, error: 'epoch in version is negative' };
    // [P9] if (epoch > INT_MAX || errno == ERANGE) return error("epoch in version is too big");
    if (!negative && overflow) return { ok: false, error: 'epoch in version is too big' };
    if (negative && overflow) return { ok: false, error: 'epoch in version is negative' };
    // [P10] if (!*++colon) return error("nothing after colon in version number");
    if (colon + 1 >= len) return { ok: false, error: 'nothing after colon in version number' };
    epoch = negative ? 0 : value;
    versionStart = colon + 1;
  }
  // [P11] version = copy of [string, end); hyphen = strrchr(version, '-')
  const hyphen = input.lastIndexOf('-', end - 1);
  let upstreamEnd = end;
  let revision = '';
  if (hyphen >= versionStart) {
    // [P12] if (*hyphen == '\0') return error("revision number is empty");
    if (hyphen + 1 >= end) return { ok: false, error: 'revision number is empty' };
    upstreamEnd = hyphen;
    revision = input.slice(hyphen + 1, end);
  }
  const upstream = input.slice(versionStart, upstreamEnd);
  const version: DebVersion = { epoch, upstream, revision };
  // [P13] if (!*ptr) return error("upstream version is empty");
  if (upstream === '') return { ok: false, error: 'upstream version is empty' };
  // [P14] if (!c_isdigit(*ptr++)) return warning("version number does not start with digit");
  if (!isDigit(upstream.charCodeAt(0))) {
    return { ok: true, version, warning: 'version number does not start with digit' };
  }
  // [P15] upstream may hold digits, letters and ".-+~:"
  for (let i = 1; i < upstream.length; i++) {
    const c = upstream.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && '.-+~:'.indexOf(String.fromCharCode(c)) < 0) {
      return { ok: true, version, warning: 'invalid character in version number' };
    }
  }
  // [P16] revision may hold digits, letters and ".+~"
  for (let i = 0; i < revision.length; i++) {
    const c = revision.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && '.+~'.indexOf(String.fromCharCode(c)) < 0) {
      return { ok: true, version, warning: 'invalid character in revision number' };
    }
  }
  return { ok: true, version, warning: null };
}

/**
 * dpkg_version_compare() on parsed byte-string versions: -1, 0 or 1.
 */
export function compareDebVersionParts(a: DebVersion, b: DebVersion): number {
  // [D1] if (a->epoch > b->epoch) return 1; if (a->epoch < b->epoch) return -1;
  if (a.epoch > b.epoch) return 1;
  if (a.epoch < b.epoch) return -1;
  // [D2] rc = verrevcmp(a->version, b->version); if (rc) return rc;
  const rc = verrevcmpRange(a.upstream, 0, a.upstream.length, b.upstream, 0, b.upstream.length);
  if (rc !== 0) return rc;
  // [D3] return verrevcmp(a->revision, b->revision);
  return verrevcmpRange(a.revision, 0, a.revision.length, b.revision, 0, b.revision.length);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/** Turns a Unicode string into a byte-string (one UTF-8 byte per code unit). */
export function toByteString(s: string): string {
  if (isAscii(s)) return s;
  const bytes = new TextEncoder().encode(s);
  let out = '';
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

/**
 * Parses a Debian version as dpkg does.
 * @example parseDebVersion('1:2.30-1ubuntu0.1') // { ok: true, version: { epoch: 1, upstream: '2.30', revision: '1ubuntu0.1' }, warning: null }
 */
export function parseDebVersion(input: string): DebParseResult {
  return parseDebVersionBytes(toByteString(input));
}

/**
 * Compares two Debian versions as `dpkg --compare-versions` does: a version dpkg refuses
 * throws a BulwarkError `version.invalid` naming the reason (callers at boundaries validate
 * first with checkDebVersion); warnings are ignored, as dpkg compares anyway.
 *
 * The empty string and `<unknown>` are dpkg's blank version: earlier than every real version
 * (`dpkg --compare-versions '' lt 0` is true), equal to each other.
 *
 * @example compareDebVersions('1.0~rc1', '1.0') // -1
 * @example compareDebVersions('1:0.9', '2.0')    // 1
 */
export function compareDebVersions(a: string, b: string): number {
  if (a === b) return 0;
  // The hot path (matching a fleet) takes plain ASCII versions without allocating; anything
  // else goes through the full parse, which gives the same answer or dpkg's error.
  if (simpleBounds(a, fastA) && simpleBounds(b, fastB)) {
    if (fastA.epoch !== fastB.epoch) return fastA.epoch > fastB.epoch ? 1 : -1;
    const rc = verrevcmpRange(a, fastA.upstreamStart, fastA.upstreamEnd, b, fastB.upstreamStart, fastB.upstreamEnd);
    if (rc !== 0) return rc;
    return verrevcmpRange(a, fastA.upstreamEnd + 1, a.length, b, fastB.upstreamEnd + 1, b.length);
  }
  return compareDebVersionsBytes(toByteString(a), toByteString(b));
}

interface SimpleBounds {
  epoch: number;
  upstreamStart: number;
  /** End of upstream; the revision starts after it (empty when upstreamEnd === length). */
  upstreamEnd: number;
}

const fastA: SimpleBounds = { epoch: 0, upstreamStart: 0, upstreamEnd: 0 };
const fastB: SimpleBounds = { epoch: 0, upstreamStart: 0, upstreamEnd: 0 };

/**
 * parseversion() for the common case only: printable ASCII without blanks, an epoch of at most
 * nine digits, a non-empty upstream and revision. Returns false for anything else (the caller
 * then runs the full parse), so it can never decide differently from it.
 */
function simpleBounds(s: string, out: SimpleBounds): boolean {
  const len = s.length;
  if (len === 0 || s === '<unknown>') return false;
  let colon = -1;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127) return false;
    if (c === 58 /* : */ && colon < 0) colon = i;
  }
  let epoch = 0;
  if (colon >= 0) {
    if (colon === 0 || colon > 9) return false;
    for (let i = 0; i < colon; i++) {
      const c = s.charCodeAt(i);
      if (!isDigit(c)) return false;
      epoch = epoch * 10 + (c - CH_0);
    }
    if (colon + 1 >= len) return false;
  }
  const start = colon + 1;
  const hyphen = s.lastIndexOf('-');
  let end = len;
  if (hyphen >= start) {
    if (hyphen === len - 1) return false;
    end = hyphen;
  }
  if (end === start) return false;
  out.epoch = epoch;
  out.upstreamStart = start;
  out.upstreamEnd = end;
  return true;
}

/** As compareDebVersions, on byte-strings. */
export function compareDebVersionsBytes(a: string, b: string): number {
  // dpkg's cmpversions() (dpkg/enquiry.c): an empty argument or "<unknown>" is the blank
  // version, which is not "informative" (dpkg_version_is_informative), and then the relation
  // table decides instead of dpkg_version_compare(): a blank version is earlier than every
  // informative one ("lt" is true when only A is blank), and two blanks are equal.
  const aBlank = isBlankArgument(a);
  const bBlank = isBlankArgument(b);
  if (aBlank || bBlank) return aBlank && bBlank ? 0 : aBlank ? -1 : 1;
  return compareDebVersionParts(parseForCompare(a), parseForCompare(b));
}

function isBlankArgument(s: string): boolean {
  return s === '' || s === '<unknown>';
}

function parseForCompare(s: string): DebVersion {
  const r = parseDebVersionBytes(s);
  if (!r.ok) throw new BulwarkError('version.invalid', `version '${s}' has bad syntax: ${r.error}`, { version: s });
  return r.version;
}

/**
 * Why `v` is not a version dpkg accepts, or null. Warnings do not count: dpkg accepts those.
 */
export function checkDebVersion(v: string): string | null {
  if (v === '' || v === '<unknown>') return null;
  const r = parseDebVersion(v);
  return r.ok ? null : r.error;
}
