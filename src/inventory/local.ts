import { execFile } from 'node:child_process';
import { collect, type Exec, type ExecResult, type Snapshot, type Transport } from './collector.js';

/**
 * Runs an argv on this machine (execFile: no shell). A missing command answers 127, as a shell
 * would; a command that ran answers its exit code.
 */
export function execLocal(argv: readonly string[], o: { timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) {
      reject(new Error('an empty argv'));
      return;
    }
    execFile(cmd, args, { maxBuffer: 1 << 28, timeout: o.timeoutMs ?? 120_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) resolve({ code: 0, stdout, stderr });
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve({ code: 127, stdout: '', stderr: `${cmd}: not found` });
      else if (typeof err.code === 'number') resolve({ code: err.code, stdout, stderr });
      else reject(new Error(`${cmd}: ${err.message}`, { cause: err }));
    });
  });
}

/** The machine Bulwark runs on, as a transport (`bulwark scan --local`). */
export function localTransport(): Transport {
  const exec: Exec = (argv) => execLocal(argv);
  return { id: 'local', where: 'this machine', live: true, failure: { code: 'input.invalid' }, exec };
}

/** The machine's inventory: the same facts the SSH collector gathers, by the same collector. */
export type LocalInventory = Snapshot;

/** @example await collectLocal() */
export function collectLocal(): Promise<LocalInventory> {
  return collect(localTransport());
}
