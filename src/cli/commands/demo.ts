import type { CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

export async function runDemo(opts: { io: CliIo; dbPath: string | undefined }): Promise<ExitCode> {
  await Promise.resolve();
  opts.io.stderr.write('demo: not built yet\n');
  return EXIT.internal;
}
