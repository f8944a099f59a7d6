import { useState, type ReactNode } from 'react';
import { Pager, Severity, Sparkline, Table, useApi } from './components.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'none', 'unknown'] as const;
type Counts = Record<(typeof SEVERITIES)[number], number>;

interface Overview {
  hosts: { total: number; byRelease: Record<string, number>; endOfSupport: string[]; staleInventory: number; neverInventoried: number };
  open: { bySeverity: Counts; byRelease: Record<string, Counts>; total: number };
  fixed: number;
  withdrawn: number;
  exposureOverTime: { day: string; open: number }[];
  sla: { policy: string; plannedHosts: number; breaches: number; hostsInBreach: number; worstOverdueHours: number | null }[];
}
interface Host {
  name: string;
  release: string | null;
  inventoryAt: string | null;
  tags: string[];
  address: string | null;
  runningKernel: string | null;
  kind: 'host' | 'image';
  platform: string | null;
  /** The image build the host was made from (/etc/bulwark-image). */
  image: string | null;
}
interface Finding {
  targetName: string;
  advisoryId: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: string;
  status: string;
  firstSeen: string;
  cves: string[];
}
interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

const day = (iso: string | null): string => (iso === null ? 'never' : iso.slice(0, 16).replace('T', ' '));
const Err = ({ e }: { e: string | null }): ReactNode => (e === null ? null : <p className="error">{e}</p>);

export function OverviewPage(): ReactNode {
  const { data, error } = useApi<Overview>('/api/v1/overview?days=30', 30_000);
  if (data === null) return <Err e={error} />;
  return (
    <section>
      <h1>Fleet overview</h1>
      <div className="cards">
        <div className="card">
          <b>{data.hosts.total}</b> hosts
        </div>
        <div className="card">
          <b>{data.open.total}</b> open findings
        </div>
        {SEVERITIES.slice(0, 4).map((s) => (
          <div key={s} className={`card sev-${s}`} data-severity={s}>
            <b>{data.open.bySeverity[s]}</b> {s}
          </div>
        ))}
        <div className="card">
          <b>{data.hosts.endOfSupport.length}</b> end of support
        </div>
        <div className="card">
          <b>{data.hosts.staleInventory + data.hosts.neverInventoried}</b> stale inventories
        </div>
      </div>
      <h2>SLA by policy</h2>
      <Table
        rows={data.sla}
        columns={[
          ['policy', (p) => p.policy],
          ['hosts to patch', (p) => p.plannedHosts],
          ['findings past deadline', (p) => <span className={p.breaches > 0 ? 'error' : ''}>{p.breaches}</span>],
          ['hosts in breach', (p) => p.hostsInBreach],
          ['most overdue', (p) => (p.worstOverdueHours === null ? '-' : `${String(p.worstOverdueHours)} h`)],
        ]}
        empty="No policy applied yet."
      />
      <h2>Open findings, last 30 days</h2>
      <Sparkline points={data.exposureOverTime} />
      <h2>Exposure by release</h2>
      <Table
        rows={Object.entries(data.open.byRelease)}
        columns={[
          ['release', ([r]) => r],
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
              <a key={h} href={`#/hosts/${encodeURIComponent(h)}`}>
                {h}{' '}
              </a>
            ))}
          </p>
        </>
      ) : null}
    </section>
  );
}

export function HostsPage(): ReactNode {
  const [offset, setOffset] = useState(0);
  const [tag, setTag] = useState('');
  const { data, error } = useApi<Page<Host>>(`/api/v1/hosts?limit=50&offset=${String(offset)}&sort=name${tag === '' ? '' : `&tag=${encodeURIComponent(tag)}`}`);
  return (
    <section>
      <h1>Hosts</h1>
      <input
        placeholder="tag"
        value={tag}
        onChange={(e) => {
          setTag(e.target.value);
          setOffset(0);
        }}
      />
      <Err e={error} />
      {data === null ? null : (
        <>
          <Table
            rows={data.items}
            columns={[
              ['host', (h) => <a href={`#/hosts/${encodeURIComponent(h.name)}`}>{h.name}</a>],
              ['release', (h) => h.release ?? '?'],
              ['last inventory', (h) => day(h.inventoryAt)],
              ['kernel', (h) => h.runningKernel ?? '-'],
              ['tags', (h) => h.tags.join(', ')],
            ]}
          />
          <Pager total={data.total} limit={data.limit} offset={data.offset} go={setOffset} />
        </>
      )}
    </section>
  );
}

