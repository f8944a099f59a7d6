import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const entry = join(import.meta.dirname, 'bulwark-process.ts');

/**
 * Starts `bulwark serve ARGS…` from source as a process of its own and waits for its banner:
 * the address it serves on and, when it printed one, the first admin token.
 */
export function startServe(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string; token: string | null; banner: string }> {
  return serveFrom(entry, args, env);
}

/**
 * As startServe, from the source tree at `root` (another version of Bulwark, its node_modules
 * linked): benches time older code beside this one in the same run.
 */
export function startServeFrom(
  root: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string; token: string | null; banner: string }> {
  return serveFrom(join(root, 'test', 'bulwark-process.ts'), args, env);
}

/**
 * As startServe, the installed entry of the tree at `root` (bin/bulwark.js, which runs the
 * compiled dist/): what a user runs, for benches that time the server itself.
 */
export function startServeInstalled(
  root: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string; token: string | null; banner: string }> {
  return serveArgv([join(root, 'bin', 'bulwark.js'), ...args], env);
}

function serveFrom(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string; token: string | null; banner: string }> {
  return serveArgv(['--import', 'tsx', file, ...args], env);
}

async function serveArgv(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; token: string | null; banner: string }> {
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let served = false;
  // Read while the server runs (a full pipe would stop it); kept only until it serves (its request log is not).
  child.stderr.on('data', (d: Buffer) => {
    if (!served) err += d.toString();
  });
  // No start budget: a loaded machine starts a server late, not never. A server that exits
  // before its banner fails here; one that hangs is ended by the test's own timeout.
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/serving on/.test(out) && (/first admin token/.test(out) ? /bwk_\S+/.test(out) : true)) {
        served = true;
        resolve();
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`serve exited ${String(code)} before it served: ${err}`));
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
