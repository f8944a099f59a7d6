/**
 * rpm version comparison, ported step by step from librpm (rpm 4.18 and 6.0 share it):
 *
 * - `rpmvercmp()`  — rpmio/rpmvercmp.c   (segment-wise comparison of one version string)
 * - `parseEVR()`   — rpmio/rpmver.c      (splitting `[E:]V[-R]`)
 * - `rpmverCmp()`  — rpmio/rpmver.c      (epoch, version, release, each by compare_values())
 *
 * rpm has a second, looser notion used for dependency ranges (`rpmverOverlap`, `rpmdsCompare`:
 * a side without release matches any release). `compareRpmEvr` is the total order of EVRs;
 * range matching belongs to the matching engine, which states its rule there.
 *
 * The numbered comments ([1], [2] …) follow the C source in order so the two can be read side by
 * side. The port works on the strings in place with indices: it allocates nothing per
 * comparison (the hot path of matching a fleet runs millions of these).
 *
 * Character classes are rpm's own ASCII-only `risdigit`/`risalpha` (rpmstring.h), not the
 * locale's: every code unit outside [0-9A-Za-z] — including all non-ASCII — is a separator,
 * exactly as every byte >= 0x80 of a UTF-8 string is for librpm.
 */

const CH_0 = 48;
const CH_9 = 57;
const CH_A = 65;
const CH_Z = 90;
const CH_a = 97;
const CH_z = 122;
const CH_TILDE = 126; // '~'
const CH_CARET = 94; // '^'
const CH_COLON = 58; // ':'
const CH_DASH = 45; // '-'

/** rpmstring.h `risdigit`. */
function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

/** rpmstring.h `risalpha`. */
function isAlpha(c: number): boolean {
  return (c >= CH_a && c <= CH_z) || (c >= CH_A && c <= CH_Z);
}

/** rpmstring.h `risalnum`. */
function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

/**
 * rpmvercmp() on the ranges a[aStart, aEnd) and b[bStart, bEnd): the C works on NUL-terminated
 * copies; a range end plays the part of the NUL.
 */