interface HostDetail {
  host: Host;
  packages: { name: string; epoch: number | null; version: string; release: string | null; arch: string; sourceName: string | null }[];
  findings: Finding[];
  history: {
    closed: (Finding & { closedAt: string | null })[];
    runs: { run: number; policy: string; status: string; createdAt: string; steps: { kind: string; state: string }[] }[];
  };
}

export function HostPage({ name }: { name: string }): ReactNode {
  const { data, error } = useApi<HostDetail>(`/api/v1/hosts/${encodeURIComponent(name)}`);
  if (data === null) return <Err e={error} />;
  return (
    <section>
      <h1>{data.host.name}</h1>
      <p className="muted">
        {data.host.release ?? '?'} · last inventory {day(data.host.inventoryAt)} ·{' '}
        {data.host.kind === 'image' ? `${data.host.platform ?? ''} image` : (data.host.address ?? 'imported')}
        {data.host.image === null ? null : <> · made from image {data.host.image}</>}
      </p>
      <h2>Open findings ({data.findings.length})</h2>
      <FindingsTable rows={data.findings} />
      <h2>History</h2>
      <Table
        rows={data.history.runs}
        columns={[
          ['run', (r) => <a href={`#/runs/${String(r.run)}`}>{r.run}</a>],
          ['policy', (r) => r.policy],
          ['started', (r) => day(r.createdAt)],
          ['run status', (r) => r.status],
          ['steps here', (r) => r.steps.map((s) => `${s.kind} ${s.state}`).join(', ')],
        ]}
        empty="No patch run has touched this host."
      />
      <Table
        rows={data.history.closed}
        columns={[
          ['closed', (f) => day(f.closedAt)],
          ['advisory', (f) => f.advisoryId],
          ['package', (f) => f.package],
          ['was', (f) => f.installed],
          ['fixed in', (f) => f.fixed ?? '-'],
          ['closed as', (f) => f.status],
        ]}
        empty="No finding closed yet."
      />
      <details>
        <summary>
          <h2 className="inline">Packages ({data.packages.length})</h2>
        </summary>
        <Table
          rows={data.packages}
          columns={[
            ['package', (p) => p.name],
            ['version', (p) => `${p.epoch === null || p.epoch === 0 ? '' : `${String(p.epoch)}:`}${p.version}${p.release === null ? '' : `-${p.release}`}`],
            ['arch', (p) => p.arch],
            ['source', (p) => p.sourceName ?? '-'],
          ]}
        />
      </details>
    </section>
  );
}

function FindingsTable({ rows }: { rows: readonly Finding[] }): ReactNode {
  return (
    <Table
      rows={rows}
      columns={[
        ['severity', (f) => <Severity s={f.severity} />],
        ['host', (f) => <a href={`#/hosts/${encodeURIComponent(f.targetName)}`}>{f.targetName}</a>],
        ['advisory', (f) => f.advisoryId],
        ['CVEs', (f) => f.cves.join(' ')],
        ['package', (f) => f.package],
        ['installed', (f) => f.installed],
        ['fixed in', (f) => f.fixed ?? '-'],
        ['status', (f) => f.status],
        ['first seen', (f) => day(f.firstSeen)],
      ]}
      empty="No findings."
    />
  );
}

export function FindingsPage(): ReactNode {
  const [offset, setOffset] = useState(0);
  const [severity, setSeverity] = useState('');
  const { data, error } = useApi<Page<Finding>>(`/api/v1/findings?limit=50&offset=${String(offset)}${severity === '' ? '' : `&severity=${severity}`}`);
  return (
    <section>
      <h1>Findings</h1>
      <select
        value={severity}
        onChange={(e) => {
          setSeverity(e.target.value);
          setOffset(0);
        }}
        aria-label="least severity"
      >
        <option value="">any severity</option>
        {SEVERITIES.slice(0, 4).map((s) => (
          <option key={s} value={s}>
            {s} or worse
          </option>
        ))}
      </select>
      <Err e={error} />
      {data === null ? null : (
        <>
          <FindingsTable rows={data.items} />
          <Pager total={data.total} limit={data.limit} offset={data.offset} go={setOffset} />
        </>
      )}
    </section>
  );
}

