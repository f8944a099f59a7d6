import { reportDeltaCounts } from './agent-report-delta.js';
import { rememberedUsage } from './agent-report-memory.js';
import { SEVERITIES } from '../core/advisory.js';
import { listAgentRows, listAudit, runOutcomeCounts } from '../storage/index.js';
import { listSources } from './feed-sources.js';
import { fleetOverview } from './overview.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Prometheus metrics (issue #18 item 5), in the text exposition format 0.0.4: every series is
 * named `bulwark_…`. Gauges are read from the store when scraped (several servers on one
 * database report the same fleet); the HTTP latency histogram is this process's own.
 */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Request latencies of this process, per method, route pattern and status. */
export class HttpMetrics {
  private readonly series = new Map<string, { labels: Record<string, string>; buckets: number[]; sum: number; count: number }>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { labels, buckets: HTTP_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (const [i, le] of HTTP_BUCKETS.entries()) if (seconds <= le) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    s.sum += seconds;
    s.count++;
  }

  write(out: MetricsWriter): void {
    const name = 'bulwark_http_request_duration_seconds';
    out.header(name, 'histogram', 'HTTP request latency of this server, by method, route pattern and status');
    for (const s of [...this.series.values()].sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)))) {
      for (const [i, le] of HTTP_BUCKETS.entries()) out.sample(`${name}_bucket`, { ...s.labels, le: String(le) }, s.buckets[i] ?? 0);
      out.sample(`${name}_bucket`, { ...s.labels, le: '+Inf' }, s.count);
      out.sample(`${name}_sum`, s.labels, s.sum);
      out.sample(`${name}_count`, s.labels, s.count);
    }
  }
}

/** Label values escaped as the format says: backslash, double quote and line feed. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class MetricsWriter {
  private readonly lines: string[] = [];

  header(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    this.lines.push(`${name}${l === '' ? '' : `{${l}}`} ${formatValue(value)}`);
  }

  gauge(name: string, help: string, samples: readonly { labels?: Record<string, string>; value: number }[]): void {
    this.series(name, 'gauge', help, samples);
  }

  counter(name: string, help: string, samples: readonly { labels?: Record<string, string>; value: number }[]): void {
    this.series(name, 'counter', help, samples);
  }

  private series(name: string, type: 'gauge' | 'counter', help: string, samples: readonly { labels?: Record<string, string>; value: number }[]): void {
    this.header(name, type, help);
    for (const s of samples) this.sample(name, s.labels ?? {}, s.value);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** An agent that has not reported for this long is `silent` in bulwark_agents. */
export const AGENT_SILENT_HOURS = 24;

/**
 * The metrics text. Host and finding counts are the overview's (GET /api/v1/overview), so the
 * two agree; SLA breaches are its per-policy plan breaches.
 * @example const text = await metricsText(db, httpMetrics)
 */
