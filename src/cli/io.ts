import type { Readable, Writable } from 'node:stream';

/** The streams a command talks to; tests pass their own. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/**
 * Writes with back-pressure: resolves when the stream can take more.
 */
export async function writeAll(stream: Writable, chunk: string, encoding: BufferEncoding = 'utf8'): Promise<void> {
  if (!stream.write(chunk, encoding)) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (err: Error): void => {
        stream.off('drain', onDrain);
        reject(err);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
  }
}

/** Who is acting, for the audit log: the local user running the CLI. */
export function actorOf(io: CliIo): string {
  return `cli:${io.env['USER'] ?? io.env['LOGNAME'] ?? 'unknown'}`;
}
