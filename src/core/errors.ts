/**
 * One error class for the whole product (DESIGN.md conventions): a stable machine-readable
 * `code`, a human message, optional structured `details`, and the original `cause`.
 *
 * @example
 *   throw new BulwarkError('version.invalid', 'line 3: "1:" has an empty version', { line: 3 });
 */
export type ErrorCode =
  | 'usage'
  | 'config.invalid'
  | 'version.invalid'
  | 'package.invalid'
  | 'input.invalid'
  /** A request body larger than its route takes (HTTP 413); refused before it is read. */
  | 'input.too-large'
  /** Another process holds the database (busy past the timeout) or what was asked for (a run, a lease). */
  | 'storage.conflict'
  | 'storage.not-found'
  | 'storage.unavailable'
  /** The disk or the database is full (SQLITE_FULL, ENOSPC, PostgreSQL 53100); nothing was stored. */
  | 'storage.full'
  /** A host could not be reached, refused its key check, or a command on it failed. */
  | 'target.unreachable'
  /** No valid credential was given (HTTP 401). */
  | 'auth.required'
  /** The credential's role may not do this (HTTP 403). */
  | 'auth.forbidden'
  /** Too many failed authentications from one address (HTTP 429). */
  | 'auth.rate-limited'
  | 'internal';

/** Every error code, for tables that must cover them all (HTTP status, exit code) and their tests. */
export const ERROR_CODES = [
  'usage',
  'config.invalid',
  'version.invalid',
  'package.invalid',
  'input.invalid',
  'input.too-large',
  'storage.conflict',
  'storage.not-found',
  'storage.unavailable',
  'storage.full',
  'target.unreachable',
  'auth.required',
  'auth.forbidden',
  'auth.rate-limited',
  'internal',
] as const satisfies readonly ErrorCode[];

// A code added to the union but not to the list fails to compile here.
type MissingCode = Exclude<ErrorCode, (typeof ERROR_CODES)[number]>;
type AssertTrue<T extends true> = T;
export type ErrorCodesListed = AssertTrue<[MissingCode] extends [never] ? true : false>;

export class BulwarkError extends Error {
  override readonly name = 'BulwarkError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a BulwarkError, optionally with the given code. */
export function isBulwarkError(err: unknown, code?: ErrorCode): err is BulwarkError {
  return err instanceof BulwarkError && (code === undefined || err.code === code);
}
