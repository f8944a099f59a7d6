import { useState, type ReactNode } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { url, type QueryOf } from '../api.js';
import { AdvisoryLink, CveLink, Err, Field, HostLink, Pager, relative, SEVERITIES, Severity, Table } from '../components.js';
import { useGet } from '../query.js';
import type { Finding, FindingGroup, Page } from '../types.js';

type Filters = QueryOf<'/api/v1/findings/groups'>;
/** The filters a view is shared by: all of them live in the URL. */
const KEYS = ['by', 'host', 'tag', 'release', 'status', 'severity', 'kev', 'epssAbove', 'cve', 'text', 'sort', 'offset'] as const;

function useFilters(): [Partial<Record<(typeof KEYS)[number], string>>, (change: Partial<Record<(typeof KEYS)[number], string>>) => void] {
  const search = useSearch();
  const [, navigate] = useLocation();
  const params = new URLSearchParams(search);
  const f = Object.fromEntries(KEYS.flatMap((k) => (params.get(k) === null ? [] : [[k, params.get(k) ?? '']]))) as Partial<
    Record<(typeof KEYS)[number], string>
  >;
  return [
    f,
    (change) => {
      const next = new URLSearchParams(search);
      for (const [k, v] of Object.entries(change))
        if (v === '') next.delete(k);
        else next.set(k, v);
      // A new filter starts at the first page.
      if (!('offset' in change)) next.delete('offset');
      const qs = next.toString();
      navigate(qs === '' ? '/findings' : `/findings?${qs}`);
    },
  ];
}

function Binaries({ g }: { g: FindingGroup }): ReactNode {
  return (
    <details>
      <summary>
        {g.binaries.length} {g.binaries.length === 1 ? 'binary' : 'binaries'}: {g.binaries.map((b) => b.name).join(', ')}
      </summary>
      <ul>
        {g.binaries.map((b) => (
          <li key={b.name}>
            <b>{b.name}</b> {b.installed.join(', ')} → {b.fixed.length === 0 ? 'no fix yet' : b.fixed.join(', ')} on {b.hostCount}{' '}
            {b.hostCount === 1 ? 'host' : 'hosts'}:{' '}
            {b.hosts.map((h) => (
              <span key={h}>
                <HostLink name={h} />{' '}
              </span>
            ))}
            {b.hostCount > b.hosts.length ? `… and ${String(b.hostCount - b.hosts.length)} more` : null}
          </li>
        ))}
      </ul>
    </details>
  );
}