function vercmpRange(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
  let one = aStart;
  let two = bStart;

  // [1] "easy comparison to see if versions are identical": if (rstreq(a, b)) return 0;
  //     Done here as a scan of the common prefix, which also serves the shortcut below.
  const lenA = aEnd - aStart;
  const lenB = bEnd - bStart;
  const common = lenA < lenB ? lenA : lenB;
  let k = 0;
  let resume = 0;
  while (k < common) {
    const c = a.charCodeAt(aStart + k);
    if (c !== b.charCodeAt(bStart + k)) break;
    k++;
    // Not part of the C, and equivalent to it: a common prefix is consumed identically by
    // both sides of the loop below (every decision depends only on the characters under the
    // cursors and on whether a side has ended, and neither has inside the prefix). A non-
    // alphanumeric character ends every segment, so after the last one in the common prefix
    // both cursors stand at the same offset in step [3]; starting there gives the same result.
    if (!isAlnum(c)) resume = k;
  }
  if (k === lenA && k === lenB) return 0;
  one += resume;
  two += resume;

  // [2] "loop through each version segment of str1 and str2 and compare them":
  //     while (*one || *two)
  while (one < aEnd || two < bEnd) {
    // [3] skip separators: while (*one && !risalnum(*one) && *one != '~' && *one != '^') one++;
    while (one < aEnd) {
      const c = a.charCodeAt(one);
      if (isAlnum(c) || c === CH_TILDE || c === CH_CARET) break;
      one++;
    }
    while (two < bEnd) {
      const c = b.charCodeAt(two);
      if (isAlnum(c) || c === CH_TILDE || c === CH_CARET) break;
      two++;
    }
    const c1 = one < aEnd ? a.charCodeAt(one) : 0;
    const c2 = two < bEnd ? b.charCodeAt(two) : 0;

    // [4] "handle the tilde separator, it sorts before everything else"
    if (c1 === CH_TILDE || c2 === CH_TILDE) {
      if (c1 !== CH_TILDE) return 1;
      if (c2 !== CH_TILDE) return -1;
      one++;
      two++;
      continue;
    }

    // [5] "Handle caret separator. Concept is the same as tilde, except that if one of the
    //     strings ends (base version), the other is considered as higher version."
    if (c1 === CH_CARET || c2 === CH_CARET) {
      if (one >= aEnd) return -1;
      if (two >= bEnd) return 1;
      if (c1 !== CH_CARET) return 1;
      if (c2 !== CH_CARET) return -1;
      one++;
      two++;
      continue;
    }

    // [6] "If we ran to the end of either, we are finished with the loop":
    //     if (!(*one && *two)) break;
    if (!(one < aEnd && two < bEnd)) break;

    // [7]-[13] "grab first completely alpha or completely numeric segment" of each string (the
    //     type is decided by the first string), compare them, and continue after them. The C
    //     finds both segment ends, strips leading zeros, compares lengths, then strcmp()s; here
    //     the two segments are walked once, side by side, which decides the same way:
    if (isDigit(c1)) {
      // [8] "this cannot happen" (one == str1): c1 is a digit.
      // [9] "numeric segments are always newer than alpha segments": if (two == str2) return 1;
      if (!isDigit(c2)) return 1;
      // [10] "throw away any leading zeros - it's a number, right?"
      while (one < aEnd && a.charCodeAt(one) === CH_0) one++;
      while (two < bEnd && b.charCodeAt(two) === CH_0) two++;
      // [11] "whichever number has more digits wins", else [12] strcmp() of the equally long
      //      digit runs: the first differing digit, remembered while walking to both ends.
      let rc = 0;
      for (;;) {
        const d1 = one < aEnd ? a.charCodeAt(one) : 0;
        const d2 = two < bEnd ? b.charCodeAt(two) : 0;
        const in1 = d1 >= CH_0 && d1 <= CH_9;
        const in2 = d2 >= CH_0 && d2 <= CH_9;
        if (in1 && in2) {
          if (rc === 0 && d1 !== d2) rc = d1 < d2 ? -1 : 1;
          one++;
          two++;
        } else if (in1) return 1;
        else if (in2) return -1;
        else if (rc !== 0) return rc;
        else break;
      }
    } else {
      // [9] "(i.e. empty)": an alpha segment in the first string against a numeric one.
      if (!isAlpha(c2)) return -1;
      // [12] strcmp() of the alpha segments: byte order, a proper prefix (the C's NUL written
      //      at the segment end) sorts first.
      for (;;) {
        const d1 = one < aEnd ? a.charCodeAt(one) : 0;
        const d2 = two < bEnd ? b.charCodeAt(two) : 0;
        const in1 = isAlpha(d1);
        const in2 = isAlpha(d2);
        if (in1 && in2) {
          if (d1 !== d2) return d1 < d2 ? -1 : 1;
          one++;
          two++;
        } else if (in1) return 1;
        else if (in2) return -1;
        else break;
      }
    }
    // [13] "restore character that was replaced by null above": one and two stand at the
    //      segment ends (str1, str2).
  }

  // [14] "this catches the case where all numeric and alpha segments have compared identically
  //      but the segment separating characters were different": if ((!*one) && (!*two)) return 0;
  if (one >= aEnd && two >= bEnd) return 0;

  // [15] "whichever version still has characters left over wins": if (!*one) return -1; else return 1;
  return one >= aEnd ? -1 : 1;
}

/**
 * librpm's `rpmvercmp(a, b)`: compares two version (or release) strings, returning -1, 0 or 1.
 *
 * @example rpmvercmp('1.0~rc1', '1.0') // -1
 * @example rpmvercmp('1.0^git1', '1.0') // 1
 */
export function rpmvercmp(a: string, b: string): number {
  // [1] if (rstreq(a, b)) return 0; — V8 compares the two strings natively.
  if (a === b) return 0;
  return vercmpRange(a, 0, a.length, b, 0, b.length);
}

