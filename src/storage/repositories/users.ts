import { kx, type Executor } from '../database.js';
import type { Role } from './tokens.js';

export interface UserRow {
  name: string;
  role: Role;
  passwordHash: string;
  createdAt: string;
  disabledAt: string | null;
}

/** Creates a user or sets its role and password; a password set ends the user's sessions (a stolen one with it). */
export async function upsertUser(on: Executor, u: { name: string; role: Role; passwordHash: string; now: string }): Promise<void> {
  const ex = kx(on);
  await ex
    .insertInto('users')
    .values({ name: u.name, role: u.role, password_hash: u.passwordHash, created_at: u.now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ role: u.role, password_hash: u.passwordHash, disabled_at: null }))
    .execute();
  await ex.updateTable('sessions').set({ ended_at: u.now }).where('user_name', '=', u.name).where('ended_at', 'is', null).execute();
}

export async function getUser(on: Executor, name: string): Promise<UserRow | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  return r === undefined ? null : { name: r.name, role: r.role, passwordHash: r.password_hash, createdAt: r.created_at, disabledAt: r.disabled_at };
}

export async function listUserRows(on: Executor): Promise<Omit<UserRow, 'passwordHash'>[]> {
  const ex = kx(on);
  return (await ex.selectFrom('users').select(['name', 'role', 'created_at', 'disabled_at']).orderBy('name').execute()).map((r) => ({
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
    disabledAt: r.disabled_at,
  }));
}

export async function disableUser(on: Executor, name: string, now: string): Promise<boolean> {
  const ex = kx(on);
  const r = await ex.updateTable('users').set({ disabled_at: now }).where('name', '=', name).where('disabled_at', 'is', null).executeTakeFirst();
  await ex.updateTable('sessions').set({ ended_at: now }).where('user_name', '=', name).where('ended_at', 'is', null).execute();
  return Number(r.numUpdatedRows) === 1;
}

export async function insertSession(on: Executor, s: { idSha256: string; user: string; now: string; expiresAt: string }): Promise<void> {
  const ex = kx(on);
  await ex.insertInto('sessions').values({ id_sha256: s.idSha256, user_name: s.user, created_at: s.now, expires_at: s.expiresAt }).execute();
}

export async function getSession(on: Executor, idSha256: string): Promise<{ user: string; expiresAt: string; endedAt: string | null } | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('sessions').selectAll().where('id_sha256', '=', idSha256).executeTakeFirst();
  return r === undefined ? null : { user: r.user_name, expiresAt: r.expires_at, endedAt: r.ended_at };
}

export async function endSession(on: Executor, idSha256: string, now: string): Promise<void> {
  const ex = kx(on);
  await ex.updateTable('sessions').set({ ended_at: now }).where('id_sha256', '=', idSha256).execute();
}
