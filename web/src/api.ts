/**
 * The dashboard's one door to the API: with a session (cookie, CSRF token on changes) after a
 * password login, or with an API token pasted at login (kept in memory only, never stored).
 */
export type Role = 'viewer' | 'operator' | 'admin';
export interface Me {
  name: string;
  role: Role;
}

let token: string | null = null;
let csrf: string | null = null;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (csrf !== null && init.method !== undefined && init.method !== 'GET') headers['x-csrf-token'] = csrf;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  const data = text === '' ? null : (JSON.parse(text) as unknown);
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? 'http', e?.message ?? res.statusText);
  }
  return data as T;
}

export async function loginWithPassword(user: string, password: string): Promise<Me> {
  token = null;
  const r = await api<{ user: string; role: Role; csrfToken: string }>('/api/v1/session', { method: 'POST', body: { user, password } });
  csrf = r.csrfToken;
  return { name: r.user, role: r.role };
}

export async function loginWithToken(t: string): Promise<Me> {
  token = t.trim();
  try {
    const me = await api<{ name: string; role: Role }>('/api/v1/me');
    return { name: me.name, role: me.role };
  } catch (err) {
    token = null;
    throw err;
  }
}

/** A session cookie left from before a reload: its user, or null. */
export async function resume(): Promise<Me | null> {
  try {
    const s = await api<{ user: string; role: Role; csrfToken: string }>('/api/v1/session');
    csrf = s.csrfToken;
    return { name: s.user, role: s.role };
  } catch {
    return null;
  }
}

export async function logout(): Promise<void> {
  if (token === null) await api('/api/v1/session', { method: 'DELETE' }).catch(() => undefined);
  token = null;
  csrf = null;
}