/** An rpm EVR. `epoch` null means "not given", `release` null means "not given". */
export interface RpmEvr {
  epoch: string | null;
  version: string;
  release: string | null;
}

/**
 * Index positions of the parts of an `[E:]V[-R]` string, computed as librpm's parseEVR() does.
 * Epoch: [0, epochEnd) when hasEpoch; version: [versionStart, versionEnd); release:
 * [versionEnd + 1, length) when hasRelease.
 */
interface EvrBounds {
  hasEpoch: boolean;
  epochEnd: number;
  versionStart: number;
  versionEnd: number;
  hasRelease: boolean;
}

// parseEVR() for the zero-allocation path: the result is written into a reused scratch object.
function evrBounds(evr: string, out: EvrBounds): void {
  const len = evr.length;
  // [P1] while (*s && risdigit(*s)) s++;   /* s points to epoch terminator */
  let s = 0;
  while (s < len && isDigit(evr.charCodeAt(s))) s++;
  // [P2] se = strrchr(s, '-');   /* se points to version terminator */
  //      (the search starts at s: a '-' inside the digits of an epoch cannot exist anyway)
  //      A scan back from the end in place of lastIndexOf(): releases are short, and the builtin
  //      call cost more than the scan (measured: bench/vercmp.bench.ts).
  let se = len - 1;
  while (se >= s && evr.charCodeAt(se) !== CH_DASH) se--;
  const hasDash = se >= s;
  // [P3] if (*s == ':') { epoch = evr; *s++ = '\0'; version = s; if (*epoch == '\0') epoch = "0"; }
  //      else { epoch = NULL; version = evr; }
  if (s < len && evr.charCodeAt(s) === CH_COLON) {
    out.hasEpoch = true;
    out.epochEnd = s;
    out.versionStart = s + 1;
  } else {
    out.hasEpoch = false;
    out.epochEnd = 0;
    out.versionStart = 0;
  }
  // [P4] if (se) { *se++ = '\0'; release = se; } else release = NULL;
  //      A '-' before the version start can only be the one rpm searched past: when the epoch
  //      colon comes after it (not possible: the epoch is digits) — so the test is se >= s.
  if (hasDash && se >= out.versionStart) {
    out.hasRelease = true;
    out.versionEnd = se;
  } else {
    out.hasRelease = false;
    out.versionEnd = len;
  }
}

// Reused by compareRpmEvr so that splitting allocates nothing (measured: as fast as inlining
// the split into locals, so the one port of parseEVR serves both paths).
const scratchA: EvrBounds = { hasEpoch: false, epochEnd: 0, versionStart: 0, versionEnd: 0, hasRelease: false };
const scratchB: EvrBounds = { hasEpoch: false, epochEnd: 0, versionStart: 0, versionEnd: 0, hasRelease: false };
const ZERO = '0';

/**
 * Compares two `[E:]V[-R]` strings as rpm compares EVRs (rpmverParse + rpmverCmp):
 * a missing epoch is 0, an empty epoch (`:1.0`) is 0, and a missing release sorts before any
 * release (`1.0` < `1.0-5`). Allocates nothing.
 *
 * Empty strings have no EVR in librpm (rpmverParse returns NULL); call `checkRpmEvr` first
 * when the input is untrusted.
 *
 * @example compareRpmEvr('1:2.4.62-1.azl3', '0:2.4.62-1.azl3') // 1
 * @example compareRpmEvr('2.4.0', '0:2.4.0-1')                  // -1
 */
