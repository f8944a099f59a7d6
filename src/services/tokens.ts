import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BulwarkError } from '../core/errors.js';
import { getToken, insertToken, listTokenRows, revokeTokenRow, touchToken, type Role, type StoredToken } from '../storage/index.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * API tokens (issue #6). A token reads `bwk_<id>_<secret>`: the id (public, 12 hex digits) finds
 * the row, the secret (256 random bits, base64url) is checked against its stored SHA-256 in
 * constant time. A slow password hash is not needed for 256-bit random secrets: nobody can guess
 * one, and the hash only keeps a stolen database from being a list of working tokens.
 */
export type { Role } from '../storage/index.js';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** True when `have` is allowed to do what `need` may. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

const TOKEN = /^bwk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const info = (t: StoredToken): TokenInfo => ({
  id: t.id,
  name: t.name,
  role: t.role,
  createdAt: t.createdAt,
  createdBy: t.createdBy,
  expiresAt: t.expiresAt,
  revokedAt: t.revokedAt,
  lastUsedAt: t.lastUsedAt,
});

/**
 * Creates a token; the returned `token` is the only time the secret exists outside the caller.
 * @example const { token } = await createToken(db, { name: 'ci', role: 'viewer', expiresInDays: 90, actor: { kind: 'cli', name: 'alice' } })
 */
export async function createToken(
  db: Db,
  o: { name: string; role: Role; expiresInDays: number | null; actor: Actor },
  clock: Clock = systemClock,
): Promise<{ token: string; info: TokenInfo }> {
  if (!/^[\w.@ -]{1,64}$/.test(o.name)) throw new BulwarkError('usage', `"${o.name}" is not a token name (1-64 letters, digits, " ", ".", "_", "-", "@")`);
  if (!ROLES.includes(o.role)) throw new BulwarkError('usage', `"${o.role}" is not a role (viewer, operator, admin)`);
  if (o.expiresInDays !== null && !(o.expiresInDays > 0 && o.expiresInDays <= 3650)) throw new BulwarkError('usage', 'a token expires after 1 to 3650 days');
  const now = clock();
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const expiresAt = o.expiresInDays === null ? null : new Date(now.getTime() + o.expiresInDays * 86_400_000).toISOString();
  await insertToken(db, {
    id,
    name: o.name,
    role: o.role,
    secretSha256: sha256(secret),
    createdAt: now.toISOString(),
    createdBy: actorLabel(o.actor),
    expiresAt,
  });
  await recordAudit(db, o.actor, 'token.create', `token:${id}`, { name: o.name, role: o.role, expiresAt }, clock);
  const t = await getToken(db, id);
  if (t === null) throw new BulwarkError('internal', 'the new token was not stored');
  return { token: `bwk_${id}_${secret}`, info: info(t) };
}

/** The token's identity when it is well formed, known, not revoked and not expired; else null. */
export async function verifyToken(db: Db, token: string, clock: Clock = systemClock): Promise<TokenInfo | null> {
  const m = TOKEN.exec(token);
  if (m === null) return null;
  const [, id = '', secret = ''] = m;
  const t = await getToken(db, id);
  if (t === null) return null;
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(t.secretSha256, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
  const now = clock();
  if (t.revokedAt !== null || (t.expiresAt !== null && Date.parse(t.expiresAt) <= now.getTime())) return null;
  // Recorded at most once a minute per token: a busy client must not turn reads into writes.
  if (t.lastUsedAt === null || now.getTime() - Date.parse(t.lastUsedAt) > 60_000) await touchToken(db, id, now.toISOString());
  return info(t);
}

export async function listTokens(db: Db): Promise<TokenInfo[]> {
  return (await listTokenRows(db)).map(info);
}

export async function revokeToken(db: Db, id: string, actor: Actor, clock: Clock = systemClock): Promise<void> {
  if (!(await revokeTokenRow(db, id, actorLabel(actor), clock().toISOString()))) throw new BulwarkError('storage.not-found', `no active token ${id}`);
  await recordAudit(db, actor, 'token.revoke', `token:${id}`, {}, clock);
}
