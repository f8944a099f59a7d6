import { kx, type Executor } from '../database.js';

export type Role = 'viewer' | 'operator' | 'admin';

export interface StoredToken {
  id: string;
  name: string;
  role: Role;
  secretSha256: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
}

type Row = {
  id: string;
  name: string;
  role: Role;
  secret_sha256: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  last_used_at: string | null;
};

const toToken = (r: Row): StoredToken => ({
  id: r.id,
  name: r.name,
  role: r.role,
  secretSha256: r.secret_sha256,
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
  lastUsedAt: r.last_used_at,
});

export async function insertToken(
  on: Executor,
  t: { id: string; name: string; role: Role; secretSha256: string; createdAt: string; createdBy: string; expiresAt: string | null },
): Promise<void> {
  const ex = kx(on);
  await ex
    .insertInto('api_tokens')
    .values({ id: t.id, name: t.name, role: t.role, secret_sha256: t.secretSha256, created_at: t.createdAt, created_by: t.createdBy, expires_at: t.expiresAt })
    .execute();
}

export async function getToken(on: Executor, id: string): Promise<StoredToken | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return r === undefined ? null : toToken(r);
}

export async function listTokenRows(on: Executor): Promise<StoredToken[]> {
  const ex = kx(on);
  return (await ex.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id').execute()).map(toToken);
}

/** Returns false when there was no such token or it was already revoked. */
export async function revokeTokenRow(on: Executor, id: string, by: string, now: string): Promise<boolean> {
  const ex = kx(on);
  const r = await ex.updateTable('api_tokens').set({ revoked_at: now, revoked_by: by }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function touchToken(on: Executor, id: string, now: string): Promise<void> {
  const ex = kx(on);
  await ex.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
}
