/**
 * The dashboard's one door to the API: with a session (cookie, CSRF token on changes) after a
 * password login, or with an API token pasted at login (kept in memory only, never stored).
 */
import type { paths } from './api-types.js';

export type Role = 'viewer' | 'operator' | 'admin';
/** A path of the API as the OpenAPI document names it (`/api/v1/hosts/{name}`): checked against the generated types. */
export type ApiPath = keyof paths;
type JsonBody<T> = T extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
/** The JSON body a route takes, from the generated types. */
export type BodyOf<P extends ApiPath, M extends 'post' | 'put' | 'delete'> = JsonBody<paths[P][M]>;
/** The query parameters a GET route takes, from the generated types. */
export type QueryOf<P extends ApiPath> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

/** The URL of a route: its path parameters filled in (encoded), its query string from the defined values. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- P checks the path against the generated API types.
export function url<P extends ApiPath>(
  path: P,
  params: Record<string, string | number> = {},
  query: Partial<Record<string, string | number | boolean | undefined>> = {},
): string {
  const filled = path.replace(/\{([A-Za-z]+)\}/g, (_, k: string) => encodeURIComponent(String(params[k] ?? '')));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return qs === '' ? filled : `${filled}?${qs}`;
}

/** True when a request authenticated with a pasted API token (no session). */
export const usesToken = (): boolean => token !== null;
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

export async function api<T>(path: string, init: { method?: string; body?: unknown; text?: string } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (csrf !== null && init.method !== undefined && init.method !== 'GET') headers['x-csrf-token'] = csrf;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.text !== undefined) headers['content-type'] = 'application/yaml';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : init.text !== undefined ? { body: init.text } : {}),
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
