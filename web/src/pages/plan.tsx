import { useState, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { url } from '../api.js';
import { AdvisoryLink, Err, fmtTime, HostLink, Table } from '../components.js';
import { useAction, useGet } from '../query.js';
import { Can } from '../session.js';
import type { Decision, PlannedPackage, RunPreview, Timeline, TimelineEntry } from '../types.js';
import { Decide } from './decide.js';

const overdue = (h: number): string => (h >= 48 ? `${String(Math.round(h / 24))} days overdue` : `${String(h)} h overdue`);

/** Packages folded under the advisories that fix them (one line per advisory, not per package). */
function ByAdvisory({ packages, source }: { packages: readonly PlannedPackage[]; source?: string }): ReactNode {
  const by = new Map<string, PlannedPackage[]>();
  for (const p of packages) for (const a of p.advisories.length === 0 ? ['(no advisory)'] : p.advisories) by.set(a, [...(by.get(a) ?? []), p]);
  return (
    <ul className="by-advisory">
      {[...by].map(([a, ps]) => (
        <li key={a}>
          {source === undefined ? <b>{a}</b> : <AdvisoryLink source={source} id={a} />}: {ps.map((p) => `${p.name} → ${p.to}`).join(', ')}
        </li>
      ))}
    </ul>
  );
}

/** A time axis from now to the last date shown; each part a bar (its window) and the deadline a mark. */
function Lane({
  parts,
  t0,
  t1,
  tz,
}: {
  parts: { label: string; start: string; end: string | null; deadline: string | null; late: boolean; emergency: boolean }[];
  t0: number;
  t1: number;
  tz: string;
}): ReactNode {
  const w = 600;
  const x = (iso: string): number => Math.max(0, Math.min(w - 6, ((new Date(iso).getTime() - t0) / (t1 - t0)) * w));
  const h = 18 * parts.length + 4;
  return (
    <svg
      className="lane"
      viewBox={`0 -2 ${String(w)} ${String(h + 16)}`}
      role="img"
      aria-label={parts.map((p) => `${p.label} from ${fmtTime(p.start, tz)}`).join('; ')}
    >
      {parts.map((p, i) => {
        const a = x(p.start);
        const b = p.end === null ? a + 4 : Math.max(a + 4, x(p.end));
        return (
          <g key={i} className={`${p.emergency ? 'emergency' : 'window'}${p.late ? ' late' : ''}`}>
            <rect x={a} y={2 + i * 18} width={b - a} height={14} rx={3}>
              <title>{`${p.label}: ${fmtTime(p.start, tz)}${p.end === null ? '' : ` – ${fmtTime(p.end, tz)}`}${p.late ? ' (after its deadline)' : ''}`}</title>
            </rect>
            {p.deadline === null ? null : (
              <line className="deadline" x1={x(p.deadline)} x2={x(p.deadline)} y1={i * 18} y2={18 + i * 18}>
                <title>{`deadline ${fmtTime(p.deadline, tz)}`}</title>
              </line>
            )}
          </g>
        );
      })}
      <line className="axis" x1={0} x2={w} y1={h} y2={h} />
      <text x={0} y={h + 12} className="axis-label">
        {fmtTime(new Date(t0).toISOString(), tz)}
      </text>
      <text x={w} y={h + 12} textAnchor="end" className="axis-label">
        {fmtTime(new Date(t1).toISOString(), tz)}
      </text>
    </svg>
  );
}

function StartRun({ policy }: { policy: string }): ReactNode {
  const [, navigate] = useLocation();
  const [asked, setAsked] = useState(false);
  const preview = useGet<RunPreview>(asked ? url('/api/v1/policies/{name}/run-preview', { name: policy }) : null);
  const start = useAction<'/api/v1/runs', 'post', { run: number }>({
    method: 'post',
    path: '/api/v1/runs',
    invalidates: ['/api/v1/runs', '/api/v1/policies', '/api/v1/hosts'],
  });
  if (!asked)
    return (
      <button
        type="button"
        onClick={() => {
          setAsked(true);
        }}
      >
        Start a run…
      </button>
    );
  const p = preview.data;
  return (
    <section className="preview" aria-labelledby="preview-title">
      <h2 id="preview-title">Run preview: what starting a run of {policy} now does</h2>
      <Err e={preview.message} />
      {p === undefined ? null : (
        <>
          <p>
            {p.hosts.length} {p.hosts.length === 1 ? 'host' : 'hosts'}, at most {p.maxConcurrency} at a time; it halts when more than{' '}
            {Math.round(p.failureThreshold * 100)} % fail; {p.soakHours} h soak between rings. Times in {p.timezone}.
          </p>
          <Table
            rows={p.hosts}
            rowKey={(h) => h.target}
            columns={[
              ['host', (h) => h.target],
              ['ring', (h) => h.ring],
              ['begins', (h) => (h.emergency ? `now (emergency)` : `${fmtTime(h.start, p.timezone)}${h.window === null ? '' : ` (window ${h.window})`}`)],
              ['reboot', (h) => (h.reboot ? 'yes' : 'no')],
              ['packages', (h) => <ByAdvisory packages={h.packages} />],
            ]}
            empty="No approved host to patch: nothing would start."
          />
          {p.left.length === 0 ? null : (
            <>
              <h3>Left out</h3>
              <ul>
                {p.left.map((l) => (
                  <li key={l.target}>
                    {l.target}: {l.why}
                  </li>
                ))}
              </ul>
            </>
          )}
          {p.warnings.map((w) => (
            <p key={w} className="warning">
              {w}
            </p>
          ))}
          <button
            type="button"
            className="primary"
            disabled={p.hosts.length === 0 || start.isPending}
            onClick={() => {
              start.mutate(
                { body: { policy } },
                {
                  onSuccess: (r) => {
                    navigate(`/runs/${String(r.run)}`);
                  },
                },
              );
            }}
          >
            Start the run on {p.hosts.length} {p.hosts.length === 1 ? 'host' : 'hosts'}
          </button>{' '}
          <button
            type="button"
            onClick={() => {
              setAsked(false);
            }}
          >
            Cancel
          </button>
        </>
      )}
      <Err e={start.error?.message} />
    </section>
  );
}

function parts(e: TimelineEntry): { label: string; start: string; end: string | null; deadline: string | null; late: boolean; emergency: boolean }[] {
  const out = [];
  if (e.emergency)
    out.push({
      label: `${e.target}: emergency`,
      start: e.start,
      end: null,
      deadline: e.deadline,
      late: new Date(e.start) > new Date(e.deadline),
      emergency: true,
    });
  if (e.rest !== undefined)
    out.push({
      label: `${e.target}: ${e.rest.window ?? 'any time'}`,
      start: e.rest.start,
      end: e.rest.windowEnd,
      deadline: e.rest.deadline,
      late: new Date(e.rest.start) > new Date(e.rest.deadline),
      emergency: false,
    });
  if (!e.emergency)
    out.push({
      label: `${e.target}: ${e.window ?? 'any time'}`,
      start: e.start,
      end: e.windowEnd,
      deadline: e.deadline,
      late: e.predictedBreach !== undefined,
      emergency: false,
    });
  return out;
}

export function PlanPage({ name }: { name: string }): ReactNode {
  const { data: t, message } = useGet<Timeline>(url('/api/v1/policies/{name}/timeline', { name }));
  const decided = useGet<{ items: Decision[] }>(url('/api/v1/decisions', {}, { policy: name }));
  if (t === undefined) return <Err e={message} />;
  const tz = t.timezone;
  const now = new Date(t.generatedAt).getTime();
  const all = t.entries.flatMap((e) => parts(e));
  const last = Math.max(
    now + 86_400_000,
    ...all.flatMap((p) => [p.start, p.end ?? p.start, p.deadline ?? p.start].map((x) => new Date(x).getTime())).filter((x) => x >= now),
  );
  const t1 = last + (last - now) * 0.08;
  const emergency = t.entries.filter((e) => e.emergency);
  const rings = [...new Set(t.entries.map((e) => e.ringIndex))].sort((a, b) => a - b);
  // Every advisory of the plan, and those a decision in force took out of it (a hold), so it can be lifted here.
  const advisories = [
    ...new Set([
      ...t.entries.flatMap((e) => [...e.awaitingApproval, ...e.packages.flatMap((p) => p.advisories), ...e.held.map((h) => h.advisory)]),
      ...(decided.data?.items ?? []).map((d) => d.advisoryId),
    ]),
  ].sort();
  return (
    <section>
      <h1 tabIndex={-1}>Plan of {t.policy}</h1>
      <p className="muted">
        Times in {tz} (the policy's zone) · made {fmtTime(t.generatedAt, tz)} · next monthly cycle {fmtTime(t.cycle.next, tz)} · windows:{' '}
        {t.windows.length === 0
          ? 'none (any time)'
          : t.windows.map((w) => `${w.name} (${w.days.join(', ')} ${w.start}, ${String(w.durationHours)} h, ${w.timezone})`).join('; ')}
      </p>
      <Can role="operator">
        <StartRun policy={t.policy} />
      </Can>
      {(t.warnings ?? []).map((w) => (
        <p key={w.message} className="warning" role="status">
          ⚠ {w.message}
        </p>
      ))}
      {t.breaches.length === 0 ? null : (
        <>
          <h2 className="error">Past their deadline ({t.breaches.length})</h2>
          <Table
            rows={t.breaches}
            columns={[
              ['host', (b) => <HostLink name={b.target} />],
              ['advisory', (b) => b.advisory],
              ['package', (b) => b.package],
              ['deadline', (b) => fmtTime(b.deadline, tz)],
              ['', (b) => <span className="error">{overdue(b.overdueHours)}</span>],
            ]}
          />
        </>
      )}
      <h2>Emergency work (outside windows)</h2>
      {emergency.length === 0 ? (
        <p className="muted">No emergency rule applies now.</p>
      ) : (
        <Table
          rows={emergency}
          rowKey={(e) => `${e.target}-em`}
          columns={[
            ['ring', (e) => e.ring],
            ['host', (e) => <HostLink name={e.target} />],
            ['starts', (e) => `${fmtTime(e.start, tz)}${e.after === undefined ? '' : ` (after ring ${e.after.ring}, ${String(e.after.soakHours)} h soak)`}`],
            ['deadline', (e) => <span className={new Date(e.deadline).getTime() < now ? 'error' : ''}>{fmtTime(e.deadline, tz)}</span>],
            ['rules', (e) => e.reasons.filter((r) => r !== 'monthly').join(', ')],
            ['packages', (e) => <ByAdvisory packages={e.packages.filter((p) => p.emergency)} />],
          ]}
        />
      )}
      <h2>Monthly work, ring by ring</h2>
      {rings.map((ri) => {
        const entries = t.entries.filter((e) => e.ringIndex === ri && (!e.emergency || e.rest !== undefined));
        if (entries.length === 0) return null;
        return (
          <section key={ri} className="ring" aria-label={`ring ${entries[0]?.ring ?? ''}`}>
            <h3>Ring {entries[0]?.ring}</h3>
            <Lane parts={entries.flatMap((e) => parts(e).filter((p) => !p.emergency))} t0={now} t1={t1} tz={tz} />
            <Table
              rows={entries}
              rowKey={(e) => e.target}
              columns={[
                ['host', (e) => <HostLink name={e.target} />],
                ['window', (e) => (e.rest !== undefined ? (e.rest.window ?? 'any time') : (e.window ?? 'any time'))],
                [
                  'starts',
                  (e) => {
                    const start = e.rest?.start ?? e.start;
                    const end = e.rest !== undefined ? e.rest.windowEnd : e.windowEnd;
                    return `${fmtTime(start, tz)}${end === null ? '' : ` – ${fmtTime(end, tz)}`}`;
                  },
                ],
                [
                  'deadline',
                  (e) => {
                    const late = e.rest !== undefined ? new Date(e.rest.start) > new Date(e.rest.deadline) : e.predictedBreach !== undefined;
                    return (
                      <span className={late ? 'error breach' : ''}>
                        {fmtTime(e.rest !== undefined ? e.rest.deadline : e.deadline, tz)}
                        {late ? ' — predicted breach' : ''}
                      </span>
                    );
                  },
                ],
                ['approval', (e) => (e.approval === 'approved' ? 'approved' : `awaiting ${e.awaitingApproval.join(', ')}`)],
                ['reboot', (e) => (e.reboot ? 'yes' : 'no')],
                ['packages', (e) => <ByAdvisory packages={e.packages.filter((p) => !p.emergency || !e.emergency)} />],
                ['held', (e) => e.held.map((h) => `${h.advisory}: ${h.reason}`).join('; ')],
              ]}
            />
          </section>
        );
      })}
      {t.entries.length === 0 ? <p className="muted">Nothing to patch now.</p> : null}
      {t.idle.length === 0 ? null : (
        <details>
          <summary>{t.idle.length} hosts in scope with nothing to do</summary>
          <ul>
            {t.idle.map((i) => (
              <li key={i.target}>
                {i.target}: {i.why}
              </li>
            ))}
          </ul>
        </details>
      )}
      <h2>Decisions</h2>
      <p className="muted">Approve or hold each advisory of this plan.</p>
      {advisories.map((a) => (
        <div key={a} className="decision-row">
          <b>{a}</b>
          <Decide advisory={a} policy={t.policy} />
        </div>
      ))}
      <p>
        <Link href="/policies">All policies</Link>
      </p>
    </section>
  );
}
