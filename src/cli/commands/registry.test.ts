import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../test/cli.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { COMMAND_GROUPS, groupsFor } from './registry.js';

const ctx = (): CliContext => ({
  io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: {} },
  dbPath: () => undefined,
  exit: EXIT.ok,
});

/** Every command path under `cmd`: ['feeds'], ['feeds', 'list'], … */
function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

describe('the command registry', () => {
  it('lists each group with exactly the top-level commands its module registers, each name once', async () => {
    const all = COMMAND_GROUPS.flatMap((g) => g.commands);
    expect(new Set(all).size).toBe(all.length);
    for (const g of COMMAND_GROUPS) {
      const program = new Command('bulwark');
      (await g.load()).register(program, ctx());
      expect([g.id, program.commands.map((c) => c.name())]).toEqual([g.id, [...g.commands]]);
    }
  });

  it.each([
    [['--version'], []],
    [['-V'], []],
    [['vercmp', '--scheme', 'rpm'], ['vercmp']],
    [['--db', 'scan', 'findings'], ['findings']],
    [['--db=x.db', 'plan', '--policy', 'p'], ['policy']],
    [['help', 'tokens'], ['serve']],
    [['--help'], COMMAND_GROUPS.map((g) => g.id)],
    [[], COMMAND_GROUPS.map((g) => g.id)],
    [['fedds', 'list'], COMMAND_GROUPS.map((g) => g.id)],
  ])('%j loads %j', (argv, want) => {
    expect(groupsFor(argv).map((g) => g.id)).toEqual(want);
  });
});

describe('--help', () => {
  it('gives every command and subcommand a description and at least one example', async () => {
    const program = new Command('bulwark');
    for (const g of COMMAND_GROUPS) (await g.load()).register(program, ctx());
    const all = paths(program);
    expect(all.length).toBeGreaterThanOrEqual(60);
    const missing: string[] = [];
    for (const p of all) {
      const r = await runCli([...p, '--help']);
      expect([p.join(' '), r.code]).toEqual([p.join(' '), 0]);
      const description = r.out.split('\n\n')[1]?.trim() ?? '';
      if (description === '' || description.startsWith('Options:') || !/\nExamples:\n {2}\$ .*\bbulwark /.test(r.out)) missing.push(p.join(' '));
    }
    expect(missing).toEqual([]);
    const top = await runCli(['--help']);
    for (const g of COMMAND_GROUPS) for (const c of g.commands) expect(top.out).toMatch(new RegExp(`^  ${c}\\b.*\\S`, 'm'));
  });

  it('suggests the command meant for a typo (exit 2)', async () => {
    const r = await runCli(['fedds', 'list']);
    expect([r.code, r.err]).toEqual([2, "error: unknown command 'fedds'\n(Did you mean feeds?)\n"]);
  });
});

describe('lazy loading (issue #14 item 7)', () => {
  it('runs --version and vercmp without importing the database, the API, the dashboard or image code', async () => {
    vi.resetModules();
    const loaded: string[] = [];
    for (const m of ['../../storage/index.js', '../../api/app.js', '../../services/images.js', '../../services/store.js', './serve.js', './image.js'])
      vi.doMock(m, async (original) => {
        loaded.push(m);
        return original();
      });
    try {
      const { main } = await import('../main.js');
      const { PassThrough } = await import('node:stream');
      const io = (input = '') => {
        const stdin = new PassThrough();
        stdin.end(input);
        const stdout = new PassThrough();
        let out = '';
        stdout.on('data', (d: Buffer) => (out += d.toString()));
        return { io: { stdin, stdout, stderr: new PassThrough(), env: {} }, out: () => out };
      };
      const v = io();
      expect(await main(['--version'], v.io)).toBe(0);
      expect(v.out()).toMatch(/^\d+\.\d+\.\d+\n$/);
      const c = io('1.0-1\t1.0-2\n');
      expect(await main(['vercmp', '--scheme', 'rpm'], c.io)).toBe(0);
      expect(c.out()).toBe('-1\n');
      expect(loaded).toEqual([]);
      // The full --help needs every group, so it loads them: the check above can fail.
      expect(await main(['--help'], io().io)).toBe(0);
      expect(loaded).toContain('./serve.js');
    } finally {
      for (const m of ['../../storage/index.js', '../../api/app.js', '../../services/images.js', '../../services/store.js', './serve.js', './image.js'])
        vi.doUnmock(m);
      vi.resetModules();
    }
  });
});
