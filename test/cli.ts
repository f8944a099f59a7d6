import { PassThrough } from 'node:stream';
import { main } from '../src/cli/main.js';

/** Runs the `bulwark` CLI in-process with captured output (what the CLI tests drive). */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stdin = new PassThrough();
  stdin.end(input);
  const code = await main([...args], { stdin, stdout, stderr, env });
  return { code, out, err };
}
