import { userInfo } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { Actor } from '../services/audit.js';

/** The streams a command talks to; tests pass their own. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: quietWhenClosed(process.stdout), stderr: process.stderr, env: process.env };
}

/** Streams whose reader went away (`bulwark scan … | head -1`): what is still written is dropped. */
const closed = new WeakSet<Writable>();
const guarded = new WeakSet<Writable>();

/** EPIPE: the reading end of the pipe is closed. */
function isClosedPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EPIPE';
}

/**
 * Makes a closed reader end the output quietly, as other CLIs do (`grep … | head -1`): an
 * EPIPE is an 'error' event on stdout, and without a listener Node turns it into an uncaught
 * exception (exit 70 with a stack trace on standard error). The command still finishes and
 * exits with its own code (1 when --fail-on finds something), so `set -o pipefail` sees the
 * verdict; any other write error stays fatal.
 */
export function quietWhenClosed<W extends Writable>(stream: W): W {
  if (guarded.has(stream)) return stream;
  guarded.add(stream);
  stream.on('error', (err: unknown) => {
    if (isClosedPipe(err)) closed.add(stream);
    // Another error is writeAll's to report when it listens; a bare write's stays uncaught.
    else if (stream.listenerCount('error') === 1) throw err;
  });
  return stream;
}

/**
 * Writes with back-pressure: resolves when the stream can take more, or at once when its
 * reader has gone (see quietWhenClosed).
 */
export async function writeAll(stream: Writable, chunk: string | Uint8Array, encoding: BufferEncoding = 'utf8'): Promise<void> {
  if (closed.has(stream)) return;
  if (!(typeof chunk === 'string' ? stream.write(chunk, encoding) : stream.write(chunk))) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (err: Error): void => {
        stream.off('drain', onDrain);
        if (isClosedPipe(err)) {
          closed.add(stream);
          resolve();
        } else reject(err);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
  }
}

/**
 * Who is acting, for the audit log: the OS user running the CLI (`cli:alice`), as the system
 * knows them; without a passwd entry (a container's arbitrary uid), $USER or $LOGNAME, else the uid.
 */
export function actorOf(io: CliIo): Actor {
  return { kind: 'cli', name: osUser(io.env) };
}

function osUser(env: NodeJS.ProcessEnv): string {
  try {
    const name = userInfo().username;
    if (name !== '') return name;
  } catch {
    // No passwd entry for this uid.
  }
  const fromEnv = env['USER'] ?? env['LOGNAME'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return `uid-${String(process.getuid?.() ?? 'unknown')}`;
}
