import { useId, useState, type ReactNode } from 'react';
import { Link } from 'wouter';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'none', 'unknown'] as const;

export function Severity({ s }: { s: string }): ReactNode {
  return <span className={`sev sev-${s}`}>{s}</span>;
}

/** An error from the API, announced to screen readers. */
export function Err({ e }: { e: string | null | undefined }): ReactNode {
  return e === null || e === undefined ? null : (
    <p className="error" role="alert">
      {e}
    </p>
  );
}

/** A time in a time zone (the policy's, or the browser's), with the zone named. */
export function fmtTime(iso: string | null | undefined, tz?: string): string {
  if (iso === null || iso === undefined) return 'never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('en-GB', {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: tz,
    timeZoneName: 'short',
  }).format(d);
}
export const Time = ({ iso, tz }: { iso: string | null | undefined; tz?: string }): ReactNode =>
  iso === null || iso === undefined ? 'never' : <time dateTime={iso}>{fmtTime(iso, tz)}</time>;

/** How long ago, or until, in words an operator reads at a glance. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return 'never';
  const h = (new Date(iso).getTime() - now) / 3_600_000;
  const a = Math.abs(h);
  const words = a < 1 ? `${String(Math.round(a * 60))} min` : a < 48 ? `${String(Math.round(a))} h` : `${String(Math.round(a / 24))} days`;
  return h < 0 ? `${words} ago` : `in ${words}`;
}

export function Table<T>({
  rows,
  columns,
  empty,
  caption,
  rowKey,
}: {
  rows: readonly T[];
  columns: readonly [string, (r: T) => ReactNode][];
  empty?: ReactNode;
  caption?: string;
  rowKey?: (r: T, i: number) => string;
}): ReactNode {
  if (rows.length === 0) return <p className="muted">{empty ?? 'Nothing here.'}</p>;
  return (
    <table>
      {caption === undefined ? null : <caption>{caption}</caption>}
      <thead>
        <tr>
          {columns.map(([h], i) => (
            <th key={`${h}${String(i)}`} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={rowKey?.(r, i) ?? i}>
            {columns.map(([h, f], j) => (
              <td key={`${h}${String(j)}`}>{f(r)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Pager({ total, limit, offset, go }: { total: number; limit: number; offset: number; go: (offset: number) => void }): ReactNode {
  return (
    <nav className="pager" aria-label="pages">
      <button
        type="button"
        disabled={offset === 0}
        onClick={() => {
          go(Math.max(0, offset - limit));
        }}
      >
        ← previous
      </button>
      <span aria-live="polite">
        {total === 0 ? 0 : offset + 1}–{Math.min(total, offset + limit)} of {total}
      </span>
      <button
        type="button"
        disabled={offset + limit >= total}
        onClick={() => {
          go(offset + limit);
        }}
      >
        next →
      </button>
    </nav>
  );
}

export const HostLink = ({ name }: { name: string }): ReactNode => <Link href={`/hosts/${encodeURIComponent(name)}`}>{name}</Link>;
export const AdvisoryLink = ({ source, id }: { source: string; id: string }): ReactNode => (
  <Link href={`/advisories/${encodeURIComponent(source)}/${encodeURIComponent(id)}`}>{id}</Link>
);
export const CveLink = ({ cve }: { cve: string }): ReactNode => <Link href={`/cves/${encodeURIComponent(cve)}`}>{cve}</Link>;

/** A labelled field: the label is tied to its input for screen readers. */
export function Field({ label, children }: { label: string; children: (id: string) => ReactNode }): ReactNode {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </span>
  );
}

/** A decision's reason (required) and optional end date: the fields of a hold and of an accepted risk. */
export function ReasonUntilFields(p: {
  reason: string;
  setReason: (v: string) => void;
  until: string;
  setUntil: (v: string) => void;
  untilLabel: string;
}): ReactNode {
  return (
    <>
      <Field label="Reason">
        {(id) => (
          <input
            id={id}
            name="reason"
            value={p.reason}
            required
            onChange={(e) => {
              p.setReason(e.target.value);
            }}
          />
        )}
      </Field>
      <Field label={p.untilLabel}>
        {(id) => (
          <input
            id={id}
            name="until"
            type="date"
            value={p.until}
            onChange={(e) => {
              p.setUntil(e.target.value);
            }}
          />
        )}
      </Field>
    </>
  );
}

