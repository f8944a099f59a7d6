import { describe, expect, it } from 'vitest';
import { parseRpmQa } from './rpm-qa.js';

/**
 * Issue #14: well-formed rpm -qa lines are read by one expression, any other line by the checks
 * that name what is wrong. Both must give the same packages: a line ending in \r (a file from
 * Windows) takes the checked path, the same line without it the fast one; a SOURCERPM seen for
 * the first time takes the checked path, seen again the fast one.
 */
const LINES = [
  'bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm',
  'openssl-libs\t1\t3.3.2\t1.azl3\tx86_64\topenssl-3.3.2-1.azl3.src.rpm',
  'gpg-pubkey\t(none)\t3135ce90\t5e6fda74\t(none)\t(none)',
  'tzdata\t\t2024a\t1.azl3\tnoarch\ttzdata-2024a-1.azl3.src.rpm',
  'kernel\t4294967295\t6.6.57.1\t6.azl3\tx86_64\tkernel-6.6.57.1-6.azl3.src.rpm',
  `x${String(Date.now())}\t0\t1.0\t1\tnoarch\tfresh-${String(Date.now())}-1.0-1.src.rpm`,
];

describe('parseRpmQa, the fast path and the checked one', () => {
  it('read the same packages from the same lines', () => {
    const first = parseRpmQa(LINES.join('\n'), 'a');
    const checked = parseRpmQa(LINES.map((l) => `${l}\r`).join('\n'), 'b');
    const fast = parseRpmQa(LINES.join('\n'), 'c');
    expect(first).toHaveLength(LINES.length);
    expect(checked).toEqual(first);
    expect(fast).toEqual(first);
    expect(first.map((p) => [p.name, p.epoch, p.sourceName])).toEqual([
      ['bash', 0, 'bash'],
      ['openssl-libs', 1, 'openssl'],
      ['gpg-pubkey', null, null],
      ['tzdata', null, 'tzdata'],
      ['kernel', 4294967295, 'kernel'],
      [first[5]?.name, 0, `fresh-${(first[5]?.name ?? '').slice(1)}`],
    ]);
  });

  it('still refuses what the checks refuse, naming the line', () => {
    expect(() => parseRpmQa(`${LINES[0] ?? ''}\nbad\t4294967296\t1\t1\tx86_64\tbad-1-1.src.rpm\n`, 'f')).toThrow('f:2: epoch "4294967296" is not a number');
    expect(() => parseRpmQa('a\t0\t1\t1\tx86_64\ta-1-1.src.rpm\textra', 'f')).toThrow('f:1: expected 6 tab-separated fields');
    expect(() => parseRpmQa(' a\t0\t1\t1\tx86_64\ta-1-1.src.rpm', 'f')).toThrow('f:1: name is too long or contains whitespace');
  });
});
