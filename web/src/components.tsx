import { useEffect, useState, type ReactNode } from 'react';
import { api, ApiError } from './api.js';

/** Loads JSON from the API and re-loads when `path` changes (and every `refreshMs`, for live pages). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects from the API.
export function useApi<T>(path: string | null, refreshMs?: number): { data: T | null; error: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    const load = (): void => {
      api<T>(path).then(
        (d) => {
          if (live) {
            setData(d);
            setError(null);
          }
        },
        (e: unknown) => {
          if (live) setError(e instanceof ApiError ? `${e.message} (${e.code})` : String(e));
        },
      );
    };
    load();
    const timer = refreshMs === undefined ? undefined : setInterval(load, refreshMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [path, refreshMs]);
  return { data, error };
}

export function Severity({ s }: { s: string }): ReactNode {
  return <span className={`sev sev-${s}`}>{s}</span>;
}

export function Table<T>({ rows, columns, empty }: { rows: readonly T[]; columns: readonly [string, (r: T) => ReactNode][]; empty?: string }): ReactNode {
  if (rows.length === 0) return <p className="muted">{empty ?? 'Nothing here.'}</p>;
  return (
    <table>
      <thead>
        <tr>
          {columns.map(([h]) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {columns.map(([h, f]) => (
              <td key={h}>{f(r)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A small line chart (open findings per day). */
export function Sparkline({ points }: { points: readonly { day: string; open: number }[] }): ReactNode {
  const w = 480;
  const h = 80;
  const max = Math.max(1, ...points.map((p) => p.open));
  const path = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${((i / Math.max(1, points.length - 1)) * w).toFixed(1)},${(h - (p.open / max) * (h - 4) - 2).toFixed(1)}`)
    .join(' ');
  return (
    <svg className="spark" viewBox={`0 0 ${String(w)} ${String(h)}`} role="img" aria-label="open findings per day">
      <path d={path} fill="none" strokeWidth="2" />
    </svg>
  );
}

export function Pager({ total, limit, offset, go }: { total: number; limit: number; offset: number; go: (offset: number) => void }): ReactNode {
  return (
    <div className="pager">
      <button
        disabled={offset === 0}
        onClick={() => {
          go(Math.max(0, offset - limit));
        }}
      >
        ← previous
      </button>
      <span>
        {total === 0 ? 0 : offset + 1}–{Math.min(total, offset + limit)} of {total}
      </span>
      <button
        disabled={offset + limit >= total}
        onClick={() => {
          go(offset + limit);
        }}
      >
        next →
      </button>
    </div>
  );
}
