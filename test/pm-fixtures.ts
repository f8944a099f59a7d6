import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult, PackageManager } from '../src/executor/types.js';

/**
 * The real outputs scripts/record-pm-fixtures.ts recorded for a package-manager module
 * (src/executor/<manager>/__fixtures__/<case>.json): the argv the module built, the tool's exit
 * status, stdout and stderr.
 */
export interface PmFixture extends CommandResult {
  tool: string;
  argv: string[];
}

const dirOf = (pm: PackageManager): string => join(import.meta.dirname, '..', 'src', 'executor', pm, '__fixtures__');

export function pmFixture(pm: PackageManager, name: string): PmFixture {
  const f = JSON.parse(readFileSync(join(dirOf(pm), `${name}.json`), 'utf8')) as {
    tool: string;
    argv: string[];
    exit: number | null;
    stdout: string;
    stderr: string;
  };
  return { tool: f.tool, argv: f.argv, code: f.exit, stdout: f.stdout, stderr: f.stderr };
}

export function pmFixtureNames(pm: PackageManager): string[] {
  return readdirSync(dirOf(pm))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}