export function AdvisoriesPage(): ReactNode {
  const [q, setQ] = useState('');
  const [search, setSearch] = useState<string | null>(null);
  const { data, error } = useApi<{ items: { source: string; id: string; title: string; severity: string; cves: string[]; publishedAt: string | null }[] }>(
    search,
  );
  return (
    <section>
      <h1>Advisories</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const v = q.trim();
          setSearch(
            v === ''
              ? null
              : /^CVE-/i.test(v)
                ? `/api/v1/advisories?cve=${encodeURIComponent(v)}&limit=100`
                : `/api/v1/advisories?package=${encodeURIComponent(v)}&limit=100`,
          );
        }}
      >
        <input
          placeholder="CVE-2024-… or a package name"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
          }}
        />
        <button type="submit">Search</button>
      </form>
      <Err e={error} />
      {data === null ? null : (
        <Table
          rows={data.items}
          columns={[
            ['severity', (a) => <Severity s={a.severity} />],
            ['advisory', (a) => a.id],
            ['source', (a) => a.source],
            ['title', (a) => a.title],
            ['CVEs', (a) => a.cves.join(' ')],
            ['published', (a) => day(a.publishedAt)],
          ]}
          empty="No advisory matches."
        />
      )}
    </section>
  );
}

export function PoliciesPage(): ReactNode {
  const { data, error } = useApi<{ items: { name: string; version: number; appliedAt: string }[] }>('/api/v1/policies');
  const [chosen, setChosen] = useState<string | null>(null);
  const plan = useApi<{
    entries: { target: string; ring: string; start: string; deadline: string; approval: string; packages: { name: string; to: string }[] }[];
    breaches: unknown[];
  }>(chosen === null ? null : `/api/v1/policies/${encodeURIComponent(chosen)}/plan`);
  return (
    <section>
      <h1>Policies</h1>
      <Err e={error} />
      {data === null ? null : (
        <Table
          rows={data.items}
          columns={[
            [
              'policy',
              (p) => (
                <button
                  className="link"
                  onClick={() => {
                    setChosen(p.name);
                  }}
                >
                  {p.name}
                </button>
              ),
            ],
            ['version', (p) => p.version],
            ['applied', (p) => day(p.appliedAt)],
          ]}
          empty="No policy applied yet (bulwark policy apply -f FILE)."
        />
      )}
      {chosen === null || plan.data === null ? null : (
        <>
          <h2>
            Plan of {chosen}: {plan.data.entries.length} hosts, {plan.data.breaches.length} past their deadline
          </h2>
          <Table
            rows={plan.data.entries}
            columns={[
              ['ring', (e) => e.ring],
              ['host', (e) => e.target],
              ['start', (e) => day(e.start)],
              ['deadline', (e) => day(e.deadline)],
              ['approval', (e) => e.approval],
              ['packages', (e) => e.packages.map((p) => `${p.name} → ${p.to}`).join(', ')],
            ]}
          />
        </>
      )}
    </section>
  );
}

interface Run {
  pk: number;
  policy: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  note: string | null;
}

export function RunsPage(): ReactNode {
  const { data, error } = useApi<{ items: Run[] }>('/api/v1/runs?limit=100', 2000);
  return (
    <section>
      <h1>Patch runs</h1>
      <Err e={error} />
      {data === null ? null : (
        <Table
          rows={data.items}
          columns={[
            ['run', (r) => <a href={`#/runs/${String(r.pk)}`}>{r.pk}</a>],
            ['policy', (r) => r.policy],
            ['status', (r) => <span className={`status-${r.status}`}>{r.status}</span>],
            ['started', (r) => day(r.createdAt)],
            ['updated', (r) => day(r.updatedAt)],
            ['note', (r) => r.note ?? ''],
          ]}
          empty="No run yet."
        />
      )}
    </section>
  );
}

export function RunPage({ id }: { id: string }): ReactNode {
  const { data, error } = useApi<{
    run: Run;
    steps: {
      targetName: string;
      ringIndex: number;
      kind: string;
      state: string;
      attempts: number;
      exitCode: number | null;
      finishedAt: string | null;
      output: string | null;
    }[];
  }>(`/api/v1/runs/${id}`, 2000);
  if (data === null) return <Err e={error} />;
  const done = data.steps.filter((s) => s.state === 'done').length;
  return (
    <section>
      <h1>
        Run {data.run.pk} ({data.run.policy}): {data.run.status}
      </h1>
      <progress max={data.steps.length} value={done} /> {done} of {data.steps.length} steps done
      <Table
        rows={data.steps}
        columns={[
          ['host', (s) => s.targetName],
          ['ring', (s) => s.ringIndex],
          ['step', (s) => s.kind],
          ['state', (s) => <span className={`status-${s.state}`}>{s.state}</span>],
          ['tries', (s) => s.attempts],
          ['exit', (s) => s.exitCode ?? '-'],
          ['finished', (s) => day(s.finishedAt)],
          [
            'output',
            (s) => (
              <details>
                <summary>show</summary>
                <pre>{s.output ?? ''}</pre>
              </details>
            ),
          ],
        ]}
      />
    </section>
  );
}

