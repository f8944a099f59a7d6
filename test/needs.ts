import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestFunction } from 'vitest';

/**
 * What a test needs from the machine (a tool, root, a file of ../shared/data, PostgreSQL), and the
 * one place that decides what happens when it is missing (issue #13):
 * - in CI (env CI set, and not "false" or "0") the test FAILS, and its error names what is missing:
 *   a CI machine that lost a tool must not turn into a green run that proved nothing;
 * - elsewhere it is skipped with a message naming what is missing, and counted as skipped in the
 *   closing "N passed, N failed, N skipped" line (test/summary-reporter.ts).
 * Never leave assertions out of a passing test because a tool is absent: put the tool in the
 * test's needs instead.
 * @example requires(tool('rpm'), tool('dnf')).describe('patch runs with the real dnf', () => { … })
 * @example requires(shared('azurelinux', 'oval')).it('parses the real feeds', async () => { … })
 */
export interface Need {
  /** What is needed, as a person would name it: "rpm", "root", "../shared/data/lifecycle.json". */
  what: string;
  /** Why it is missing and how to get it; null when it is there. */
  missing: string | null;
}

/** True in CI: the environment variable CI is set (GitHub Actions, GitLab and others set CI=true). */
export function inCi(): boolean {
  const v = process.env['CI'];
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/** The Debian package that brings a command (scripts/setup-test.sh installs them, as root). */
const DEBIAN_PACKAGE: Record<string, string> = {
  rpm: 'rpm',
  rpmbuild: 'rpm',
  createrepo_c: 'createrepo-c',
  modifyrepo_c: 'createrepo-c',
  dnf: 'dnf',
  oscap: 'openscap-scanner',
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  'dpkg-deb': 'dpkg',
  'dpkg-query': 'dpkg',
  'dpkg-scanpackages': 'dpkg-dev',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  skopeo: 'skopeo',
  umoci: 'umoci',
  mmdebstrap: 'mmdebstrap',
  chromium: 'chromium',
  pdftoppm: 'poppler-utils',
  pdfinfo: 'poppler-utils',
  openssl: 'openssl',
  curl: 'curl',
  dash: 'dash',
  gpg: 'gnupg',
  xz: 'xz-utils',
  tar: 'tar',
  unshare: 'util-linux',
  cc: 'gcc',
};

const HOW = 'run scripts/setup-test.sh as root to install it';

const toolCache = new Map<string, boolean>();

/**
 * A command that must run here: `cmd --version` (or `probe`) must exit 0, as the tests call it.
 * `startsOnly`: a command with no such option (dash, sshd -V on some builds) need only start.
 */
export function tool(cmd: string, o: { probe?: readonly string[]; startsOnly?: boolean; name?: string } = {}): Need {
  const probe = o.probe ?? ['--version'];
  const key = `${cmd} ${probe.join(' ')} ${String(o.startsOnly ?? false)}`;
  let ok = toolCache.get(key);
  if (ok === undefined) {
    try {
      execFileSync(cmd, [...probe], { stdio: 'ignore' });
      ok = true;
    } catch (err) {
      // ENOENT or EACCES: it cannot be started. Otherwise it started and exited non-zero.
      ok = (o.startsOnly ?? false) && typeof (err as NodeJS.ErrnoException).code !== 'string';
    }
    toolCache.set(key, ok);
  }
  const name = o.name ?? cmd;
  const pkg = DEBIAN_PACKAGE[name];
  return { what: name, missing: ok ? null : `${cmd} is not installed or does not run${pkg === undefined ? '' : ` (Debian package ${pkg})`}: ${HOW}` };
}

/** Several commands, each its own need. */
export function tools(...cmds: readonly string[]): Need[] {
  return cmds.map((c) => tool(c));
}

/** What test/sshd-hosts.ts needs to start sshd test hosts: sshd, unshare, ssh-keygen and root. */
export function sshdHosts(): Need[] {
  return [
    tool('/usr/sbin/sshd', { probe: ['-V'], startsOnly: true, name: 'sshd' }),
    tool('unshare'),
    tool('ssh-keygen', { probe: ['-?'], startsOnly: true }),
    root('sshd test hosts (network and mount namespaces)'),
  ];
}

/** Where scripts/setup-testbed-pms.sh installs tdnf and dnf5 (they are not Debian packages). */
export const TESTBED_PREFIX = process.env['BULWARK_TESTBED_PREFIX'] ?? '/opt/bulwark-testbed';

/**
 * The real tdnf (3.5.9) or dnf5 (5.0.15), installed by scripts/setup-test.sh from
 * ../shared/testbed into TESTBED_PREFIX: its binary must answer --version.
 */
export function testbedTool(name: 'tdnf' | 'dnf5'): Need {
  const bin = `${TESTBED_PREFIX}/${name}/bin/${name}`;
  const t = tool(bin, { name });
  if (t.missing === null) return t;
  const recipes = join(import.meta.dirname, '..', '..', 'shared', 'testbed');
  return {
    what: name,
    missing: existsSync(recipes)
      ? `${bin} does not run: scripts/setup-test.sh installs it as root from ${recipes} (prebuilt, or built into ${TESTBED_PREFIX})`
      : `${bin} does not run, and ${recipes}, where scripts/setup-test.sh installs it from, is not there`,
  };
}

/** A file or directory that must exist (a system file a test reads, such as a keyring). */
export function file(path: string, what = path): Need {
  return { what, missing: existsSync(path) ? null : `${path} is not there` };
}

/** Root: user namespaces with bind mounts, chroots and installroots of rpm and dnf need it. CI runs as root. */
export function root(why: string): Need {
  return {
    what: 'root',
    missing: process.getuid?.() === 0 ? null : `${why} needs root; this process runs as uid ${String(process.getuid?.())} (CI runs the suite as root)`,
  };
}

/** Any other precondition, already checked by the caller. */
export function need(what: string, missing: string | null): Need {
  return { what, missing };
}

function describeMissing(needs: readonly Need[]): string {
  return needs
    .filter((n) => n.missing !== null)
    .map((n) => `${n.what} (${n.missing ?? ''})`)
    .join('; ');
}

function missingError(name: string, missing: string): Error {
  return new Error(`"${name}" cannot run in CI: missing ${missing}`);
}

/** Vitest's describe and it, bound to what the tests need (see the comment at the top). */
export interface Required {
  /** True when everything needed is there. */
  readonly ok: boolean;
  /** What is missing, for a message; '' when nothing is. */
  readonly missing: string;
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: TestFunction, timeout?: number) => void;
}

