import pino from 'pino';

/**
 * Structured logs (DESIGN.md): a static message plus a metadata object, as JSON lines on stderr.
 * Credentials never reach a log line: the paths below are censored wherever they appear.
 */
export type Log = (msg: string, meta: Record<string, unknown>) => void;

export function createLogger(o: { level?: string; destination?: NodeJS.WritableStream } = {}): { info: Log; warn: Log; error: Log } {
  const logger = pino(
    {
      level: o.level ?? 'info',
      base: { service: 'bulwark' },
      redact: {
        paths: ['authorization', 'token', 'password', 'secret', '*.authorization', '*.token', '*.password', '*.secret', 'headers.cookie'],
        censor: '[redacted]',
      },
    },
    o.destination ?? process.stderr,
  );
  return {
    info: (msg, meta) => {
      logger.info(meta, msg);
    },
    warn: (msg, meta) => {
      logger.warn(meta, msg);
    },
    error: (msg, meta) => {
      logger.error(meta, msg);
    },
  };
}