/** A button that asks once more before it acts (destructive or fleet-changing actions). */
export function ConfirmButton({ label, confirm, onConfirm, busy }: { label: string; confirm: string; onConfirm: () => void; busy?: boolean }): ReactNode {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button
        type="button"
        disabled={busy === true}
        onClick={() => {
          setAsking(true);
        }}
      >
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={confirm}>
      {confirm}{' '}
      <button
        type="button"
        className="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Yes, {label.toLowerCase()}
      </button>{' '}
      <button
        type="button"
        onClick={() => {
          setAsking(false);
        }}
      >
        No
      </button>
    </span>
  );
}

export interface Series {
  name: string;
  className: string;
  values: readonly number[];
}

/**
 * A line chart in SVG with both axes, a legend and a tooltip per point (a <title>, read by screen
 * readers, and shown on hover and focus); the same numbers are in a table for those who prefer one.
 * No chart library: this is the one chart type the console needs, in about 2 kB.
 */
export function LineChart({ labels, series, title }: { labels: readonly string[]; series: readonly Series[]; title: string }): ReactNode {
  const [focus, setFocus] = useState<number | null>(null);
  const w = 640;
  const h = 220;
  const pad = { l: 44, r: 12, t: 12, b: 34 };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const x = (i: number): number => pad.l + (i / Math.max(1, labels.length - 1)) * (w - pad.l - pad.r);
  const y = (v: number): number => h - pad.b - (v / top) * (h - pad.t - pad.b);
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  const every = Math.max(1, Math.ceil(labels.length / 6));
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${String(w)} ${String(h)}`} role="img" aria-label={title}>
        <title>{title}</title>
        {ticks.map((t) => (
          <g key={t} className="tick">
            <line x1={pad.l} x2={w - pad.r} y1={y(t)} y2={y(t)} />
            <text x={pad.l - 6} y={y(t) + 4} textAnchor="end">
              {t}
            </text>
          </g>
        ))}
        {labels.map((l, i) =>
          i % every === 0 || i === labels.length - 1 ? (
            <text key={l} className="xlabel" x={x(i)} y={h - pad.b + 16} textAnchor="middle">
              {l.slice(5)}
            </text>
          ) : null,
        )}
        <line className="axis" x1={pad.l} x2={pad.l} y1={pad.t} y2={h - pad.b} />
        <line className="axis" x1={pad.l} x2={w - pad.r} y1={h - pad.b} y2={h - pad.b} />
        {series.map((s) => (
          <g key={s.name} className={`series ${s.className}`}>
            <path d={s.values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} fill="none" />
            {s.values.map((v, i) => (
              <circle
                key={i}
                cx={x(i)}
                cy={y(v)}
                r={focus === i ? 5 : 3}
                tabIndex={0}
                onFocus={() => {
                  setFocus(i);
                }}
                onMouseEnter={() => {
                  setFocus(i);
                }}
                onBlur={() => {
                  setFocus(null);
                }}
              >
                <title>{`${labels[i] ?? ''}: ${String(v)} ${s.name}`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        <ul className="legend">
          {series.map((s) => (
            <li key={s.name}>
              <span className={`swatch ${s.className}`} aria-hidden="true" /> {s.name}
            </li>
          ))}
        </ul>
        <span className="tooltip" aria-live="polite">
          {focus === null ? '' : `${labels[focus] ?? ''}: ${series.map((s) => `${String(s.values[focus] ?? 0)} ${s.name}`).join(', ')}`}
        </span>
      </figcaption>
    </figure>
  );
}

/** Horizontal bars (0–100 %), labelled at both ends, each with its own tooltip. */
export function PercentBars({ rows, title }: { rows: readonly { label: string; value: number; detail: string }[]; title: string }): ReactNode {
  return (
    <figure className="bars" aria-label={title}>
      {rows.map((r) => (
        <div key={r.label} className="bar-row" title={r.detail}>
          <span className="bar-label">{r.label}</span>
          <span
            className="bar-track"
            role="meter"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(r.value)}
            aria-label={`${r.label}: ${r.detail}`}
          >
            <span className={`bar-fill ${r.value < 100 ? 'bad' : 'good'}`} style={{ width: `${String(Math.max(0, Math.min(100, r.value)))}%` }} />
          </span>
          <span className="bar-value">{Math.round(r.value)} %</span>
        </div>
      ))}
      <figcaption className="muted">0 % — 100 % of planned hosts with no finding past its deadline</figcaption>
    </figure>
  );
}

function niceStep(max: number): number {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return Math.max(1, (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag);
}
