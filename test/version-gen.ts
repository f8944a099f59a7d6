/**
 * Generators of adversarial version pairs, for comparing our ports with librpm and libdpkg.
 * Versions are byte-strings (one byte per code unit; bytes >= 0x80 stand for UTF-8 and
 * other non-ASCII input). Pairs are mostly "near misses": B is A with one small edit, because
 * that is where comparison bugs live; the rest are independent.
 */
type Rand = () => number;

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

function digits(r: Rand): string {
  const roll = r();
  const len = roll < 0.7 ? int(r, 1, 3) : roll < 0.95 ? int(r, 4, 12) : int(r, 13, 40);
  let s = '';
  for (let i = 0; i < len; i++) s += String(r() < 0.25 ? 0 : int(r, 0, 9));
  return s;
}

function letters(r: Rand): string {
  const pool = r() < 0.7 ? 'abcdefghijklmnopqrstuvwxyz' : 'abzABZrcpreGITsvnxyz';
  const len = r() < 0.8 ? int(r, 1, 4) : int(r, 5, 12);
  let s = '';
  for (let i = 0; i < len; i++) s += pool.charAt(int(r, 0, pool.length - 1));
  return s;
}

const RPM_SEPARATORS = ['.', '.', '.', '_', '+', '~', '~', '^', '^', '-', ':', '%', ' ', ',', '\xc3\xa9', '\xff', '..', '~~', '^~', '~^'];

function rpmToken(r: Rand): string {
  const roll = r();
  if (roll < 0.45) return digits(r);
  if (roll < 0.7) return letters(r);
  return pick(r, RPM_SEPARATORS);
}

/** A random rpm version-ish string (no TAB, LF, CR or NUL). */
export function rpmVersion(r: Rand): string {
  const n = r() < 0.05 ? 0 : int(r, 1, 8);
  let s = '';
  for (let i = 0; i < n; i++) s += rpmToken(r);
  return s;
}

/** A random `[E:]V[-R]`. */
export function rpmEvr(r: Rand): string {
  let s = '';
  const e = r();
  if (e < 0.25) s += `${digits(r)}:`;
  else if (e < 0.3) s += ':';
  s += rpmVersion(r);
  if (r() < 0.6) s += `-${rpmVersion(r)}`;
  return s === '' ? '0' : s;
}

/** A near-miss edit of `s`, built from the alphabet of `token`. */
function mutate(r: Rand, s: string, token: (r: Rand) => string): string {
  const pos = int(r, 0, s.length);
  switch (int(r, 0, 7)) {
    case 0:
      return s.slice(0, pos) + token(r) + s.slice(pos);
    case 1:
      return s.slice(0, pos) + s.slice(pos + int(r, 1, 3));
    case 2:
      return s + token(r);
    case 3:
      return s.slice(0, pos) + pick(r, ['~', '^', '.', '0', '00', 'a', '-', ':']) + s.slice(pos);
    case 4: {
      // bump or zero-pad a digit
      const c = s.charCodeAt(pos);
      if (c >= 48 && c <= 57) return s.slice(0, pos) + String((c - 48 + 1) % 10) + s.slice(pos + 1);
      return `0${s}`;
    }
    case 5:
      // ASCII case only: toUpperCase() would turn byte 0xff into U+0178, not a byte.
      return /[a-z]/.test(s) ? s.replace(/[a-z]/g, (c) => c.toUpperCase()) : s.replace(/[A-Z]/g, (c) => c.toLowerCase());
    case 6:
      return s.slice(0, pos);
    default:
      return s;
  }
}

/** A pair for rpm EVR comparison. */
export function rpmPair(r: Rand): [string, string] {
  const a = rpmEvr(r);
  const roll = r();
  if (roll < 0.65) return [a, mutate(r, a, rpmToken)];
  if (roll < 0.7) return [a, a];
  return [a, rpmEvr(r)];
}

const DEB_UPSTREAM_EXTRA = ['.', '.', '+', '~', '~', '-', ':', '.', '~~'];
const DEB_INVALID = ['_', '%', '\xc3\xa9', '\xff', '!', ' ', ',', '/'];

function debToken(r: Rand): string {
  const roll = r();
  if (roll < 0.45) return digits(r);
  if (roll < 0.7) return letters(r);
  if (roll < 0.97) return pick(r, DEB_UPSTREAM_EXTRA);
  return pick(r, DEB_INVALID);
}

/** A random Debian version-ish string, mostly valid, sometimes not. */
export function debVersion(r: Rand): string {
  let s = '';
  const e = r();
  if (e < 0.2) s += `${r() < 0.9 ? String(int(r, 0, 12)) : digits(r)}:`;
  else if (e < 0.22) s += pick(r, [':', 'a:', '-1:', '+1:', ' 1:', '99999999999:']);
  s += r() < 0.93 ? digits(r) : letters(r);
  const n = int(r, 0, 6);
  for (let i = 0; i < n; i++) s += debToken(r);
  if (r() < 0.55) {
    s += '-';
    const m = int(r, 1, 4);
    for (let i = 0; i < m; i++) {
      const t = debToken(r);
      s += t === '-' || t === ':' ? '.' : t;
    }
  }
  if (r() < 0.01) s = pick(r, ['', '<unknown>', '1:', '-', '1-', ' ']);
  return s;
}

/** A pair for dpkg comparison. */
export function debPair(r: Rand): [string, string] {
  const a = debVersion(r);
  const roll = r();
  if (roll < 0.65) return [a, mutate(r, a, debToken)];
  if (roll < 0.7) return [a, a];
  return [a, debVersion(r)];
}
