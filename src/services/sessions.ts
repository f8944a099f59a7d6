import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { BulwarkError } from '../core/errors.js';
import { disableUser, endSession, getSession, getUser, insertSession, listUserRows, upsertUser, type Role } from '../storage/index.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Dashboard logins (issue #6): passwords hashed with scrypt (N=2^15, r=8, p=1, 16-byte salt);
 * a session is a random 256-bit id sent as an HttpOnly, SameSite=Strict cookie, stored as its
 * SHA-256, expiring after `SESSION_HOURS`. Requests that change something with a session must
 * carry its CSRF token (an HMAC of the session id), which a page from another site cannot read.
 */
export const SESSION_HOURS = 8;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { N: n, r, p, maxmem: SCRYPT.maxmem }, (err, key) => {
      if (err === null) resolve(key);
      else reject(err);
    });
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return ['scrypt', String(SCRYPT.N), String(SCRYPT.r), String(SCRYPT.p), salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || n === undefined || r === undefined || p === undefined || salt === undefined || hash === undefined) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return got.length === want.length && timingSafeEqual(got, want);
}

/** @example await setUser(db, { name: 'alice', role: 'operator', password: '…', actor: { kind: 'cli', name: 'root' } }) */
export async function setUser(db: Db, u: { name: string; role: Role; password: string; actor: Actor }, clock: Clock = systemClock): Promise<void> {
  if (!/^[a-z][a-z0-9._-]{0,63}$/.test(u.name)) throw new BulwarkError('usage', `"${u.name}" is not a user name (lower-case letters, digits, ".", "_", "-")`);
  if (u.password.length < 12) throw new BulwarkError('usage', 'a password has at least 12 characters');
  await upsertUser(db, { name: u.name, role: u.role, passwordHash: await hashPassword(u.password), now: clock().toISOString() });
  await recordAudit(db, u.actor, 'user.set', `user:${u.name}`, { role: u.role }, clock);
}

export function listUsers(db: Db): ReturnType<typeof listUserRows> {
  return listUserRows(db);
}

export async function removeUser(db: Db, name: string, actor: Actor, clock: Clock = systemClock): Promise<void> {
  if (!(await disableUser(db, name, clock().toISOString()))) throw new BulwarkError('storage.not-found', `no active user ${name}`);
  await recordAudit(db, actor, 'user.disable', `user:${name}`, {}, clock);
}

/** The CSRF token of a session: derived, so nothing more is stored. */
export function csrfToken(sessionId: string): string {
  return createHmac('sha256', sessionId).update('bulwark-csrf').digest('base64url');
}

/**
 * Password checks at once per process, and how many may wait for one: each scrypt check takes
 * 32 MiB and tens of milliseconds, so a burst of logins queues here instead of taking the
 * memory and every libuv thread; past the queue a login is refused (auth.rate-limited).
 */
export const PASSWORD_CHECKS = { running: 2, waiting: 32 };
let checking = 0;
const queue: (() => void)[] = [];

async function boundedCheck<T>(f: () => Promise<T>): Promise<T> {
  if (checking < PASSWORD_CHECKS.running) checking++;
  else {
    if (queue.length >= PASSWORD_CHECKS.waiting) throw new BulwarkError('auth.rate-limited', 'too many logins at once; try again in a moment');
    // The slot is handed over by the check that ends (checking stays counted).
    await new Promise<void>((resolve) => queue.push(resolve));
  }
  try {
    return await f();
  } finally {
    const next = queue.shift();
    if (next !== undefined) next();
    else checking--;
  }
}

export async function login(
  db: Db,
  name: string,
  password: string,
  clock: Clock = systemClock,
): Promise<{ sessionId: string; csrf: string; user: string; role: Role; expiresAt: string }> {
  const u = await getUser(db, name);
  // The same work whether or not the user exists: no timing tells which names are real.
  const ok = await boundedCheck(() =>
    verifyPassword(password, u?.passwordHash ?? 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
  );
  if (u === null || !ok || u.disabledAt !== null) throw new BulwarkError('auth.required', 'wrong user name or password');
  const now = clock();
  const sessionId = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3_600_000).toISOString();
  await insertSession(db, { idSha256: sha256(sessionId), user: u.name, now: now.toISOString(), expiresAt });
  await recordAudit(db, { kind: 'user', name: u.name }, 'session.start', `user:${u.name}`, {}, clock);
  return { sessionId, csrf: csrfToken(sessionId), user: u.name, role: u.role, expiresAt };
}

/** The session's user when it is live; null otherwise. */
export async function sessionUser(db: Db, sessionId: string, clock: Clock = systemClock): Promise<{ name: string; role: Role; expiresAt: string } | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
  const s = await getSession(db, sha256(sessionId));
  if (s === null || s.endedAt !== null || Date.parse(s.expiresAt) <= clock().getTime()) return null;
  const u = await getUser(db, s.user);
  if (u === null || u.disabledAt !== null) return null;
  return { name: u.name, role: u.role, expiresAt: s.expiresAt };
}

/** Ends a session, audited as `session.end` by its user. */
export async function logout(db: Db, sessionId: string, actor: Actor, clock: Clock = systemClock): Promise<void> {
  await endSession(db, sha256(sessionId), clock().toISOString());
  await recordAudit(db, actor, 'session.end', actorLabel(actor), {}, clock);
}
