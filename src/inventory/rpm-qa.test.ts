import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { parseRpmQa, RPM_QA_ARGV } from './rpm-qa.js';
import { requires, tools } from '../../test/needs.js';

describe('parseRpmQa', () => {
  it('parses packages, with and without an epoch, and their source packages', () => {
    const text = '# comment\n\nperl\t4\t5.38.2\t509.azl3\tx86_64\tperl-5.38.2-509.azl3.src.rpm\r\ngpg-pubkey\t(none)\t3135ce90\t5e6fda74\t(none)\t(none)\n';
    expect(parseRpmQa(text)).toEqual([
      { family: 'rpm', name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3', arch: 'x86_64', sourceName: 'perl', sourceVersion: null },
      { family: 'rpm', name: 'gpg-pubkey', epoch: null, version: '3135ce90', release: '5e6fda74', arch: '(none)', sourceName: null, sourceVersion: null },
    ]);
  });

  it.each([
    ['bash\t0\t5.2\t1\tx86_64', 'hosts.tsv:2: expected 6 tab-separated fields'],
    ['bash\tx\t5.2\t1\tx86_64\tbash-5.2-1.src.rpm', 'hosts.tsv:2: epoch "x" is not a number'],
    ['bash\t0\t\t1\tx86_64\tbash-5.2-1.src.rpm', 'hosts.tsv:2: empty version'],
    ['bash\t0\t5.2\t1\tx86_64\tbash-5.2-1.x86_64.rpm', 'hosts.tsv:2: SOURCERPM'],
  ])('names the file and line of a bad line: %j', (line, msg) => {
    expect(() => parseRpmQa(`ok\t0\t1\t1\tnoarch\t(none)\n${line}\n`, 'hosts.tsv')).toThrow(msg);
  });

  requires(tools('rpmbuild', 'rpm')).it('reads what the real rpm prints for an rpm database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-rpmqa-'));
    try {
      const files = buildDummyRpms(dir, [
        { name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3', arch: 'x86_64' },
        { name: 'ca-certificates', version: '3.0.0', release: '8.azl3' },
      ]);
      const db = join(dir, 'db');
      execFileSync('rpm', ['--dbpath', db, '--initdb']);
      execFileSync('rpm', ['--dbpath', db, '-i', '--justdb', '--nodeps', '--ignorearch', '--ignoreos', ...files]);
      const [cmd, ...args] = RPM_QA_ARGV;
      const out = execFileSync(cmd as string, [...args, '--dbpath', db], { encoding: 'utf8' });
      const pkgs = parseRpmQa(out).sort((a, b) => a.name.localeCompare(b.name));
      expect(pkgs).toEqual([
        {
          family: 'rpm',
          name: 'ca-certificates',
          epoch: 0,
          version: '3.0.0',
          release: '8.azl3',
          arch: 'noarch',
          sourceName: 'ca-certificates',
          sourceVersion: null,
        },
        { family: 'rpm', name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3', arch: 'x86_64', sourceName: 'perl', sourceVersion: null },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
