import type { Readable, Writable } from 'node:stream';
import { compareDebVersionsBytes, parseDebVersionBytes } from '../../core/version/deb.js';
import { checkRpmEvr, compareRpmEvr } from '../../core/version/rpm.js';
import type { PackageFamily } from '../../core/release.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { writeAll } from '../io.js';
import type { Command } from 'commander';
import { isPackageFamily } from '../../core/version/registry.js';
import type { CliContext } from '../context.js';
import { describe, enumOption } from '../options.js';

/** Lines longer than this are refused (and skipped) instead of being buffered without bound. */
export const MAX_LINE_BYTES = 1 << 20;

export interface VercmpOptions {
  scheme: PackageFamily;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** Shows a value in a message: quoted, escaped, cut to a readable length. */
function show(bytes: string): string {
  const cut = bytes.length > 60 ? `${bytes.slice(0, 60)}…(${bytes.length} bytes)` : bytes;
  return JSON.stringify(Buffer.from(cut, 'latin1').toString('utf8'));
}

/**
 * Decides one line `A<TAB>B`: returns '-1' | '0' | '1', or an error message. Warnings (dpkg
 * compares versions it warns about) are pushed to `warnings`.
 */
function decide(scheme: PackageFamily, line: string, warnings: string[]): string | { error: string } {
  if (line.includes('\0')) return { error: 'contains a NUL byte' };
  const tab = line.indexOf('\t');
  if (tab < 0 || line.indexOf('\t', tab + 1) >= 0) {
    const fields = tab < 0 ? 1 : line.split('\t').length;
    return { error: `expected two versions separated by one TAB, found ${fields} field${fields === 1 ? '' : 's'}` };
  }
  const a = line.slice(0, tab);
  const b = line.slice(tab + 1);
  if (scheme === 'rpm') {
    for (const [side, v] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const why = checkRpmEvr(v);
      if (why !== null) return { error: `${side} ${show(v)}: ${why} (an rpm EVR is [E:]V[-R])` };
    }
    return String(compareRpmEvr(a, b));
  }
  for (const [side, v] of [
    ['A', a],
    ['B', b],
  ] as const) {
    // dpkg --compare-versions takes '' and '<unknown>' as the blank version.
    if (v === '' || v === '<unknown>') continue;
    const r = parseDebVersionBytes(v);
    if (!r.ok) return { error: `${side} ${show(v)} is not a valid Debian version: ${r.error}` };
    if (r.warning !== null) warnings.push(`${side} ${show(v)}: ${r.warning} (compared anyway, as dpkg does)`);
  }
  return String(compareDebVersionsBytes(a, b));
}

/**
 * `bulwark vercmp --scheme rpm|deb`: reads `A<TAB>B` lines on standard input and prints -1, 0
 * or 1 per line. A bad line prints an empty line (so output lines stay aligned with input
 * lines), a message naming the line on standard error, and makes the exit code 2.
 *
 * Input is read as bytes (latin1), so versions with any bytes compare exactly as librpm and
 * dpkg compare the same bytes. A trailing CR (CRLF input) is dropped.
 */
export async function runVercmp(opts: VercmpOptions): Promise<ExitCode> {
  const { scheme, stdin, stdout, stderr } = opts;
  stdin.setEncoding('latin1');
  let pending = '';
  let skippingLongLine = false;
  let lineNo = 0;
  let bad = 0;
  const warnings: string[] = [];

  const handle = (rawLine: string, out: string[], errs: string[]): void => {
    lineNo++;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const r = decide(scheme, line, warnings);
    if (typeof r === 'string') out.push(r);
    else {
      bad++;
      out.push('');
      errs.push(`bulwark vercmp: line ${lineNo}: ${r.error}`);
    }
    for (const w of warnings) errs.push(`bulwark vercmp: line ${lineNo}: warning: ${w}`);
    warnings.length = 0;
  };

  for await (const chunk of stdin) {
    const text = chunk as string;
    const out: string[] = [];
    const errs: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      if (skippingLongLine) {
        skippingLongLine = false;
      } else {
        handle(pending + text.slice(start, nl), out, errs);
      }
      pending = '';
      start = nl + 1;
    }
    if (!skippingLongLine) {
      pending += text.slice(start);
      if (pending.length > MAX_LINE_BYTES) {
        lineNo++;
        bad++;
        out.push('');
        errs.push(`bulwark vercmp: line ${lineNo}: longer than ${MAX_LINE_BYTES} bytes; skipped`);
        pending = '';
        skippingLongLine = true;
      }
    }
    if (errs.length > 0) await writeAll(stderr, errs.join('\n') + '\n');
    if (out.length > 0) await writeAll(stdout, out.join('\n') + '\n');
  }
  if (pending !== '' && !skippingLongLine) {
    const out: string[] = [];
    const errs: string[] = [];
    handle(pending, out, errs);
    if (errs.length > 0) await writeAll(stderr, errs.join('\n') + '\n');
    await writeAll(stdout, out.join('\n') + '\n');
  }
  return bad > 0 ? EXIT.usage : EXIT.ok;
}

/** `bulwark vercmp`. */
export function register(program: Command, ctx: CliContext): void {
  describe(
    program.command('vercmp'),
    'compare versions read as "A<TAB>B" lines on stdin; prints -1, 0 or 1 per line',
    "printf '1:2.4.62-1.azl3\\t2.4.62-1.azl3\\n' | bulwark vercmp --scheme rpm    # 1",
    "printf '1.0~rc1-1\\t1.0-1\\n' | bulwark vercmp --scheme deb                    # -1",
  )
    .addOption(enumOption('--scheme <scheme>', 'version scheme', ['rpm', 'deb'], { mandatory: true }))
    .action(async (opts: { scheme: string }) => {
      if (!isPackageFamily(opts.scheme)) throw new Error('unreachable: commander validated choices');
      ctx.exit = await runVercmp({ scheme: opts.scheme, stdin: ctx.io.stdin, stdout: ctx.io.stdout, stderr: ctx.io.stderr });
    });
}
