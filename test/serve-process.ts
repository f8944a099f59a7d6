import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const entry = join(import.meta.dirname, 'bulwark-process.ts');

/**
 * Starts `bulwark serve ARGS…` from source as a process of its own and waits for its banner:
 * the address it serves on and, when it printed one, the first admin token.
 */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; token: string | null; banner: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`serve did not start: ${out} ${err}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/serving on/.test(out) && (/first admin token/.test(out) ? /bwk_\S+/.test(out) : true)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${String(code)}: ${err}`));
    });
  });
  return { child, url: /serving on (\S+)/.exec(out)?.[1] ?? '', token: /(bwk_\S+)/.exec(out)?.[1] ?? null, banner: out };
}

/** Stops a server with SIGTERM; its exit code (null: killed by the signal, not a clean stop). */
export function stopServe(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}
