import type { Context } from 'hono';
import { BulwarkError } from '../../core/errors.js';

/**
 * Fixed one-minute windows counting attempts per key (a client address, a user name). Past
 * `maxKeys` keys the oldest windows give way, one by one — clearing them all let a flood from
 * many addresses wipe every count.
 */
export function windowCounter(
  perMinute: number,
  maxKeys = 10_000,
): { blocked: (key: string, now: number) => boolean; add: (key: string, now: number) => () => void; size: () => number } {
  const windows = new Map<string, { start: number; n: number }>();
  const current = (key: string, now: number): { start: number; n: number } | undefined => {
    const w = windows.get(key);
    return w !== undefined && now - w.start < 60_000 ? w : undefined;
  };
  return {
    blocked: (key, now) => (current(key, now)?.n ?? 0) >= perMinute,
    /** Counts one; returns what gives it back (while its window lasts). */
    add(key, now) {
      let w = current(key, now);
      if (w === undefined) {
        // Re-inserted, so the map's order stays the order windows started in.
        windows.delete(key);
        w = { start: now, n: 0 };
        windows.set(key, w);
        for (const oldest of windows.keys()) {
          if (windows.size <= maxKeys) break;
          windows.delete(oldest);
        }
      }
      w.n++;
      const counted = w;
      return () => {
        if (windows.get(key) === counted && counted.n > 0) counted.n--;
      };
    },
    size: () => windows.size,
  };
}

export interface AuthBudgetOptions {
  /** Failed authentications (tokens, sessions, agent signatures, enrollment tokens) allowed per client address per minute (default 20). */
  authFailuresPerMinute?: number;
  /** Password logins per client address per minute, counted when they start and given back when they succeed (default: authFailuresPerMinute). */
  loginAttemptsPerMinute?: number;
  /** Password logins per user name per minute, from any address, counted the same way (default 10). */
  loginAttemptsPerUserPerMinute?: number;
}

/**
 * Two budgets: failed credentials of every kind but passwords, and password logins (scrypt is
 * slow on purpose: a login is counted when it starts, per address and per user name), so a
 * password flood never holds back a valid token from the same address.
 */
export class AuthBudgets {
  private readonly failures: ReturnType<typeof windowCounter>;
  private readonly logins: ReturnType<typeof windowCounter>;
  private readonly userLogins: ReturnType<typeof windowCounter>;

  constructor(
    o: AuthBudgetOptions,
    readonly clientAddress: (c: Context) => string,
  ) {
    this.failures = windowCounter(o.authFailuresPerMinute ?? 20);
    this.logins = windowCounter(o.loginAttemptsPerMinute ?? o.authFailuresPerMinute ?? 20);
    this.userLogins = windowCounter(o.loginAttemptsPerUserPerMinute ?? 10);
  }

  /** Refuses a client whose failed credentials spent its budget. */
  checkFailures(c: Context): void {
    if (this.failures.blocked(this.clientAddress(c), Date.now()))
      throw new BulwarkError('auth.rate-limited', 'too many failed authentications; try again in a minute');
  }

  failed(c: Context): void {
    this.failures.add(this.clientAddress(c), Date.now());
  }

  /** Runs `f`; a failed credential (auth.required) it throws is counted, but on password routes (they have their own budget). */
  async counted<T>(c: Context, f: () => Promise<T>, passwordRoute = false): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof BulwarkError && err.code === 'auth.required' && !passwordRoute) this.failed(c);
      throw err;
    }
  }

  /** Starts a password login as `user`; `succeeded()` gives the attempt back. */
  loginAttempt(c: Context, user: string): { succeeded: () => void } {
    const who = this.clientAddress(c);
    const now = Date.now();
    if (this.logins.blocked(who, now)) throw new BulwarkError('auth.rate-limited', 'too many logins from this address; try again in a minute');
    if (this.userLogins.blocked(user, now)) throw new BulwarkError('auth.rate-limited', `too many logins as ${user}; try again in a minute`);
    const back = [this.logins.add(who, now), this.userLogins.add(user, now)];
    return {
      succeeded: () => {
        for (const b of back) b();
      },
    };
  }
}