export function AuditPage(): ReactNode {
  const { data, error } = useApi<{ items: { at: string; actor: string; action: string; subject: string; detail: unknown }[] }>('/api/v1/audit?limit=200');
  return (
    <section>
      <h1>Audit log</h1>
      <Err e={error} />
      {data === null ? null : (
        <Table
          rows={data.items}
          columns={[
            ['when', (a) => day(a.at)],
            ['who', (a) => a.actor],
            ['did', (a) => a.action],
            ['to', (a) => a.subject],
            ['detail', (a) => <code>{JSON.stringify(a.detail)}</code>],
          ]}
        />
      )}
    </section>
  );
}

interface RepoItem {
  id: string;
  kind: string;
  url: string;
  latest: { id: string; createdAt: string; packages: number; signedBy: string | null } | null;
}
interface ViewItem {
  view: string;
  version: number;
  createdAt: string;
  createdBy: string;
  packages: number;
  deviations: number;
}
interface ImageItem {
  image: string;
  build: number;
  type: string;
  release: string;
  view: string;
  viewVersion: number;
  createdAt: string;
  packages: number;
  digest: string;
  target: string;
  /** Set when its environment serves a newer version of its view: due to be built again. */
  behind: { environment: string; serves: number } | null;
}

/** Repositories (verified snapshots), content views with the environments they serve, and image builds. */
export function SupplyChainPage(): ReactNode {
  const repos = useApi<{ items: RepoItem[] }>('/api/v1/repos');
  const views = useApi<{ items: ViewItem[]; environments: { view: string; environment: string; version: number }[] }>('/api/v1/views');
  const images = useApi<{ items: ImageItem[] }>('/api/v1/images');
  const envs = views.data?.environments ?? [];
  return (
    <section>
      <h1>Supply chain</h1>
      <Err e={repos.error ?? views.error ?? images.error} />
      <h2>Upstream repositories</h2>
      <Table
        rows={repos.data?.items ?? []}
        columns={[
          ['repository', (r) => r.id],
          ['kind', (r) => r.kind],
          ['latest snapshot', (r) => (r.latest === null ? 'none' : `${r.latest.id.slice(0, 12)} (${day(r.latest.createdAt)})`)],
          ['packages', (r) => r.latest?.packages ?? '-'],
          ['signed by', (r) => r.latest?.signedBy ?? 'not verified'],
        ]}
        empty="No repository added yet (bulwark repo add)."
      />
      <h2>Content views</h2>
      <Table
        rows={views.data?.items ?? []}
        columns={[
          ['view', (v) => v.view],
          ['version', (v) => v.version],
          ['published', (v) => `${day(v.createdAt)} by ${v.createdBy}`],
          ['packages', (v) => v.packages],
          ['deviations', (v) => v.deviations],
          [
            'serves',
            (v) =>
              envs
                .filter((e) => e.view === v.view && e.version === v.version)
                .map((e) => e.environment)
                .join(', ') || '-',
          ],
        ]}
        empty="No content view published yet (bulwark view publish)."
      />
      <h2>Images</h2>
      <Table
        rows={images.data?.items ?? []}
        columns={[
          ['image', (b) => <a href={`#/hosts/${encodeURIComponent(b.target)}`}>{b.target}</a>],
          ['type', (b) => b.type],
          ['from', (b) => `${b.view} v${String(b.viewVersion)}`],
          ['built', (b) => day(b.createdAt)],
          ['packages', (b) => b.packages],
          ['digest', (b) => <code title={b.digest}>{b.digest.slice(0, 19)}…</code>],
          [
            '',
            (b) =>
              b.behind === null ? null : (
                <span className="error">
                  behind: {b.behind.environment} serves v{b.behind.serves}
                </span>
              ),
          ],
        ]}
        empty="No image built yet (bulwark image build)."
      />
    </section>
  );
}
