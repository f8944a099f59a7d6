import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DISTROS } from './api.js';

/**
 * Issue #19: no file outside src/distros/ names a distribution; it asks src/distros/registry.ts.
 * The rule is this grep, run from the repository root (the same command is in README's
 * Architecture, so anyone can rerun it; no output means the rule holds):
 *
 *   grep -rnE '\b(azurelinux|mariner|fedora|rhel|almalinux|rocky|centos|ol|ubuntu|debian)\b' src \
 *     --exclude='*.test.ts' --exclude-dir=distros --exclude-dir=__fixtures__ \
 *     | grep -vE '^[^:]+:[0-9]+:\s*(//|/\*|\*)'
 *
 * What it matches: every distribution id of the registry (and `cbl-mariner`, which `mariner`
 * matches), as a whole word, lower case as ids are written in code. Its exceptions, and why:
 * - src/distros/: where the ids live;
 * - tests (`*.test.ts`): they check real distributions' behaviour by name;
 * - `__fixtures__/`: real or real-shaped publisher documents, which name their distribution;
 * - comment lines (`//`, `/*`, ` * `): doc comments cite the real feeds and give `@example`s.
 * Capitalised prose in messages ("Debian package", "not a valid Debian version") names the deb
 * package format, not a distribution, and is not matched.
 */
const IDS = 'azurelinux|mariner|fedora|rhel|almalinux|rocky|centos|ol|ubuntu|debian';

function offending(root: string): string[] {
  const cmd = `grep -rnE '\\b(${IDS})\\b' ${root} --exclude='*.test.ts' --exclude-dir=distros --exclude-dir=__fixtures__ | grep -vE '^[^:]+:[0-9]+:\\s*(//|/\\*|\\*)' || true`;
  return execFileSync('sh', ['-c', cmd], { cwd: resolve(import.meta.dirname, '..', '..'), encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '');
}

const tmp = mkdtempSync(join(tmpdir(), 'bulwark-boundary-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('no distribution id outside src/distros/', () => {
  it('the grep finds none in src/', () => {
    const found = offending('src');
    expect(found, `files that name a distribution outside src/distros/ (ask src/distros/registry.ts instead):\n${found.join('\n')}`).toEqual([]);
  });

  it('the pattern covers every distribution the registry lists', () => {
    for (const d of DISTROS) for (const s of [d.id, ...(d.aliases ?? [])]) expect(new RegExp(`\\b(${IDS})\\b`).test(s), s).toBe(true);
  });

  it('the grep reports code that names one, and only the exceptions pass', () => {
    mkdirSync(join(tmp, 'services'), { recursive: true });
    mkdirSync(join(tmp, 'distros', 'x'), { recursive: true });
    mkdirSync(join(tmp, 'feeds', '__fixtures__'), { recursive: true });
    writeFileSync(
      join(tmp, 'services', 'a.ts'),
      [
        "const m = release === 'rhel:9' ? 'dnf' : null;",
        '// Red Hat: rhel minors are one release',
        " * @example managerFor('ubuntu:24.04')",
        "const ok = 'a Debian package';",
        "if (d === 'cbl-mariner') x();",
        "const dt = 'debian_evr_string';",
        '  const ol = 1; // Oracle',
      ].join('\n'),
    );
    writeFileSync(join(tmp, 'services', 'a.test.ts'), "expect(x).toBe('debian:12');\n");
    writeFileSync(join(tmp, 'distros', 'x', 'index.ts'), "export const id = 'fedora';\n");
    writeFileSync(join(tmp, 'feeds', '__fixtures__', 'f.json'), '{"ecosystem": "rocky"}\n');
    const found = offending(tmp).map((l) => l.slice(tmp.length + 1));
    expect(found).toEqual([
      "services/a.ts:1:const m = release === 'rhel:9' ? 'dnf' : null;",
      "services/a.ts:5:if (d === 'cbl-mariner') x();",
      'services/a.ts:7:  const ol = 1; // Oracle',
    ]);
  });
});