export async function metricsText(db: Db, http: HttpMetrics | undefined, clock: Clock = systemClock): Promise<string> {
  const now = clock();
  const w = new MetricsWriter();
  const o = await fleetOverview(db, { days: 1 }, clock);
  const fresh = o.hosts.total - o.hosts.staleInventory - o.hosts.neverInventoried;
  w.gauge('bulwark_hosts', 'Hosts by inventory state: fresh, stale (older than 7 days), never inventoried', [
    { labels: { state: 'fresh' }, value: fresh },
    { labels: { state: 'stale' }, value: o.hosts.staleInventory },
    { labels: { state: 'never-inventoried' }, value: o.hosts.neverInventoried },
  ]);
  w.gauge('bulwark_hosts_end_of_support', 'Hosts whose release is past its end of standard support', [{ value: o.hosts.endOfSupport.length }]);
  w.gauge(
    'bulwark_findings_open',
    'Open findings (open and no-fix) by severity',
    SEVERITIES.map((s) => ({ labels: { severity: s }, value: o.open.bySeverity[s] })),
  );
  w.gauge('bulwark_findings_closed', 'Closed findings: fixed by an update, or withdrawn by their feed', [
    { labels: { reason: 'fixed' }, value: o.fixed },
    { labels: { reason: 'withdrawn' }, value: o.withdrawn },
  ]);
  w.gauge(
    'bulwark_sla_breaches',
    "Findings past their deadline in each policy's current plan",
    o.sla.map((s) => ({ labels: { policy: s.policy }, value: s.breaches })),
  );
  w.gauge(
    'bulwark_sla_hosts_in_breach',
    'Hosts with a finding past its deadline, per policy',
    o.sla.map((s) => ({ labels: { policy: s.policy }, value: s.hostsInBreach })),
  );
  const sources = (await listSources(db, clock)).filter((s) => s.state !== null || s.freshness.lastAttempt !== null);
  w.gauge(
    'bulwark_feed_age_seconds',
    'Age of the newest advisory or signal inside each synced feed',
    sources
      .filter((s) => s.freshness.newestAt !== null)
      .map((s) => ({ labels: { source: s.id }, value: Math.max(0, (now.getTime() - Date.parse(s.freshness.newestAt ?? '')) / 1000) })),
  );
  w.gauge(
    'bulwark_feed_last_success_timestamp_seconds',
    'When each feed was last read successfully (Unix time)',
    sources
      .filter((s) => s.freshness.lastSuccessAt !== null)
      .map((s) => ({ labels: { source: s.id }, value: Date.parse(s.freshness.lastSuccessAt ?? '') / 1000 })),
  );
  w.gauge(
    'bulwark_feed_stale',
    '1 when a feed is stale or never synced by its threshold, else 0',
    sources.map((s) => ({ labels: { source: s.id }, value: s.freshness.state === 'fresh' ? 0 : 1 })),
  );
  w.gauge(
    'bulwark_feed_last_attempt_failed',
    "1 when a feed's last sync attempt failed or was refused",
    sources.map((s) => ({
      labels: { source: s.id },
      value: s.freshness.lastAttempt?.status === 'failed' || s.freshness.lastAttempt?.status === 'refused' ? 1 : 0,
    })),
  );
  const durations: { labels: Record<string, string>; value: number }[] = [];
  for (const s of sources) {
    const last = (await listAudit(db, { subject: s.id, limit: 20 })).find((a) => a.action === 'feed.sync' && typeof a.detail['durationMs'] === 'number');
    if (last !== undefined)
      durations.push({ labels: { source: s.id, status: String(last.detail['status']) }, value: (last.detail['durationMs'] as number) / 1000 });
  }
  w.gauge('bulwark_feed_sync_duration_seconds', 'How long the last sync of each feed took', durations);
  const outcomes = await runOutcomeCounts(db);
  w.gauge(
    'bulwark_runs',
    'Patch runs by status',
    outcomes.runs.map((r) => ({ labels: { status: r.status }, value: r.n })),
  );
  w.gauge(
    'bulwark_run_steps',
    'Run steps by kind and outcome',
    outcomes.steps.map((s) => ({ labels: { kind: s.kind, state: s.state }, value: s.n })),
  );
  const agents = await listAgentRows(db);
  const state = (a: (typeof agents)[number]): string =>
    a.revokedAt !== null
      ? 'revoked'
      : a.lastSeenAt === null
        ? 'never-reported'
        : now.getTime() - Date.parse(a.lastSeenAt) > AGENT_SILENT_HOURS * 3_600_000
          ? 'silent'
          : 'reporting';
  const byState = new Map<string, number>([
    ['reporting', 0],
    ['silent', 0],
    ['never-reported', 0],
    ['revoked', 0],
  ]);
  for (const a of agents) byState.set(state(a), (byState.get(state(a)) ?? 0) + 1);
  w.gauge(
    'bulwark_agents',
    `Enrolled agents: reporting, silent (no check-in for ${String(AGENT_SILENT_HOURS)} hours), never reported, revoked`,
    [...byState].map(([s, n]) => ({ labels: { state: s }, value: n })),
  );
  const seen = agents.filter((a) => a.revokedAt === null && a.lastSeenAt !== null).map((a) => Date.parse(a.lastSeenAt ?? ''));
  w.gauge(
    'bulwark_agent_oldest_checkin_age_seconds',
    'Seconds since the least recent check-in of an active agent',
    seen.length === 0 ? [] : [{ value: (now.getTime() - Math.min(...seen)) / 1000 }],
  );
  // What agents' reports cost the server (issue #14): how many hosts' last reports it remembers
  // (their next stored as a difference), against its budget (BULWARK_AGENT_MEMORY_MB), and how
  // this process stored the reports it took.
  const memory = rememberedUsage(db);
  w.gauge('bulwark_agent_report_memory_hosts', 'Hosts whose last agent report this server remembers (the next is stored as its difference)', [
    { value: memory.hosts },
  ]);
  w.gauge('bulwark_agent_report_memory_bytes', 'Memory the remembered agent reports are counted at, and its budget (BULWARK_AGENT_MEMORY_MB)', [
    { labels: { of: 'used' }, value: memory.bytes },
    { labels: { of: 'budget' }, value: memory.budget },
  ]);
  w.counter(
    'bulwark_agent_reports_stored_total',
    'Agent reports this process stored: as a difference from the remembered report, from what the store holds, or whole',
    [
      { labels: { way: 'remembered' }, value: reportDeltaCounts.delta },
      { labels: { way: 'store' }, value: reportDeltaCounts.stored },
      { labels: { way: 'whole' }, value: reportDeltaCounts.whole },
    ],
  );
  http?.write(w);
  return w.text();
}
