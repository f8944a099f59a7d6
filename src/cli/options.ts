import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { SEVERITIES, type Severity } from '../core/advisory.js';
import { BulwarkError } from '../core/errors.js';

/**
 * One option parser per shape (whole numbers, numbers, times, choices, lists, paths), each
 * building a commander Option whose usage error names the option and what it takes:
 *   bulwark audit --limit 0   →   bulwark: --limit: "0" is not a whole number from 1 up (exit 2)
 *
 * @example cmd.addOption(intOption('--limit <n>', 'newest n entries', { min: 1, default: 100 }))
 */

/** `--limit <n>` → `--limit`: the name a usage error shows. */
function nameOf(flags: string): string {
  const long = flags.split(/[ ,|]+/).find((f) => f.startsWith('--'));
  return long ?? flags.split(/[ ,|]+/)[0] ?? flags;
}

function usage(flags: string, value: string, what: string): BulwarkError {
  return new BulwarkError('usage', `${nameOf(flags)}: "${value}" is not ${what}`, { option: nameOf(flags), value });
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` from ${String(min)} to ${String(max)}`;
  if (min !== undefined) return ` from ${String(min)} up`;
  if (max !== undefined) return ` up to ${String(max)}`;
  return '';
}

interface Bounds<T> {
  min?: number;
  max?: number;
  default?: T;
  /** What the default is, in words, for --help (commander prints the value otherwise). */
  defaultDescription?: string;
}

function withDefault<T>(o: Option, b: Bounds<T>): Option {
  return b.default === undefined ? o : o.default(b.default, b.defaultDescription);
}

/** A whole number within bounds. */
export function intOption(flags: string, description: string, b: Bounds<number> = {}): Option {
  const o = new Option(flags, description).argParser((v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || (b.min !== undefined && n < b.min) || (b.max !== undefined && n > b.max))
      throw usage(flags, v, `a whole number${range(b.min, b.max)}`);
    return n;
  });
  return withDefault(o, b);
}

/** A number (fractions allowed) within bounds, e.g. seconds or hours. */
export function numberOption(flags: string, description: string, b: Bounds<number> & { unit?: string } = {}): Option {
  const o = new Option(flags, description).argParser((v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (b.min !== undefined && n < b.min) || (b.max !== undefined && n > b.max))
      throw usage(flags, v, `a number${b.unit === undefined ? '' : ` of ${b.unit}`}${range(b.min, b.max)}`);
    return n;
  });
  return withDefault(o, b);
}

/** Parses an ISO 8601 date or time; a bare date means its end (23:59:59 UTC) when `endOfDay`. */
export function parseTime(flag: string, v: string, endOfDay: boolean): Date {
  const d = new Date(v);
  if (v.trim() === '' || Number.isNaN(d.getTime())) throw usage(flag, v, 'an ISO 8601 date or time');
  return endOfDay && /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T23:59:59.000Z`) : d;
}

/** An ISO 8601 date or time, as a Date. */
export function timeOption(flags: string, description: string, o: { endOfDay?: boolean } = {}): Option {
  return new Option(flags, description).argParser((v: string) => parseTime(flags, v, o.endOfDay === true));
}

/** One of a fixed set of words (case as given). */
export function enumOption<const T extends string>(
  flags: string,
  description: string,
  choices: readonly T[],
  b: { default?: T; mandatory?: boolean } = {},
): Option {
  const o = new Option(flags, description).choices(choices);
  if (b.mandatory === true) o.makeOptionMandatory();
  return b.default === undefined ? o : o.default(b.default);
}

/**
 * A repeatable option collecting its values; `split` also splits each on commas, `choices`
 * refuses a word outside the set, naming the option.
 */
export function listOption(flags: string, description: string, o: { split?: boolean; choices?: readonly string[] } = {}): Option {
  return new Option(flags, description)
    .argParser((v: string, acc: string[] | undefined): string[] => {
      const values =
        o.split === true
          ? v
              .split(',')
              .map((x) => x.trim())
              .filter((x) => x !== '')
          : [v];
      for (const x of values) if (o.choices !== undefined && !o.choices.includes(x)) throw usage(flags, x, `one of ${o.choices.join(', ')}`);
      return [...(acc ?? []), ...values];
    })
    .default([]);
}

/**
 * A file or directory path. `parent: 'must-exist'` refuses a path whose directory does not
 * exist, so a typo never makes directories (`--db /typo/dir/x.db`) nor fails late: for the
 * database that is a configuration error (exit 3, `code: 'config.invalid'`), for an output file
 * a usage error (exit 2).
 */
export function pathOption(flags: string, description: string, o: { parent?: 'must-exist'; code?: 'usage' | 'config.invalid' } = {}): Option {
  return new Option(flags, description).argParser((v: string) => {
    if (v.trim() === '') throw usage(flags, v, 'a path');
    if (o.parent === 'must-exist') {
      const dir = dirname(resolve(v));
      // A parent that is a file is the database's to refuse (cannot open …: ENOTDIR).
      if (!existsSync(dir))
        throw new BulwarkError(
          o.code ?? 'usage',
          `${nameOf(flags)}: the directory ${dir} does not exist${o.code === 'config.invalid' ? ' (create it first: bulwark creates only its default directory)' : ''}`,
          { option: nameOf(flags), path: v },
        );
    }
    return v;
  });
}

/**
 * Says what a command is for and how it is called: the description, and examples shown under
 * "Examples:" in its --help (every command has both; a test walks the tree).
 * @example describe(cmd, 'list feed sources', 'bulwark feeds list --json')
 */
export function describe(cmd: Command, description: string, ...examples: string[]): Command {
  cmd.description(description);
  if (examples.length > 0) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  return cmd;
}

/** An argument parser for a whole number from 1 up (a version, a build), naming the argument in its error. */
export function positiveInt(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 1)
      throw new BulwarkError('usage', `${name}: "${v}" is not a whole number from 1 up`, { argument: name, value: v });
    return n;
  };
}

/** A severity given on the command line (`--fail-on`, `--severity`), any case. */
export function parseSeverity(v: string): Severity {
  const s = v.toLowerCase();
  if (!(SEVERITIES as readonly string[]).includes(s)) throw new BulwarkError('usage', `"${v}" is not a severity (${SEVERITIES.join(', ')})`);
  return s as Severity;
}