/** Binds describe and it to what they need: run when it is all there, else fail in CI or skip. */
export function requires(...given: readonly (Need | readonly Need[])[]): Required {
  const needs = given.flat();
  const missing = describeMissing(needs);
  if (missing === '')
    return {
      ok: true,
      missing,
      describe: (name, fn) => describe(name, fn),
      it: (name, fn, timeout) => {
        it(name, fn, timeout);
      },
    };
  if (inCi()) {
    return {
      ok: false,
      missing,
      // The suite's own body is not run (its hooks would fail on the missing part, far from the
      // cause); one test stands for it and fails with what is missing.
      describe: (name) =>
        describe(name, () => {
          it(`needs ${needs
            .filter((n) => n.missing !== null)
            .map((n) => n.what)
            .join(', ')}`, () => {
            throw missingError(name, missing);
          });
        }),
      it: (name) => {
        it(name, () => {
          throw missingError(name, missing);
        });
      },
    };
  }
  return {
    ok: false,
    missing,
    describe: (name, fn) => {
      console.warn(`skipping "${name}": missing ${missing} (in CI this fails)`);
      describe.skip(name, fn);
    },
    it: (name, fn, timeout) => {
      console.warn(`skipping "${name}": missing ${missing} (in CI this fails)`);
      it.skip(name, fn, timeout);
    },
  };
}
