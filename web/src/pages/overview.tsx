import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { url } from '../api.js';
import { Err, HostLink, LineChart, PercentBars, SEVERITIES, Table } from '../components.js';
import { useGet } from '../query.js';
import { Can } from '../session.js';
import type { Counts, Overview } from '../types.js';

/** What a fresh install needs first, each step with where to take it. */
function FirstRun({ hosts, feeds }: { hosts: number; feeds: number }): ReactNode {
  return (
    <section className="first-run" aria-labelledby="first-run">
      <h2 id="first-run">Getting started</h2>
      <ol>
        <li className={feeds > 0 ? 'done' : ''}>
          {feeds > 0 ? '✓ ' : ''}Sync a feed, so Bulwark knows the advisories: <Link href="/feeds">Feeds</Link>
        </li>
        <li className={hosts > 0 ? 'done' : ''}>
          {hosts > 0 ? '✓ ' : ''}Add a host (SSH) or enroll one with the agent: <Link href="/hosts">Hosts</Link>, <Link href="/agents">Agents</Link>
        </li>
        <li>
          Apply a policy (<code>bulwark policy apply -f policy.yaml</code>), then review its plan: <Link href="/policies">Policies</Link>
        </li>
      </ol>
    </section>
  );
}

export function OverviewPage(): ReactNode {
  const { data, message } = useGet<Overview>(url('/api/v1/overview', {}, { days: 30 }), { refetchMs: 30_000 });
  const feeds = useGet<{ items: { state: unknown }[] }>(url('/api/v1/feeds'));
  if (data === undefined) return <Err e={message} />;
  const synced = (feeds.data?.items ?? []).filter((f) => f.state !== null).length;
  const fresh = data.hosts.total === 0 || synced === 0;
  const sevCard = (s: keyof Counts): ReactNode => (
    <div key={s} className={`card ${data.open.bySeverity[s] > 0 ? `sev-${s}` : 'zero'}`} data-severity={s}>
      <b>{data.open.bySeverity[s]}</b> {s}
    </div>
  );
  return (
    <section>
      <h1 tabIndex={-1}>Fleet overview</h1>
      {fresh ? <FirstRun hosts={data.hosts.total} feeds={synced} /> : null}
      <div className="cards">
        <div className="card">
          <b>{data.hosts.total}</b> hosts
        </div>
        <div className="card">
          <b>{data.open.total}</b> open findings
        </div>
        {(['critical', 'high', 'medium', 'low'] as const).map(sevCard)}
        <div className={`card ${data.hosts.endOfSupport.length > 0 ? 'warn' : 'zero'}`}>
          <b>{data.hosts.endOfSupport.length}</b> end of support
        </div>
        <div className={`card ${data.hosts.staleInventory > 0 ? 'warn' : 'zero'}`} data-tile="stale">
          <b>{data.hosts.staleInventory}</b> stale inventories
        </div>
        <div className="card zero" data-tile="never">
          <b>{data.hosts.neverInventoried}</b> never scanned
        </div>
      </div>
      <h2>Open findings, last 30 days</h2>
      <LineChart
        title="Open findings per day over the last 30 days"
        labels={data.exposureOverTime.map((p) => p.day)}
        series={[{ name: 'open findings', className: 's-open', values: data.exposureOverTime.map((p) => p.open) }]}
      />
      <h2>Exposure by severity, last 30 days</h2>
      <LineChart
        title="Open findings per day and severity over the last 30 days"
        labels={data.exposureOverTime.map((p) => p.day)}
        series={(['critical', 'high', 'medium', 'low'] as const).map((s) => ({
          name: s,
          className: `s-${s}`,
          values: data.exposureOverTime.map((p) => p.bySeverity[s]),
        }))}
      />
      <h2>SLA attainment by policy</h2>
      {data.sla.length === 0 ? (
        <p className="muted">
          No policy applied yet.{' '}
          <Can role="admin">
            Apply one with <code>bulwark policy apply -f FILE</code>.
          </Can>
        </p>
      ) : (
        <>
          <PercentBars
            title="Share of planned hosts with no finding past its deadline, per policy"
            rows={data.sla.map((p) => ({
              label: p.policy,
              value: p.plannedHosts === 0 ? 100 : (100 * (p.plannedHosts - p.hostsInBreach)) / p.plannedHosts,
              detail: `${String(p.plannedHosts - p.hostsInBreach)} of ${String(p.plannedHosts)} hosts within their deadlines; ${String(p.breaches)} findings past due`,
            }))}
          />
          <Table
            caption="SLA by policy"
            rows={data.sla}
            columns={[
              ['policy', (p) => <Link href={`/policies/${encodeURIComponent(p.policy)}`}>{p.policy}</Link>],
              ['hosts to patch', (p) => p.plannedHosts],
              ['findings past deadline', (p) => <span className={p.breaches > 0 ? 'error' : ''}>{p.breaches}</span>],
              ['hosts in breach', (p) => p.hostsInBreach],
              [
                'most overdue',
                (p) =>
                  p.worstOverdueHours === null
                    ? '-'
                    : p.worstOverdueHours >= 48
                      ? `${String(Math.round(p.worstOverdueHours / 24))} days`
                      : `${String(p.worstOverdueHours)} h`,
              ],
            ]}
          />
        </>
      )}
      <h2>Exposure by release</h2>
      <Table
        rows={Object.entries(data.open.byRelease)}
        columns={[
          ['release', ([r]) => <Link href={`/findings?release=${encodeURIComponent(r)}`}>{r}</Link>],
          ['hosts', ([r]) => data.hosts.byRelease[r] ?? 0],
          ...SEVERITIES.slice(0, 4).map((s) => [s, ([, c]: [string, Counts]) => c[s]] as [string, (r: [string, Counts]) => ReactNode]),
        ]}
        empty="No open findings."
      />
      {data.hosts.endOfSupport.length > 0 ? (
        <>
          <h2>Hosts past their release's end of support</h2>
          <p>
            {data.hosts.endOfSupport.map((h) => (
              <span key={h}>
                <HostLink name={h} />{' '}
              </span>
            ))}
          </p>
        </>
      ) : null}
    </section>
  );
}
