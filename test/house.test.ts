import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * House rules of issue #19 that hold for the whole tree. No file under src/ is over 400 lines:
 * a room that big holds several things a newcomer has to tell apart (plan.ts held version
 * selection, deadlines, approval, rings and windows in one 240-line function). Tests
 * (`*.test.ts`) and recorded samples (`__fixtures__/`) are left out: a test file is a list of
 * cases, and a sample is as long as the real thing it was trimmed from.
 */
const repo = join(import.meta.dirname, '..');
const MAX_LINES = 400;

/** Lines as `wc -l` counts them. */
const lineCount = (text: string): number => text.split('\n').length - (text.endsWith('\n') || text === '' ? 1 : 0);

function oversizedFiles(root: string, max = MAX_LINES): { file: string; lines: number }[] {
  const src = join(root, 'src');
  return readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !p.endsWith('.test.ts') && !p.split(sep).includes('__fixtures__'))
    .map((p) => ({
      file: p
        .slice(root.length + 1)
        .split(sep)
        .join('/'),
      lines: lineCount(readFileSync(p, 'utf8')),
    }))
    .filter((f) => f.lines > max)
    .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
}

describe('the house', () => {
  it('counts lines as wc -l does', () => {
    expect([lineCount(''), lineCount('a'), lineCount('a\n'), lineCount('a\nb'), lineCount('a\n\nb\n')]).toEqual([0, 1, 1, 2, 3]);
  });

  it(`has no file under src/ over ${String(MAX_LINES)} lines (tests and __fixtures__ aside)`, () => {
    const big = oversizedFiles(repo);
    // Named with their sizes, so the failure says what to split.
    expect(big.map((f) => `${f.file}: ${String(f.lines)} lines`)).toEqual([]);
  });
});