export function FindingsPage(): ReactNode {
  const [f, set] = useFilters();
  const by = f.by ?? 'advisory';
  const offset = Number(f.offset ?? 0);
  const query: { [K in keyof Filters]?: Filters[K] | undefined } & { limit: number; offset: number } = {
    host: f.host,
    tag: f.tag,
    release: f.release,
    status: f.status,
    severity: f.severity as Filters['severity'],
    cve: f.cve,
    text: f.text,
    kev: f.kev === 'true' ? 'true' : undefined,
    epssAbove: f.epssAbove === undefined ? undefined : Number(f.epssAbove),
    sort: f.sort as Filters['sort'],
    limit: 50,
    offset,
  };
  const groups = useGet<Page<FindingGroup>>(by === 'none' ? null : url('/api/v1/findings/groups', {}, { ...query, by }));
  const flat = useGet<Page<Finding>>(
    by === 'none'
      ? url(
          '/api/v1/findings',
          {},
          { host: f.host, severity: f.severity, cve: f.cve, status: f.status, kev: query.kev, epssAbove: query.epssAbove, limit: 50, offset },
        )
      : null,
  );
  const [text, setText] = useState(f.text ?? '');
  const input = (key: 'host' | 'tag' | 'release' | 'cve', label: string, placeholder: string): ReactNode => (
    <Field label={label}>
      {(id) => (
        <input
          id={id}
          name={key}
          placeholder={placeholder}
          defaultValue={f[key] ?? ''}
          onBlur={(e) => {
            set({ [key]: e.target.value.trim() });
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') set({ [key]: e.currentTarget.value.trim() });
          }}
        />
      )}
    </Field>
  );
  const sortButton = (key: string, label: string): ReactNode => {
    const on = (f.sort ?? '-severity').replace(/^-/, '') === key;
    const desc = (f.sort ?? '-severity').startsWith('-');
    return (
      <button
        type="button"
        className="link"
        aria-label={`sort by ${label}`}
        onClick={() => {
          set({ sort: on && desc ? key : `-${key}` });
        }}
      >
        {label}
        {on ? (desc ? ' ▼' : ' ▲') : ''}
      </button>
    );
  };
  return (
    <section>
      <h1 tabIndex={-1}>Findings</h1>
      <form
        className="filters"
        aria-label="filters"
        onSubmit={(e) => {
          e.preventDefault();
          set({ text: text.trim() });
        }}
      >
        <Field label="Group by">
          {(id) => (
            <select
              id={id}
              name="by"
              value={by}
              onChange={(e) => {
                set({ by: e.target.value === 'advisory' ? '' : e.target.value, sort: '' });
              }}
            >
              <option value="advisory">advisory</option>
              <option value="source">source package</option>
              <option value="none">nothing (one row per finding)</option>
            </select>
          )}
        </Field>
        <Field label="Least severity">
          {(id) => (
            <select
              id={id}
              name="severity"
              value={f.severity ?? ''}
              onChange={(e) => {
                set({ severity: e.target.value });
              }}
            >
              <option value="">any</option>
              {SEVERITIES.slice(0, 4).map((s) => (
                <option key={s} value={s}>
                  {s} or worse
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Risk">
          {(id) => (
            <select
              id={id}
              name="risk"
              value={f.kev === 'true' ? 'kev' : f.epssAbove !== undefined ? `epss:${f.epssAbove}` : ''}
              onChange={(e) => {
                const v = e.target.value;
                set({ kev: v === 'kev' ? 'true' : '', epssAbove: v.startsWith('epss:') ? v.slice(5) : '' });
              }}
            >
              <option value="">any</option>
              <option value="kev">known exploited (CISA KEV)</option>
              <option value="epss:0.1">EPSS above 0.1</option>
              <option value="epss:0.5">EPSS above 0.5</option>
              {f.epssAbove !== undefined && !['0.1', '0.5'].includes(f.epssAbove) ? (
                <option value={`epss:${f.epssAbove}`}>EPSS above {f.epssAbove}</option>
              ) : null}
            </select>
          )}
        </Field>
        <Field label="Status">
          {(id) => (
            <select
              id={id}
              name="status"
              value={f.status ?? ''}
              onChange={(e) => {
                set({ status: e.target.value });
              }}
            >
              <option value="">open, no fix yet and mitigated</option>
              <option value="open">open</option>
              <option value="no-fix">no fix yet</option>
              <option value="mitigated">mitigated (live-patched)</option>
              <option value="accepted">accepted</option>
              <option value="fixed">fixed</option>
              <option value="withdrawn">withdrawn</option>
            </select>
          )}
        </Field>
        {input('host', 'Host', 'web-01')}
        {by === 'none' ? null : input('tag', 'Tag', 'prod')}
        {by === 'none' ? null : input('release', 'Release', 'family:version')}
        {input('cve', 'CVE', 'CVE-2024-…')}
        {by === 'none' ? null : (
          <Field label="Text">
            {(id) => (
              <input
                id={id}
                name="text"
                placeholder="advisory, title or package"
                value={text}
                onChange={(e) => {
                  setText(e.target.value);
                }}
              />
            )}
          </Field>
        )}
        <button type="submit">Filter</button> <Link href="/findings">Clear</Link>
      </form>
      <p className="muted">
        The risk filter keeps findings whose advisory has a CVE CISA lists as exploited, or one with an EPSS score above the bound; the risk order is in the CLI
        (`bulwark findings --sort risk`).
      </p>
      <Err e={groups.message ?? flat.message} />
      {by !== 'none' && groups.data !== undefined ? (
        <>
          <Table
            rows={groups.data.items}
            rowKey={(g) => g.key}
            columns={[
              [' ', (g) => <Severity s={g.severity} />],
              ...(by === 'advisory'
                ? ([
                    ['advisory', (g: FindingGroup) => (g.advisory === undefined ? g.key : <AdvisoryLink source={g.advisory.source} id={g.advisory.id} />)],
                    ['title', (g: FindingGroup) => g.advisory?.title ?? ''],
                    [
                      'CVEs',
                      (g: FindingGroup) =>
                        g.advisory?.cves.map((c) => (
                          <span key={c}>
                            <CveLink cve={c} />{' '}
                          </span>
                        )),
                    ],
                  ] as [string, (g: FindingGroup) => ReactNode][])
                : ([
                    ['source package', (g: FindingGroup) => g.key],
                    ['advisories', (g: FindingGroup) => (g.advisories ?? []).join(', ')],
                  ] as [string, (g: FindingGroup) => ReactNode][])),
              ['hosts', (g) => g.hosts],
              ['findings', (g) => g.findings],
              ['first seen', (g) => relative(g.firstSeen)],
              ['affected', (g) => <Binaries g={g} />],
            ]}
            empty="No findings match."
          />
          <div className="sorts">
            Sort: {sortButton('severity', 'severity')} · {sortButton('hosts', 'hosts')} · {sortButton('findings', 'findings')} · {sortButton('key', 'name')} ·{' '}
            {sortButton('firstSeen', 'first seen')}
          </div>
          <Pager
            total={groups.data.total}
            limit={groups.data.limit}
            offset={groups.data.offset}
            go={(o) => {
              set({ offset: String(o) });
            }}
          />
        </>
      ) : null}
      {by === 'none' && flat.data !== undefined ? (
        <>
          <Table
            rows={flat.data.items}
            columns={[
              [' ', (x) => <Severity s={x.severity} />],
              ['host', (x) => <HostLink name={x.targetName} />],
              ['advisory', (x) => <AdvisoryLink source={x.advisorySource} id={x.advisoryId} />],
              ['package', (x) => x.package],
              ['installed', (x) => x.installed],
              ['fixed in', (x) => x.fixed ?? '-'],
              ['status', (x) => x.status],
              // Why, when the verdict is not the feed's literal reading (a live patch that mitigates it, an assumed source name).
              ['why', (x) => x.reason ?? ''],
            ]}
            empty="No findings match."
          />
          <Pager
            total={flat.data.total}
            limit={flat.data.limit}
            offset={flat.data.offset}
            go={(o) => {
              set({ offset: String(o) });
            }}
          />
        </>
      ) : null}
    </section>
  );
}
