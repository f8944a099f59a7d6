import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';

describe('the package', () => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
    engines: { node: string };
    bin: Record<string, string>;
  };

  it('src/version.ts matches package.json', () => {
    expect(VERSION).toBe(pkg.version);
  });

  it('declares the bulwark bin and the supported Node versions', () => {
    expect(pkg.bin.bulwark).toBe('bin/bulwark.js');
    expect(pkg.engines.node).toBe('>=20.19');
  });
});