export function compareRpmEvr(a: string, b: string): number {
  if (a === b) return 0;
  evrBounds(a, scratchA);
  evrBounds(b, scratchB);
  // [C1] const char *e1 = (v1->e != NULL) ? v1->e : "0"; (same for e2)
  //      parseEVR already turned an empty epoch into "0"; rpmvercmp("", "0") would differ.
  let rc: number;
  const e1Empty = !scratchA.hasEpoch || scratchA.epochEnd === 0;
  const e2Empty = !scratchB.hasEpoch || scratchB.epochEnd === 0;
  // [C2] int rc = rpmvercmp(e1, e2);
  if (e1Empty && e2Empty) rc = 0;
  else if (e1Empty) rc = vercmpRange(ZERO, 0, 1, b, 0, scratchB.epochEnd);
  else if (e2Empty) rc = vercmpRange(a, 0, scratchA.epochEnd, ZERO, 0, 1);
  else rc = vercmpRange(a, 0, scratchA.epochEnd, b, 0, scratchB.epochEnd);
  if (rc !== 0) return rc;
  // [C3] rc = rpmvercmp(v1->v, v2->v);
  rc = vercmpRange(a, scratchA.versionStart, scratchA.versionEnd, b, scratchB.versionStart, scratchB.versionEnd);
  if (rc !== 0) return rc;
  // [C4] rc = compare_values(v1->r, v2->r): a missing release (NULL) sorts before any
  //      release, even an empty one ("1.0" < "1.0-" < "1.0-0"); two missing ones are equal.
  if (scratchA.hasRelease && scratchB.hasRelease) {
    return vercmpRange(a, scratchA.versionEnd + 1, a.length, b, scratchB.versionEnd + 1, b.length);
  }
  if (scratchA.hasRelease) return 1;
  if (scratchB.hasRelease) return -1;
  return 0;
}

/**
 * Splits `[E:]V[-R]` as librpm's parseEVR() does. Returns null for the empty string, which
 * librpm does not parse (rpmverParse("") is NULL).
 *
 * @example parseRpmEvr('1:2.0-3') // { epoch: '1', version: '2.0', release: '3' }
 * @example parseRpmEvr(':2.0')    // { epoch: '0', version: '2.0', release: null }
 */
export function parseRpmEvr(evr: string): RpmEvr | null {
  if (evr === '') return null;
  const b: EvrBounds = { hasEpoch: false, epochEnd: 0, versionStart: 0, versionEnd: 0, hasRelease: false };
  evrBounds(evr, b);
  return {
    epoch: b.hasEpoch ? (b.epochEnd === 0 ? '0' : evr.slice(0, b.epochEnd)) : null,
    version: evr.slice(b.versionStart, b.versionEnd),
    release: b.hasRelease ? evr.slice(b.versionEnd + 1) : null,
  };
}

/**
 * Prints an EVR the way rpm writes it: `E:V-R`, the epoch only when given.
 * @example formatRpmEvr({ epoch: null, version: '1.0', release: '2' }) // '1.0-2'
 */
export function formatRpmEvr(evr: RpmEvr): string {
  const e = evr.epoch === null ? '' : `${evr.epoch}:`;
  const r = evr.release === null ? '' : `-${evr.release}`;
  return `${e}${evr.version}${r}`;
}

/**
 * Compares structured EVRs as rpmverCmp() does.
 * @example compareRpmEvrParts({ epoch: '1', version: '1', release: null }, { epoch: null, version: '9', release: '1' }) // 1 (epoch wins)
 */
export function compareRpmEvrParts(a: RpmEvr, b: RpmEvr): number {
  let rc = rpmvercmp(a.epoch ?? ZERO, b.epoch ?? ZERO);
  if (rc !== 0) return rc;
  rc = rpmvercmp(a.version, b.version);
  if (rc !== 0) return rc;
  if (a.release !== null && b.release !== null) return rpmvercmp(a.release, b.release);
  if (a.release !== null) return 1;
  if (b.release !== null) return -1;
  return 0;
}

/**
 * Why `evr` cannot be compared as an rpm EVR, or null when it can. librpm itself accepts
 * any non-empty string; we refuse only what it cannot represent: the empty string, and NUL
 * (a C string ends there, so librpm would silently compare a prefix).
 */
export function checkRpmEvr(evr: string): string | null {
  if (evr === '') return 'empty EVR';
  if (evr.includes('\0')) return 'EVR contains a NUL character';
  return null;
}
