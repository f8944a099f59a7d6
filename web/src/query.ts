import { useMutation, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { api, ApiError, type ApiPath, type BodyOf, url } from './api.js';

/**
 * Server state through TanStack Query: reads are cached by their URL and shared between pages;
 * every action invalidates what it changes (by URL prefix), so each page showing it reloads.
 */

export function useGet<T>(path: string | null, o: { refetchMs?: number } = {}): UseQueryResult<T, ApiError> & { message: string | null } {
  const r = useQuery<T, ApiError>({
    queryKey: [path],
    queryFn: () => api<T>(path ?? ''),
    enabled: path !== null,
    ...(o.refetchMs !== undefined ? { refetchInterval: o.refetchMs } : {}),
  });
  return Object.assign(r, { message: r.error === null ? null : `${r.error.message} (${r.error.code})` });
}

/** What an action does: its method and route (filled by `url`), and what it changes (URL prefixes to reload). */
export interface ActionSpec<P extends ApiPath, M extends 'post' | 'put' | 'delete'> {
  method: M;
  path: P;
  invalidates: readonly string[];
}

/**
 * An action through the API (with the session's CSRF token, as the CLI's twin would through a
 * token): `run({ params, query, body })`; `error` holds the server's message until the next try.
 */
export function useAction<P extends ApiPath, M extends 'post' | 'put' | 'delete', R = unknown>(spec: ActionSpec<P, M>) {
  const client = useQueryClient();
  return useMutation<R, ApiError, { params?: Record<string, string | number>; query?: Record<string, string | undefined>; body?: BodyOf<P, M>; text?: string }>(
    {
      mutationFn: (v) =>
        api<R>(url(spec.path, v.params ?? {}, v.query ?? {}), {
          method: spec.method.toUpperCase(),
          ...(v.body !== undefined ? { body: v.body } : {}),
          ...(v.text !== undefined ? { text: v.text } : {}),
        }),
      onSuccess: () =>
        client.invalidateQueries({
          predicate: (q) => {
            const k = q.queryKey[0];
            return typeof k === 'string' && spec.invalidates.some((p) => k.startsWith(p));
          },
        }),
    },
  );
}
