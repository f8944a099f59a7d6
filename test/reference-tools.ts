import { existsSync } from 'node:fs';
import { inCi, sshdHosts } from './needs.js';
import { hasTool } from './rpm-tools.js';

/**
 * What a differential test against a reference tool needs: the real tools, root (for a private
 * mount namespace), data files. Outside CI a test whose needs are missing is skipped with a
 * message; in CI (`CI` set and not "false") it runs and fails at once naming what is missing,
 * so that a machine without oscap or dnf can never pass the suite by skipping the proof.
 */
export interface Needs {
  /** What is missing, e.g. `tool oscap`, `root (uid 0)`, `file ../shared/data/…`. */
  missing: string[];
  /** True when the test is to be skipped: something is missing and this is not CI. */
  skip: boolean;
  /** Throws naming what is missing (call it first in the test body). */
  check(): void;
}

export { inCi };

export function needs(what: { tools?: readonly string[]; root?: boolean; sshd?: boolean; paths?: readonly (string | null)[] }): Needs {
  const missing = [
    ...(what.sshd === true ? sshdHosts().flatMap((n) => (n.missing === null ? [] : [`${n.what} (${n.missing})`])) : []),
    ...(what.tools ?? []).filter((t) => !hasTool(t)).map((t) => `tool ${t}`),
    ...(what.root === true && process.getuid?.() !== 0 ? ['root (uid 0, for a private mount namespace)'] : []),
    ...(what.paths ?? []).flatMap((p) => (p === null ? ['../shared/data'] : existsSync(p) ? [] : [`file ${p}`])),
  ];
  const skip = missing.length > 0 && !inCi();
  if (skip) console.warn(`skipping a differential test: missing ${missing.join(', ')} (in CI this fails)`);
  return {
    missing,
    skip,
    check: () => {
      if (missing.length > 0) throw new Error(`cannot run: missing ${missing.join(', ')}`);
    },
  };
}
