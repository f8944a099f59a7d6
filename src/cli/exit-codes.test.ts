import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BulwarkError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { EXIT, EXIT_OF_ERROR, exitCodeOf } from './exit-codes.js';

/** What each error code must exit with (issue #19 item 4): written out here, not read from the table under test. */
const WANT: Record<ErrorCode, number> = {
  usage: 2,
  'config.invalid': 3,
  'version.invalid': 2,
  'package.invalid': 2,
  'input.invalid': 2,
  'input.too-large': 2,
  'storage.conflict': 75,
  'storage.not-found': 2,
  'storage.unavailable': 3,
  'storage.full': 74,
  'target.unreachable': 4,
  'auth.required': 77,
  'auth.forbidden': 77,
  'auth.rate-limited': 75,
  internal: 70,
};

describe('the error → exit-code table', () => {
  it.each(ERROR_CODES.map((c) => [c, WANT[c]] as const))('%s exits %i', (code, want) => {
    expect(exitCodeOf(new BulwarkError(code, 'x'))).toBe(want);
  });

  it('sends no ordinary condition to 70 ("a bug"): only `internal` and foreign errors', () => {
    expect(ERROR_CODES.filter((c) => EXIT_OF_ERROR[c] === EXIT.internal)).toEqual(['internal']);
    expect(exitCodeOf(new TypeError('x is undefined'))).toBe(70);
    expect(exitCodeOf('a string')).toBe(70);
  });

  it("matches README's table: each exit code lists exactly the error codes that exit with it", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Exit codes\n'));
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| code |')));
    const rows = table
      .split('\n')
      .filter((l) => /^\| \d+ \|/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()));
    const listed = new Map(rows.map((r) => [Number(r[1]), [...(r[3] ?? '').matchAll(/`([a-z.-]+)`/g)].map((m) => m[1]).sort()]));
    const documented = new Set(Object.values(EXIT) as number[]);
    expect([...listed.keys()].sort((a, b) => a - b)).toEqual([...documented].sort((a, b) => a - b));
    for (const exit of documented) expect([exit, listed.get(exit)]).toEqual([exit, ERROR_CODES.filter((c) => EXIT_OF_ERROR[c] === exit).sort()]);
    expect([...listed.values()].flat().sort()).toEqual([...ERROR_CODES].sort());
  });
});
